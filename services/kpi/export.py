"""Exports the yearly report straight from a KPI database, for operations when the service cannot run
(the everyday way is `vvsg report`, which asks the running KPI service):

    DATABASE_URL=postgresql://… python -m services.kpi.export --year 2025 --format xlsx --out r.xlsx
    DATABASE_URL=sqlite:///./data/kpi.db python -m services.kpi.export --year 2025 --frozen

DATABASE_URL must be set: without it this would open (and create) an empty ./data/kpi.db and write a
report of zeros. A year without any data is refused as well, unless --allow-empty."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from services.kpi import documents, freeze, kpis, pdf, report
from services.kpi.generations import MIGRATIONS, Generations
from shared.db import migrate

FORMATS = ("html", "pdf", "xlsx", "csv", "json")


def document_of(
    generations: Generations, year: int, as_of: date | None, from_frozen: bool
) -> report.Document:
    if from_frozen:
        row = freeze.frozen(generations.base, year)
        if row is None:
            raise SystemExit(f"Het rapport van {year} is niet bevroren.")
        return documents.frozen(row, show_people=True)

    def answer_of(y: int, day: date | None) -> dict[str, Any]:
        with Session(generations.active().reader) as session:
            return kpis.report(session, y, day, datetime.now(UTC))

    return documents.live(answer_of, generations.base, year, as_of, show_people=True)


def render(document: report.Document, form: str, details: bool = False) -> bytes:
    if form == "html":
        return report.render_html(document).encode()
    if form == "pdf":
        return pdf.render(report.render_html(document))
    if form == "xlsx":
        return report.render_xlsx(document)
    if form == "csv":
        text = report.render_details_csv(document) if details else report.render_csv(document)
        return ("\ufeff" + text).encode()
    return json.dumps(document.answer, ensure_ascii=False, indent=2).encode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Exporteert het jaarrapport rechtstreeks uit de KPI-databank."
    )
    parser.add_argument("--year", type=int, required=True, help="het jaar, bv. 2025")
    parser.add_argument("--format", choices=FORMATS, default="html")
    parser.add_argument("--out", type=Path, help="het bestand (standaard: de standaarduitvoer)")
    parser.add_argument(
        "--as-of", type=date.fromisoformat, default=None, help="stand op deze dag (JJJJ-MM-DD)"
    )
    parser.add_argument(
        "--frozen", action="store_true", help="het bevroren rapport in plaats van het actuele"
    )
    parser.add_argument("--allow-empty", action="store_true", help="ook een jaar zonder gegevens schrijven")
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        print(
            "DATABASE_URL is niet gezet: zonder die databank zou dit een leeg rapport schrijven. "
            "Gebruik `vvsg report` (vraagt de cijfers aan de draaiende KPI-dienst) of zet DATABASE_URL.",
            file=sys.stderr,
        )
        return 2
    if args.as_of is not None and args.as_of.year != args.year:
        print(f"--as-of moet een dag van {args.year} zijn.", file=sys.stderr)
        return 2
    generations = Generations(url)
    try:
        migrate(generations.base, MIGRATIONS)
        document = document_of(generations, args.year, args.as_of, args.frozen)
        if document.is_empty() and not args.allow_empty:
            print(
                f"Er zijn geen gegevens voor {args.year} (alle indicatoren staan op 0); geen rapport "
                "geschreven. Gebruik --allow-empty om het toch te schrijven.",
                file=sys.stderr,
            )
            return 1
        data = render(document, args.format)
    finally:
        generations.dispose()
    if args.out is None:
        sys.stdout.buffer.write(data)
    else:
        args.out.write_bytes(data)
        if args.format == "csv":
            args.out.with_name(f"{args.out.stem}-details.csv").write_bytes(
                render(document, "csv", details=True)
            )
        print(f"Rapport {args.year} ({args.format}) geschreven naar {args.out}.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
