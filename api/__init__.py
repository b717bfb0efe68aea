"""RapidAid HTTP API: intake, case queries, the live feed and the duty board."""
