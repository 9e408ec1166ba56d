"""Exports the yearly report from the KPI database directly (the service need not run):

    python -m services.kpi.export --year 2025 --format xlsx --out kpi-rapport-2025.xlsx
    python -m services.kpi.export --year 2025 --format html --frozen      # the frozen report, to stdout

The database is DATABASE_URL (as for the service); the active read-model generation answers."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from services.kpi import freeze, kpis, report
from services.kpi.api import KpiReport
from services.kpi.app import MIGRATIONS
from services.kpi.generations import Generations
from shared.db import migrate
from shared.settings import load

FORMATS = ("html", "xlsx", "csv", "json")


def answer_of(
    generations: Generations, year: int, as_of: date | None, from_frozen: bool
) -> tuple[dict[str, Any], report.Frozen | None]:
    if from_frozen:
        row = freeze.frozen(generations.base, year)
        if row is None:
            raise SystemExit(f"het rapport van {year} is niet bevroren")
        return json.loads(row.answer), report.Frozen(row.frozen_at, row.frozen_by)
    with Session(generations.active().reader) as session:
        answer = kpis.report(session, year, as_of, datetime.now(UTC))
    return KpiReport.model_validate(answer).model_dump(mode="json"), None


def render(answer: dict[str, Any], meta: report.Frozen | None, form: str) -> bytes:
    if form == "html":
        return report.render_html(answer, meta).encode()
    if form == "xlsx":
        return report.render_xlsx(answer, meta)
    if form == "csv":
        return ("\ufeff" + report.render_csv(answer)).encode()
    return json.dumps(answer, ensure_ascii=False, indent=2).encode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Exporteert het jaarrapport digitale inclusie.")
    parser.add_argument("--year", type=int, required=True, help="het jaar, bv. 2025")
    parser.add_argument("--format", choices=FORMATS, default="html")
    parser.add_argument("--out", type=Path, help="het bestand (standaard: de standaarduitvoer)")
    parser.add_argument(
        "--as-of", type=date.fromisoformat, default=None, help="stand op deze dag (JJJJ-MM-DD)"
    )
    parser.add_argument(
        "--frozen", action="store_true", help="het bevroren rapport in plaats van het actuele"
    )
    args = parser.parse_args(argv)
    settings = load("kpi")
    generations = Generations(settings.resolved_database_url())
    try:
        migrate(generations.base, MIGRATIONS)
        answer, meta = answer_of(generations, args.year, args.as_of, args.frozen)
        data = render(answer, meta, args.format)
    finally:
        generations.dispose()
    if args.out is None:
        sys.stdout.buffer.write(data)
    else:
        args.out.write_bytes(data)
        print(f"rapport {args.year} ({args.format}) geschreven naar {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
