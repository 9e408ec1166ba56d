"""Composition root of the events service: the API, the outbox relay, the consumers that keep the
local copy of members, organisations, e-mail digests and addresses and of the feedback requests, the
public agenda, and the background loops (sign-up retention, the scheduler of the mails around a
session, the sender of every mail about a registration)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from fastapi import FastAPI

from services.events import (
    api,
    attendance,
    consumers,
    mails,
    optin,
    people,
    public,
    reminders,
    signup,
    support,
)
from services.events import settings as events_settings
from shared import events
from shared import settings as settings_module
from shared.asyncapi import Contract
from shared.limits import RateLimiter
from shared.service import Runtime, create_app

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"
CONTRACT = Contract(service="events", title="Activiteiten — digitale inclusie")
PUBLISHES: list[type[events.EventData]] = [
    events.SessionScheduled,
    events.SessionRescheduled,
    events.SessionCancelled,
    events.RegistrationReceived,
    events.RegistrationCancelled,
    events.AttendanceRecorded,
    events.SessionHeld,
    events.RecordingPublished,
    events.AdviceGiven,
    events.SupportTrajectoryStarted,
    events.SupportTrajectoryCompleted,
]


async def forget_old_signups_hourly(runtime: Runtime) -> None:
    """The sign-up details' retention (signup.forget_old_signups), once an hour; a failure (the database
    away) is logged and tried again the next hour."""
    while True:
        try:
            forgotten = await asyncio.to_thread(signup.forget_old_signups, runtime.engine, datetime.now(UTC))
            if forgotten:
                log.info("forgot the sign-up details of %d registrations past their retention", forgotten)
        except Exception as exc:  # noqa: BLE001
            log.warning("sign-up retention: %s: %s", exc.__class__.__name__, exc)
        await asyncio.sleep(3600)


async def send_signup_mails(runtime: Runtime, sender: mails.MailSender) -> None:
    """The mails about public sign-ups (mails.py), each at most once: what a stopped sender left half
    done is settled first, then whatever is pending is sent every few seconds. An unreachable mail
    server or database is logged and tried again, waiting longer each time (up to a minute)."""
    poll = sender.settings.signup_mail_poll_seconds
    wait = poll
    settled = False
    while True:
        try:
            if not settled:
                await asyncio.to_thread(sender.resolve_interrupted)
                settled = True
            sent = await asyncio.to_thread(sender.send_due)
            if sent:
                log.info("sent %d sign-up mail(s)", sent)
            wait = poll
        except Exception as exc:  # noqa: BLE001
            log.warning("sign-up mails: %s: %s", exc.__class__.__name__, exc)
            wait = min(60.0, max(poll, wait * 2))
        await asyncio.sleep(wait)


async def queue_session_mails(runtime: Runtime, settings: events_settings.EventsSettings) -> None:
    """The scheduler of the mails around a session (reminders.py): a round every
    SESSION_MAIL_INTERVAL_SECONDS; the sender loop sends what it queued. A failure (the database away)
    is logged and the next round tries again."""
    while True:
        try:
            queued = await asyncio.to_thread(reminders.queue_due, runtime.engine, settings, datetime.now(UTC))
            if queued.total:
                log.info(
                    "queued %d reminder(s), %d mail(s) about cancelled or moved sessions, %d feedback "
                    "reminder(s)",
                    queued.reminders,
                    queued.changes,
                    queued.feedback,
                )
        except Exception as exc:  # noqa: BLE001
            log.warning("session mails: %s: %s", exc.__class__.__name__, exc)
        await asyncio.sleep(settings.session_mail_interval_seconds)


def build(settings: settings_module.Settings | None = None) -> FastAPI:
    settings = events_settings.of(settings or events_settings.load())
    runtime = Runtime(settings, MIGRATIONS)
    runtime.publishes(*PUBLISHES)
    consumers.register(runtime)
    runtime.background.append(partial(forget_old_signups_hourly, runtime))
    runtime.background.append(partial(send_signup_mails, runtime, mails.MailSender(runtime.engine, settings)))
    runtime.background.append(partial(queue_session_mails, runtime, settings))
    # the opt-in and data link mails (optin.py) the routes did not get out right after their answer
    runtime.background.append(partial(optin.send_optin_mails, optin.OptinSender(runtime.engine, settings)))
    app = create_app(
        runtime,
        contract=CONTRACT,
        title=CONTRACT.title,
        description="Sessions, registrations and attendance, advice conversations and tailored-support "
        "trajectories (OD 1.1–3.3); the public agenda under /agenda.",
        routers=[api.router, attendance.router, support.router, people.router, public.router],
    )
    # sign-ups on the public agenda from one client address: a sixth of the pages' rate
    per_minute = max(1, settings.public_rate_per_minute // 6)
    app.state.signup_rate_limiter = RateLimiter(per_minute, burst=max(3, per_minute // 2))
    return app
