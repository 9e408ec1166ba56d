"""The yearly report in Dutch — print-ready HTML (also the source of the PDF), XLSX and CSV — rendered
from a `Document`: the KPI answer (the JSON of `GET /kpis/{year}`, live or frozen), the previous year's
figures beside it and the explanations (toelichting) staff wrote, one section per goal in the plan's
order (see services.kpi.nl).

Rendering never touches the database: what is printed is exactly what the API answered. Every text
that came from outside (a title, an organisation's name, a description) is escaped for its format:
HTML-escaped in the page, and through `shared.spreadsheet.safe_text` in XLSX and CSV, so that no cell
is ever a formula and no stored character can break a workbook."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from services.kpi import nl
from services.kpi.core import BRUSSELS
from shared.spreadsheet import safe_cell, safe_text

_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_HIDDEN = ("_id",)

Dialect = Literal["excel-nl", "rfc4180"]
DIALECTS: tuple[Dialect, ...] = ("excel-nl", "rfc4180")


@dataclass
class Frozen:
    """When a report was frozen, and by whom (None when the reader may not see staff identities)."""

    frozen_at: datetime
    frozen_by: str | None


@dataclass
class Previous:
    """The previous year's figures, as they stood on the same day a year earlier."""

    year: int
    as_of: date
    values: dict[str, int | float]

    def as_json(self) -> dict[str, Any]:
        return {"year": self.year, "as_of": self.as_of.isoformat(), "values": self.values}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Previous:
        return cls(int(data["year"]), date.fromisoformat(data["as_of"]), dict(data["values"]))


@dataclass
class Explanation:
    code: str
    text: str
    written_at: datetime
    written_by: str | None  # None for readers who may not see staff identities

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Explanation:
        return cls(
            data["code"], data["text"], datetime.fromisoformat(data["written_at"]), data.get("written_by")
        )


@dataclass
class Document:
    """Everything a report prints."""

    answer: dict[str, Any]
    previous: Previous | None = None
    explanations: dict[str, Explanation] = field(default_factory=dict)
    frozen: Frozen | None = None

    @property
    def year(self) -> int:
        return int(self.answer["year"])

    @property
    def as_of(self) -> date:
        return date.fromisoformat(self.answer["as_of"])

    def previous_value(self, kpi: dict[str, Any]) -> int | float | None:
        return None if self.previous is None else self.previous.values.get(kpi["code"])

    def change(self, kpi: dict[str, Any]) -> int | float | None:
        before = self.previous_value(kpi)
        if before is None or kpi["value"] is None:
            return None
        difference = kpi["value"] - before
        return round(difference, 2) if isinstance(difference, float) else difference

    def explanation(self, kpi: dict[str, Any]) -> Explanation | None:
        return self.explanations.get(kpi["code"])

    def is_empty(self) -> bool:
        """Nothing at all for this year: every KPI is 0 and lists nothing."""
        return all(not k["value"] and not k["items"] for k in self.answer["kpis"])


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


def shown_goals(answer: dict[str, Any]) -> list[Placed]:
    """The goals a report prints a section for ("Overige" only when it holds something)."""
    return [
        p for p in sections(answer) if not (p.goal is nl.OTHER_GOAL and not any(ks for _, ks in p.objectives))
    ]


def objective_short(objective: nl.Objective) -> str:
    """ "OD1.1" where the plan numbers the objective, else its title (never an internal key)."""
    return objective.code if objective.code.startswith("OD") else objective.title


def objective_label(objective: nl.Objective) -> str:
    return f"{objective.code} — {objective.title}" if objective.code.startswith("OD") else objective.title


# --- items as tables ----------------------------------------------------------------------------


@dataclass
class Table:
    columns: list[str]  # item field names
    rows: list[list[Any]]  # typed values: str, int, float, date or None (booleans become Ja/Nee)

    @property
    def headings(self) -> list[str]:
        return [nl.ITEM_LABELS.get(c, c.replace("_", " ").capitalize()) for c in self.columns]


def _shown(key: str) -> bool:
    return not key.endswith(_HIDDEN)


def typed(key: str, value: Any) -> Any:
    """An item value as a person reads it: dates as dates, enumerations in Dutch, yes/no in words,
    numbers as numbers."""
    if isinstance(value, bool):
        return nl.YES if value else nl.NO
    if isinstance(value, str):
        if _ISO_DAY.match(value):
            try:
                return date.fromisoformat(value)
            except ValueError:  # looks like a day but is none: show it as it is
                return value
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


