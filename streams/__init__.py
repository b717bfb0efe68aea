"""RapidAid stream processing: pure rules plus the Faust agents that apply them."""
