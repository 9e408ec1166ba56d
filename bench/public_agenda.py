"""The public agenda's answer times with a full year behind it and one ahead: sessions of every public
kind (and the internal ones it must skip) with their registrations are written straight into a fresh
events database, then each public page and feed is asked for repeatedly in process (no network, no
broker: the pages read the database alone) and its median and 95th percentile are printed, with the
machine's load average beside them (the machines are shared), and written to --out if given. Issue 16
asks ≤ 100 ms server time.

    python -m bench.public_agenda [--sessions 400] [--registrations 30] [--rounds 30] [--database-url URL]
                                  [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import insert

from services.events import agenda
from services.events.app import MIGRATIONS, build
from services.events.tables import ActivitySession, Registration
from shared.db import make_engine, migrate
from shared.settings import Settings

THEMES = ["digitale drempels", "e-overheid", "bibliotheken", "digitale vaardigheden", "mediawijsheid", "AI"]


def seed(url: str, sessions: int, per_session: int, rng: random.Random) -> None:
    engine = make_engine(url)
    migrate(engine, MIGRATIONS)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    kinds = sorted(agenda.KINDS)
    session_rows, registration_rows = [], []
    for n in range(sessions):
        starts = now + timedelta(days=rng.randint(-365, 365), hours=rng.randint(-4, 4))
        session_id = uuid.uuid4()
        status = (
            "held"
            if starts < now and rng.random() < 0.9
            else ("cancelled" if rng.random() < 0.05 else "scheduled")
        )
        fmt = rng.choice(["online", "physical", "hybrid"])
        session_rows.append(
            {
                "id": session_id,
                "kind": kinds[n % len(kinds)],
                "title": f"Sessie {n} over {rng.choice(THEMES)}",
                "theme": rng.choice(THEMES),
                "lead": rng.choice(["vvsg", "mediawijs", "joint"]),
                "format": fmt,
                "starts_at": starts,
                "ends_at": starts + timedelta(hours=3),
                "planned_hours": 3.0,
                "capacity": rng.choice([None, 20, 40, 80]),
                "status": status,
                "location": "online" if fmt == "online" else "Bischoffsheimlaan 1-8, 1000 Brussel",
                "description": "Een beschrijving van enkele regels.\n" * 3,
                "recording_url": f"https://video.example.be/{n}"
                if fmt != "physical" and status == "held"
                else None,
                "lock_version": 0,
                "revision": 0,
                "created_by": "bench",
                "updated_by": "bench",
                "created_at": now,
                "updated_at": now,
            }
        )
        for r in range(per_session):
            registration_rows.append(
                {
                    "id": uuid.uuid4(),
                    "session_id": session_id,
                    "organisation_kind": "lokaal_bestuur",
                    "organisation_known": True,
                    "waitlisted": False,
                    "status": "registered",
                    "attended": status == "held",
                    "hours": 3.0 if status == "held" else 0.0,
                    "registered_at": now - timedelta(days=400, seconds=r),
                    "registered_by": "bench",
                }
            )
    with engine.begin() as connection:
        connection.execute(insert(ActivitySession), session_rows)
        connection.execute(insert(Registration), registration_rows)
    engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=400, help="over two years, every kind")
    parser.add_argument("--registrations", type=int, default=30, help="per session")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file")
    parser.add_argument("--out", type=Path, help="also write the table here")
    args = parser.parse_args(argv)
    rng = random.Random(16)
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{folder}/events.db"
        began = time.perf_counter()
        seed(url, args.sessions, args.registrations, rng)
        print(
            f"seeded {args.sessions} sessions, {args.sessions * args.registrations} registrations "
            f"in {time.perf_counter() - began:.1f} s ({url.split(':', 1)[0]})"
        )
        app = build(Settings(service_name="events", database_url=url, public_rate_per_minute=1_000_000))
        client = TestClient(app)  # no lifespan: the pages need the database alone, not the broker
        listing = client.get("/agenda").text
        session_path = re.findall(r'href="(/agenda/[0-9a-f-]{36})"', listing)[0]
        paths = [
            "/agenda",
            "/agenda?thema=AI",
            session_path,
            f"{session_path}.ics",
            "/agenda.ics",
            "/agenda.atom",
            "/agenda/opnames",
            "/agenda/opnames?zoek=sessie+AI",
        ]
        lines = [
            f"public agenda, {args.sessions} sessions x {args.registrations} registrations, "
            f"{args.rounds} rounds, in process ({url.split(':', 1)[0]})",
            f"{'page':<40} {'median ms':>10} {'p95 ms':>10} {'bytes':>8}",
        ]
        for path in paths:
            times = []
            size = 0
            for _ in range(args.rounds):
                started = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (path, response.status_code)
                size = len(response.content)
            p95 = sorted(times)[max(0, int(len(times) * 0.95) - 1)]
            label = (
                "/agenda/{id}" + (".ics" if path.endswith(".ics") and path != "/agenda.ics" else "")
                if path.startswith(session_path)
                else path
            )
            lines.append(f"{label:<40} {statistics.median(times):>10.1f} {p95:>10.1f} {size:>8}")
        app.state.runtime.engine.dispose()
    lines.append("load average (1, 5, 15 min): " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    report = "\n".join(lines)
    print(report)
    if args.out:
        args.out.write_text(report + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
