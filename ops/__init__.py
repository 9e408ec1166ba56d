"""The operator's tools: the `vvsg` command (cli.py), the member import, dead letters and the demo year.
What starts things (Kafka, PostgreSQL, the services, the mail catcher, the topic job) lives in deploy/."""
