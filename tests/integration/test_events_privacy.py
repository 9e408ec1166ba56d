"""The events service and the person (GDPR), in process on SQLite and PostgreSQL with the real broker:
the right of access (GET /people/{member_id}) and what `member.erased` does to registrations."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiokafka.partitioner import murmur2
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.events.app import build
from services.events.reminders_tables import MemberAddress
from services.events.tables import ContactDigest, KnownMember, KnownOrganisation
from shared import events, topics
from shared.outbox import OutboxMessage
from shared.settings import Settings
from tests import infra

pytestmark = pytest.mark.integration

BRUSSELS = ZoneInfo("Europe/Brussels")

PAST = {
    "kind": "info_session",
    "title": "Infosessie digitale drempels",
    "theme": "digitale drempels",
    "lead": "vvsg",
    "format": "online",
    "starts_at": "2025-03-04T14:00:00+01:00",
    "ends_at": "2025-03-04T17:00:00+01:00",
}


@dataclass
class Service:
    client: TestClient
    engine: Engine
    prefix: str
    bootstrap: str

    def ok(self, response: Any, status: int = 200) -> Any:
        assert response.status_code == status, response.text
        return response.json()

    def schedule(self, **changes: Any) -> dict[str, Any]:
        return dict(self.ok(self.client.post("/sessions", json={**PAST, **changes}), 201))

    def upcoming(self, **changes: Any) -> dict[str, Any]:
        # 10:00 in Brussels, a month ahead: "now + 30 days" late in the evening would cross midnight,
        # and a session over two days needs planned hours.
        starts = datetime.combine(datetime.now(BRUSSELS).date() + timedelta(days=30), time(10), BRUSSELS)
        return self.schedule(
            starts_at=starts.isoformat(), ends_at=(starts + timedelta(hours=2)).isoformat(), **changes
        )

    def register(self, session_id: str, **body: Any) -> dict[str, Any]:
        body = body or {"organisation_kind": "andere"}
        return dict(self.ok(self.client.post(f"/sessions/{session_id}/registrations", json=body), 201))

    def registration(self, session_id: str, registration_id: str) -> dict[str, Any]:
        return dict(self.ok(self.client.get(f"/sessions/{session_id}/registrations/{registration_id}")))

    def produce(self, topic: str, records: list[tuple[bytes, bytes | None]]) -> None:
        asyncio.run(infra.produce(self.bootstrap, [(self.prefix + topic, k, v) for k, v in records]))

    def produce_members(self, *datas: events.EventData) -> None:
        self.produce(
            topics.MEMBERS_EVENTS,
            [
                (d.key().encode(), events.encode(events.new_envelope(d, source="/services/members")))
                for d in datas
            ],
        )

    def known(self, model: type[Any], key: uuid.UUID) -> Any:
        with Session(self.engine) as session:
            return session.get(model, key)

    def published(self, key: str) -> list[tuple[str, dict[str, Any]]]:
        with Session(self.engine) as session:
            rows = session.execute(
                select(OutboxMessage).where(OutboxMessage.key == key).order_by(OutboxMessage.id)  # type: ignore[arg-type]
            ).scalars()
            values = [json.loads(row.value) for row in rows if row.value]
        return [(v["type"].removeprefix(events.TYPE_PREFIX).rsplit(".v", 1)[0], v["data"]) for v in values]

    def member(self, email: str | None = None) -> uuid.UUID:
        """A member at a municipality, known to the local copy (and with an address digest)."""
        organisation, member = uuid.uuid4(), uuid.uuid4()
        self.produce_members(
            events.OrganisationRegistered(
                organisation_id=organisation,
                name="Gemeente Zemst",
                kind="lokaal_bestuur",
                registered_on=date(2024, 1, 1),
            ),
            events.MemberJoined(member_id=member, organisation_id=organisation, joined_on=date(2024, 2, 1)),
        )
        infra.wait_until(lambda: self.known(KnownMember, member), what="the member in the local copy")
        infra.wait_until(lambda: self.known(KnownOrganisation, organisation), what="the organisation")
        if email:
            value = json.dumps({"member_id": str(member), "email": email}).encode()
            self.produce(topics.MEMBERS_CONTACTS, [(str(member).encode(), value)])
            infra.wait_until(lambda: self.known(ContactDigest, member), what="the address digest")
        return member

    def erase(self, member: uuid.UUID) -> None:
        self.produce_members(events.MemberErased(member_id=member, erased_on=date.today()))

    def people(self, member: uuid.UUID, role: Any = "staff") -> Any:
        return self.client.get(f"/people/{member}", headers=infra.auth(role))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def service(
    request: pytest.FixtureRequest, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    prefix = f"t{uuid.uuid4().hex[:10]}."
    infra.create_topics(kafka_bootstrap, prefix)
    if request.param == "sqlite":
        database: Any = nullcontext(f"sqlite:///{tmp_path_factory.mktemp('events-privacy')}/events.db")
    else:
        database = infra.postgres_database(request.getfixturevalue("postgres_server"))
    with database as url:
        settings = Settings(
            service_name="events",
            database_url=url,
            kafka_bootstrap_servers=kafka_bootstrap,
            kafka_topic_prefix=prefix,
            auth_secret=infra.AUTH_SECRET,
            outbox_poll_seconds=0.1,
        )
        app = build(settings)
        with TestClient(app, headers=infra.auth("staff")) as client:
            yield Service(client, app.state.runtime.engine, prefix, kafka_bootstrap)


def _attended_session(service: Service, member: uuid.UUID) -> tuple[dict[str, Any], dict[str, Any]]:
    """A session held on 4 March 2025 that the member attended for 2.5 hours."""
    session = service.schedule()
    registration = service.register(session["id"], member_id=str(member))
    service.ok(
        service.client.put(
            f"/sessions/{session['id']}/registrations/{registration['id']}/attendance",
            json={"attended": True, "hours": 2.5},
        )
    )
    service.ok(service.client.post(f"/sessions/{session['id']}/held"))
    return session, registration


def _same_partition(key: uuid.UUID, partitions: int = 3) -> uuid.UUID:
    """Another id whose records land in the same partition, so they are read after this key's."""

    def partition(candidate: uuid.UUID) -> int:
        return int(murmur2(str(candidate).encode()) & 0x7FFFFFFF) % partitions

    while True:
        candidate = uuid.uuid4()
        if partition(candidate) == partition(key):
            return candidate


