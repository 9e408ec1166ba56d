"""Activities end to end: the events and KPI services as processes, over HTTP and the real broker.

Each test uses its own year, so the tests sharing one pair of services never count each other's sessions.
The main scenario runs on SQLite and PostgreSQL; the others on SQLite."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session

from services.events.tables import ContactDigest
from shared import events, topics
from shared.db import make_engine
from tests import infra

pytestmark = pytest.mark.e2e


@dataclass
class Stack:
    events: httpx.Client
    kpi: httpx.Client
    events_database: str
    prefix: str
    bootstrap: str

    def ok(self, response: httpx.Response, status: int = 200) -> Any:
        assert response.status_code == status, response.text
        return response.json()

    def schedule(self, **body: Any) -> dict[str, Any]:
        base = {"title": "Sessie", "theme": "digitale inclusie", "lead": "vvsg", "format": "online"}
        return dict(self.ok(self.events.post("/sessions", json={**base, **body}), 201))

    def register(self, session_id: str, **body: Any) -> dict[str, Any]:
        return dict(self.ok(self.events.post(f"/sessions/{session_id}/registrations", json=body), 201))

    def attend(self, session_id: str, registration_id: str, **body: Any) -> httpx.Response:
        return self.events.put(
            f"/sessions/{session_id}/registrations/{registration_id}/attendance", json=body
        )

    def kpis(self, year: int) -> dict[str, dict[str, Any]]:
        report = self.ok(self.kpi.get(f"/kpis/{year}"))
        return {k["code"]: k for k in report["kpis"]}

    def kpis_when(
        self, year: int, code: str, value: float, timeout: float = 30.0
    ) -> dict[str, dict[str, Any]]:
        """The KPI answer once the projector has caught up to `value` for `code`."""

        def caught_up() -> dict[str, dict[str, Any]] | None:
            answer = self.kpis(year)
            return answer if answer[code]["value"] == value else None

        return infra.wait_until(caught_up, timeout, 0.2, f"{code} to reach {value} in {year}")  # type: ignore[no-any-return]

    def produce(self, topic: str, records: list[tuple[bytes | None, bytes | None]]) -> None:
        asyncio.run(infra.produce(self.bootstrap, [(self.prefix + topic, k, v) for k, v in records]))

    def published(self, key: str) -> list[Any]:
        records = asyncio.run(infra.read_topic(self.bootstrap, self.prefix + topics.ACTIVITIES_EVENTS))
        return sorted((r for r in records if r.key == key.encode()), key=lambda r: r.offset)


def _names(records: list[Any]) -> list[str]:
    return [json.loads(r.value)["type"].removeprefix(events.TYPE_PREFIX).rsplit(".v", 1)[0] for r in records]


def _start(
    kind: str, request: pytest.FixtureRequest, bootstrap: str, folder: Path, resources: ExitStack
) -> Stack:
    prefix = f"t{uuid.uuid4().hex[:10]}."
    infra.create_topics(bootstrap, prefix)
    if kind == "sqlite":
        urls = [f"sqlite:///{folder}/events.db", f"sqlite:///{folder}/kpi.db"]
    else:
        server = request.getfixturevalue("postgres_server")
        urls = [resources.enter_context(infra.postgres_database(server)) for _ in range(2)]
    processes = []
    for name, url in zip(("events", "kpi"), urls, strict=True):
        env = {"DATABASE_URL": url, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "KAFKA_TOPIC_PREFIX": prefix}
        process = infra.ServiceProcess(name, env, folder)
        resources.callback(process.stop)
        processes.append(process.start())
    clients = [
        resources.enter_context(processes[0].client("staff")),
        resources.enter_context(processes[1].client("viewer")),
    ]
    return Stack(clients[0], clients[1], urls[0], prefix, bootstrap)


@pytest.fixture(scope="module")
def sqlite_stack(
    request: pytest.FixtureRequest, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    with ExitStack() as resources:
        yield _start("sqlite", request, kafka_bootstrap, tmp_path_factory.mktemp("e2e-sqlite"), resources)


@pytest.fixture
def postgresql_stack(
    request: pytest.FixtureRequest, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    with ExitStack() as resources:
        yield _start(
            "postgresql", request, kafka_bootstrap, tmp_path_factory.mktemp("e2e-postgresql"), resources
        )


# --- the info session with 30 registrations ------------------------------------------------------


def _members(stack: Stack, count: int) -> list[uuid.UUID]:
    """Members joining through the members service's topic, one of them with an e-mail address."""
    organisation = uuid.uuid4()
    members = [uuid.uuid4() for _ in range(count)]
    datas: list[events.EventData] = [
        events.OrganisationRegistered(
            organisation_id=organisation,
            name="Gemeente Zemst",
            kind="lokaal_bestuur",
            registered_on=date(2024, 1, 1),
        ),
        *(
            events.MemberJoined(member_id=m, organisation_id=organisation, joined_on=date(2024, 2, 1))
            for m in members
        ),
    ]
    stack.produce(
        topics.MEMBERS_EVENTS,
        [
            (d.key().encode(), events.encode(events.new_envelope(d, source="/services/members")))
            for d in datas
        ],
    )
    contact = {"member_id": str(members[-1]), "email": "an.peeters@zemst.be", "first_name": "An"}
    stack.produce(topics.MEMBERS_CONTACTS, [(str(members[-1]).encode(), json.dumps(contact).encode())])
    return members


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_an_info_session_with_a_waiting_list_and_corrected_attendance_gives_exact_participant_hours(
    request: pytest.FixtureRequest, database: str
) -> None:
    stack: Stack = request.getfixturevalue(f"{database}_stack")
    members = _members(stack, 20)
    session = stack.schedule(
        kind="info_session",
        title="Infosessie digitale drempels",
        capacity=28,
        starts_at="2025-03-04T14:00:00+01:00",
        ends_at="2025-03-04T17:00:00+01:00",
    )
    sid = session["id"]
    registrations = [stack.register(sid, member_id=str(m)) for m in members]
    registrations += [stack.register(sid, organisation_kind="lokaal_bestuur") for _ in range(10)]
    assert [r["waitlisted"] for r in registrations].count(True) == 2

    cancelled = stack.ok(stack.events.post(f"/sessions/{sid}/registrations/{registrations[4]['id']}/cancel"))
    assert [r["id"] for r in cancelled["promoted"]] == [registrations[28]["id"]]

    engine = make_engine(stack.events_database)
    with Session(engine) as db:
        infra.wait_until(
            lambda: db.get(ContactDigest, members[-1], populate_existing=True), what="contact digest"
        )
    engine.dispose()
    lines = ["lid;aanwezig;uren"]
    lines += [f"{m};ja;" for i, m in enumerate(members[:18]) if i != 4]  # 17 members, the full 3 hours
    lines += [f"{members[18]};ja;1,5", "An.Peeters@zemst.be;ja;1,5"]  # two partly, one by e-mail address
    lines += [f"{r['id']};ja;" for r in registrations[20:24]]  # outside participants, by registration id
    lines += [
        f"{registrations[24]['id']};nee;",
        f"{registrations[28]['id']};ja;3",
    ]  # absent; the promoted one
    imported = stack.events.post(
        f"/sessions/{sid}/attendance/import", content="\n".join(lines), headers={"Content-Type": "text/csv"}
    )
    assert stack.ok(imported)["registrations"] == 25  # 24 present, 1 absent
    stack.ok(stack.attend(sid, registrations[0]["id"], attended=True, hours=2))  # corrected: left early

    held = stack.ok(stack.events.post(f"/sessions/{sid}/held"))
    assert (held["participants"], held["participant_hours"]) == (24, 68.0)

    answer = stack.kpis_when(2025, "OD1.2-deelnemersuren", 68.0)
    assert answer["OD1.2-infosessies"]["value"] == 1
    [item] = answer["OD1.2-infosessies"]["items"]
    assert (item["date"], item["participants"], item["participant_hours"], item["registrations"]) == (
        "2025-03-04",
        24,
        68.0,
        28,
    )
    assert (answer["OD1.2-deelnemersuren"]["target"], answer["OD1.2-deelnemersuren"]["status"]) == (
        100,
        "niet behaald",
    )


