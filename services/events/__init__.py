"""Sessions, registrations, attendance, advice and tailored support (OD 1.1–3.3). Not built yet: see issue 3."""
