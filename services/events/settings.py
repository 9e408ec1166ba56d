"""The events service's own settings: the shared ones plus the mail server and sender for the mails
about public sign-ups (SMTP_*, MAIL_FROM — the same names and defaults as the newsletter service's, so
one mail server configuration serves both) and how often the sender looks for mails to send."""

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
