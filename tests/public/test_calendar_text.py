"""iCalendar text without a service: TEXT values escaped and content lines folded at 75 octets (RFC
5545 3.1 and 3.3.11), ASCII or not, never inside a UTF-8 character; unfolding gives the line back."""

from __future__ import annotations

import pytest

from services.events.calendar import CRLF, fold, text


def unfold(folded: str) -> str:
    return folded.replace(CRLF + " ", "")


@pytest.mark.parametrize(
    "line", ["A" * 75, "A" * 76, "A" * 149, "A" * 150, "B" * 1000, "é" * 38, "é" * 200, "a€" * 90]
)
def test_a_folded_line_keeps_every_part_within_75_octets_and_unfolds_to_itself(line: str) -> None:
    folded = fold(line)
    parts = folded.split(CRLF)
    assert all(len(part.encode("utf-8")) <= 75 for part in parts)
    assert all(part.startswith(" ") for part in parts[1:])
    assert unfold(folded) == line
    for part in parts:
        part.encode("utf-8").decode("utf-8")  # no character cut in two


def test_text_values_escape_what_rfc_5545_reserves_and_drop_control_characters() -> None:
    assert text("a\\b;c,d\ne") == "a\\\\b\\;c\\,d\\ne"
    assert text("bel\x07 esc\x1b tab\tok") == "bel esc tab\tok"  # a tab is allowed (WSP)
    assert text("regel\r\nregel") == "regel\\nregel"
