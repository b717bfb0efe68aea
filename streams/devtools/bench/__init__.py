"""`rapidaid bench`: the pipeline measured against the broker's and Faust's own speed on the embedded stack."""
