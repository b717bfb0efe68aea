"""Kafka, Redis and Faust plumbing around the rules: the app, transport, offsets ledger, log reads, effects, read model."""
