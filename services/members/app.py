"""Composition root of the members service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.members.api import router
from shared import events
from shared import settings as settings_module
from shared.asyncapi import Contract
from shared.service import Runtime, create_app

MIGRATIONS = Path(__file__).parent / "migrations"
CONTRACT = Contract(service="members", title="Leden — netwerk digitale inclusie")
PUBLISHES: list[type[events.EventData]] = [
    events.OrganisationRegistered,
    events.OrganisationUpdated,
    events.MemberJoined,
    events.MemberMoved,
    events.MemberLeft,
    events.MemberErased,
    events.KnowledgeSharingJoined,
    events.KnowledgeSharingLeft,
]


def build(settings: settings_module.Settings | None = None) -> FastAPI:
    settings = settings or settings_module.load("members")
    runtime = Runtime(settings, MIGRATIONS)
    runtime.publishes(*PUBLISHES, contacts=True)
    return create_app(
        runtime,
        contract=CONTRACT,
        title=CONTRACT.title,
        description="Organisations and members of the digital-inclusion network (OD 1.1).",
        routers=[router],
    )
