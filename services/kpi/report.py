"""The yearly report in Dutch — print-ready HTML, XLSX and CSV — rendered from a KPI answer (the JSON of
`GET /kpis/{year}`, live or frozen), one section per goal in the plan's order (see services.kpi.nl).

Rendering never touches the database: what is printed is exactly what the API answered."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from services.kpi import nl
from services.kpi.core import BRUSSELS

_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_HIDDEN = ("_id",)


@dataclass
class Frozen:
    """Who froze a report and when; printed on a frozen report."""

    frozen_at: datetime
    frozen_by: str


@dataclass
class Placed:
    goal: nl.Goal
    objectives: list[tuple[nl.Objective, list[dict[str, Any]]]] = field(default_factory=list)


def sections(answer: dict[str, Any]) -> list[Placed]:
    """Every goal of the plan (even one without KPIs yet), then "Overige" if any code is unknown."""
    placed = {goal.key: Placed(goal, [(o, []) for o in goal.objectives]) for goal in nl.GOALS}
    for kpi in answer["kpis"]:
        goal, objective = nl.place(kpi["code"])
        target = placed.setdefault(goal.key, Placed(goal, [(o, []) for o in goal.objectives]))
        for known, kpis in target.objectives:
            if known == objective:
                kpis.append(kpi)
    return list(placed.values())


# --- items as tables ----------------------------------------------------------------------------


@dataclass
class Table:
    columns: list[str]  # item field names
    rows: list[list[Any]]  # typed values: str, int, float, bool, date or None

    @property
    def headings(self) -> list[str]:
        return [nl.ITEM_LABELS.get(c, c.replace("_", " ").capitalize()) for c in self.columns]


def _shown(key: str) -> bool:
    return not key.endswith(_HIDDEN)


def typed(key: str, value: Any) -> Any:
    """An item value as a person reads it: dates as dates, enumerations in Dutch, numbers as numbers."""
    if isinstance(value, str):
        if _ISO_DAY.match(value):
            return date.fromisoformat(value)
        return nl.VALUE_LABELS.get(key, {}).get(value, value)
    if isinstance(value, list):  # a list of plain values
        return ", ".join(str(typed(key, v)) for v in value)
    return value


def table(items: list[dict[str, Any]]) -> Table:
    """Items as rows; an item holding a list of records (a trajectory list) gives one row per record."""
    columns: list[str] = []

    def see(key: str) -> None:
        if _shown(key) and key not in columns:
            columns.append(key)

    flat: list[dict[str, Any]] = []
    for item in items:
        plain = {k: v for k, v in item.items() if not _is_records(v)}
        nested = [v for v in item.values() if _is_records(v)]
        for key in plain:
            see(key)
        if not nested or not any(nested):
            flat.append(plain)
            continue
        for records in nested:
            for record in records:
                for key in record:
                    see(key)
                flat.append({**plain, **record})
    rows = [[typed(c, row.get(c)) for c in columns] for row in flat]
    return Table(columns, rows)


def _is_records(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


# --- numbers and dates in Dutch -----------------------------------------------------------------


def number(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return nl.YES if value else nl.NO
    if isinstance(value, int):
        return f"{value:,}".replace(",", ".")
    if isinstance(value, float):
        text = f"{value:,.2f}".rstrip("0").rstrip(".")
        return text.replace(",", " ").replace(".", ",").replace(" ", ".")
    return str(value)


def day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def moment(value: str) -> str:
    return datetime.fromisoformat(value).astimezone(BRUSSELS).strftime("%d/%m/%Y %H:%M")


def shown(value: Any) -> str:
    if isinstance(value, date) and not isinstance(value, datetime):
        return day(value)
    if isinstance(value, int | float | bool) or value is None:
        return number(value)
    return str(value)


def with_unit(value: Any, unit: str) -> str:
    return f"{number(value)} %" if unit == "%" else f"{number(value)} {unit}"


def value_text(kpi: dict[str, Any]) -> str:
    return f"{number(kpi['value'])} %" if kpi["unit"] == "%" else number(kpi["value"])


def target_text(kpi: dict[str, Any]) -> str:
    if kpi.get("target") is None:
        return nl.TEXT["no_target"]
    return f"{nl.TEXT['at_least']} {value_text({**kpi, 'value': kpi['target']})}"


def goal_heading(goal: nl.Goal) -> str:
    return goal.title if goal.title.startswith(goal.heading) else f"{goal.heading} — {goal.title}"


# --- HTML ---------------------------------------------------------------------------------------

_CSS = """
@page { size: A4; margin: 16mm 14mm 18mm 14mm;
  @bottom-right { content: counter(page) " / " counter(pages); font: 9pt sans-serif; color: #555; } }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font: 10.5pt/1.4 "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #1d1d1b; margin: 0;
  padding: 1.5rem; max-width: 60rem; margin-inline: auto; }
h1 { font-size: 20pt; margin: 0 0 .2rem; color: #003b5c; }
h2 { font-size: 15pt; color: #003b5c; border-bottom: 2px solid #003b5c; padding-bottom: .2rem;
  margin-top: 0; }
h3 { font-size: 12pt; margin: 1.2rem 0 .4rem; color: #003b5c; }
h4 { font-size: 10.5pt; margin: .8rem 0 .3rem; }
.sub { color: #555; margin: 0 0 1rem; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: 1rem 0; }
dl.meta dt { font-weight: bold; } dl.meta dd { margin: 0; }
.intro { font-style: italic; color: #333; }
table { border-collapse: collapse; width: 100%; margin: .3rem 0 .8rem; font-size: 9.5pt; }
th, td { border: 1px solid #c8c8c8; padding: .25rem .4rem; text-align: left; vertical-align: top; }
th { background: #e8eef3; }
td.num, th.num { text-align: right; white-space: nowrap; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
.status { font-weight: bold; white-space: nowrap; }
.behaald { color: #1b6e33; } .niet-behaald { color: #b3261e; } .geen-doel { color: #5f6368; }
.frozen { border: 2px solid #003b5c; padding: .5rem .8rem; margin: 1rem 0; }
.empty { color: #5f6368; font-style: italic; }
section.goal { break-before: page; page-break-before: always; padding-top: .5rem; }
header.cover { break-after: page; page-break-after: always; }
@media screen { section.goal { border-top: 6px solid #e8eef3; margin-top: 2rem; padding-top: 1.5rem; } }
@media print { body { padding: 0; max-width: none; } a { color: inherit; text-decoration: none; } }
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _status_cell(status: str) -> str:
    css = status.replace(" ", "-")
    return f'<td class="status {css}">{_e(nl.STATUS.get(status, status))}</td>'


def _items_html(kpi: dict[str, Any]) -> str:
    if not kpi["items"]:
        return ""
    tab = table(kpi["items"])
    head = "".join(
        f'<th class="{"num" if _numeric_column(tab, i) else ""}">{_e(h)}</th>'
        for i, h in enumerate(tab.headings)
    )
    body = []
    for row in tab.rows:
        cells = []
        for i, value in enumerate(row):
            css = ' class="num"' if _numeric_column(tab, i) else ""
            if isinstance(value, str) and value.startswith(("http://", "https://")):
                cells.append(f'<td><a href="{_e(value)}">{_e(value)}</a></td>')
            else:
                cells.append(f"<td{css}>{_e(shown(value))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f"<h4>{_e(nl.TEXT['overview'])}: {_e(kpi['title'])}</h4>"
        f'<table class="items" data-code="{_e(kpi["code"])}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _numeric_column(tab: Table, index: int) -> bool:
    values = [r[index] for r in tab.rows if r[index] is not None]
    return bool(values) and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def _kpi_rows(kpis: list[dict[str, Any]]) -> str:
    t = nl.TEXT
    rows = "".join(
        f'<tr data-code="{_e(k["code"])}"><td>{_e(k["code"])}</td><td>{_e(k["title"])}</td>'
        f'<td class="num">{_e(value_text(k))}</td><td>{_e(k["unit"] if k["unit"] != "%" else "")}</td>'
        f"<td>{_e(target_text(k))}</td>{_status_cell(k['status'])}</tr>"
        for k in kpis
    )
    return (
        f'<table class="kpis"><thead><tr><th>{t["code"]}</th><th>{t["kpi"]}</th>'
        f'<th class="num">{t["value"]}</th><th>{t["unit"]}</th><th>{t["target"]}</th><th>{t["status"]}</th>'
        "</tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _meta_html(answer: dict[str, Any], frozen: Frozen | None) -> str:
    t = nl.TEXT
    parts = [
        f"<dt>{t['as_of']}</dt><dd>{_e(day(date.fromisoformat(answer['as_of'])))}</dd>",
        f"<dt>{t['generated_at']}</dt><dd>{_e(moment(answer['generated_at']))}</dd>",
    ]
    if answer.get("targets_version"):
        parts.append(f"<dt>{t['targets_version']}</dt><dd>{_e(answer['targets_version'])}</dd>")
    block = f'<dl class="meta">{"".join(parts)}</dl>'
    if frozen is not None:
        when = frozen.frozen_at.astimezone(BRUSSELS).strftime("%d/%m/%Y %H:%M")
        block += (
            f'<p class="frozen"><strong>{t["frozen"]}</strong>: {t["frozen_by"]} '
            f"{_e(frozen.frozen_by)} op {_e(when)}.</p>"
        )
    return block


def render_html(answer: dict[str, Any], frozen: Frozen | None = None) -> str:
    year = answer["year"]
    title = f"{nl.REPORT_TITLE} {year}"
    out = [
        f'<!doctype html><html lang="nl-BE"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f'<header class="cover"><h1>{_e(title)}</h1><p class="sub">{_e(nl.ORGANISATION)}</p>',
        _meta_html(answer, frozen),
        f"<h2>{nl.TEXT['summary']}</h2>",
    ]
    placed = sections(answer)
    for p in placed:
        kpis = [k for _, ks in p.objectives for k in ks]
        if kpis:
            out.append(f"<h3>{_e(goal_heading(p.goal))}</h3>{_kpi_rows(kpis)}")
    out.append("</header>")
    for p in placed:
        if p.goal is nl.OTHER_GOAL and not any(ks for _, ks in p.objectives):
            continue
        out.append(f'<section class="goal" id="{_e(p.goal.key)}"><h2>{_e(goal_heading(p.goal))}</h2>')
        if p.goal.intro:
            out.append(f'<p class="intro">{_e(p.goal.intro)}</p>')
        for objective, kpis in p.objectives:
            label = (
                f"{objective.code} — {objective.title}"
                if objective.code.startswith("OD")
                else objective.title
            )
            out.append(f'<article class="objective"><h3>{_e(label)}</h3>')
            if kpis:
                out.append(_kpi_rows(kpis))
                out.extend(_items_html(k) for k in kpis)
            else:
                out.append(f'<p class="empty">{nl.TEXT["nothing"]}</p>')
            out.append("</article>")
        out.append("</section>")
    out.append("</body></html>")
    return "".join(out)


# --- XLSX ---------------------------------------------------------------------------------------

_DAY_FORMAT = "dd/mm/yyyy"
_MOMENT_FORMAT = "dd/mm/yyyy hh:mm"


def _number_format(unit: str, value: Any) -> str:
    if unit == "%" or isinstance(value, float):
        return "0.0#" if unit != "%" else "0.0"
    return "0"


def render_xlsx(answer: dict[str, Any], frozen: Frozen | None = None) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    title_font = Font(bold=True, size=14, color="003B5C")
    heading_fill = PatternFill("solid", fgColor="E8EEF3")
    status_font = {
        "behaald": Font(bold=True, color="1B6E33"),
        "niet behaald": Font(bold=True, color="B3261E"),
        "geen doel": Font(color="5F6368"),
    }
    t = nl.TEXT
    workbook = Workbook()
    summary = workbook.active
    assert summary is not None
    summary.title = nl.TEXT["summary"]
    generated = datetime.fromisoformat(answer["generated_at"]).astimezone(BRUSSELS).replace(tzinfo=None)
    summary.append([f"{nl.REPORT_TITLE} {answer['year']}"])
    summary["A1"].font = title_font
    summary.append([t["as_of"], date.fromisoformat(answer["as_of"])])
    summary["B2"].number_format = _DAY_FORMAT
    summary.append([t["generated_at"], generated])
    summary["B3"].number_format = _MOMENT_FORMAT
    summary.append([t["targets_version"], answer.get("targets_version", "")])
    if frozen is not None:
        summary.append(
            [t["frozen"], frozen.frozen_at.astimezone(BRUSSELS).replace(tzinfo=None), frozen.frozen_by]
        )
        summary.cell(summary.max_row, 2).number_format = _MOMENT_FORMAT
    summary.append([])
    header = [
        t["section"],
        t["objective"],
        t["code"],
        t["kpi"],
        t["value"],
        t["target"],
        t["status"],
        t["unit"],
    ]
    summary.append(header)
    for cell in summary[summary.max_row]:
        cell.font, cell.fill = bold, heading_fill
    placed = sections(answer)
    for p in placed:
        for objective, kpis in p.objectives:
            for k in kpis:
                summary.append(
                    [
                        p.goal.heading,
                        objective.code,
                        k["code"],
                        k["title"],
                        k["value"],
                        k["target"],
                        nl.STATUS.get(k["status"], k["status"]),
                        k["unit"],
                    ]
                )
                row = summary.max_row
                summary.cell(row, 5).number_format = _number_format(k["unit"], k["value"])
                summary.cell(row, 7).font = status_font.get(k["status"], bold)
    for column, width in zip("ABCDEFGH", (12, 10, 30, 55, 12, 10, 14, 14), strict=True):
        summary.column_dimensions[column].width = width

    for p in placed:
        if p.goal is nl.OTHER_GOAL and not any(ks for _, ks in p.objectives):
            continue
        sheet = workbook.create_sheet(p.goal.sheet[:31])
        sheet.append([goal_heading(p.goal)])
        sheet["A1"].font = title_font
        if p.goal.intro:
            sheet.append([p.goal.intro])
            sheet.cell(sheet.max_row, 1).alignment = Alignment(wrap_text=False)
        widest = 6
        for objective, kpis in p.objectives:
            sheet.append([])
            label = (
                f"{objective.code} — {objective.title}"
                if objective.code.startswith("OD")
                else objective.title
            )
            sheet.append([label])
            sheet.cell(sheet.max_row, 1).font = Font(bold=True, size=12, color="003B5C")
            if not kpis:
                sheet.append([t["nothing"]])
                continue
            sheet.append([t["code"], t["kpi"], t["value"], t["target"], t["status"], t["unit"]])
            for cell in sheet[sheet.max_row]:
                cell.font, cell.fill = bold, heading_fill
            for k in kpis:
                sheet.append(
                    [
                        k["code"],
                        k["title"],
                        k["value"],
                        k["target"],
                        nl.STATUS.get(k["status"], k["status"]),
                        k["unit"],
                    ]
                )
                row = sheet.max_row
                sheet.cell(row, 3).number_format = _number_format(k["unit"], k["value"])
                sheet.cell(row, 5).font = status_font.get(k["status"], bold)
            for k in kpis:
                if not k["items"]:
                    continue
                tab = table(k["items"])
                widest = max(widest, len(tab.columns))
                sheet.append([])
                sheet.append([f"{t['overview']}: {k['title']}"])
                sheet.cell(sheet.max_row, 1).font = bold
                sheet.append(tab.headings)
                for cell in sheet[sheet.max_row]:
                    cell.font, cell.fill = bold, heading_fill
                for values in tab.rows:
                    sheet.append(values)
                    row = sheet.max_row
                    for index, value in enumerate(values, start=1):
                        if isinstance(value, date):
                            sheet.cell(row, index).number_format = _DAY_FORMAT
                        elif isinstance(value, float):
                            sheet.cell(row, index).number_format = "0.0#"
        for index in range(1, widest + 1):
            sheet.column_dimensions[get_column_letter(index)].width = 45 if index == 2 else 20
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- CSV ----------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "onderdeel",
    "doelstelling",
    "code",
    "indicator",
    "waarde",
    "doel",
    "status",
    "eenheid",
    "item",
    "veld",
    "inhoud",
)


def _csv_value(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return nl.YES if value else nl.NO
    return "" if value is None else value


def csv_rows(answer: dict[str, Any]) -> Iterable[list[Any]]:
    """One row per KPI, then one row per field of each of its items (long format: every row has the
    same columns, so any CSV reader takes it)."""
    yield list(CSV_COLUMNS)
    for p in sections(answer):
        for objective, kpis in p.objectives:
            for k in kpis:
                yield [
                    p.goal.heading,
                    objective.code,
                    k["code"],
                    k["title"],
                    k["value"],
                    "" if k["target"] is None else k["target"],
                    nl.STATUS.get(k["status"], k["status"]),
                    k["unit"],
                    "",
                    "",
                    "",
                ]
                tab = table(k["items"])
                for number_, values in enumerate(tab.rows, start=1):
                    for heading, value in zip(tab.headings, values, strict=True):
                        if value is None:
                            continue
                        yield [
                            p.goal.heading,
                            objective.code,
                            k["code"],
                            k["title"],
                            "",
                            "",
                            "",
                            "",
                            number_,
                            heading,
                            _csv_value(value),
                        ]


def render_csv(answer: dict[str, Any]) -> str:
    """UTF-8 text, comma-separated, '.' as decimal mark, ISO dates. Prefix a BOM when writing a file
    that Excel should open (see `export`)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in csv_rows(answer):
        writer.writerow(row)
    return buffer.getvalue()
