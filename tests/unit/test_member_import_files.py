"""Reading a member list that is broken, hostile or too big: a clear Dutch refusal of the whole file,
within bounded time and memory (issue 11 item 10). The end-to-end tests run the same files through
`vvsg import-members` against the members service."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from ops.member_import import ImportFileError, _date, read_rows
from tests import member_files


@pytest.mark.parametrize("name", sorted(member_files.BROKEN_FILES))
def test_a_file_that_cannot_be_a_member_list_is_refused_whole_with_a_dutch_reason(
    name: str, tmp_path: Path
) -> None:
    make, says = member_files.BROKEN_FILES[name]
    path = make(tmp_path / name)
    with pytest.raises(ImportFileError) as refused:
        read_rows(path)
    assert says in str(refused.value)


@pytest.mark.parametrize(
    "make",
    [member_files.whitespace_bomb_xlsx, member_files.lying_zip_xlsx],
    ids=["300 MB of whitespace", "sizes that lie"],
)
def test_a_zip_bomb_is_refused_in_bounded_time_and_memory(
    make: Callable[[Path], Path], tmp_path: Path
) -> None:
    path = make(tmp_path / "bom.xlsx")
    assert path.stat().st_size < 2_000_000  # small on disk: a size check alone would let it through
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(ImportFileError):
            read_rows(path)
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # before: 9.6 s and 374 MB for the 300 MB one; now refused from the zip directory, or stopped
    # by zipfile at the size the directory claims
    assert seconds < 3.0, f"{seconds:.1f} s"
    assert peak < 40 * 1024 * 1024, f"{peak / 1024 / 1024:.0f} MB"


def test_a_list_just_under_the_limits_is_read(tmp_path: Path) -> None:
    rows, unknown = read_rows(member_files.good_xlsx(tmp_path / "leden.xlsx"))
    assert [r.values["email"] for r in rows] == ["an@zemst.be"] and unknown == []
    rows, _ = read_rows(member_files.whitespace_bomb_xlsx(tmp_path / "ruim.xlsx", megabytes=20))
    assert [r.values["email"] for r in rows] == ["an@zemst.be"]


def test_a_date_that_does_not_exist_is_named_as_such() -> None:
    with pytest.raises(ValueError, match="datum '31/02/2024' bestaat niet"):
        _date("31/02/2024")
    with pytest.raises(ValueError, match="bestaat niet"):
        _date("2023-02-29")
    with pytest.raises(ValueError, match="niet begrepen"):
        _date("februari 2024")
    with pytest.raises(ValueError, match="ligt in de toekomst"):
        _date("01/01/2099", today=date(2026, 1, 1))
    assert _date("29/02/2024") == date(2024, 2, 29)
    assert _date("1.5.2023") == date(2023, 5, 1)