# --- the calendar year ---------------------------------------------------------------------------


def test_a_session_rescheduled_from_december_into_january_counts_in_the_new_year(sqlite_stack: Stack) -> None:
    meeting = sqlite_stack.schedule(
        kind="network_meeting_general",
        starts_at="2023-12-14T13:00:00+01:00",
        ends_at="2023-12-14T16:00:00+01:00",
    )
    sqlite_stack.ok(
        sqlite_stack.events.post(
            f"/sessions/{meeting['id']}/reschedule",
            json={"starts_at": "2024-01-18T13:00:00+01:00", "ends_at": "2024-01-18T16:00:00+01:00"},
        )
    )
    held = sqlite_stack.ok(sqlite_stack.events.post(f"/sessions/{meeting['id']}/held"))
    assert held["held_on"] == "2024-01-18"
    in_2024 = sqlite_stack.kpis_when(2024, "OD1.1-bijeenkomsten-algemeen", 1)
    assert in_2024["OD1.1-bijeenkomsten-algemeen"]["items"][0]["session_id"] == meeting["id"]
    assert sqlite_stack.kpis(2023)["OD1.1-bijeenkomsten-algemeen"]["value"] == 0


def test_a_cancelled_session_never_counts(sqlite_stack: Stack) -> None:
    times = {"starts_at": "2022-05-10T10:00:00+02:00", "ends_at": "2022-05-10T12:00:00+02:00"}
    dropped = sqlite_stack.schedule(kind="network_meeting_thematic", title="Afgelast", **times)
    kept = sqlite_stack.schedule(kind="network_meeting_thematic", title="Impactmeting", **times)
    sqlite_stack.ok(
        sqlite_stack.events.post(f"/sessions/{dropped['id']}/cancel", json={"cancelled_on": "2022-05-01"})
    )
    assert sqlite_stack.events.post(f"/sessions/{dropped['id']}/held").status_code == 409
    sqlite_stack.ok(sqlite_stack.events.post(f"/sessions/{kept['id']}/held"))
    answer = sqlite_stack.kpis_when(2022, "OD1.1-bijeenkomsten-specifiek", 1)
    assert [i["title"] for i in answer["OD1.1-bijeenkomsten-specifiek"]["items"]] == ["Impactmeting"]


