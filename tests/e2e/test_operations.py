"""Everyday operations: the member import, metrics that move, dead letters listed and replayed."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import httpx
import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from ops.cli import app as cli
from ops.member_import import Importer, read_rows
from shared import events, topics
from tests.infra import ServiceProcess, auth, produce, wait_until

pytestmark = pytest.mark.e2e


def _messy_sheet(path: Path) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(
        [
            "Voornaam",
            "Naam",
            "E-mailadres",
            "Organisatie",
            "Soort organisatie",
            "NIS-code",
            "Nieuwsbrief",
            "Lid sinds",
            "Opmerking",
        ]
    )
    sheet.append(
        [
            "An",
            "Peeters",
            "an.peeters@zemst.be",
            "Gemeente Zemst",
            "Gemeente",
            "23096",
            "ja",
            datetime(2024, 1, 15),
            "trekker",
        ]
    )
    sheet.append(["Bart", "Claes", "BART.CLAES@zemst.be", "gemeente zemst", None, None, "nee", None, None])
    sheet.append(["Charlotte", "Maes", "charlotte@gent", "Stad Gent", "Stad", "44021", "ja", None, None])
    sheet.append(["Dirk", "Jacobs", "dirk@digidak.be", "Digidak", "Koepel", None, "ja", None, None])
    sheet.append(
        ["An", "Peeters", "an.peeters@zemst.be", "Gemeente Zemst", "Gemeente", None, "ja", None, None]
    )
    sheet.append(
        [
            "Els",
            "Mertens",
            "els@welzijnsregio.be",
            "Welzijnsregio Noord",
            "ISV",
            None,
            "x",
            "01/05/2023",
            None,
        ]
    )
    sheet.append([None] * 9)
    book.save(path)
    return path


def test_the_member_import_reports_every_row_and_a_second_run_changes_nothing(
    services: Callable[..., ServiceProcess], tmp_path: Path
) -> None:
    members = services("members", f"sqlite:///{tmp_path}/members.db")
    rows, unknown = read_rows(_messy_sheet(tmp_path / "leden.xlsx"))
    assert unknown == ["Opmerking"]
    with httpx.Client(base_url=members.url, headers=auth("staff"), timeout=30) as client:
        dry = Importer(client, dry_run=True).run(rows)
        assert client.get("/members", params={"state": "all"}).json()["total"] == 0
        first = Importer(client, dry_run=False).run(rows)
        second = Importer(client, dry_run=False).run(rows)
        listed = client.get("/members", params={"state": "all"}).json()
    assert [(v.row, v.action) for v in dry] == [
        (2, "zou aangemaakt worden"),
        (3, "zou aangemaakt worden"),
        (4, "geweigerd"),
        (5, "geweigerd"),
        (6, "geweigerd"),
        (7, "zou aangemaakt worden"),
    ]
    assert [(v.row, v.action) for v in first] == [
        (2, "aangemaakt"),
        (3, "aangemaakt"),
        (4, "geweigerd"),
        (5, "geweigerd"),
        (6, "geweigerd"),
        (7, "aangemaakt"),
    ]
    reasons = {v.row: v.detail for v in first}
    assert "ongeldig e-mailadres 'charlotte@gent'" in reasons[4]
    assert "onbekende soort organisatie 'Koepel'" in reasons[5]
    assert "staat al op rij 2" in reasons[6]
    assert [(v.row, v.action) for v in second] == [
        (2, "ongewijzigd"),
        (3, "ongewijzigd"),
        (4, "geweigerd"),
        (5, "geweigerd"),
        (6, "geweigerd"),
        (7, "ongewijzigd"),
    ]
    assert listed["total"] == 3
    by_email = {m["email"]: m for m in listed["items"]}
    assert by_email["an.peeters@zemst.be"]["joined_on"] == "2024-01-15"
    assert by_email["an.peeters@zemst.be"]["newsletter_consent"] is True
    assert (
        by_email["bart.claes@zemst.be"]["organisation_id"]
        == by_email["an.peeters@zemst.be"]["organisation_id"]
    )


def test_the_import_command_prints_its_report(
    services: Callable[..., ServiceProcess], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    members = services("members", f"sqlite:///{tmp_path}/members.db")
    monkeypatch.setenv("MEMBERS_URL", members.url)
    result = CliRunner().invoke(cli, ["import-members", str(_messy_sheet(tmp_path / "leden.xlsx"))])
    assert result.exit_code == 1, result.output  # rows were refused
    assert "3 aangemaakt, 3 geweigerd" in result.output


def _metric(url: str, name: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_move_when_events_flow(services: Callable[..., ServiceProcess], tmp_path: Path) -> None:
    members = services("members", f"sqlite:///{tmp_path}/members.db")
    kpi = services("kpi", f"sqlite:///{tmp_path}/kpi.db")
    published = _metric(members.url, "vvsg_events_published_total")
    applied = _metric(kpi.url, "vvsg_records_applied_total")
    with members.client("staff") as client:
        org = client.post("/organisations", json={"name": "Gemeente Zemst", "kind": "lokaal_bestuur"}).json()
        client.post(
            "/members",
            json={"first_name": "An", "last_name": "P", "email": "an@zemst.be", "organisation_id": org["id"]},
        )
    wait_until(lambda: _metric(members.url, "vvsg_events_published_total") >= published + 3, 20, 0.2)
    wait_until(lambda: _metric(kpi.url, "vvsg_records_applied_total") >= applied + 2, 20, 0.2)
    assert _metric(members.url, "vvsg_outbox_backlog") == 0
    requests = _metric(members.url, "vvsg_http_requests_total")
    assert requests >= 2
    assert re.search(r'vvsg_consumer_lag\{consumer="kpi-projector"', httpx.get(f"{kpi.url}/metrics").text)


def test_a_dead_letter_is_listed_and_replayed_after_a_fix(
    services: Callable[..., ServiceProcess],
    tmp_path: Path,
    kafka_bootstrap: str,
    topic_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kpi = services("kpi", f"sqlite:///{tmp_path}/kpi.db")
    topic = topic_prefix + topics.MEMBERS_EVENTS
    # what an older projector refused: a valid member.joined it could not handle then
    joined = events.MemberJoined(
        member_id=uuid.uuid4(), organisation_id=uuid.uuid4(), joined_on=date(2025, 3, 1)
    )
    value = events.encode(events.new_envelope(joined, source="/services/members"))
    asyncio.run(produce(kafka_bootstrap, [(topic, b"broken", b"not json")]))
    wait_until(lambda: _metric(kpi.url, "vvsg_dead_letters_total") >= 1, 20, 0.2)
    asyncio.run(_dead_letter(kafka_bootstrap, topic, joined.key().encode(), value))

    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    monkeypatch.setenv("KAFKA_TOPIC_PREFIX", topic_prefix)
    listed = CliRunner().invoke(cli, ["dlq", "list", topics.MEMBERS_EVENTS], terminal_width=200)
    assert listed.exit_code == 0, listed.output
    assert "2 dode brieven" in listed.output
    assert "not JSON" in listed.output and "kpi-projector" in listed.output

    replayed = CliRunner().invoke(cli, ["dlq", "replay", topics.MEMBERS_EVENTS, "--offset", "1"])
    assert replayed.exit_code == 0, replayed.output
    with kpi.client("viewer") as client:
        wait_until(
            lambda: (
                next(
                    k["value"] for k in client.get("/kpis/2025").json()["kpis"] if k["code"] == "OD1.1-leden"
                )
                == 1
            ),
            20,
            0.2,
            "the replayed member",
        )


async def _dead_letter(bootstrap: str, topic: str, key: bytes, value: bytes) -> None:
    from shared.kafka import make_producer

    producer = make_producer(bootstrap, "test")
    await producer.start()
    try:
        await producer.send_and_wait(
            topics.dead_letter_topic(topic),
            value=value,
            key=key,
            headers=[
                ("dlq-reason", b"unknown event type (projector 0.9)"),
                ("dlq-consumer", b"kpi-projector"),
                ("dlq-topic", topic.encode()),
                ("dlq-partition", b"0"),
                ("dlq-offset", b"7"),
            ],
        )
    finally:
        await producer.stop()
