"""Free text that is safe to store, mail and export: annotated string types for request models.

C0 and C1 control characters break exports (openpyxl refuses them), mail headers and terminals, and
nothing a person types needs them; tab and newline are allowed only where a text may have lines.
Each type is a pydantic `Annotated[str, ...]`, so a refused value is a 422 naming the field.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

# C0 (except tab, LF, CR), DEL and C1; lines may keep \t \n \r, single-line text keeps none of them
_CONTROL_IN_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_IN_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# the years a business date of this programme can sensibly have (the plan runs 2021–2030; imports of
# older member lists go back a little further)
EARLIEST_YEAR = 2000
LATEST_YEAR = 2100


def single_line(value: str) -> str:
    """No control character and no line break (names, titles; safe in a mail header)."""
    found = _CONTROL_IN_LINE.search(value)
    if found:
        raise ValueError(f"contains a control character or line break (U+{ord(found.group()):04X})")
    return value


def multi_line(value: str) -> str:
    """No control character; tab and newline allowed (descriptions, comments, Markdown)."""
    found = _CONTROL_IN_LINES.search(value)
    if found:
        raise ValueError(f"contains a control character (U+{ord(found.group()):04X})")
    return value


def plausible_date(value: date) -> date:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"the year must lie between {EARLIEST_YEAR} and {LATEST_YEAR}")
    return value


# The common cases, ready to use as field types. Other lengths: Annotated[str, StringConstraints(...),
# AfterValidator(single_line)] (or multi_line).
Line = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), AfterValidator(single_line)
]
Lines = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000), AfterValidator(multi_line)]
# http(s) only, no spaces or control characters (a javascript: link or a header break cannot pass)
SafeUrl = Annotated[
    str, Field(pattern=r"^https?://[^\s\x00-\x1f\x7f-\x9f]+$", max_length=2000), AfterValidator(single_line)
]
BusinessDate = Annotated[date, AfterValidator(plausible_date)]


# --- dates in words (nl-BE), for pages and mails ----------------------------------------------------

MONTHS = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)
WEEKDAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")


def day_words(day: date) -> str:
    """3 maart 2026"""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"
