"""The newsletter service's own settings: the shared ones plus the mail server (SMTP_*), the sender
(MAIL_FROM), where its public pages and the feedback pages are reached (the links in its mails), and
how the sender paces itself (NEWSLETTER_*)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from shared.settings import DEFAULT_PORTS, Settings


class NewsletterSettings(Settings):
    service_name: str = "newsletter"
    newsletter_public_url: str = "http://127.0.0.1:8004"  # subscribe, confirm and unsubscribe pages
    feedback_public_url: str = "http://127.0.0.1:8003"  # the feedback links in invitations
    feedback_link_valid_days: int = 30  # said in the invitation; the feedback service decides
    # outgoing mail
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_security: str = "none"  # none | starttls | tls
    smtp_username: str = ""
    smtp_password: SecretStr = Field(default=SecretStr(""))
    smtp_timeout_seconds: float = 30.0
    mail_from: str = "Digitale inclusie VVSG <digitale.inclusie@vvsg.be>"
    service_mail_max_age_days: int = 7  # a replayed old event never mails anyone
    newsletter_batch_size: int = 100  # mails taken from the queue at once
    newsletter_poll_seconds: float = 2.0  # how often the queue is looked at when nobody wakes the sender
    newsletter_retry_seconds: float = 1.0  # first wait after a failure; doubles each time
    newsletter_retry_max_seconds: float = 60.0


def load() -> NewsletterSettings:
    settings = NewsletterSettings()
    if not settings.http_port:
        settings.http_port = DEFAULT_PORTS["newsletter"]
    return settings
