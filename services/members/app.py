"""Composition root of the members service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.members.api import router
from shared import settings as settings_module
from shared.service import Runtime, create_app

MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: settings_module.Settings | None = None) -> FastAPI:
    settings = settings or settings_module.load("members")
    runtime = Runtime(settings, MIGRATIONS)
    return create_app(
        runtime,
        title="Leden — netwerk digitale inclusie",
        description="Organisations and members of the digital-inclusion network (OD 1.1).",
        routers=[router],
    )
