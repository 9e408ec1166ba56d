"""The consumer's own SQLite store: sessions, seats, and the ids of the events it applied — written in
one transaction, so that a redelivered event (same id) changes nothing."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from registrations_consumer.contract import Event

SCHEMA = """
CREATE TABLE IF NOT EXISTS processed (event_id TEXT PRIMARY KEY, type TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY, title TEXT NOT NULL, capacity INTEGER, location TEXT, starts_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS seats (
    registration_id TEXT PRIMARY KEY, session_id TEXT NOT NULL, organisation_id TEXT,
    organisation_kind TEXT NOT NULL, waitlisted INTEGER NOT NULL
);
"""
MUNICIPALITY = "lokaal_bestuur"  # the organisation kind of a municipality (lokaal bestuur)


class Store:
    def __init__(self, path: Path | str) -> None:
        self.connection = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.connection.executescript(SCHEMA)

    def apply(self, event: Event) -> bool:
        """Applies one event once; False when it was applied before (a redelivery)."""
        db = self.connection
        db.execute("BEGIN IMMEDIATE")
        try:
            seen = db.execute(
                "INSERT OR IGNORE INTO processed VALUES (?, ?, ?)",
                (event.id, f"{event.name}.v{event.written_version}", datetime.now(UTC).isoformat()),
            )
            if seen.rowcount == 0:
                db.execute("ROLLBACK")
                return False
            self._apply(event)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return True

    def _apply(self, event: Event) -> None:
        data = event.data
        if event.name == "session.scheduled":
            self.connection.execute(
                "INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?, ?)",
                (
                    data["session_id"],
                    data["title"],
                    data.get("capacity"),
                    data.get("location"),
                    data["starts_at"],
                ),
            )
        elif event.name == "registration.received":
            # the same registration again (off the waiting list): the later record wins
            self.connection.execute(
                "INSERT OR REPLACE INTO seats VALUES (?, ?, ?, ?, ?)",
                (
                    data["registration_id"],
                    data["session_id"],
                    data.get("organisation_id"),
                    data["organisation_kind"],
                    int(bool(data["waitlisted"])),
                ),
            )

    def seats_per_municipality(self) -> dict[str, int]:
        rows = self.connection.execute(
            "SELECT organisation_id, count(*) FROM seats WHERE organisation_kind = ? AND waitlisted = 0 "
            "AND organisation_id IS NOT NULL GROUP BY organisation_id",
            (MUNICIPALITY,),
        )
        return {organisation: count for organisation, count in rows}

    def session(self, session_id: str) -> dict[str, Any] | None:
        row = self.connection.execute(
            "SELECT s.title, s.capacity, s.location, (SELECT count(*) FROM seats"
            " WHERE session_id = s.session_id AND waitlisted = 0) FROM sessions s WHERE s.session_id = ?",
            (session_id,),
        ).fetchone()
        if row is None:
            return None
        title, capacity, location, taken = row
        return {"title": title, "capacity": capacity, "location": location, "seats_taken": taken}

    def processed(self) -> int:
        return int(self.connection.execute("SELECT count(*) FROM processed").fetchone()[0])

    def close(self) -> None:
        self.connection.close()