# --- at-least-once delivery ----------------------------------------------------------------------


def test_registrations_delivered_twice_count_once(sqlite_stack: Stack) -> None:
    session = sqlite_stack.schedule(
        kind="info_session", starts_at="2021-10-05T10:00:00+02:00", ends_at="2021-10-05T12:00:00+02:00"
    )
    sid = session["id"]
    registrations = [sqlite_stack.register(sid, organisation_kind="lokaal_bestuur") for _ in range(3)]
    for registration in registrations:
        sqlite_stack.ok(sqlite_stack.attend(sid, registration["id"], attended=True))
    sqlite_stack.ok(sqlite_stack.events.post(f"/sessions/{sid}/held"))
    sqlite_stack.kpis_when(2021, "OD1.2-deelnemersuren", 6.0)

    delivered = infra.wait_until(
        lambda: [r for r in sqlite_stack.published(sid)], what="the session's records"
    )
    sqlite_stack.produce(topics.ACTIVITIES_EVENTS, [(r.key, r.value) for r in delivered])  # all of it again
    # a correction after the duplicates on the same partition: once it shows, the duplicates were read
    sqlite_stack.ok(sqlite_stack.attend(sid, registrations[0]["id"], attended=True, hours=1))
    answer = sqlite_stack.kpis_when(2021, "OD1.2-deelnemersuren", 5.0)
    [item] = answer["OD1.2-infosessies"]["items"]
    assert (item["registrations"], item["participants"], answer["OD1.2-infosessies"]["value"]) == (3, 3, 1)


# --- bad requests --------------------------------------------------------------------------------


def test_bad_requests_get_a_clear_4xx_and_change_nothing(sqlite_stack: Stack) -> None:
    times = {"starts_at": "2020-06-09T10:00:00+02:00", "ends_at": "2020-06-09T13:00:00+02:00"}
    session = sqlite_stack.schedule(kind="info_session", **times)
    sid = session["id"]
    registration = sqlite_stack.register(sid, organisation_kind="andere")
    sqlite_stack.ok(sqlite_stack.attend(sid, registration["id"], attended=True, hours=2))
    other = sqlite_stack.schedule(kind="info_session", **times)
    other_registration = sqlite_stack.register(other["id"], organisation_kind="andere")
    sqlite_stack.ok(sqlite_stack.events.post(f"/sessions/{other['id']}/cancel"))
    before = sqlite_stack.ok(sqlite_stack.events.get(f"/sessions/{sid}"))

    end_before_start = sqlite_stack.events.post(
        "/sessions",
        json={
            **times,
            "kind": "info_session",
            "title": "Verkeerd",
            "theme": "x",
            "lead": "vvsg",
            "format": "online",
            "ends_at": "2020-06-09T09:00:00+02:00",
        },
    )
    assert (end_before_start.status_code, end_before_start.json()["detail"][0]["loc"]) == (
        422,
        ["body", "ends_at"],
    )
    too_many_hours = sqlite_stack.attend(sid, registration["id"], attended=True, hours=3.5)
    assert too_many_hours.status_code == 422
    assert "planned hours" in too_many_hours.json()["detail"][0]["msg"]
    on_cancelled = sqlite_stack.attend(other["id"], other_registration["id"], attended=True)
    assert (on_cancelled.status_code, on_cancelled.json()["detail"]) == (
        409,
        "attendance cannot be recorded for a cancelled session",
    )
    unknown = uuid.uuid4()
    assert sqlite_stack.events.post(f"/sessions/{unknown}/held").status_code == 404
    assert sqlite_stack.attend(str(unknown), registration["id"], attended=True).status_code == 404

    assert sqlite_stack.ok(sqlite_stack.events.get(f"/sessions/{sid}")) == before
    # a good request after the bad ones: once it is on the topic, nothing else was published before it
    sqlite_stack.ok(sqlite_stack.events.post(f"/sessions/{sid}/recording", json={"url": "https://vvsg.be/x"}))
    records = infra.wait_until(
        lambda: (lambda r: r if r and _names(r)[-1] == "recording.published" else None)(
            sqlite_stack.published(sid)
        ),
        what="the recording on the topic",
    )
    assert _names(records) == [
        "session.scheduled",
        "registration.received",
        "attendance.recorded",
        "recording.published",
    ]
    assert _names(sqlite_stack.published(other["id"])) == [
        "session.scheduled",
        "registration.received",
        "session.cancelled",
    ]
