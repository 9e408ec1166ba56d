"""Composition root of the feedback service: its reactor on activities and members events (and the
tools catalogue's, for the user survey), the staff API and the public pages."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.feedback import api, pages, people
from services.feedback.consumers import CONSUMER, Reactor
from services.feedback.settings import FeedbackSettings, load
from shared import asyncapi, events, topics
from shared.asyncapi import Contract
from shared.service import Runtime, create_app

MIGRATIONS = Path(__file__).parent / "migrations"
CONTRACT = Contract(service="feedback", title="Feedback — digitale inclusie")
PUBLISHES: list[type[events.EventData]] = [
    events.FeedbackRequested,
    events.FeedbackReceived,
    events.SurveyOpened,
    events.SurveyClosed,
]
READS: list[type[events.EventData]] = [
    events.SessionScheduled,
    events.SessionRescheduled,
    events.RegistrationReceived,
    events.RegistrationCancelled,
    events.AttendanceRecorded,
    events.SessionHeld,
    events.SupportTrajectoryStarted,
    events.SupportTrajectoryCompleted,
    events.OrganisationRegistered,
    events.OrganisationUpdated,
    events.MemberJoined,
    events.MemberMoved,
    events.MemberLeft,
    events.MemberErased,
    events.ToolPublished,
    events.ToolUpdated,
    events.ToolRetired,
]


def build(settings: FeedbackSettings | None = None) -> FastAPI:
    settings = settings or load()
    if len(settings.link_secret.get_secret_value()) < 32:
        raise SystemExit("LINK_SECRET must be set (at least 32 characters): it signs the personal links")
    runtime = Runtime(settings, MIGRATIONS)
    runtime.publishes(*PUBLISHES)
    reactor = Reactor(runtime.outbox)
    runtime.add_consumer(
        name=CONSUMER,
        topics=[topics.ACTIVITIES_EVENTS, topics.MEMBERS_EVENTS, topics.COMMUNICATIONS_EVENTS],
        handle=reactor.handle,
        schema=asyncapi.record_schema(READS),
    )
    return create_app(
        runtime,
        contract=CONTRACT,
        title=CONTRACT.title,
        description="Asks for feedback after every activity, collects it on personal pages, and runs the "
        "yearly user survey (OD 3.1). Free text never leaves this service.",
        routers=[api.router, people.router, pages.router],
    )