# --- right of access ----------------------------------------------------------------------------


def test_the_export_holds_the_persons_registrations_attendance_and_the_address_mails_go_to(
    service: Service,
) -> None:
    member = service.member(email="an.peeters@zemst.example")
    infra.wait_until(lambda: service.known(MemberAddress, member), what="the address for the session mails")
    session, registration = _attended_session(service, member)
    export = service.ok(service.people(member))
    assert export["service"] == "events" and export["member_id"] == str(member)
    assert (export["member"]["status"], export["member"]["organisation_kind"]) == ("active", "lokaal_bestuur")
    assert export["email_digest_held"] is True
    [found] = export["registrations"]
    assert (found["registration_id"], found["session"]["title"], found["session"]["held_on"]) == (
        registration["id"],
        session["title"],
        "2025-03-04",
    )
    hours = [d["hours"] for d in found["attendance"]]
    assert (found["attended"], found["hours"], hours) == (True, 2.5, [2.5])
    # the one place the address stands: what the reminders and session changes are mailed to
    assert export["address_held"] == {"email": "an.peeters@zemst.example", "first_name": None}
    assert json.dumps({k: v for k, v in export.items() if k != "address_held"}).count("an.peeters") == 0
    assert export["feedback_requests"] == []


def test_a_person_never_heard_of_gets_an_empty_export_and_only_staff_may_ask(service: Service) -> None:
    stranger = uuid.uuid4()
    export = service.ok(service.people(stranger))
    assert (export["member"], export["email_digest_held"], export["registrations"]) == (None, False, [])
    assert (export["address_held"], export["feedback_requests"]) == (None, [])
    assert service.people(stranger, role="viewer").status_code == 403
    assert service.people(stranger, role="partner").status_code == 403


# --- right to erasure ---------------------------------------------------------------------------


def test_erasure_keeps_the_attendance_the_kpis_count_and_forgets_the_address(service: Service) -> None:
    member = service.member(email="bert@zemst.example")
    infra.wait_until(lambda: service.known(MemberAddress, member), what="the address for the session mails")
    session, registration = _attended_session(service, member)
    before = service.registration(session["id"], registration["id"])
    service.erase(member)
    infra.wait_until(
        lambda: service.known(KnownMember, member).status == "erased", what="the erasure in the local copy"
    )
    assert service.known(ContactDigest, member) is None
    assert service.known(MemberAddress, member) is None
    assert service.registration(session["id"], registration["id"]) == before
    export = service.ok(service.people(member))
    assert (export["member"]["status"], export["email_digest_held"], export["address_held"]) == (
        "erased",
        False,
        None,
    )
    assert [r["hours"] for r in export["registrations"]] == [2.5]


def test_erasure_gives_the_persons_seat_at_an_upcoming_session_to_the_first_on_the_waiting_list(
    service: Service,
) -> None:
    member = service.member()
    upcoming = service.upcoming(capacity=1)
    seat = service.register(upcoming["id"], member_id=str(member))
    waiting = service.register(upcoming["id"])
    assert waiting["waitlisted"] is True
    service.erase(member)
    cancelled = infra.wait_until(
        lambda: (r := service.registration(upcoming["id"], seat["id"]))["status"] == "cancelled" and r,
        what="the erased member's seat to be released",
    )
    assert cancelled["member_id"] == str(member)
    assert service.registration(upcoming["id"], waiting["id"])["waitlisted"] is False
    assert service.published(upcoming["id"])[-2:] == [
        ("registration.cancelled", {"registration_id": seat["id"], "session_id": upcoming["id"]}),
        (
            "registration.received",
            {
                "registration_id": waiting["id"],
                "session_id": upcoming["id"],
                "member_id": None,
                "organisation_id": None,
                "organisation_kind": "andere",
                "waitlisted": False,
            },
        ),
    ]


def test_an_erasure_read_again_changes_nothing(service: Service) -> None:
    member = service.member()
    upcoming = service.upcoming()
    seat = service.register(upcoming["id"], member_id=str(member))
    service.erase(member)
    infra.wait_until(
        lambda: service.registration(upcoming["id"], seat["id"])["status"] == "cancelled",
        what="the seat to be released",
    )
    published = service.published(upcoming["id"])
    service.erase(member)  # republished with a new event id: not caught as a duplicate
    marker = _same_partition(member)  # read after the second erasure
    service.produce_members(
        events.MemberJoined(member_id=marker, organisation_id=uuid.uuid4(), joined_on=date(2024, 2, 1))
    )
    infra.wait_until(lambda: service.known(KnownMember, marker), what="the marker after the second erasure")
    assert service.published(upcoming["id"]) == published
