"""A reference consumer of the VVSG digital-inclusion events, written as another team would: it knows
the published contract (CloudEvents on Kafka, the JSON Schemas, docs/EVENTS.md) and nothing else."""
