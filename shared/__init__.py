"""What two or more services share: the event catalogue, topics, outbox and inbox, settings,
database and auth."""
