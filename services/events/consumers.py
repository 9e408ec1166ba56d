"""What the events service learns from others, without ever calling them: each member's organisation
and its kind (from members.events); from the compacted members.contacts topic a digest of each member's
e-mail address (so that an attendance list or a public sign-up by e-mail address can be matched) and
the address and first name themselves, for the mails around the sessions they are registered for
(reminders.py); and from feedback.events which feedback requests about a session were made and
answered (ids only), for the one reminder to those who did not answer.

A registration for a member not heard of yet is accepted with organisation kind "andere"; once the
member and their organisation are known, the registration is completed and `registration.received`
is published again for it, with the same registration id."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from aiokafka.structs import ConsumerRecord
from sqlalchemy import or_, select
from sqlmodel import Session, col

from services.events import domain, erasure, seats
from services.events.known import organisation_of
from services.events.reminders_tables import FeedbackRequest, MemberAddress
from services.events.tables import ContactDigest, KnownMember, KnownOrganisation, Registration
from shared import asyncapi, events, topics
from shared.outbox import Outbox
from shared.service import Runtime

_RANK = {"active": 0, "joined": 0, "moved": 1, "left": 2, "erased": 3}


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _newer(
    on: date,
    time: datetime,
    rank: int,
    stored_on: date | None,
    stored_time: datetime | None,
    stored_rank: int,
) -> bool:
    if stored_on is None or stored_time is None:
        return True
    return (on, _utc(time), rank) >= (stored_on, _utc(stored_time), stored_rank)


# --- members.events -----------------------------------------------------------------------------


def _organisation(session: Session, event: events.Event) -> uuid.UUID:
    data = event.data
    assert isinstance(data, events.OrganisationRegistered | events.OrganisationUpdated)
    row = session.get(KnownOrganisation, data.organisation_id)
    version = (_utc(event.time), event.id)
    if row is None:
        session.add(
            KnownOrganisation(
                organisation_id=data.organisation_id,
                name=data.name,
                kind=data.kind,
                version_time=event.time,
                version_event_id=event.id,
            )
        )
    elif version >= (_utc(row.version_time), row.version_event_id):
        row.name, row.kind = data.name, data.kind
        row.version_time, row.version_event_id = event.time, event.id
        session.add(row)
    return data.organisation_id


def _member(session: Session, event: events.Event) -> uuid.UUID:
    data = event.data
    organisation_id: uuid.UUID | None
    if isinstance(data, events.MemberJoined):
        fact, on, organisation_id = "joined", data.joined_on, data.organisation_id
    elif isinstance(data, events.MemberMoved):
        fact, on, organisation_id = "moved", data.moved_on, data.to_organisation_id
    elif isinstance(data, events.MemberLeft):
        fact, on, organisation_id = "left", data.left_on, data.organisation_id
    elif isinstance(data, events.MemberErased):
        fact, on, organisation_id = "erased", data.erased_on, None
    else:
        raise TypeError(type(data))
    row = session.get(KnownMember, data.member_id)
    if row is None:
        row = KnownMember(member_id=data.member_id)
    rank = _RANK[fact]
    if organisation_id is not None and _newer(
        on, event.time, rank, row.organisation_on, row.organisation_time, 0
    ):
        row.organisation_id, row.organisation_on, row.organisation_time = organisation_id, on, event.time
    if fact == "erased":
        row.status, row.status_on, row.status_time = "erased", on, event.time
        # erasure leaves nothing to match an e-mail address with, whatever the contacts topic says later
        erasure.forget_contact(session, data.member_id)
        forget_address(session, data.member_id)
    elif (
        fact != "moved"
        and row.status != "erased"
        and _newer(on, event.time, rank, row.status_on, row.status_time, _RANK[row.status])
    ):
        row.status, row.status_on, row.status_time = (
            "active" if fact == "joined" else "left",
            on,
            event.time,
        )
    session.add(row)
    return data.member_id


def complete_pending(
    session: Session,
    outbox: Outbox,
    cause: events.Event,
    *,
    member_id: uuid.UUID | None = None,
    organisation_id: uuid.UUID | None = None,
) -> int:
    """Registrations accepted before their member's organisation was known: fill it in now, and
    publish `registration.received` again (same registration id) with the organisation and its kind."""
    pending = select(Registration).where(
        col(Registration.organisation_known) == False,  # noqa: E712
        col(Registration.status) == domain.REGISTERED,
        col(Registration.member_id).is_not(None),
    )
    if member_id is not None:
        pending = pending.where(col(Registration.member_id) == member_id)
    if organisation_id is not None:
        members_there = select(col(KnownMember.member_id)).where(
            col(KnownMember.organisation_id) == organisation_id
        )
        pending = pending.where(
            or_(
                col(Registration.organisation_id) == organisation_id,
                col(Registration.member_id).in_(members_there),
            )
        )
    completed = 0
    for registration in session.execute(pending).scalars().all():
        assert registration.member_id is not None
        found_id, kind = organisation_of(session, registration.member_id)
        if found_id is None:
            continue
        registration.organisation_id = found_id
        if kind is None:
            session.add(registration)
            continue
        registration.organisation_kind = kind
        registration.organisation_known = True
        session.add(registration)
        # the same event a registration writes, now with the organisation and its kind
        outbox.add(session, seats.received(registration), actor="events-service", causation_id=cause.id)
        completed += 1
    return completed


def members_handler(outbox: Outbox) -> Callable[[Session, events.Event, ConsumerRecord[bytes, bytes]], None]:
    def handle(session: Session, event: events.Event, _record: ConsumerRecord[bytes, bytes]) -> None:
        apply_members_event(session, outbox, event)

    return handle


def apply_members_event(session: Session, outbox: Outbox, event: events.Event) -> None:
    if isinstance(event.data, events.OrganisationRegistered | events.OrganisationUpdated):
        organisation_id = _organisation(session, event)
        session.flush()
        complete_pending(session, outbox, event, organisation_id=organisation_id)
    elif isinstance(
        event.data, events.MemberJoined | events.MemberMoved | events.MemberLeft | events.MemberErased
    ):
        member_id = _member(session, event)
        session.flush()
        complete_pending(session, outbox, event, member_id=member_id)
        if isinstance(event.data, events.MemberErased):
            erasure.release_seats(session, outbox, member_id, event)
    # knowledge-sharing events say nothing this service needs


# --- members.contacts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactChange:
    member_id: uuid.UUID
    email_sha256: str | None  # None: the member has no address any more (or was erased)
    email: str | None = None  # the address itself and the first name, for the mails (reminders.py)
    first_name: str | None = None


def _text(value: object, limit: int) -> str | None:
    """A field of the contact record as one line of text, or None (missing, not text, too long)."""
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    return text if text and len(text) <= limit else None


def decode_contact(record: ConsumerRecord[bytes, bytes]) -> tuple[ContactChange, str | None]:
    """A contacts record, reduced at once to its member id, the digest of its e-mail address and the
    address and first name (nothing else of it is kept). Records carry no CloudEvents id: redelivery is
    caught by position, and applying one twice is harmless."""
    key = record.key.decode() if record.key else None
    if record.value is None:
        if not key:
            raise ValueError("a tombstone without a key")
        return ContactChange(uuid.UUID(key), None), None
    raw = json.loads(record.value)
    if not isinstance(raw, dict):
        raise ValueError("a contact record must be a JSON object")
    member_id = uuid.UUID(str(raw.get("member_id") or key))
    email = _text(raw.get("email"), 320)
    if email is None:
        return ContactChange(member_id, None), None
    return ContactChange(
        member_id, domain.email_digest(email), email, _text(raw.get("first_name"), 200)
    ), None


def forget_address(session: Session, member_id: uuid.UUID) -> None:
    row = session.get(MemberAddress, member_id)
    if row is not None:
        session.delete(row)


def apply_contact(session: Session, change: ContactChange, _record: ConsumerRecord[bytes, bytes]) -> None:
    row = session.get(ContactDigest, change.member_id)
    if change.email_sha256 is None:
        if row is not None:
            session.delete(row)
        forget_address(session, change.member_id)
        return
    member = session.get(KnownMember, change.member_id)
    if member is not None and member.status == "erased":
        return
    if row is None:
        session.add(ContactDigest(member_id=change.member_id, email_sha256=change.email_sha256))
    else:
        row.email_sha256 = change.email_sha256
        session.add(row)
    if change.email:
        address = session.get(MemberAddress, change.member_id) or MemberAddress(
            member_id=change.member_id, email=change.email
        )
        address.email, address.first_name = change.email, change.first_name
        session.add(address)


# --- feedback.events ----------------------------------------------------------------------------


def apply_feedback_event(
    session: Session, event: events.Event, _record: ConsumerRecord[bytes, bytes]
) -> None:
    """Feedback requests about a session and their answers (ids only), in whatever order they come."""
    data = event.data
    if isinstance(data, events.FeedbackRequested):
        if data.subject_type != "session" or data.member_id is None:
            return  # a trajectory's organisation or a survey: not a session's participant
        row = session.get(FeedbackRequest, data.request_id) or FeedbackRequest(
            request_id=data.request_id, session_id=data.subject_id
        )
        row.member_id, row.requested_at = data.member_id, event.time
        session.add(row)
    elif isinstance(data, events.FeedbackReceived):
        if data.subject_type != "session" or data.request_id is None:
            return  # a paper form typed in by staff answers no request
        row = session.get(FeedbackRequest, data.request_id) or FeedbackRequest(
            request_id=data.request_id, session_id=data.subject_id
        )
        row.answered = True
        session.add(row)


MEMBERS_EVENTS_READ: list[type[events.EventData]] = [
    events.OrganisationRegistered,
    events.OrganisationUpdated,
    events.MemberJoined,
    events.MemberMoved,
    events.MemberLeft,
    events.MemberErased,
]


FEEDBACK_EVENTS_READ: list[type[events.EventData]] = [events.FeedbackRequested, events.FeedbackReceived]


def register(runtime: Runtime) -> None:
    """The three FastStream subscribers of this service (shared.messaging)."""
    # consumer names double as Kafka group ids: the topic prefix keeps environments on one cluster apart
    prefix = runtime.settings.kafka_topic_prefix
    runtime.add_consumer(
        name=f"{prefix}events-members",
        topics=[topics.MEMBERS_EVENTS],
        handle=members_handler(runtime.outbox),
        schema=asyncapi.record_schema(MEMBERS_EVENTS_READ),
    )
    runtime.add_consumer(
        name=f"{prefix}events-feedback",
        topics=[topics.FEEDBACK_EVENTS],
        handle=apply_feedback_event,
        schema=asyncapi.record_schema(FEEDBACK_EVENTS_READ),
    )
    runtime.add_consumer(
        name=f"{prefix}events-contacts",
        topics=[topics.MEMBERS_CONTACTS],
        handle=apply_contact,
        decode=decode_contact,
        schema=asyncapi.record_schema([], contacts=True),
    )
