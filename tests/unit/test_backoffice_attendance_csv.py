"""The attendance file's rules without any service: what is refused as a whole (hostile cells, size,
encodings), how a row finds its person, and the verdict per row."""

from __future__ import annotations

from datetime import date

import pytest

from services.backoffice import attendance_csv as sheet

JAN = sheet.Person(
    "11111111-1111-4111-8111-111111111111",
    "aaaaaaaa-1111-4111-8111-111111111111",
    "Jan Janssens",
    "jan@zoersel.be",
    True,
)
AN1 = sheet.Person(
    "22222222-2222-4222-8222-222222222222",
    "bbbbbbbb-2222-4222-8222-222222222222",
    "An Peeters",
    "an@zoersel.be",
    True,
)
AN2 = sheet.Person(
    "33333333-3333-4333-8333-333333333333",
    "cccccccc-3333-4333-8333-333333333333",
    "An Peeters",
    "an.p@mol.be",
    True,
)
OUT = sheet.Person("44444444-4444-4444-8444-444444444444", None, "deelnemer van buiten", None, True)
WAIT = sheet.Person(
    "55555555-5555-4555-8555-555555555555",
    "dddddddd-5555-4555-8555-555555555555",
    "Tom Claes",
    "tom@zoersel.be",
    False,
)
PEOPLE = [JAN, AN1, AN2, OUT, WAIT]
TWO_DAYS = sheet.Session((date(2026, 12, 1), date(2026, 12, 2)), 12.0, date(2026, 12, 3))


def _judge(
    text: str, session: sheet.Session = TWO_DAYS, recorded: sheet.Recorded | None = None
) -> list[sheet.Row]:
    meanings, rows = sheet.read_table(text.encode("utf-8"))
    return sheet.judge(meanings, rows, PEOPLE, session, recorded or {})


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"naam;uren\nJan Janssens;=1+1\n", "formule"),
        (b"naam;uren\n+32 3 123;2\n", "formule"),
        (b"naam;uren\n@SUM(A1);2\n", "formule"),
        (b"naam;uren\n -HYPERLINK();2\n", "formule"),
        (b"=naam;uren\nJan;2\n", "formule"),
        (b"naam;uren\nJan\tJanssens;2\n", "stuurteken"),
        (b"naam;uren\nJan\x00;2\n", "stuurteken"),
        (b'naam;uren\n"Jan\nJanssens";2\n', "regeleinde"),
        ("naam;uren\nJan\u2028Janssens;2\n".encode(), "regeleinde"),
        (b"naam;uren\n" + b"Jan Janssens;2\n" * 14_000, "te groot"),
        (b"naam\n" + b"Jan\n" * (sheet.MAX_ROWS + 1), "te veel regels"),
        (b"naam;" + b"x;" * 25 + b"\n", "te veel kolommen"),
        (b"naam;uren\n" + b"J" * 201 + b";2\n", "hoogstens 200 tekens"),
        (b"\x81\x8d\x90", "geen tekstbestand"),
        (b"  \n", "leeg"),
        (b"voornaam;uren\nJan;2\n", "minstens een van"),
        (b"naam;naam\nJan;Jan\n", "twee keer"),
        (b"naam;uren\n", "geen regels"),
    ],
)
def test_a_hostile_or_unreadable_file_is_refused_as_a_whole(data: bytes, says: str) -> None:
    with pytest.raises(sheet.FileRefused) as refused:
        sheet.read_table(data)
    assert says in str(refused.value)


def test_excel_files_read_with_a_bom_in_windows_1252_and_with_commas() -> None:
    utf8 = "\ufeffNaam;Dag;Uren\nJan Janssens;1/12/2026;5,5\n".encode()
    windows = "naam,dag,uren\nJan Janssens,01-12-2026,5.5\n".encode("cp1252")
    for data in (utf8, windows):
        meanings, rows = sheet.read_table(data)
        (row,) = sheet.judge(meanings, rows, PEOPLE, TWO_DAYS, {})
        assert (row.verdict, row.person, row.day, row.hours) == ("ok", JAN, date(2026, 12, 1), 5.5)


def test_a_row_finds_its_person_by_registration_member_address_or_name() -> None:
    rows = _judge(
        "inschrijving;lid;e-mail;naam;dag\n"
        f"{OUT.registration_id};;;;2026-12-01\n"
        f";{JAN.member_id.upper() if JAN.member_id else ''};;;2026-12-01\n"
        ";;AN@ZOERSEL.BE;;2026-12-01\n"
        ";;;janssens  jan;2026-12-02\n"
    )
    assert [(r.verdict, r.person) for r in rows] == [("ok", OUT), ("ok", JAN), ("ok", AN1), ("ok", JAN)]