def percent_column(kpi: dict[str, Any], column: str) -> bool:
    """The item field that holds the KPI's own percentage per row (the feedback KPIs' breakdown)."""
    return kpi["unit"] == "%" and column == "value"


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


def signed(value: int | float) -> str:
    """A change with its sign: +2, −1,5 (a real minus sign), 0."""
    if value > 0:
        return f"+{number(value)}"
    if value < 0:
        return f"\u2212{number(-value)}"
    return "0"


def day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def moment(value: str) -> str:
    return datetime.fromisoformat(value).astimezone(BRUSSELS).strftime("%d/%m/%Y %H:%M")


def local(value: datetime) -> datetime:
    from datetime import UTC

    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(BRUSSELS)


def shown(value: Any) -> str:
    if isinstance(value, date) and not isinstance(value, datetime):
        return day(value)
    if isinstance(value, int | float | bool) or value is None:
        return number(value)
    return str(value)


def quantity(value: int | float | None, unit: str) -> str:
    """A value with its unit, in good Dutch: "1 bevraging", "2 bevragingen", "3,5 uur", "33,3 %"."""
    if value is None:
        return ""
    if unit == "%":
        return f"{number(value)} %"
    word = nl.unit_word(unit, value)
    return f"{number(value)} {word}".strip()


def value_text(kpi: dict[str, Any]) -> str:
    return quantity(kpi["value"], kpi["unit"])


def target_text(kpi: dict[str, Any]) -> str:
    if kpi.get("target") is None:
        return nl.TEXT["no_target"]
    return f"{nl.TEXT['at_least']} {quantity(kpi['target'], kpi['unit'])}"


def change_text(change: int | float | None, unit: str) -> str:
    if change is None:
        return ""
    if unit == "%":
        return f"{signed(change)} {nl.TEXT['percentage_points']}"
    return signed(change)


def overview_title(kpi: dict[str, Any]) -> str:
    """ "Overzicht: Infosessies …", but not "Overzicht: Overzicht goede praktijken …"."""
    title = str(kpi["title"])
    if title.lower().startswith(nl.TEXT["overview"].lower()):
        return title
    return f"{nl.TEXT['overview']}: {title}"


def goal_heading(goal: nl.Goal) -> str:
    return goal.title if goal.title.startswith(goal.heading) else f"{goal.heading} — {goal.title}"


def written_text(explanation: Explanation) -> str:
    """ "bijgewerkt op 03/02/2026" (and by whom, for readers who may see it)."""
    text = f"{nl.TEXT['updated_on']} {local(explanation.written_at).strftime('%d/%m/%Y')}"
    if explanation.written_by:
        text += f" {nl.TEXT['by']} {explanation.written_by}"
    return text


# --- HTML ---------------------------------------------------------------------------------------

_CSS = """
@page { size: A4; margin: 16mm 14mm 18mm 14mm; }
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
th, td { border: 1px solid #c8c8c8; padding: .25rem .4rem; text-align: left; vertical-align: top;
  overflow-wrap: break-word; hyphens: manual; }
table.items { font-size: 8.5pt; }
td a { overflow-wrap: anywhere; word-break: break-all; }
table.kpis td:nth-last-child(2) { white-space: nowrap; }
th { background: #e8eef3; }
td.num, th.num { text-align: right; white-space: nowrap; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
.status { font-weight: bold; white-space: nowrap; }
.behaald { color: #1b6e33; } .niet-behaald { color: #b3261e; } .geen-doel { color: #5f6368; }
.frozen, .notice { border: 2px solid #003b5c; padding: .5rem .8rem; margin: 1rem 0; }
.empty { color: #5f6368; font-style: italic; }
.explanation { border-left: 4px solid #003b5c; background: #f4f7f9; padding: .4rem .8rem;
  margin: .5rem 0 .8rem; break-inside: avoid; }
.explanation h4 { margin-top: 0; }
.explanation p { margin: .2rem 0; white-space: pre-line; overflow-wrap: anywhere; }
.explanation .written { color: #555; font-size: 9pt; white-space: normal; }
section.goal { break-before: page; page-break-before: always; padding-top: .5rem; }
header.cover { break-after: page; page-break-after: always; }
@media screen { section.goal { border-top: 6px solid #e8eef3; margin-top: 2rem; padding-top: 1.5rem; } }
@media print { body { padding: 0; max-width: none; } a { color: inherit; text-decoration: none; } }
"""


