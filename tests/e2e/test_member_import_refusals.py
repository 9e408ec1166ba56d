"""`vvsg import-members` against the members service with files and rows it must refuse (issue 11
items 10 and 2): a Dutch message and a non-zero exit, nothing written for a broken file, every problem
of a row listed, and no formula or control character stored."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from ops.cli import app as cli
from ops.member_import import Importer, read_rows
from shared.spreadsheet import is_formula
from tests import member_files
from tests.infra import ServiceProcess, auth

pytestmark = pytest.mark.e2e


def _totals(members: ServiceProcess) -> tuple[int, int]:
    with httpx.Client(base_url=members.url, headers=auth("staff"), timeout=30) as client:
        return (
            client.get("/members", params={"state": "all"}).json()["total"],
            client.get("/organisations").json()["total"],
        )


def test_a_file_that_cannot_be_read_gives_a_dutch_message_exit_2_and_writes_nothing(
    services: Callable[..., ServiceProcess], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    members = services("members", f"sqlite:///{tmp_path}/members.db")
    monkeypatch.setenv("MEMBERS_URL", members.url)
    wrong: list[str] = []
    for name, (make, says) in member_files.BROKEN_FILES.items():
        path = make(tmp_path / name)
        for dry_run in ([], ["--dry-run"]):
            result = CliRunner().invoke(cli, ["import-members", str(path), *dry_run])
            output = " ".join(result.output.split())  # rich wraps long lines
            if (
                result.exit_code != 2
                or says not in output
                or "Er is niets geïmporteerd." not in output
                or "Traceback" in output
                or not isinstance(result.exception, SystemExit)
            ):
                wrong.append(
                    f"{name} {dry_run}: exit {result.exit_code}, {result.exception!r}: {output[:300]}"
                )
    assert wrong == []
    assert _totals(members) == (0, 0)


def _hostile_rows(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(
            [
                "Voornaam",
                "Naam",
                "E-mailadres",
                "Organisatie",
                "Soort organisatie",
                "NIS-code",
                "Telefoon",
                "Nieuwsbrief",
                "Lid sinds",
            ]
        )
        good = ["An", "Peeters", "an@zemst.be", "Gemeente Zemst", "gemeente", "23096", "+32 15 61 71 00"]
        writer.writerow([*good, "ja", "15/01/2024"])  # 2
        writer.writerow(
            ["=cmd|' /C calc'!A0", "Claes", "bart@zemst.be", "Gemeente Zemst", "", "", "", "nee", ""]
        )
        writer.writerow(["Bart", "@SUM(1+1)", "bart2@zemst.be", "+1+1", "gemeente", "", "", "", ""])  # 4
        writer.writerow(["Dirk", "Jacobs", "dirk@zemst.be", "Gemeente\x08Zemst", "gemeente", "", "", "", ""])
        writer.writerow(  # 6: five problems at once
            ["-2+3", "Maes", "charlotte@gent", "Stad Gent", "stad", "4402", "", "misschien", "31/02/2024"]
        )
        writer.writerow(
            ["Els\nMertens", "Mertens", "els@zemst.be", "Gemeente Zemst", "", "", "", "", ""]
        )  # 7
        writer.writerow(["Eva", "Wouters", "eva@zemst.be", "Nieuwe Gemeente", "", "", "=1+2", "", ""])  # 8
    return path


def test_every_problem_of_a_row_is_listed_and_no_formula_or_control_character_is_stored(
    services: Callable[..., ServiceProcess], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    members = services("members", f"sqlite:///{tmp_path}/members.db")
    monkeypatch.setenv("MEMBERS_URL", members.url)
    path = _hostile_rows(tmp_path / "leden.csv")

    dry = CliRunner().invoke(cli, ["import-members", str(path), "--dry-run"])
    assert dry.exit_code == 1, dry.output  # a dry run with refused rows is not a success
    assert "6 geweigerd, 1 zou aangemaakt worden" in dry.output
    assert _totals(members) == (0, 0)

    rows, _ = read_rows(path)
    with httpx.Client(base_url=members.url, headers=auth("staff"), timeout=30) as client:
        verdicts = {v.row: v for v in Importer(client, dry_run=True).run(rows)}
    assert verdicts[2].action == "zou aangemaakt worden"
    assert verdicts[3].detail.startswith("Voornaam: '=cmd|' /C calc'!A0' begint met '='")
    assert "zou in een rekenblad een formule worden" in verdicts[3].detail
    assert verdicts[4].detail.split("; ")[0].startswith("Naam: '@SUM(1+1)' begint met '@'")
    assert verdicts[4].detail.split("; ")[1].startswith("Organisatie: '+1+1' begint met '+'")
    assert verdicts[5].detail == "Organisatie: bevat een stuurteken (U+0008)"
    assert verdicts[6].detail.split("; ") == [
        "ongeldig e-mailadres 'charlotte@gent'",
        "Voornaam: '-2+3' begint met '-' en zou in een rekenblad een formule worden: pas de cel aan",
        "Nieuwsbrief: 'misschien' niet begrepen (ja of nee)",
        "Lid sinds: datum '31/02/2024' bestaat niet",
        "NIS-code '4402' moet uit 5 cijfers bestaan",
    ]
    assert verdicts[7].detail == "Voornaam: bevat een regeleinde"
    assert verdicts[8].detail.startswith("Telefoon: '=1+2' begint met '='")
    assert "soort organisatie ontbreekt voor nieuwe organisatie Nieuwe Gemeente" in verdicts[8].detail

    real = CliRunner().invoke(cli, ["import-members", str(path)])
    assert real.exit_code == 1, real.output
    assert "1 aangemaakt, 6 geweigerd" in real.output
    with httpx.Client(base_url=members.url, headers=auth("staff"), timeout=30) as client:
        stored_members = client.get("/members", params={"state": "all"}).json()["items"]
        stored_organisations = client.get("/organisations").json()["items"]
    assert [m["email"] for m in stored_members] == ["an@zemst.be"]
    assert stored_members[0]["phone"] == "+32 15 61 71 00"  # a phone number is no formula
    assert [o["name"] for o in stored_organisations] == ["Gemeente Zemst"]
    texts = [m["first_name"] for m in stored_members] + [m["last_name"] for m in stored_members]
    texts += [o["name"] for o in stored_organisations]
    assert not [t for t in texts if is_formula(t) or any(ord(c) < 32 for c in t)]
