"""Composition root of the KPI service: the projector consuming every domain topic, and the API."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.kpi import projection
from services.kpi.api import router
from shared import settings as settings_module
from shared.service import Runtime, create_app
from shared.topics import DOMAIN_TOPICS

MIGRATIONS = Path(__file__).parent / "migrations"
PROJECTOR = "kpi-projector"


def build(settings: settings_module.Settings | None = None) -> FastAPI:
    settings = settings or settings_module.load("kpi")
    runtime = Runtime(settings, MIGRATIONS)
    runtime.add_consumer(name=PROJECTOR, topics=DOMAIN_TOPICS, handle=projection.apply)
    return create_app(
        runtime,
        title="KPI's — digitale inclusie",
        description="The yearly KPIs of the digital-inclusion plan, projected from the domain events.",
        routers=[router],
    )