def _page_css(document: Document) -> str:
    """Page numbers and the date of the figures in the margins of every printed page (CSS paged media:
    Chromium prints @page margin boxes since version 131, WeasyPrint always did)."""
    t = nl.TEXT
    when = f"{t['figures_of']} {day(document.as_of)}"
    return (
        "@page { @bottom-left { content: "
        + _css_string(f"{nl.REPORT_TITLE} {document.year} — {when}")
        + "; font: 8.5pt sans-serif; color: #555; }"
        + " @bottom-right { content: "
        + _css_string(f"{t['page']} ")
        + " counter(page) "
        + _css_string(f" {t['of']} ")
        + " counter(pages); font: 8.5pt sans-serif; color: #555; } }"
    )


def _css_string(text: str) -> str:
    return '"' + "".join(c if c.isalnum() or c in " —/.,:-'()" else f"\\{ord(c):x} " for c in text) + '"'


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
            elif percent_column(kpi, tab.columns[i]) and isinstance(value, int | float):
                cells.append(f"<td{css}>{_e(number(value))} %</td>")
            else:
                cells.append(f"<td{css}>{_e(shown(value))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f"<h4>{_e(overview_title(kpi))}</h4>"
        f'<table class="items" data-code="{_e(kpi["code"])}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _numeric_column(tab: Table, index: int) -> bool:
    values = [r[index] for r in tab.rows if r[index] is not None]
    return bool(values) and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def _kpi_rows(document: Document, kpis: list[dict[str, Any]]) -> str:
    t = nl.TEXT
    year = document.year
    with_previous = document.previous is not None
    rows = []
    for k in kpis:
        cells = [f"<td>{_e(k['title'])}</td>", f'<td class="num">{_e(value_text(k))}</td>']
        if with_previous:
            cells.append(f'<td class="num">{_e(quantity(document.previous_value(k), k["unit"]))}</td>')
            cells.append(f'<td class="num">{_e(change_text(document.change(k), k["unit"]))}</td>')
        cells.append(f"<td>{_e(target_text(k))}</td>{_status_cell(k['status'])}")
        rows.append(f'<tr data-code="{_e(k["code"])}">{"".join(cells)}</tr>')
    head = [f"<th>{t['kpi']}</th>", f'<th class="num">{year}</th>']
    if with_previous:
        head.append(f'<th class="num">{year - 1}</th><th class="num">{t["change"]}</th>')
    head.append(f"<th>{t['target']}</th><th>{t['status']}</th>")
    return (
        f'<table class="kpis"><thead><tr>{"".join(head)}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def _explanations_html(document: Document, kpis: list[dict[str, Any]]) -> str:
    out = []
    for k in kpis:
        explanation = document.explanation(k)
        if explanation is None:
            continue
        out.append(
            f'<div class="explanation" data-code="{_e(k["code"])}">'
            f"<h4>{nl.TEXT['explanation_of']} {_e(k['title'])}</h4>"
            f"<p>{_e(explanation.text)}</p>"
            f'<p class="written">{_e(_first_upper(written_text(explanation)))}</p></div>'
        )
    return "".join(out)


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def _meta_html(document: Document) -> str:
    t = nl.TEXT
    answer = document.answer
    parts = [
        f"<dt>{t['as_of']}</dt><dd>{_e(day(document.as_of))}</dd>",
        f"<dt>{t['generated_at']}</dt><dd>{_e(moment(answer['generated_at']))}</dd>",
    ]
    if document.previous is not None:
        parts.append(f"<dt>{t['previous_as_of']}</dt><dd>{_e(day(document.previous.as_of))}</dd>")
    if answer.get("targets_version"):
        parts.append(f"<dt>{t['target']}</dt><dd>{_e(nl.targets_label(answer['targets_version']))}</dd>")
    block = f'<dl class="meta">{"".join(parts)}</dl>'
    if document.frozen is not None:
        when = local(document.frozen.frozen_at).strftime("%d/%m/%Y %H:%M")
        who = f" {t['by']} {_e(document.frozen.frozen_by)}" if document.frozen.frozen_by else ""
        block += f'<p class="frozen"><strong>{t["frozen"]}</strong>: {t["frozen_on"]} {_e(when)}{who}.</p>'
    if document.is_empty():
        block += f'<p class="notice">{_e(t["no_data"])}</p>'
    return block


def render_html(document: Document) -> str:
    year = document.year
    title = f"{nl.REPORT_TITLE} {year}"
    out = [
        f'<!doctype html><html lang="nl-BE"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}{_page_css(document)}</style></head><body>",
        f'<header class="cover"><h1>{_e(title)}</h1><p class="sub">{_e(nl.ORGANISATION)}</p>',
        _meta_html(document),
        f"<h2>{nl.TEXT['summary']}</h2>",
    ]
    placed = shown_goals(document.answer)
    for p in placed:
        kpis = [k for _, ks in p.objectives for k in ks]
        if kpis:
            out.append(f"<h3>{_e(goal_heading(p.goal))}</h3>{_kpi_rows(document, kpis)}")
    out.append("</header>")
    for p in placed:
        out.append(f'<section class="goal" id="{_e(p.goal.key)}"><h2>{_e(goal_heading(p.goal))}</h2>')
        if p.goal.intro:
            out.append(f'<p class="intro">{_e(p.goal.intro)}</p>')
        for objective, kpis in p.objectives:
            out.append(f'<article class="objective"><h3>{_e(objective_label(objective))}</h3>')
            if kpis:
                out.append(_kpi_rows(document, kpis))
                out.append(_explanations_html(document, kpis))
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
_PERCENT_FORMAT = "0.0%"
_CHANGE_PERCENT_FORMAT = "+0.0%;-0.0%;0.0%"


def _number_format(value: Any) -> str:
    return "0.0#" if isinstance(value, float) else "0"


def _xlsx_figure(value: int | float | None, unit: str) -> int | float | None:
    """Percentages as fractions, so that Excel shows them as percentages with the format "0.0%"."""
    if value is None or unit != "%":
        return value
    return round(value / 100, 6)


def render_xlsx(document: Document) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.worksheet import Worksheet

    bold = Font(bold=True)
    title_font = Font(bold=True, size=14, color="003B5C")
    heading_fill = PatternFill("solid", fgColor="E8EEF3")
    wrap = Alignment(wrap_text=True, vertical="top")
    status_font = {
        "behaald": Font(bold=True, color="1B6E33"),
        "niet behaald": Font(bold=True, color="B3261E"),
        "geen doel": Font(color="5F6368"),
    }
    t = nl.TEXT
    answer = document.answer
    year = document.year
    with_previous = document.previous is not None

    def append(sheet: Worksheet, values: list[Any]) -> int:
        sheet.append([safe_cell(v) for v in values])
        return int(sheet.max_row)

    def heading_row(sheet: Worksheet, values: list[str]) -> int:
        row = append(sheet, values)
        for cell in sheet[row]:
            cell.font, cell.fill = bold, heading_fill
        return row

    def print_setup(sheet: Worksheet, header_row: int | None) -> None:
        sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
        sheet.page_setup.orientation = sheet.ORIENTATION_LANDSCAPE
        sheet.page_setup.fitToWidth = 1
        sheet.page_setup.fitToHeight = 0  # as many pages high as needed
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
        if header_row is not None:
            sheet.print_title_rows = f"{header_row}:{header_row}"
        sheet.oddFooter.left.text = f"{nl.REPORT_TITLE} {year} — {t['figures_of']} {day(document.as_of)}"
        sheet.oddFooter.right.text = f"{t['page']} &P {t['of']} &N"

    def kpi_columns() -> list[str]:
        columns = [t["objective"], t["kpi"], str(year)]
        if with_previous:
            columns += [str(year - 1), t["change"]]
        return [*columns, t["target"], t["status"], t["unit"], t["explanation"]]

    def kpi_row(sheet: Worksheet, first: list[Any], k: dict[str, Any]) -> None:
        unit = k["unit"]
        values: list[Any] = [*first, k["title"], _xlsx_figure(k["value"], unit)]
        if with_previous:
            values += [_xlsx_figure(document.previous_value(k), unit), _xlsx_figure(document.change(k), unit)]
        explanation = document.explanation(k)
        values += [
            _xlsx_figure(k["target"], unit),
            nl.STATUS.get(k["status"], k["status"]),
            "%" if unit == "%" else nl.unit_word(unit, k["value"]),
            explanation.text if explanation else None,
        ]
        row = append(sheet, values)
        start = len(first) + 2  # the column of this year's value
        figures = [
            start,
            *([start + 1, start + 2] if with_previous else []),
            start + (3 if with_previous else 1),
        ]
        for index in figures:
            cell = sheet.cell(row, index)
            if unit == "%":
                is_change = with_previous and index == start + 2
                cell.number_format = _CHANGE_PERCENT_FORMAT if is_change else _PERCENT_FORMAT
            else:
                cell.number_format = _number_format(cell.value)
        status_index = start + (4 if with_previous else 2)
        sheet.cell(row, status_index).font = status_font.get(k["status"], bold)
        sheet.cell(row, len(values)).alignment = wrap

    workbook = Workbook()
    summary = workbook.active
    assert summary is not None
    summary.title = t["summary"]
    generated = datetime.fromisoformat(answer["generated_at"]).astimezone(BRUSSELS).replace(tzinfo=None)
    append(summary, [f"{nl.REPORT_TITLE} {year}"])
    summary["A1"].font = title_font
    append(summary, [t["as_of"], document.as_of])
    summary["B2"].number_format = _DAY_FORMAT
    append(summary, [t["generated_at"], generated])
    summary["B3"].number_format = _MOMENT_FORMAT
    if document.previous is not None:
        row = append(summary, [t["previous_as_of"], document.previous.as_of])
        summary.cell(row, 2).number_format = _DAY_FORMAT
    append(summary, [t["target"], nl.targets_label(answer.get("targets_version") or "")])
    if document.frozen is not None:
        row = append(
            summary,
            [t["frozen"], local(document.frozen.frozen_at).replace(tzinfo=None), document.frozen.frozen_by],
        )
        summary.cell(row, 2).number_format = _MOMENT_FORMAT
    if document.is_empty():
        append(summary, [t["no_data"]])
    append(summary, [])
    columns = [t["section"], *kpi_columns(), t["code"]]
    header = heading_row(summary, columns)
    placed = shown_goals(answer)
    for p in placed:
        for objective, kpis in p.objectives:
            for k in kpis:
                kpi_row(summary, [p.goal.heading, objective_short(objective)], k)
                summary.cell(summary.max_row, len(columns) - 1).alignment = wrap
                summary.cell(summary.max_row, len(columns)).value = k["code"]
    last = get_column_letter(len(columns))
    summary.freeze_panes = f"A{header + 1}"
    summary.auto_filter.ref = f"A{header}:{last}{summary.max_row}"
    widths = [12, 10, 50, 12, *([12, 12] if with_previous else []), 16, 14, 14, 60, 28]
    for index, width in enumerate(widths, start=1):
        summary.column_dimensions[get_column_letter(index)].width = width
    print_setup(summary, header)

    for p in placed:
        sheet = workbook.create_sheet(p.goal.sheet[:31])
        append(sheet, [goal_heading(p.goal)])
        sheet["A1"].font = title_font
        if p.goal.intro:
            append(sheet, [p.goal.intro])
        append(sheet, [])
        # the goal's KPIs first, in one table with a frozen, filterable header; their overviews below
        sheet_columns = kpi_columns()
        header = heading_row(sheet, sheet_columns)
        all_kpis = [(objective, k) for objective, ks in p.objectives for k in ks]
        for objective, k in all_kpis:
            kpi_row(sheet, [objective_label(objective)], k)
        if not all_kpis:
            append(sheet, [t["nothing"]])
        sheet.freeze_panes = f"A{header + 1}"
        sheet.auto_filter.ref = f"A{header}:{get_column_letter(len(sheet_columns))}{sheet.max_row}"
        widest = len(sheet_columns)
        for _objective, k in all_kpis:
            if not k["items"]:
                continue
            tab = table(k["items"])
            widest = max(widest, len(tab.columns))
            append(sheet, [])
            row = append(sheet, [overview_title(k)])
            sheet.cell(row, 1).font = bold
            heading_row(sheet, tab.headings)
            for values in tab.rows:
                row = append(
                    sheet,
                    [
                        _xlsx_figure(v, "%") if percent_column(k, c) else v
                        for c, v in zip(tab.columns, values, strict=True)
                    ],
                )
                for index, (column, value) in enumerate(zip(tab.columns, values, strict=True), start=1):
                    if isinstance(value, date):
                        sheet.cell(row, index).number_format = _DAY_FORMAT
                    elif percent_column(k, column) and isinstance(value, int | float):
                        sheet.cell(row, index).number_format = _PERCENT_FORMAT
                    elif isinstance(value, float):
                        sheet.cell(row, index).number_format = "0.0#"
        for index in range(1, widest + 1):
            width = 45 if index in (1, 2) else 16
            sheet.column_dimensions[get_column_letter(index)].width = width
        sheet.column_dimensions[get_column_letter(len(sheet_columns))].width = 60
        print_setup(sheet, header)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- CSV ----------------------------------------------------------------------------------------
#
# Two tables, each a file: the KPIs (one row per KPI) and the details (one row per field of each item,
# long format, so every row has the same columns). The default dialect is "excel-nl", what Excel with
# Belgian (nl-BE) settings opens by double-click: semicolons, decimal comma, days as dd/mm/jjjj.
# "rfc4180" is for programs: commas, decimal point, ISO days.

KPI_COLUMNS = (
    "Onderdeel",
    "Doelstelling",
    "Code",
    "Indicator",
    "Waarde",
    "Eenheid",
    "Doel",
    "Status",
    "Vorig jaar",
    "Verschil",
    "Toelichting",
    "Toelichting bijgewerkt op",
)
DETAIL_COLUMNS = ("Onderdeel", "Doelstelling", "Code", "Indicator", "Nr.", "Veld", "Inhoud")


def _csv_value(value: Any, dialect: Dialect) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return nl.YES if value else nl.NO
    if isinstance(value, datetime):
        return local(value).strftime("%d/%m/%Y %H:%M") if dialect == "excel-nl" else value.isoformat()
    if isinstance(value, date):
        return day(value) if dialect == "excel-nl" else value.isoformat()
    if isinstance(value, int | float):  # numbers are never escaped: "-1" is a number here, not a formula
        text = str(round(value, 6)) if isinstance(value, float) else str(value)
        return text.replace(".", ",") if dialect == "excel-nl" else text
    return safe_text(str(value))


def _write(rows: Iterable[list[Any]], dialect: Dialect) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if dialect == "excel-nl" else ",", lineterminator="\r\n")
    for row in rows:
        writer.writerow([_csv_value(v, dialect) for v in row])
    return buffer.getvalue()


def kpi_rows(document: Document) -> Iterable[list[Any]]:
    yield list(KPI_COLUMNS)
    for p in shown_goals(document.answer):
        for objective, kpis in p.objectives:
            for k in kpis:
                explanation = document.explanation(k)
                yield [
                    p.goal.heading,
                    objective_short(objective),
                    k["code"],
                    k["title"],
                    k["value"],
                    "%" if k["unit"] == "%" else nl.unit_word(k["unit"], k["value"]),
                    k["target"],
                    nl.STATUS.get(k["status"], k["status"]),
                    document.previous_value(k),
                    document.change(k),
                    explanation.text if explanation else None,
                    local(explanation.written_at) if explanation else None,
                ]


def detail_rows(document: Document) -> Iterable[list[Any]]:
    yield list(DETAIL_COLUMNS)
    for p in shown_goals(document.answer):
        for objective, kpis in p.objectives:
            for k in kpis:
                tab = table(k["items"])
                for number_, values in enumerate(tab.rows, start=1):
                    for heading, value in zip(tab.headings, values, strict=True):
                        if value is None:
                            continue
                        yield [
                            p.goal.heading,
                            objective_short(objective),
                            k["code"],
                            k["title"],
                            number_,
                            heading,
                            value,
                        ]


def render_csv(document: Document, dialect: Dialect = "excel-nl") -> str:
    """The KPI table. Prefix a BOM when writing a file that Excel should open (the API does)."""
    return _write(kpi_rows(document), dialect)


def render_details_csv(document: Document, dialect: Dialect = "excel-nl") -> str:
    """The items of every KPI, one row per field."""
    return _write(detail_rows(document), dialect)
