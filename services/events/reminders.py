"""The scheduler of the mails around a session (issue 16): it queues, the sender (mails.MailSender)
sends. app.py runs `queue_due` every SESSION_MAIL_INTERVAL_SECONDS (two minutes by default).

- The reminder: to everyone with a seat (not the waiting list) at a session that starts within the next
  REMINDER_HOURS_BEFORE hours (30: a session at 14:00 is reminded at 08:00 the day before) and not
  within the next REMINDER_NOT_WITHIN_HOURS (2; a scheduler that was down does not remind at the door).
  Whoever registered inside that window needs none: their confirmation is a few hours old.
- Cancelled or moved: to everyone registered (seated or waiting) before the change, for a session that
  has not started, changed within the last SESSION_CHANGE_MAIL_WITHIN_HOURS (48). What triggers it is
  the session's own state as the command handler committed it (status, `revision`, `updated_at`), never
  an event read back from a topic, so replaying the topics mails nobody; a change older than the window
  (made before these mails existed, a restored backup) mails nobody either. A move mails once per
  revision: moved twice before the mail went, the newer one tells.
- The feedback reminder: one, FEEDBACK_REMINDER_AFTER_DAYS (3) after a feedback request about a session
  that has not been answered, while its link is valid for at least a day more. The requests and the
  answers come from feedback.events as ids (consumers.py); the request's time is its event's time, so
  a replayed old request has long expired and is never reminded.

Each mail is a row in ev_signup_mails with the unique key (registration, kind): queued with INSERT …
ON CONFLICT DO NOTHING, so a second round, a restart or a second instance queues nothing twice, and
the sender claims a row before it talks to the mail server (at most once, mails.py). Whether a person
can be mailed is decided here (a row only once an address is known) and again when the mail goes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from services.events import domain, mails
from services.events.reminders_tables import FeedbackRequest
from services.events.settings import EventsSettings
from services.events.tables import ActivitySession, Registration, SignupMail
from shared.db import insert_for


@dataclass
class Queued:
    reminders: int = 0
    changes: int = 0
    feedback: int = 0

    @property
    def total(self) -> int:
        return self.reminders + self.changes + self.feedback


def _not_queued(kind: str) -> Any:
    return ~exists().where(
        col(SignupMail.registration_id) == col(Registration.id), col(SignupMail.kind) == kind
    )


def _queue(db: Session, rows: list[tuple[uuid.UUID, str]], now: datetime) -> int:
    """Inserts the rows that are not there yet; returns how many were new."""
    rows = list(dict.fromkeys(rows))
    if not rows:
        return 0
    table = SignupMail.__table__  # type: ignore[attr-defined]
    statement = (
        insert_for(db.get_bind().dialect.name, table)
        .values(
            [
                {
                    "registration_id": registration_id,
                    "kind": kind,
                    "status": mails.PENDING,
                    "attempts": 0,
                    "created_at": now,
                }
                for registration_id, kind in rows
            ]
        )
        .on_conflict_do_nothing(index_elements=["registration_id", "kind"])
        .returning(table.c.id)  # the rows inserted: a driver's rowcount may not say (psycopg: -1)
    )
    return len(db.execute(statement).all())


def reminders(db: Session, settings: EventsSettings, now: datetime) -> list[tuple[uuid.UUID, str]]:
    before = timedelta(hours=settings.reminder_hours_before)
    candidates = db.execute(
        select(Registration, ActivitySession)
        .join(ActivitySession, col(ActivitySession.id) == col(Registration.session_id))
        .where(
            col(ActivitySession.status) == domain.SCHEDULED,
            col(ActivitySession.starts_at) > now + timedelta(hours=settings.reminder_not_within_hours),
            col(ActivitySession.starts_at) <= now + before,
            col(Registration.status) == domain.REGISTERED,
            col(Registration.waitlisted) == False,  # noqa: E712
            _not_queued(mails.REMINDER),
        )
        .order_by(col(ActivitySession.starts_at), col(Registration.registered_at))
    ).all()
    return [
        (registration.id, mails.REMINDER)
        for registration, activity in candidates
        if domain.to_utc(registration.registered_at) < domain.to_utc(activity.starts_at) - before
        and mails.address_of(db, registration) is not None
    ]


def changes(db: Session, settings: EventsSettings, now: datetime) -> list[tuple[uuid.UUID, str]]:
    since = now - timedelta(hours=settings.session_change_mail_within_hours)
    changed = db.execute(
        select(ActivitySession).where(
            col(ActivitySession.starts_at) > now,
            col(ActivitySession.updated_at) >= since,
            col(ActivitySession.revision) > 0,
            or_(
                col(ActivitySession.status) == domain.CANCELLED,
                col(ActivitySession.status) == domain.SCHEDULED,
            ),
        )
    ).scalars()
    rows: list[tuple[uuid.UUID, str]] = []
    for activity in list(changed):
        kind = mails.CANCELLED if activity.status == domain.CANCELLED else mails.moved_kind(activity.revision)
        changed_at = domain.to_utc(activity.updated_at)
        registrations = db.execute(
            select(Registration).where(
                col(Registration.session_id) == activity.id,
                col(Registration.status) == domain.REGISTERED,
                _not_queued(kind),
            )
        ).scalars()
        rows += [
            (registration.id, kind)
            for registration in registrations
            # registered after the change: the confirmation already told the session as it is now
            if domain.to_utc(registration.registered_at) < changed_at
            and mails.address_of(db, registration) is not None
        ]
    return rows


def feedback(db: Session, settings: EventsSettings, now: datetime) -> list[tuple[uuid.UUID, str]]:
    after = timedelta(days=settings.feedback_reminder_after_days)
    # still valid a day after the reminder goes, so that it can be answered
    valid_until = timedelta(days=settings.feedback_link_valid_days - 1)
    candidates = db.execute(
        select(Registration)
        .join(
            FeedbackRequest,
            and_(
                col(FeedbackRequest.session_id) == col(Registration.session_id),
                col(FeedbackRequest.member_id) == col(Registration.member_id),
            ),
        )
        .where(
            col(FeedbackRequest.answered) == False,  # noqa: E712
            col(FeedbackRequest.requested_at).is_not(None),
            col(FeedbackRequest.requested_at) <= now - after,
            col(FeedbackRequest.requested_at) > now - valid_until,
            col(Registration.status) == domain.REGISTERED,
            _not_queued(mails.FEEDBACK_REMINDER),
        )
    ).scalars()
    return [
        (registration.id, mails.FEEDBACK_REMINDER)
        for registration in candidates
        if mails.address_of(db, registration) is not None
    ]


def queue_due(engine: Engine, settings: EventsSettings, now: datetime) -> Queued:
    """One round of the scheduler: queues every mail around a session that is due at `now`."""
    with Session(engine) as db:
        queued = Queued(
            reminders=_queue(db, reminders(db, settings, now), now),
            changes=_queue(db, changes(db, settings, now), now),
            feedback=_queue(db, feedback(db, settings, now), now),
        )
        db.commit()
    return queued
