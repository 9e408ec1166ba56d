"""Composition root of the KPI service: the projector consuming every domain topic into the active
read-model generation, the API, the report and the dashboard."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI

from services.kpi import projection
from services.kpi.api import router
from services.kpi.dashboard import router as dashboard_router
from services.kpi.generations import MIGRATIONS, Generation, Generations
from services.kpi.live import Changes
from shared import asyncapi, events
from shared import settings as settings_module
from shared.asyncapi import Contract
from shared.consumer import TrackedConsumer
from shared.db import migrate
from shared.service import Runtime, create_app
from shared.topics import DOMAIN_TOPICS

log = logging.getLogger(__name__)

PROJECTOR = projection.PROJECTOR


CONTRACT = Contract(service="kpi", title="KPI's — digitale inclusie")
# what one record documents as: every event type a read model has a handler for
READS = asyncapi.record_schema(list(projection.HANDLERS))
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
        batch_size=runtime.settings.consumer_batch_size,
        after_commit=changes.applied if changes is not None else None,
    )


class Projector:
    """The projector's FastStream subscriber (one, on the service's broker), pointed at the active
    generation before the broker starts, and moved when a rebuild switches: the subscriber restarts,
    and its new assignment seeks to the positions stored in the new generation."""

    def __init__(self, runtime: Runtime, generations: Generations, changes: Changes) -> None:
        self.runtime = runtime
        self.generations = generations
        self.changes = changes
        # until `prepare` knows the active generation, the subscriber is declared on the base database
        placeholder = Generation(1, "", runtime.engine, runtime.engine)
        self.driver = runtime.subscribe(projector_for(runtime, placeholder, changes), schema=READS)
        self.generation = placeholder
        runtime.before_start.append(self.prepare)
        runtime.background.append(self.run)

    async def prepare(self) -> None:
        """Before the broker starts: consume into the active generation from the first record on."""
        self.changes.attach(asyncio.get_running_loop())
        await self._point_at(await asyncio.to_thread(self.generations.refresh))

    async def _point_at(self, generation: Generation) -> None:
        if generation.location:  # the base database is migrated by the runtime already
            await asyncio.to_thread(migrate, generation.engine, MIGRATIONS)
        self.driver.tracked = projector_for(self.runtime, generation, self.changes)
        self.generation = generation
        log.info("projecting into read-model generation %d", generation.number)

    async def run(self) -> None:
        while True:
            current = await self._until_switched(self.generation)
            await self._point_at(current)
            while self.runtime.broker.running:
                try:
                    await self.driver.restart()
                    break
                except Exception as exc:  # noqa: BLE001 - broker away: the consumer is started again
                    log.warning("projector: cannot restart on generation %d: %s", current.number, exc)
                    await asyncio.sleep(POINTER_POLL_SECONDS)
            self.changes.bump()

    async def _until_switched(self, generation: Generation) -> Generation:
        while True:
            await asyncio.sleep(POINTER_POLL_SECONDS)
            try:
                current = await asyncio.to_thread(self.generations.refresh)
            except Exception as exc:  # noqa: BLE001 - database away: keep projecting, look again later
                log.warning("cannot read the generation pointer: %s", exc)
                continue
            if current.number != generation.number:
                log.info("read-model generation %d replaces %d", current.number, generation.number)
                return current


def build(settings: settings_module.Settings | None = None) -> FastAPI:
    settings = settings or settings_module.load("kpi")
    runtime = Runtime(settings, MIGRATIONS)
    generations = Generations(settings.resolved_database_url(), runtime.engine)
    changes = Changes()
    Projector(runtime, generations, changes)
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
