"""The shared free-text types refuse control characters, and spreadsheet cells never run."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import BaseModel, ValidationError

from shared.spreadsheet import safe_cell, safe_text
from shared.text import BusinessDate, Line, Lines, SafeUrl


class Form(BaseModel):
    name: Line
    description: Lines = ""
    url: SafeUrl | None = None
    on: BusinessDate | None = None


@pytest.mark.parametrize("bad", ["a\u0008b", "a\nb", "a\x00", "x\u0085y", "tab\there"])
def test_a_line_refuses_control_characters_and_line_breaks(bad: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Form(name=bad)
    assert raised.value.errors()[0]["loc"] == ("name",)


def test_lines_keep_tabs_and_newlines_but_refuse_other_controls() -> None:
    assert Form(name="x", description="een\n\ttwee").description == "een\n\ttwee"
    with pytest.raises(ValidationError):
        Form(name="x", description="a\u0008b")


@pytest.mark.parametrize("bad", ["javascript:alert(1)", "https://x.be/\u0008", "https://a b", "ftp://x"])
def test_urls_are_http_without_spaces_or_controls(bad: str) -> None:
    with pytest.raises(ValidationError):
        Form(name="x", url=bad)


def test_business_dates_have_plausible_years() -> None:
    assert Form(name="x", on=date(2025, 3, 1)).on == date(2025, 3, 1)
    with pytest.raises(ValidationError):
        Form(name="x", on=date(1168, 1, 1))


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ('=HYPERLINK("http://evil.example/x","klik")', '\'=HYPERLINK("http://evil.example/x","klik")'),
        ("@SUM(1+1)", "'@SUM(1+1)"),
        ("+1+1", "'+1+1"),
        ("-2", "'-2"),
        ("a\u0008b", "a\ufffdb"),
        ("Gent", "Gent"),
    ],
)
def test_cells_are_text_that_never_runs(raw: str, shown: str) -> None:
    assert safe_text(raw) == shown


def test_non_text_cells_stay_as_they_are() -> None:
    assert safe_cell(3.5) == 3.5
    assert safe_cell(None) is None
    assert safe_cell(date(2025, 1, 1)) == date(2025, 1, 1)
