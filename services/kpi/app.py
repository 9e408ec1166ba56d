"""Composition root of the KPI service: the projector consuming every domain topic into the active
read-model generation, the API, the report and the dashboard."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from fastapi import FastAPI

from services.kpi import projection
from services.kpi.api import router
from services.kpi.dashboard import router as dashboard_router
from services.kpi.generations import Generation, Generations
from services.kpi.live import Changes
from shared import events
from shared import settings as settings_module
from shared.asyncapi import Contract
from shared.consumer import TrackedConsumer
from shared.db import migrate
from shared.service import Runtime, create_app
from shared.topics import DOMAIN_TOPICS

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
PROJECTOR = projection.PROJECTOR


def _contract() -> Contract:
    """What the projector consumes: every event type a read model has a handler for."""
    by_topic: dict[str, list[type[events.EventData]]] = {}
    for model in projection.HANDLERS:
        by_topic.setdefault(model.TOPIC, []).append(model)
    return Contract(service="kpi", title="KPI's — digitale inclusie", consumes=by_topic)


CONTRACT = _contract()
POINTER_POLL_SECONDS = 1.0


def projector_for(
    runtime: Runtime, generation: Generation, changes: Changes | None = None
) -> TrackedConsumer[events.Event]:
    """The projector writing into one generation. Its name (and Kafka group) is the same whatever the
    generation: each generation keeps its own positions under that name, so a rebuilt generation is
    taken over exactly where the rebuild left it."""
    return projection.projector(
        topics=[runtime.settings.topic(t) for t in DOMAIN_TOPICS],
        engine=generation.engine,
        consumer_factory=runtime.consumer,
        producer_factory=runtime.producer,
        batch_size=runtime.settings.consumer_batch_size,
        after_commit=changes.applied if changes is not None else None,
    )


class Projector:
    """Runs the projector against the active generation, and moves it when a rebuild switches."""

    def __init__(self, runtime: Runtime, generations: Generations, changes: Changes) -> None:
        self.runtime = runtime
        self.generations = generations
        self.changes = changes

    async def run(self) -> None:
        self.changes.attach(asyncio.get_running_loop())
        while True:
            generation = await asyncio.to_thread(self.generations.refresh)
            if generation.location:  # the base database is migrated by the runtime already
                await asyncio.to_thread(migrate, generation.engine, MIGRATIONS)
            tracked = projector_for(self.runtime, generation, self.changes)
            self.runtime.consumers[:] = [c for c in self.runtime.consumers if c.name != PROJECTOR] + [tracked]
            task = asyncio.create_task(tracked.run(), name=f"{PROJECTOR}-g{generation.number}")
            log.info("projecting into read-model generation %d", generation.number)
            try:
                await self._until_switched(generation)
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            self.changes.bump()

    async def _until_switched(self, generation: Generation) -> None:
        while True:
            await asyncio.sleep(POINTER_POLL_SECONDS)
            try:
                current = await asyncio.to_thread(self.generations.refresh)
            except Exception as exc:  # noqa: BLE001 - database away: keep projecting, look again later
                log.warning("cannot read the generation pointer: %s", exc)
                continue
            if current.number != generation.number:
                log.info("read-model generation %d replaces %d", current.number, generation.number)
                return


def build(settings: settings_module.Settings | None = None) -> FastAPI:
    settings = settings or settings_module.load("kpi")
    runtime = Runtime(settings, MIGRATIONS)
    generations = Generations(settings.resolved_database_url(), runtime.engine)
    changes = Changes()
    runtime.background.append(Projector(runtime, generations, changes).run)
    app = create_app(
        runtime,
        contract=CONTRACT,
        title=CONTRACT.title,
        description="The yearly KPIs of the digital-inclusion plan, projected from the domain events.",
        routers=[router, dashboard_router],
    )
    app.state.generations = generations
    app.state.changes = changes
    return app
