"""Composition helpers every service uses: engine, outbox relay, consumers, the FastAPI app with health
checks, correlation ids and request limits."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Annotated, Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlmodel import Session
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import asyncapi, audit, kafka
from shared.asyncapi import Contract
from shared.auth import STAFF, Principal, require
from shared.consumer import TrackedConsumer, decode_event
from shared.db import make_engine, migrate, ping
from shared.errors import install_handlers
from shared.limits import RateLimiter
from shared.metrics import ServiceMetrics
from shared.outbox import Outbox, OutboxRelay, correlation_id_var
from shared.settings import Settings

log = logging.getLogger(__name__)


class Runtime:
    """Everything one service process holds: settings, engine, outbox and its relay, consumers."""

    def __init__(self, settings: Settings, migrations_dir: Path) -> None:
        self.settings = settings
        self.migrations_dir = migrations_dir
        self.engine = make_engine(settings.resolved_database_url())
        self.outbox = Outbox(f"/services/{settings.service_name}", settings.kafka_topic_prefix)
        self.relay = OutboxRelay(
            self.engine,
            self.producer,
            batch_size=settings.outbox_batch_size,
            poll_seconds=settings.outbox_poll_seconds,
        )
        self.outbox.on_write(self.relay.wake)
        self.consumers: list[TrackedConsumer[Any]] = []
        self.background: list[Callable[[], Coroutine[Any, Any, None]]] = []
        self._tasks: list[asyncio.Task[None]] = []

    def producer(self) -> AIOKafkaProducer:
        return kafka.make_producer(
            self.settings.kafka_bootstrap_servers, f"{self.settings.service_name}-producer"
        )

    def consumer(self, group_id: str) -> AIOKafkaConsumer:
        return kafka.make_consumer(self.settings.kafka_bootstrap_servers, group_id)

    def add_consumer(
        self,
        *,
        name: str,
        topics: Sequence[str],
        handle: Callable[[Session, Any, ConsumerRecord[bytes, bytes]], None],
        decode: Callable[[ConsumerRecord[bytes, bytes]], tuple[Any, str | None]] = decode_event,
        **options: Any,
    ) -> TrackedConsumer[Any]:
        tracked: TrackedConsumer[Any] = TrackedConsumer(
            name=name,
            topics=[self.settings.topic(t) for t in topics],
            engine=self.engine,
            consumer_factory=self.consumer,
            producer_factory=self.producer,
            handle=handle,
            decode=decode,
            batch_size=self.settings.consumer_batch_size,
            **options,
        )
        self.consumers.append(tracked)
        return tracked

    async def start(self) -> None:
        await asyncio.to_thread(migrate, self.engine, self.migrations_dir)
        self._tasks.append(asyncio.create_task(self.relay.run(), name="outbox-relay"))
        for tracked in self.consumers:
            self._tasks.append(asyncio.create_task(tracked.run(), name=tracked.name))
        for job in self.background:
            self._tasks.append(asyncio.create_task(job()))

    async def stop(self, timeout: float = 20.0) -> None:
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            # bounded: one task that does not end on cancellation must not hold the whole shutdown
            done, stuck = await asyncio.wait(self._tasks, timeout=timeout)
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    log.warning("%s ended with %r", task.get_name(), task.exception())
            for task in stuck:
                log.warning("%s did not stop within %.0fs; leaving it", task.get_name(), timeout)
        self._tasks.clear()
        self.engine.dispose()

    def readiness(self) -> dict[str, Any]:
        checks: dict[str, Any] = {}
        try:
            ping(self.engine)
            checks["database"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["database"] = f"unreachable: {exc.__class__.__name__}"
        checks["broker"] = "ok" if self.relay.connected else "unreachable"
        for tracked in self.consumers:
            checks[f"consumer:{tracked.name}"] = "ok" if tracked.assigned else "waiting"
        return checks


def create_app(
    runtime: Runtime,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    contract: Contract | None = None,
) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan)
    app.state.settings = runtime.settings
    app.state.runtime = runtime
    install_handlers(app)
    settings = runtime.settings
    app.state.public_rate_limiter = RateLimiter(settings.public_rate_per_minute)

    if settings.cors_origins.strip():
        app.add_middleware(
            CORSMiddleware,
            allow_origins=[o.strip() for o in settings.cors_origins.split(",") if o.strip()],
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type"],
        )

    metrics = ServiceMetrics(runtime)
    app.state.metrics = metrics

    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)

    @app.middleware("http")
    async def correlation_and_limits(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > settings.max_body_bytes:
            return JSONResponse({"detail": f"request body larger than {settings.max_body_bytes} bytes"}, 413)
        correlation_id = request.headers.get("x-correlation-id") or str(uuid.uuid4())
        token = correlation_id_var.set(correlation_id[:100])
        started = time.perf_counter()
        try:
            response = await call_next(request)
        finally:
            correlation_id_var.reset(token)
        # the route template, not the path: ids in paths would make a metric per member
        route = request.scope.get("route")
        template = getattr(route, "path", "unmatched")
        metrics.http_requests.labels(
            settings.service_name, request.method, template, response.status_code
        ).inc()
        metrics.http_latency.labels(settings.service_name, request.method, template).observe(
            time.perf_counter() - started
        )
        response.headers["X-Correlation-ID"] = correlation_id[:100]
        return response

    @app.get("/metrics", tags=["health"], include_in_schema=False)
    def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/health/live", tags=["health"])
    def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/ready", tags=["health"])
    def ready() -> JSONResponse:
        checks = runtime.readiness()
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks}, 200 if ok else 503)

    @app.get("/audit/{record_id}", tags=["audit"])
    def audit_trail(
        record_id: str, _who: Annotated[Principal, Depends(require(*STAFF))]
    ) -> list[dict[str, Any]]:
        """Who changed this record and when: every event this service wrote about it, oldest first."""
        return audit.trail(runtime.engine, record_id)

    if contract is not None:
        document = asyncapi.specification(contract)

        @app.get("/asyncapi.json", tags=["documentation"])
        def asyncapi_json() -> JSONResponse:
            """The AsyncAPI 3 document of the events this service publishes and consumes."""
            return JSONResponse(document)

        @app.get("/asyncapi", tags=["documentation"], response_class=HTMLResponse)
        def asyncapi_page() -> HTMLResponse:
            return HTMLResponse(asyncapi.html(document))

    for router in routers:
        app.include_router(router)
    return app


class BodyTooLarge(StarletteHTTPException):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"request body larger than {max_bytes} bytes")


class BodyLimit:
    """Counts the bytes of a request body as they arrive, so that a chunked body (no Content-Length)
    is held to the same limit. Raised as an HTTPException: FastAPI turns other errors while reading a
    body into a 400."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, counted, send)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        correlation_id = correlation_id_var.get()
        if correlation_id:
            entry["correlation_id"] = correlation_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiokafka").setLevel(logging.ERROR)


def serve(app: FastAPI, settings: Settings) -> None:
    import uvicorn

    configure_logging(settings.log_level)
    if not settings.auth_secret.get_secret_value():
        print(
            "AUTH_SECRET is not set: no token could be checked. Set it in the environment.", file=sys.stderr
        )
        raise SystemExit(2)
    uvicorn.run(app, host=settings.http_host, port=settings.http_port, log_config=None, access_log=False)
