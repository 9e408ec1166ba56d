"""Cells a spreadsheet will not run: every export (CSV, XLSX) and every import that stores a text
passes its free text through here.

Why both escaping and refusing: the APIs refuse control characters now, but older data and other
producers exist, so an export can never trust what it writes.
"""

from __future__ import annotations

import re
from typing import Any

# A cell starting with one of these is a formula in Excel, LibreOffice and Google Sheets (OWASP's
# "CSV injection" list); tab and CR also start one after a leading separator.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# characters XML 1.0 (so XLSX) cannot hold; openpyxl raises IllegalCharacterError on them
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def is_formula(text: str) -> bool:
    return text.startswith(FORMULA_STARTS)


def safe_text(text: str) -> str:
    """A text as a spreadsheet shows it and never runs it: illegal characters become U+FFFD, and a
    leading formula character is escaped with an apostrophe (what Excel itself uses for text)."""
    cleaned = _ILLEGAL_XML.sub("\ufffd", text)
    return "'" + cleaned if is_formula(cleaned) else cleaned


def safe_cell(value: Any) -> Any:
    """Numbers, dates, booleans and None stay what they are; text goes through `safe_text`."""
    return safe_text(value) if isinstance(value, str) else value
