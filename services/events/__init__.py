"""Sessions, registrations, attendance, advice and tailored support (OD 1.1–3.3)."""
