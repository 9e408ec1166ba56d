"""Every service's consumers, wired as the service wires them (its FastStream broker and subscribers),
each scenario run twice: in memory with TestKafkaBroker and against the real Kafka broker
(tests.transports; the `transport_place` fixture marks the Kafka run `integration`)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from services.events.tables import ContactDigest, KnownMember
from services.feedback.tables import FbSession
from services.kpi.membership import KpiMembershipFact
from services.newsletter.tables import Contact, Subject
from shared import events, topics
from shared.db import make_engine
from tests import transports

Place = tuple[transports.Kind, str, str]
ORGANISATION = uuid.UUID(int=7)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    # one database engine is enough here: the tracked consumer's own tests run on both
    return f"sqlite:///{tmp_path}/service.db"


def _event(data: events.EventData, source: str = "/services/test") -> tuple[bytes, bytes, dict[str, str]]:
    envelope = events.new_envelope(data, source=source)
    headers = {"content-type": events.CONTENT_TYPE}  # structured mode, as the outbox writes it
    return data.key().encode(), events.encode(envelope), headers


async def _send(transport: transports.Transport, data: events.EventData) -> None:
    key, value, headers = _event(data)
    await transport.send(data.TOPIC, key, value, headers)


def _contact(member: uuid.UUID, email: str) -> bytes:
    return json.dumps(
        {
            "member_id": str(member),
            "first_name": "An",
            "last_name": "Peeters",
            "email": email,
            "organisation_id": str(ORGANISATION),
            "newsletter_consent": True,
            "active": True,
            "updated_at": datetime(2025, 3, 1, tzinfo=UTC).isoformat(),
        }
    ).encode()


def _scheduled(session_id: uuid.UUID, title: str) -> events.SessionScheduled:
    return events.SessionScheduled(
        session_id=session_id,
        kind="info_session",
        title=title,
        theme="digitale inclusie",
        lead="vvsg",
        format="online",
        starts_at=datetime(2025, 5, 6, 9, tzinfo=UTC),
        ends_at=datetime(2025, 5, 6, 12, tzinfo=UTC),
        planned_hours=3,
    )


def _count(engine: Engine, table: type[SQLModel]) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(table)).scalar_one())


def _get(engine: Engine, table: type[SQLModel], key: Any) -> Any:
    with Session(engine) as session:
        return session.get(table, key)


async def test_events_learns_members_and_their_organisation_and_dead_letters_an_unreadable_record(
    database_url: str, transport_place: Place
) -> None:
    kind, bootstrap, prefix = transport_place
    runtime = transports.service_runtime("events", database_url, bootstrap, prefix)
    member = uuid.uuid4()
    async with transports.running(kind, runtime, bootstrap) as transport:
        await _send(
            transport,
            events.OrganisationRegistered(
                organisation_id=ORGANISATION,
                name="Gemeente Zemst",
                kind="lokaal_bestuur",
                registered_on=date(2025, 1, 2),
            ),
        )
        await transport.send(topics.MEMBERS_EVENTS, b"broken", b"{not json", {})
        await _send(
            transport,
            events.MemberJoined(member_id=member, organisation_id=ORGANISATION, joined_on=date(2025, 3, 1)),
        )
        known = await transport.until(lambda: _get(runtime.engine, KnownMember, member), "the member known")
        assert known.organisation_id == ORGANISATION
        dead = await transport.dead_letters(topics.MEMBERS_EVENTS, expected=1)
        assert [d.key for d in dead] == [b"broken"]
        assert dead[0].headers["dlq-consumer"] == f"{prefix}events-members".encode()


async def test_events_keeps_a_digest_of_each_contact_and_forgets_it_on_a_tombstone(
    database_url: str, transport_place: Place
) -> None:
    kind, bootstrap, prefix = transport_place
    runtime = transports.service_runtime("events", database_url, bootstrap, prefix)
    member = uuid.uuid4()
    async with transports.running(kind, runtime, bootstrap) as transport:
        await transport.send(topics.MEMBERS_CONTACTS, str(member).encode(), _contact(member, "an@zemst.be"))
        digest = await transport.until(lambda: _get(runtime.engine, ContactDigest, member), "the digest kept")
        assert "zemst" not in digest.email_sha256  # a digest, not the address
        await transport.send(topics.MEMBERS_CONTACTS, str(member).encode(), None)
        await transport.until(
            lambda: _get(runtime.engine, ContactDigest, member) is None, "the digest forgotten"
        )


async def test_feedback_keeps_its_copy_of_a_session_from_the_activities(
    database_url: str, transport_place: Place
) -> None:
    kind, bootstrap, prefix = transport_place
    runtime = transports.service_runtime("feedback", database_url, bootstrap, prefix)
    session_id = uuid.uuid4()
    async with transports.running(kind, runtime, bootstrap) as transport:
        await _send(transport, _scheduled(session_id, "Infosessie digitale inclusie"))
        await _send(
            transport,
            events.SessionHeld(
                session_id=session_id, held_on=date(2025, 5, 6), participants=0, participant_hours=0
            ),
        )
        held = await transport.until(
            lambda: (row := _get(runtime.engine, FbSession, session_id)) is not None and row.held_on and row,
            "the session known and held",
        )
        assert held.title == "Infosessie digitale inclusie"
        assert held.held_on == date(2025, 5, 6)


async def test_newsletter_keeps_the_contacts_and_names_the_sessions_it_will_mail_about(
    database_url: str, transport_place: Place
) -> None:
    kind, bootstrap, prefix = transport_place
    runtime = transports.service_runtime("newsletter", database_url, bootstrap, prefix)
    member, session_id = uuid.uuid4(), uuid.uuid4()
    async with transports.running(kind, runtime, bootstrap) as transport:
        await transport.send(topics.MEMBERS_CONTACTS, str(member).encode(), _contact(member, "An@Zemst.be"))
        await _send(transport, _scheduled(session_id, "Netwerkdag"))
        contact = await transport.until(lambda: _get(runtime.engine, Contact, member), "the contact kept")
        assert contact.email == "an@zemst.be"
        subject = await transport.until(
            lambda: _get(runtime.engine, Subject, session_id), "the session named"
        )
        assert subject.title == "Netwerkdag"


async def test_the_kpi_projector_counts_an_event_once_however_often_it_comes(
    tmp_path: Path, transport_place: Place
) -> None:
    kind, bootstrap, prefix = transport_place
    url = f"sqlite:///{tmp_path}/kpi.db"
    runtime = transports.service_runtime("kpi", url, bootstrap, prefix)
    joined = events.MemberJoined(
        member_id=uuid.uuid4(), organisation_id=ORGANISATION, joined_on=date(2025, 3, 1)
    )
    key, value, headers = _event(joined, source="/services/members")
    async with transports.running(kind, runtime, bootstrap) as transport:
        for _ in range(3):  # published once, then twice again (a republished event keeps its id)
            await transport.send(topics.MEMBERS_EVENTS, key, value, headers)
        projector = runtime.consumers[0]
        await transport.until(lambda: projector.stats.processed >= 3, "three records processed")
        engine = make_engine(url)
        try:
            assert _count(engine, KpiMembershipFact) == 1
        finally:
            engine.dispose()
        assert projector.stats.duplicates == 2
        if kind == "kafka":  # lag (for /metrics) is what the broker's log holds beyond the position
            # set once the batch's offsets are committed to the broker, a moment after `processed`
            # counts the batch: a CI run read the previous batch's lag of 1 in between
            members = transport.topic(topics.MEMBERS_EVENTS)
            await transport.until(lambda: projector.stats.lag.get(members) == 0, "the lag at nought")
            assert runtime.readiness()[f"consumer:{projector.name}"] == "ok"
