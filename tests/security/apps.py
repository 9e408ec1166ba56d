"""The five services built in-process for the security tests, and the operations each one serves."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from shared.settings import Settings
from tests import infra

SERVICES = ("members", "events", "feedback", "newsletter", "kpi")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def settings(
    name: str, directory: Path, kafka_bootstrap: str, topic_prefix: str, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "service_name": name,
        "database_url": f"sqlite:///{directory}/{name}.db",
        "kafka_bootstrap_servers": kafka_bootstrap,
        "kafka_topic_prefix": topic_prefix,
        "auth_secret": infra.AUTH_SECRET,
        "link_secret": infra.LINK_SECRET,
        "outbox_poll_seconds": 0.5,
        **overrides,
    }
    if name == "newsletter":
        from services.newsletter.app import NewsletterSettings

        return NewsletterSettings(**values)
    if name == "feedback":
        from services.feedback.settings import FeedbackSettings

        return FeedbackSettings(**values)
    return Settings(**values)


def build(name: str, directory: Path, kafka_bootstrap: str, topic_prefix: str, **overrides: Any) -> FastAPI:
    module = importlib.import_module(f"services.{name}.app")
    app: FastAPI = module.build(settings(name, directory, kafka_bootstrap, topic_prefix, **overrides))
    return app


def documented_operations(app: FastAPI) -> set[tuple[str, str]]:
    """Every operation in the service's OpenAPI document."""
    return {
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()
        for method in item
        if method.upper() in METHODS
    }


def routed_operations(app: FastAPI) -> set[tuple[str, str]]:
    """Every operation the app routes, those left out of the OpenAPI document (public pages) too."""
    found: set[tuple[str, str]] = set()
    for route in iter_route_contexts(app.routes):
        path = route.path
        if path is None:
            continue
        found.update((method, path) for method in route.methods or () if method in METHODS)
    return found
