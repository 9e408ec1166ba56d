"""The answer times of the public good practices and articles (services/newsletter/public.py): practices
and articles over several years are written straight into a fresh newsletter database, then each page,
search and feed is asked for repeatedly in process (no network, no broker: the pages read the database
alone) and its median and 95th percentile are printed, with the machine's load average beside them
(the machines are shared), and written to --out if given. Issue 16 asks ≤ 100 ms server time with a
year of demo data; a demo year has 8 practices and 7 articles, the defaults here are far more.

    python -m bench.public_practices [--practices 2000] [--articles 2000] [--rounds 30]
                                     [--database-url URL] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import insert

from services.newsletter.app import MIGRATIONS, build
from services.newsletter.settings import NewsletterSettings
from services.newsletter.tables import Article, GoodPractice
from shared.clock import business_today
from shared.db import make_engine, migrate

WORDS = ["digitale", "inclusie", "drempels", "buurtpunt", "senioren", "bibliotheek", "e-loket", "taal"]
MAGAZINES = ["Lokaal", "Lokaal", "Lokaal", "Sociaal.Net", "Binnenband"]


def seed(url: str, practices: int, articles: int, rng: random.Random) -> None:
    engine = make_engine(url)
    migrate(engine, MIGRATIONS)
    today = business_today()
    now = datetime.now(UTC)

    def title(n: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 9))).capitalize() + f" {n}"

    practice_rows = [
        {
            "id": uuid.uuid4(),
            "title": title(n),
            "organisation_id": uuid.uuid4(),
            "published_on": today - timedelta(days=rng.randint(0, 5 * 365)),
            "url": f"https://www.vvsg.be/goede-praktijken/{n}",
            "created_at": now,
            "created_by": "bench",
        }
        for n in range(practices)
    ]
    article_rows = [
        {
            "id": uuid.uuid4(),
            "title": title(n),
            "magazine": rng.choice(MAGAZINES),
            "published_on": today - timedelta(days=rng.randint(0, 5 * 365)),
            "url": f"https://www.vvsg.be/lokaal/{n}",
            "created_at": now,
            "created_by": "bench",
        }
        for n in range(articles)
    ]
    with engine.begin() as connection:
        if practice_rows:
            connection.execute(insert(GoodPractice), practice_rows)
        if article_rows:
            connection.execute(insert(Article), article_rows)
    engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--practices", type=int, default=2000, help="over five years")
    parser.add_argument("--articles", type=int, default=2000, help="over five years")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file")
    parser.add_argument("--out", type=Path, help="also write the table here")
    args = parser.parse_args(argv)
    rng = random.Random(16)
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{folder}/newsletter.db"
        began = time.perf_counter()
        seed(url, args.practices, args.articles, rng)
        kind = url.split(":", 1)[0]
        print(
            f"seeded {args.practices} practices, {args.articles} articles "
            f"in {time.perf_counter() - began:.1f} s ({kind})"
        )
        settings = NewsletterSettings(
            database_url=url, public_rate_per_minute=1_000_000, link_secret="x" * 32, auth_secret="y" * 32
        )
        app = build(settings)
        client = TestClient(app)  # no lifespan: the pages need the database alone, not the broker
        year = business_today().year
        paths = [
            "/goede-praktijken",
            "/goede-praktijken?pagina=50",
            f"/goede-praktijken?jaar={year - 1}",
            "/goede-praktijken?q=digitale+drempels",
            "/goede-praktijken?q=" + "x" * 10_000,
            "/goede-praktijken.atom",
            "/artikels",
            "/artikels?tijdschrift=Lokaal&q=bibliotheek",
            "/artikels.atom",
        ]
        lines = [
            f"public good practices and articles, {args.practices} practices and {args.articles} articles, "
            f"{args.rounds} rounds, in process ({kind})",
            f"{'page':<45} {'median ms':>10} {'p95 ms':>10} {'bytes':>8}",
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
            label = path if len(path) < 45 else path[:30] + f"…({len(path)} chars)"
            lines.append(f"{label:<45} {statistics.median(times):>10.1f} {p95:>10.1f} {size:>8}")
        app.state.runtime.engine.dispose()
    lines.append("load average (1, 5, 15 min): " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    report = "\n".join(lines)
    print(report)
    if args.out:
        args.out.write_text(report + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
