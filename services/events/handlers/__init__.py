"""The events service's use cases: one typed command and one handler per use case, each run in a
unit of work (shared.uow). Routes, consumers and tests call the same handlers; the rules they check
live in domain.py. Split per area: sessions, registrations, attendance, support (advice and
tailored-support trajectories)."""
