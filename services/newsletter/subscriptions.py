"""Use cases on the subscriber list, shared by the HTTP handlers (handlers.py) and the consumers:
double opt-in, confirmation, unsubscribing, a member's consent, erasure. Each runs inside the
caller's transaction and writes its events to the outbox there; none commits (a consumer's
transaction also holds its positions, a handler's unit of work commits once)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import delete, select, update
from sqlmodel import Session, col

from services.newsletter import domain
from services.newsletter.domain import ConsentEffect, MailKind, SubscriberStatus
from services.newsletter.tables import Bounce, Contact, Delivery, ErasedMember, ServiceMail, Subscriber
from shared import events
from shared.outbox import Outbox


class Outcome(StrEnum):
    DONE = "done"
    ALREADY = "already"
    NO_LONGER_VALID = "no_longer_valid"
    UNKNOWN = "unknown"


def by_email(session: Session, email: str) -> Subscriber | None:
    return session.execute(select(Subscriber).where(col(Subscriber.email) == email)).scalar()


def by_member(session: Session, member_id: uuid.UUID) -> Subscriber | None:
    return session.execute(select(Subscriber).where(col(Subscriber.member_id) == member_id)).scalar()


def request_subscription(session: Session, email: str, first_name: str | None, now: datetime) -> bool:
    """Double opt-in, step one: a pending subscriber and a confirmation mail. Nothing happens for an
    address already subscribed, and at most one confirmation mail goes out per few minutes.
    True when a confirmation mail was queued (the caller answers the same either way)."""
    subscriber = by_email(session, email)
    if subscriber is not None and subscriber.status == SubscriberStatus.ACTIVE:
        return False
    if subscriber is None:
        subscriber = Subscriber(
            email=email,
            first_name=first_name,
            status=SubscriberStatus.PENDING,
            source="public",
            created_at=now,
        )
    else:
        last = subscriber.confirmation_requested_at
        if (
            subscriber.status == SubscriberStatus.PENDING
            and last is not None
            and now - _aware(last) < domain.CONFIRMATION_THROTTLE
        ):
            return False
        subscriber.status = SubscriberStatus.PENDING
        subscriber.first_name = first_name or subscriber.first_name
    subscriber.confirmation_requested_at = now
    session.add(subscriber)
    session.flush()
    cause = str(uuid.uuid4())
    session.add(
        ServiceMail(
            cause_id=cause,
            dedupe_key=f"{MailKind.SUBSCRIPTION_CONFIRMATION}:{cause}",
            kind=MailKind.SUBSCRIPTION_CONFIRMATION,
            subscriber_id=subscriber.id,
            created_at=now,
            next_attempt_at=now,
            cause_time=now,
        )
    )
    return True


def confirm(
    session: Session, outbox: Outbox, subscriber_id: uuid.UUID, now: datetime, actor: str | None = None
) -> Outcome:
    """Double opt-in, step two: the person clicked the link in the confirmation mail."""
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        return Outcome.UNKNOWN
    if subscriber.status == SubscriberStatus.ACTIVE:
        return Outcome.ALREADY
    if subscriber.status != SubscriberStatus.PENDING:
        return Outcome.NO_LONGER_VALID  # unsubscribed since: an old link does not subscribe again
    _activate(session, outbox, subscriber, now, actor=actor)
    # the person just read a mail at this address: an old bounce no longer holds
    session.execute(delete(Bounce).where(col(Bounce.email) == subscriber.email))
    return Outcome.DONE


def unsubscribe(
    session: Session, outbox: Outbox, subscriber_id: uuid.UUID, now: datetime, actor: str | None = None
) -> Outcome:
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        return Outcome.UNKNOWN
    if subscriber.status == SubscriberStatus.UNSUBSCRIBED:
        return Outcome.ALREADY
    was_active = subscriber.status == SubscriberStatus.ACTIVE
    subscriber.status = SubscriberStatus.UNSUBSCRIBED
    subscriber.unsubscribed_at = now
    session.add(subscriber)
    if was_active:
        outbox.add(
            session,
            events.NewsletterUnsubscribed(
                subscriber_id=subscriber.id, unsubscribed_on=domain.business_day(now)
            ),
            actor=actor,
        )
    return Outcome.DONE


def _activate(
    session: Session,
    outbox: Outbox,
    subscriber: Subscriber,
    now: datetime,
    causation_id: str | None = None,
    actor: str | None = None,
) -> None:
    subscriber.status = SubscriberStatus.ACTIVE
    subscriber.subscribed_at = now
    subscriber.unsubscribed_at = None
    session.add(subscriber)
    session.flush()
    outbox.add(
        session,
        events.NewsletterSubscribed(
            subscriber_id=subscriber.id,
            member_id=subscriber.member_id,
            subscribed_on=domain.business_day(now),
        ),
        causation_id=causation_id,
        actor=actor,
    )


# --- members ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactDetails:
    member_id: uuid.UUID
    first_name: str
    last_name: str
    email: str
    organisation_id: uuid.UUID | None
    newsletter_consent: bool
    active: bool
    updated_at: datetime


def apply_contact(session: Session, outbox: Outbox, details: ContactDetails, now: datetime) -> None:
    """A contact record: keep the details, follow a change of address, and let a change of consent
    subscribe (no double opt-in: the member consented to the members service) or unsubscribe."""
    if session.get(ErasedMember, details.member_id) is not None:
        return  # a record from before the erasure, read late
    contact = session.get(Contact, details.member_id)
    previous_consent = contact.newsletter_consent if contact is not None else None
    if contact is None:
        contact = Contact(
            member_id=details.member_id,
            first_name=details.first_name,
            last_name=details.last_name,
            email=details.email,
        )
    contact.first_name, contact.last_name, contact.email = (
        details.first_name,
        details.last_name,
        details.email,
    )
    contact.organisation_id = details.organisation_id
    contact.newsletter_consent, contact.active = details.newsletter_consent, details.active
    contact.updated_at = details.updated_at
    session.add(contact)

    subscriber = _follow_address(session, details)
    effect = domain.consent_effect(previous_consent, details.newsletter_consent)
    if effect is ConsentEffect.SUBSCRIBE:
        if subscriber is None:
            subscriber = by_email(session, details.email)
        if subscriber is None:
            subscriber = Subscriber(
                email=details.email, status=SubscriberStatus.PENDING, source="member", created_at=now
            )
        subscriber.member_id = details.member_id
        subscriber.first_name = details.first_name
        if subscriber.status == SubscriberStatus.ACTIVE:
            session.add(subscriber)
        else:
            _activate(session, outbox, subscriber, now)
    elif effect is ConsentEffect.UNSUBSCRIBE and subscriber is not None:
        unsubscribe(session, outbox, subscriber.id, now)


def _follow_address(session: Session, details: ContactDetails) -> Subscriber | None:
    """The member's subscriber row, moved to the member's current address."""
    subscriber = by_member(session, details.member_id)
    if subscriber is None or subscriber.email == details.email:
        return subscriber
    other = by_email(session, details.email)
    if other is None:
        subscriber.email = details.email
        subscriber.first_name = details.first_name
        session.add(subscriber)
        return subscriber
    # the new address is on the list already (subscribed on the public page): keep that row,
    # drop the one with the old address, and carry the member's subscription over
    was_active = subscriber.status == SubscriberStatus.ACTIVE
    session.execute(delete(ServiceMail).where(col(ServiceMail.subscriber_id) == subscriber.id))
    session.delete(subscriber)
    session.flush()
    other.member_id = details.member_id
    other.first_name = details.first_name
    if was_active and other.status != SubscriberStatus.ACTIVE:
        other.status = SubscriberStatus.ACTIVE
        other.subscribed_at = subscriber.subscribed_at
        other.unsubscribed_at = None
    session.add(other)
    return other


def erase_member(
    session: Session, outbox: Outbox, member_id: uuid.UUID, now: datetime, causation_id: str | None = None
) -> None:
    """Everything this service holds about the person goes: contact details, the subscriber row and
    its address, bounces of those addresses, queued or sent service mails, and the mail servers'
    replies kept with the person's newsletter deliveries (a refusal often quotes the address). Only
    the member id stays, so that a contact record read late cannot bring the person back, and the
    delivery rows (by subscriber id, no address): each issue's number of recipients is counted from
    them. Applying it again changes nothing."""
    if session.get(ErasedMember, member_id) is None:
        session.add(ErasedMember(member_id=member_id, erased_at=now))
    addresses: set[str] = set()
    contact = session.get(Contact, member_id)
    if contact is not None:
        addresses.add(contact.email)
        session.delete(contact)
    linked = by_member(session, member_id)
    if linked is not None:
        addresses.add(linked.email)
    same_address: list[Subscriber] = (
        list(
            session.execute(select(Subscriber).where(col(Subscriber.email).in_(sorted(addresses)))).scalars()
        )
        if addresses
        else []
    )
    for subscriber in {s.id: s for s in (linked, *same_address) if s is not None}.values():
        if subscriber.status == SubscriberStatus.ACTIVE:
            outbox.add(
                session,
                events.NewsletterUnsubscribed(
                    subscriber_id=subscriber.id, unsubscribed_on=domain.business_day(now)
                ),
                causation_id=causation_id,
            )
        session.execute(delete(ServiceMail).where(col(ServiceMail.subscriber_id) == subscriber.id))
        session.execute(
            update(Delivery).where(col(Delivery.subscriber_id) == subscriber.id).values(last_error=None)
        )
        session.delete(subscriber)
    session.execute(delete(ServiceMail).where(col(ServiceMail.member_id) == member_id))
    if addresses:
        session.execute(delete(Bounce).where(col(Bounce.email).in_(sorted(addresses))))


def _aware(moment: datetime) -> datetime:
    from datetime import UTC

    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
