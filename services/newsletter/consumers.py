"""Where the newsletter service reacts to others: contact details from the compacted topic
members.contacts, erasure, sessions and surveys (to name them in mails), registrations (a
confirmation mail) and feedback requests (an invitation with the personal link).

A service mail is queued at most once per causing event (its CloudEvents id, and what it is about),
and never for an event older than SERVICE_MAIL_MAX_AGE_DAYS: replaying the topics mails nobody.

One confirmation per registration: a registration made on the public agenda (its event's actor is the
public pages' principal, shared.staff.NOT_A_PERSON) is confirmed by the events service itself, with the
session's .ics and the personal cancel link. This service records it as `skipped` under the same
dedupe key, so that the registration's later `registration.received` (its organisation completed, a
seat freed for it) mails nobody either."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka.structs import ConsumerRecord
from sqlalchemy import select
from sqlmodel import Session, col

from services.newsletter import domain, subscriptions
from services.newsletter.domain import MailKind, MailStatus
from services.newsletter.tables import ErasedMember, ServiceMail, Subject
from shared import events, staff
from shared.contacts import ContactRecord
from shared.errors import Invalid
from shared.outbox import Outbox

CONTACTS_CONSUMER = "newsletter-contacts"
EVENTS_CONSUMER = "newsletter-events"


@dataclass(frozen=True)
class Tombstone:
    member_id: uuid.UUID


def decode_contact(record: ConsumerRecord[bytes, bytes]) -> tuple[ContactRecord | Tombstone, str | None]:
    """Key = member id; no value = the member was erased. Anything else unreadable is a ValueError
    (pydantic's ValidationError is one), which sends the record to the dead letters."""
    if record.key is None:
        raise ValueError("a contact record needs the member id as its key")
    member_id = uuid.UUID(record.key.decode())
    if record.value is None:
        return Tombstone(member_id), None
    contact = ContactRecord.model_validate_json(record.value)
    if contact.member_id != member_id:
        raise ValueError(f"record key {member_id} and member_id {contact.member_id} differ")
    return contact, None


class Handlers:
    """The consumers' handlers, bound to the outbox, the settings that matter and a clock."""

    def __init__(
        self, outbox: Outbox, max_age_days: int, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.outbox = outbox
        self.max_age_days = max_age_days
        self.clock = clock or (lambda: datetime.now(UTC))

    # --- members.contacts -----------------------------------------------------------------------

    def contact(self, session: Session, value: ContactRecord | Tombstone, _record: object = None) -> None:
        now = self.clock()
        if isinstance(value, Tombstone):
            subscriptions.erase_member(session, self.outbox, value.member_id, now)
            return
        try:
            email = domain.normalise_address(value.email)
        except Invalid:
            email = value.email.strip().lower()  # kept as given; a server refusal will tell
        subscriptions.apply_contact(
            session,
            self.outbox,
            subscriptions.ContactDetails(
                member_id=value.member_id,
                first_name=value.first_name,
                last_name=value.last_name,
                email=email,
                organisation_id=value.organisation_id,
                newsletter_consent=value.newsletter_consent,
                active=value.active,
                updated_at=value.updated_at,
            ),
            now,
        )

    # --- domain events --------------------------------------------------------------------------

    def event(self, session: Session, event: events.Event, _record: object = None) -> None:
        data = event.data
        if isinstance(data, events.MemberErased):
            subscriptions.erase_member(
                session, self.outbox, data.member_id, self.clock(), causation_id=event.id
            )
        elif isinstance(data, events.SessionScheduled):
            subject = session.get(Subject, data.session_id) or Subject(
                id=data.session_id, kind=data.kind, title=""
            )
            subject.kind, subject.title, subject.format = data.kind, data.title, data.format
            subject.starts_at, subject.ends_at = data.starts_at, data.ends_at
            session.add(subject)
        elif isinstance(data, events.SessionRescheduled):
            known = session.get(Subject, data.session_id)
            if known is not None:
                known.starts_at, known.ends_at = data.starts_at, data.ends_at
                session.add(known)
        elif isinstance(data, events.SessionCancelled):
            known = session.get(Subject, data.session_id)
            if known is not None:
                known.cancelled = True
                session.add(known)
        elif isinstance(data, events.SurveyOpened):
            survey = session.get(Subject, data.survey_id) or Subject(
                id=data.survey_id, kind="survey", title=""
            )
            survey.title = data.title
            session.add(survey)
        elif isinstance(data, events.RegistrationReceived):
            self._registration(session, event, data)
        elif isinstance(data, events.FeedbackRequested):
            self._feedback_requested(session, event, data)

    def _registration(self, session: Session, event: events.Event, data: events.RegistrationReceived) -> None:
        if data.member_id is None:
            return  # an outside participant: this service has no address for them
        subject = session.get(Subject, data.session_id)
        if subject is not None and subject.ends_at is not None and _aware(subject.ends_at) < event.time:
            return  # recorded after the session: nobody needs a confirmation any more
        self._queue(
            session,
            event,
            MailKind.REGISTRATION_CONFIRMATION,
            data.registration_id,
            member_id=data.member_id,
            subject_type="session",
            subject_id=data.session_id,
            waitlisted=data.waitlisted,
            # signed up on the public agenda: the events service confirms (see the module's docstring)
            confirmed_elsewhere=(event.envelope.actor or "") in staff.NOT_A_PERSON,
        )

    def _feedback_requested(
        self, session: Session, event: events.Event, data: events.FeedbackRequested
    ) -> None:
        if data.member_id is None:
            return
        self._queue(
            session,
            event,
            MailKind.FEEDBACK_INVITATION,
            data.request_id,
            member_id=data.member_id,
            subject_type=data.subject_type,
            subject_id=data.subject_id,
        )

    def _queue(
        self,
        session: Session,
        event: events.Event,
        kind: MailKind,
        reference_id: uuid.UUID,
        *,
        member_id: uuid.UUID,
        subject_type: str,
        subject_id: uuid.UUID,
        waitlisted: bool = False,
        confirmed_elsewhere: bool = False,
    ) -> None:
        now = self.clock()
        if domain.too_old_to_mail(event.time, now, self.max_age_days):
            return
        if session.get(ErasedMember, member_id) is not None:
            return
        dedupe_key = f"{kind}:{reference_id}"
        if (
            session.get(ServiceMail, event.id) is not None
            or session.execute(
                select(col(ServiceMail.cause_id)).where(col(ServiceMail.dedupe_key) == dedupe_key)
            ).first()
        ):
            return
        row = ServiceMail(
            cause_id=event.id,
            dedupe_key=dedupe_key,
            kind=kind,
            member_id=member_id,
            subject_type=subject_type,
            subject_id=subject_id,
            reference_id=reference_id,
            waitlisted=waitlisted,
            created_at=now,
            next_attempt_at=now,
            cause_time=event.time,
        )
        if confirmed_elsewhere:  # kept, never sent: its dedupe key stops a later one
            row.status, row.finished_at = MailStatus.SKIPPED, now
            row.last_error = "confirmed by the events service (public sign-up)"
        session.add(row)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
