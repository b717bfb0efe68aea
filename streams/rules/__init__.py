"""Pure rules: scoring, deadlines, cases, workflow, households, notifications. No Kafka, Redis, Faust, HTTP or file I/O."""