def test_unknown_ambiguous_and_waiting_people_are_unknown_persons() -> None:
    rows = _judge(
        "inschrijving;naam;dag\n"
        "99999999-9999-4999-8999-999999999999;;2026-12-01\n"
        ";An Peeters;2026-12-01\n"
        ";Tom Claes;2026-12-01\n"
        ";deelnemer van buiten;2026-12-01\n"
        ";;2026-12-01\n"
    )
    assert [r.verdict for r in rows] == ["unknown"] * 5
    assert "Meer dan één inschrijving" in rows[1].message
    assert "wachtlijst" in rows[2].message


def test_days_hours_and_attendance_are_checked_per_row() -> None:
    rows = _judge(
        "naam;dag;aanwezig;uren\n"
        "Jan Janssens;;ja;2\n"  # two days: which one?
        "Jan Janssens;2026-11-30;ja;2\n"  # the session does not run then
        "Jan Janssens;31/02/2026;ja;2\n"
        "Jan Janssens;2026-12-01;misschien;2\n"
        "Jan Janssens;2026-12-01;ja;0\n"
        "Jan Janssens;2026-12-01;ja;13\n"
        "Jan Janssens;2026-12-01;ja;twee\n"
    )
    assert [r.verdict for r in rows] == ["day", "day", "day", "attended", "hours", "hours", "hours"]
    future = sheet.Session(TWO_DAYS.days, 12.0, date(2026, 12, 1))
    (tomorrow,) = _judge("naam;dag\nJan Janssens;2026-12-02\n", future)
    assert tomorrow.verdict == "day" and "nog niet begonnen" in tomorrow.message


def test_one_day_needs_no_day_and_empty_hours_are_the_planned_hours_per_day() -> None:
    one_day = sheet.Session((date(2026, 12, 1),), 2.5, date(2026, 12, 3))
    (row,) = _judge("naam;aanwezig;uren\nJan Janssens;;\n", one_day)
    assert (row.verdict, row.day, row.attended, row.hours, row.change) == (
        "ok",
        date(2026, 12, 1),
        True,
        2.5,
        True,
    )
    (absent,) = _judge("naam;aanwezig\nJan Janssens;nee\n", one_day)
    assert (absent.verdict, absent.attended, absent.change) == ("ok", False, False)  # nothing to undo


def test_a_second_row_for_the_same_day_and_more_than_the_planned_hours_are_refused() -> None:
    duplicate = _judge("naam;e-mail;dag;uren\nJan Janssens;;2026-12-01;2\n;jan@zoersel.be;2026-12-01;3\n")
    assert [r.verdict for r in duplicate] == ["ok", "duplicate"]
    recorded = {JAN.registration_id: {date(2026, 12, 1): (True, 8.0)}}
    (over,) = _judge("naam;dag;uren\nJan Janssens;2026-12-02;5\n", recorded=recorded)
    assert over.verdict == "hours" and "13" in over.message


def test_what_is_recorded_already_is_no_change() -> None:
    recorded = {
        JAN.registration_id: {date(2026, 12, 1): (True, 6.0)},
        AN1.registration_id: {date(2026, 12, 1): (True, 6.0)},
    }
    rows = _judge(
        "naam;e-mail;dag;aanwezig;uren\nJan Janssens;;2026-12-01;ja;6\n;an@zoersel.be;2026-12-01;nee;\n",
        recorded=recorded,
    )
    assert [(r.verdict, r.change) for r in rows] == [("ok", False), ("ok", True)]


def test_the_template_and_the_confirmation_read_back_as_the_same_rows() -> None:
    recorded = {JAN.registration_id: {date(2026, 12, 2): (False, 0.0)}}
    named = sheet.Person(JAN.registration_id, JAN.member_id, "=Jan Janssens", JAN.email, True)
    template = sheet.template([named, OUT, WAIT], TWO_DAYS, recorded)
    assert template.startswith("\ufeffinschrijving;naam;e-mail;dag;aanwezig;uren\r\n")
    assert "'=Jan Janssens" in template  # a name is never a formula in a spreadsheet
    assert "Tom Claes" not in template  # the waiting list has no seat
    assert f"{JAN.registration_id};'=Jan Janssens;jan@zoersel.be;2026-12-02;nee;6" in template
    meanings, table = sheet.read_table(template.encode())
    rows = sheet.judge(meanings, table, PEOPLE, TWO_DAYS, recorded)
    assert all(r.ok for r in rows) and len(rows) == 4
    again = sheet.judge(*sheet.read_table(sheet.canonical(rows).encode()), PEOPLE, TWO_DAYS, recorded)
    assert [(r.person, r.day, r.attended, r.hours) for r in again] == [
        (r.person, r.day, r.attended, r.hours) for r in rows
    ]
