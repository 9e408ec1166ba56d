"""Composition root of the newsletter service: settings, the two consumers, the mail sender loop and
the FastAPI app with the staff API and the public pages (subscribing; good practices and articles;
the tools catalogue)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.newsletter import consumers, mail, people, tools_public
from services.newsletter.api import public, router
from services.newsletter.public import router as public_pages
from services.newsletter.sender import MailMetrics, MailQueue, Sender
from services.newsletter.settings import NewsletterSettings, load
from shared import asyncapi, events, topics
from shared.asyncapi import Contract
from shared.service import Runtime, create_app

MIGRATIONS = Path(__file__).parent / "migrations"
CONTRACT = Contract(service="newsletter", title="Nieuwsbrief en communicatie — digitale inclusie")
PUBLISHES: list[type[events.EventData]] = [
    events.NewsletterSubscribed,
    events.NewsletterUnsubscribed,
    events.NewsletterSent,
    events.ArticlePublished,
    events.GoodPracticePublished,
    events.ToolPublished,
    events.ToolUpdated,
    events.ToolRetired,
]
READS: list[type[events.EventData]] = [
    events.MemberErased,
    events.SessionScheduled,
    events.SessionRescheduled,
    events.SessionCancelled,
    events.RegistrationReceived,
    events.FeedbackRequested,
    events.SurveyOpened,
]


def build(settings: NewsletterSettings | None = None) -> FastAPI:
    settings = settings or load()
    if len(settings.link_secret.get_secret_value()) < 32:
        raise SystemExit(
            "LINK_SECRET must be set (at least 32 characters): every mail carries a personal link"
        )
    runtime = Runtime(settings, MIGRATIONS)
    runtime.publishes(*PUBLISHES)
    config = mail.MailConfig.from_settings(settings)
    queue = MailQueue(
        runtime.engine,
        runtime.outbox,
        config,
        retry_seconds=settings.newsletter_retry_seconds,
        retry_max_seconds=settings.newsletter_retry_max_seconds,
    )
    sender = Sender(
        queue,
        settings,
        batch_size=settings.newsletter_batch_size,
        poll_seconds=settings.newsletter_poll_seconds,
        retry_seconds=settings.newsletter_retry_seconds,
        retry_max_seconds=settings.newsletter_retry_max_seconds,
        timeout=settings.smtp_timeout_seconds,
    )
    handlers = consumers.Handlers(runtime.outbox, settings.service_mail_max_age_days)
    runtime.add_consumer(
        name=consumers.CONTACTS_CONSUMER,
        topics=[topics.MEMBERS_CONTACTS],
        handle=handlers.contact,
        decode=consumers.decode_contact,
        schema=asyncapi.record_schema([], contacts=True),
    )
    runtime.add_consumer(
        name=consumers.EVENTS_CONSUMER,
        topics=[topics.MEMBERS_EVENTS, topics.ACTIVITIES_EVENTS, topics.FEEDBACK_EVENTS],
        handle=handlers.event,
        schema=asyncapi.record_schema(READS),
        after_commit=lambda applied: sender.wake() if applied else None,
    )
    runtime.background.append(sender.run)
    app = create_app(
        runtime,
        contract=CONTRACT,
        title=CONTRACT.title,
        description=(
            "Subscribers (double opt-in), the newsletter 'digitale inclusie' over SMTP, service mails for"
            " the other services, and the log of articles and good practices (OD 1.3)."
        ),
        routers=[router, people.router, public, public_pages, tools_public.router],
    )
    app.state.sender = sender
    app.state.metrics.registry.register(MailMetrics(queue, settings.service_name))
    app.state.mail_config = config
    return app
