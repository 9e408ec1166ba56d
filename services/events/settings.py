"""The events service's own settings: the shared ones plus the mail server and sender for the mails
about public sign-ups (SMTP_*, MAIL_FROM — the same names and defaults as the newsletter service's, so
one mail server configuration serves both), how often the sender looks for mails to send, and when
the mails around a session go (reminders.py): the reminder before the session, the mails about a
cancelled or moved session, and the one reminder about an unanswered feedback request (its link made
as the newsletter service makes the invitation's: LINK_SECRET, FEEDBACK_PUBLIC_URL,
FEEDBACK_LINK_VALID_DAYS are the same settings there)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from shared.settings import DEFAULT_PORTS, Settings


class EventsSettings(Settings):
    service_name: str = "events"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_security: str = "none"  # none | starttls | tls
    smtp_username: str = ""
    smtp_password: SecretStr = Field(default=SecretStr(""))
    smtp_timeout_seconds: float = 30.0
    mail_from: str = "Digitale inclusie VVSG <digitale.inclusie@vvsg.be>"
    signup_mail_poll_seconds: float = 2.0  # how often the sender looks when nobody wakes it
    signup_mail_batch_size: int = 50
    # the scheduler of the mails around a session (reminders.py): how often it looks
    session_mail_interval_seconds: float = Field(default=120.0, gt=0)
    # the reminder goes this many hours before the session starts (a session at 14:00 gets it at 08:00
    # the day before), and not any more once the session starts within the last figure
    reminder_hours_before: float = Field(default=30.0, gt=1)
    reminder_not_within_hours: float = Field(default=2.0, ge=0)
    # a session cancelled or moved longer ago than this mails nobody (a change from before these mails
    # existed, a database restored from a backup)
    session_change_mail_within_hours: float = Field(default=48.0, gt=0)
    # one reminder about an unanswered feedback request, this many days after it was made
    feedback_reminder_after_days: int = Field(default=3, ge=1)
    feedback_public_url: str = "http://127.0.0.1:8003"
    feedback_link_valid_days: int = 30


def load() -> EventsSettings:
    settings = EventsSettings()
    if not settings.http_port:
        settings.http_port = DEFAULT_PORTS["events"]
    return settings


def of(settings: Settings) -> EventsSettings:
    """The events settings for settings loaded as the shared ones (tests, tools): mail defaults added."""
    if isinstance(settings, EventsSettings):
        return settings
    return EventsSettings.model_validate({**settings.model_dump(), "service_name": "events"})
