"""The feedback service's own settings: the shared ones plus where its public pages are reached and
how long a personal link stays valid (FEEDBACK_PUBLIC_URL, FEEDBACK_LINK_VALID_DAYS)."""

from __future__ import annotations

from shared.settings import DEFAULT_PORTS, Settings


class FeedbackSettings(Settings):
    service_name: str = "feedback"
    feedback_public_url: str = "http://127.0.0.1:8003"  # where the feedback pages are reached
    feedback_link_valid_days: int = 30


def load() -> FeedbackSettings:
    settings = FeedbackSettings()
    if not settings.http_port:
        settings.http_port = DEFAULT_PORTS["feedback"]
    return settings
