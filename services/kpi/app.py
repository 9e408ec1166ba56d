"""Composition root of the KPI service: the projector consuming every domain topic, and the API."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.kpi import projection
from services.kpi.api import router
from shared import events
from shared import settings as settings_module
from shared.asyncapi import Contract
from shared.service import Runtime, create_app
from shared.topics import DOMAIN_TOPICS

MIGRATIONS = Path(__file__).parent / "migrations"
PROJECTOR = "kpi-projector"


def _contract() -> Contract:
    by_topic: dict[str, list[type[events.EventData]]] = {}
    for model in projection.HANDLERS:
        by_topic.setdefault(model.TOPIC, []).append(model)
    return Contract(service="kpi", title="KPI's — digitale inclusie", consumes=by_topic)


CONTRACT = _contract()


def build(settings: settings_module.Settings | None = None) -> FastAPI:
    settings = settings or settings_module.load("kpi")
    runtime = Runtime(settings, MIGRATIONS)
    runtime.add_consumer(name=PROJECTOR, topics=DOMAIN_TOPICS, handle=projection.apply)
    return create_app(
        runtime,
        contract=CONTRACT,
        title=CONTRACT.title,
        description="The yearly KPIs of the digital-inclusion plan, projected from the domain events.",
        routers=[router],
    )
