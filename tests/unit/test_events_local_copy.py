"""The events service's copy of the members service's facts: any arrival order, erasure, e-mail digests,
and registrations completed once their member becomes known."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka.structs import ConsumerRecord
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.events import consumers, domain, known
from services.events.app import MIGRATIONS
from services.events.tables import ActivitySession, ContactDigest, KnownMember, Registration
from shared import events
from shared.db import make_engine, migrate
from shared.outbox import Outbox, OutboxMessage

ORG_A, ORG_B, MEMBER = uuid.UUID(int=1), uuid.UUID(int=2), uuid.UUID(int=10)
T0 = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path}/events.db")
    migrate(engine, MIGRATIONS)
    yield engine
    engine.dispose()


def _event(data: events.EventData, minute: int) -> events.Event:
    envelope = events.new_envelope(data, source="/services/members", time=T0 + timedelta(minutes=minute))
    return events.decode(events.encode(envelope))


def _apply(engine: Engine, *evs: events.Event) -> Outbox:
    outbox = Outbox("/services/events")
    for event in evs:
        with Session(engine) as session:
            consumers.apply_members_event(session, outbox, event)
            session.commit()
    return outbox


def _record(key: uuid.UUID, value: dict[str, Any] | None) -> ConsumerRecord[bytes, bytes]:
    payload = None if value is None else json.dumps(value).encode()
    return ConsumerRecord("members.contacts", 0, 0, 0, 0, str(key).encode(), payload, None, 0, 0, [])  # type: ignore[arg-type]


def _history() -> list[events.Event]:
    return [
        _event(
            events.OrganisationRegistered(
                organisation_id=ORG_A, name="A", kind="lokaal_bestuur", registered_on=date(2024, 1, 1)
            ),
            0,
        ),
        _event(
            events.OrganisationRegistered(
                organisation_id=ORG_B, name="B", kind="kennisinstelling", registered_on=date(2024, 1, 1)
            ),
            1,
        ),
        _event(events.MemberJoined(member_id=MEMBER, organisation_id=ORG_A, joined_on=date(2024, 3, 1)), 2),
        _event(
            events.MemberMoved(
                member_id=MEMBER,
                from_organisation_id=ORG_A,
                to_organisation_id=ORG_B,
                moved_on=date(2025, 2, 1),
            ),
            3,
        ),
    ]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_member_is_at_the_organisation_of_the_latest_move_whatever_the_order(
    engine: Engine, seed: int
) -> None:
    history = _history()
    random.Random(seed).shuffle(history)
    _apply(engine, *history)
    with Session(engine) as session:
        assert known.organisation_of(session, MEMBER) == (ORG_B, "kennisinstelling")


def test_erasure_forgets_the_e_mail_digest_and_ignores_later_contact_records(engine: Engine) -> None:
    change, _ = consumers.decode_contact(_record(MEMBER, {"member_id": str(MEMBER), "email": "An@Zemst.be"}))
    with Session(engine) as session:
        consumers.apply_contact(session, change, _record(MEMBER, None))
        session.commit()
        assert session.get(ContactDigest, MEMBER).email_sha256 == domain.email_digest("an@zemst.be")  # type: ignore[union-attr]
    _apply(engine, _event(events.MemberErased(member_id=MEMBER, erased_on=date(2025, 5, 1)), 9))
    with Session(engine) as session:
        consumers.apply_contact(session, change, _record(MEMBER, None))
        session.commit()
        assert session.get(ContactDigest, MEMBER) is None
        assert session.get(KnownMember, MEMBER).status == "erased"  # type: ignore[union-attr]


def test_a_tombstone_removes_the_digest(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(ContactDigest(member_id=MEMBER, email_sha256="0" * 64))
        session.commit()
        change, _ = consumers.decode_contact(_record(MEMBER, None))
        consumers.apply_contact(session, change, _record(MEMBER, None))
        session.commit()
        assert session.get(ContactDigest, MEMBER) is None


def test_a_contact_record_that_is_not_json_is_refused() -> None:
    bad = ConsumerRecord("members.contacts", 0, 0, 0, 0, b"x", b"\xffnot json", None, 0, 0, [])  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        consumers.decode_contact(bad)


def test_a_pending_registration_is_completed_and_published_again_once_member_and_organisation_are_known(
    engine: Engine,
) -> None:
    with Session(engine) as session:
        activity = ActivitySession(
            kind="info_session",
            title="t",
            theme="t",
            lead="vvsg",
            format="online",
            starts_at=T0,
            ends_at=T0 + timedelta(hours=2),
            planned_hours=2,
            created_by="t",
            updated_by="t",
        )
        session.add(activity)
        session.flush()
        registration = Registration(
            session_id=activity.id,
            member_id=MEMBER,
            organisation_kind=domain.UNKNOWN_KIND,
            organisation_known=False,
            waitlisted=True,
            registered_by="t",
        )
        session.add(registration)
        session.commit()
        registration_id = registration.id
    joined, organisation = _history()[2], _history()[0]
    _apply(engine, joined)  # the member, but not yet their organisation's kind
    with Session(engine) as session:
        assert session.execute(select(OutboxMessage)).first() is None
    _apply(engine, organisation)
    with Session(engine) as session:
        completed = session.get(Registration, registration_id)
        assert completed is not None
        assert (completed.organisation_id, completed.organisation_kind, completed.organisation_known) == (
            ORG_A,
            "lokaal_bestuur",
            True,
        )
        [message] = session.execute(select(OutboxMessage)).scalars()
    envelope = json.loads(message.value or b"")
    assert envelope["type"] == events.RegistrationReceived.type_name()
    assert envelope["data"]["waitlisted"] is True and envelope["causationid"] == organisation.id
