"""Composition helpers every service uses: engine, outbox relay, consumers, the FastAPI app with health
checks, correlation ids and request limits."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Annotated, Any

import fastapi_offline
from aiokafka.structs import ConsumerRecord
from fastapi import APIRouter, Depends, FastAPI, Response
from fastapi import Path as PathParameter
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlmodel import Session
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import asyncapi, audit, events, messaging, security, topics, uow
from shared.asyncapi import Contract
from shared.auth import STAFF, Principal, require
from shared.consumer import TrackedConsumer, decode_event
from shared.db import make_engine, migrate, ping
from shared.errors import declare_errors, install_handlers
from shared.limits import RateLimiter, TrustedProxies
from shared.metrics import ServiceMetrics
from shared.outbox import Outbox, OutboxRelay, correlation_id_var
from shared.settings import Settings

log = logging.getLogger(__name__)


class Runtime:
    """Everything one service process holds: settings, engine, outbox, the FastStream broker with the
    outbox relay publishing through it and the tracked consumers subscribed on it."""

    def __init__(self, settings: Settings, migrations_dir: Path) -> None:
        self.settings = settings
        self.migrations_dir = migrations_dir
        self.engine = make_engine(settings.resolved_database_url())
        self.outbox = Outbox(f"/services/{settings.service_name}", settings.kafka_topic_prefix)
        self.broker = messaging.make_broker(settings)
        self.relay = OutboxRelay(
            self.engine,
            self.broker,
            batch_size=settings.outbox_batch_size,
            poll_seconds=settings.outbox_poll_seconds,
        )
        self.outbox.on_write(self.relay.wake)
        self.drivers: list[messaging.SubscriberDriver] = []
        self.background: list[Callable[[], Coroutine[Any, Any, None]]] = []
        # run once the database is migrated and before the broker starts consuming
        self.before_start: list[Callable[[], Coroutine[Any, Any, None]]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.freeze_heap = False  # set by `serve`: see `start`

    @property
    def consumers(self) -> list[TrackedConsumer[Any]]:
        return [driver.tracked for driver in self.drivers]

    def publishes(self, *models: type[events.EventData], contacts: bool = False) -> None:
        """Declares the broker's publishers, one per topic: what the outbox relay sends through, and
        what the AsyncAPI document shows."""
        by_topic: dict[str, list[type[events.EventData]]] = {}
        for model in models:
            by_topic.setdefault(model.TOPIC, []).append(model)
        declared = [(topic, asyncapi.record_schema(found), found) for topic, found in by_topic.items()]
        if contacts:
            declared.append((topics.MEMBERS_CONTACTS, asyncapi.record_schema([], contacts=True), []))
        for topic, schema, found in declared:
            name = self.settings.topic(topic)
            self.relay.publishers[name] = self.broker.publisher(
                name,
                title=f"{topic}",
                description=(
                    "Events: " + ", ".join(f"{m.NAME} v{m.VERSION}" for m in found)
                    if found
                    else "Compacted: the latest contact details per member id; no value is a tombstone."
                ),
                schema=schema,
            )

    def add_consumer(
        self,
        *,
        name: str,
        topics: Sequence[str],
        handle: Callable[[Session, Any, ConsumerRecord[bytes, bytes]], None],
        decode: Callable[[ConsumerRecord[bytes, bytes]], tuple[Any, str | None]] = decode_event,
        schema: Any = None,
        **options: Any,
    ) -> TrackedConsumer[Any]:
        """A tracked consumer of these topics (base names), run by a FastStream batch subscriber;
        `schema` is what one record documents as (shared.asyncapi.record_schema)."""
        tracked: TrackedConsumer[Any] = TrackedConsumer(
            name=name,
            topics=[self.settings.topic(t) for t in topics],
            engine=self.engine,
            handle=handle,
            decode=decode,
            batch_size=self.settings.consumer_batch_size,
            **options,
        )
        self.subscribe(tracked, schema=schema)
        return tracked

    def subscribe(self, tracked: TrackedConsumer[Any], *, schema: Any = None) -> messaging.SubscriberDriver:
        """Runs an already built tracked consumer on the broker (before the runtime starts)."""
        driver = messaging.SubscriberDriver(self.broker, tracked, schema=schema, settings=self.settings)
        self.drivers.append(driver)
        return driver

    async def start(self) -> None:
        await asyncio.to_thread(migrate, self.engine, self.migrations_dir)
        for step in self.before_start:
            await step()
        self._tasks.append(
            asyncio.create_task(messaging.keep_running(self.broker, drivers=self.drivers), name="broker")
        )
        self._tasks.append(asyncio.create_task(self.relay.run(), name="outbox-relay"))
        for job in self.background:
            self._tasks.append(asyncio.create_task(job()))
        if self.freeze_heap:
            freeze_heap()

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


def freeze_heap() -> None:
    """What is alive once a service has started (modules, models, compiled statements: 100-150k objects)
    lives as long as the process. Left to the collector, every full collection walked it again: a stop of
    70-120 ms in which no request was answered, the slowest commands of bench.members_write (timed with
    gc.callbacks). Frozen, the collector walks only what was made since. Only in a served process
    (`serve` asks for it): a test process starts many apps and would keep each one's heap."""
    gc.collect()
    gc.freeze()


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

    app = FastAPI(
        title=title,
        description=description,
        version="1.0.0",
        lifespan=lifespan,
        docs_url=None,  # served below from local files
        redoc_url=None,
    )
    app.state.settings = runtime.settings
    app.state.runtime = runtime
    install_handlers(app)
    uow.install(app)
    settings = runtime.settings
    app.state.public_rate_limiter = RateLimiter(settings.public_rate_per_minute)
    app.state.trusted_proxies = TrustedProxies(settings.trusted_proxies)

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
    # added last, so it is the outermost layer: it sees every answer, the 500 of a crash included
    app.add_middleware(RequestEdge, metrics=metrics, max_bytes=settings.max_body_bytes)

    @app.get("/metrics", tags=["health"], include_in_schema=False)
    def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/health/live", tags=["health"])
    def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/ready", tags=["health"], responses={503: READY_503})
    def ready() -> JSONResponse:
        checks = runtime.readiness()
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks}, 200 if ok else 503)

    @app.get("/audit/{record_id}", tags=["audit"])
    def audit_trail(
        record_id: Annotated[str, PathParameter(pattern=audit._ID.pattern, description="a record's id")],
        _who: Annotated[Principal, Depends(require(*STAFF))],
    ) -> list[dict[str, Any]]:
        """Who changed this record and when: every event this service wrote about it, oldest first."""
        return audit.trail(runtime.engine, record_id)

    app.state.contract = contract
    if contract is not None:
        document = asyncapi.specification(runtime.broker, contract)

        @app.get("/asyncapi.json", tags=["documentation"])
        def asyncapi_json() -> JSONResponse:
            """The AsyncAPI 3 document of the events this service publishes and consumes."""
            return JSONResponse(document)

        @app.get("/asyncapi", tags=["documentation"], response_class=HTMLResponse)
        def asyncapi_page() -> HTMLResponse:
            return HTMLResponse(asyncapi.html(document))

    add_documentation_pages(app)
    for router in routers:
        app.include_router(router)
    declare_errors(app)
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


READY_503 = {
    "description": "not ready: database or broker unreachable, or a consumer waits for its partitions",
    "content": {"application/json": {"schema": {"type": "object"}}},
}


class RequestEdge:
    """The outermost layer of every service: refuses a declared body over the limit, carries the
    correlation id, sets the security headers (shared.security), and counts and times every answer in
    /metrics. An unhandled exception is logged here, once, and answered and counted as the 500 it is
    (left to Starlette, it would be logged twice and never counted)."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics, max_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        correlation_id = (headers.get("x-correlation-id") or str(uuid.uuid4()))[:100]
        token = correlation_id_var.set(correlation_id)
        started = time.perf_counter()
        status = 500
        answered = False

        async def send_secured(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                answered, status = True, message["status"]
                response_headers = MutableHeaders(scope=message)
                secure(response_headers)
                response_headers["X-Correlation-ID"] = correlation_id
            await send(message)

        try:
            length = headers.get("content-length")
            if length and length.isdigit() and int(length) > self.max_bytes:
                detail = f"request body larger than {self.max_bytes} bytes"
                await JSONResponse({"detail": detail}, 413)(scope, receive, send_secured)
            else:
                await self.app(scope, receive, send_secured)
        except Exception:
            log.exception("unhandled error answering %s %s", scope["method"], _template(scope))
            status = 500
            if not answered:
                body = {"detail": f"internal error (correlation id {correlation_id})"}
                await JSONResponse(body, 500)(scope, receive, send_secured)
        finally:
            correlation_id_var.reset(token)
            template = _template(scope)
            service = self.metrics.service
            self.metrics.http_requests.labels(service, scope["method"], template, status).inc()
            self.metrics.http_latency.labels(service, scope["method"], template).observe(
                time.perf_counter() - started
            )


def _template(scope: Scope) -> str:
    # the route template, not the path: ids in paths would make a metric per member
    return str(getattr(scope.get("route"), "path", "unmatched"))


def secure(headers: MutableHeaders) -> None:
    """The security headers of shared.security on one answer; a page's own policy is kept."""
    for name, value in security.ALWAYS.items():
        headers.setdefault(name, value)
    if headers.get("content-type", "").startswith("text/html"):
        headers.setdefault("Content-Security-Policy", security.DEFAULT_POLICY)
        for name, value in security.HTML.items():
            headers.setdefault(name, value)


DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"
DOCS_FILES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}


def add_documentation_pages(app: FastAPI) -> None:
    """/docs (Swagger UI) and /redoc served with their scripts from this service, not from a CDN, so
    that their policy too allows nothing from elsewhere (the files come with fastapi-offline)."""
    openapi_url = app.openapi_url or "/openapi.json"
    asset = "/docs/static/"

    def page(response: HTMLResponse, **directives: str) -> HTMLResponse:
        html = bytes(response.body).decode("utf-8")
        scripts = security.inline_script_hashes(html)  # the page is FastAPI's own, with no input in it
        response.headers["Content-Security-Policy"] = security.content_security_policy(
            script_src=f"'self' {scripts}".strip(), **directives
        )
        return response

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return page(
            get_swagger_ui_html(
                openapi_url=openapi_url,
                title=f"{app.title} – Swagger UI",
                swagger_js_url=asset + "swagger-ui-bundle.js",
                swagger_css_url=asset + "swagger-ui.css",
                swagger_favicon_url=asset + "favicon.png",
                oauth2_redirect_url="/docs/oauth2-redirect",
                swagger_ui_parameters={"validatorUrl": None},
            ),
            style_src="'self' 'unsafe-inline'",
            connect_src="'self'",
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return page(get_swagger_ui_oauth2_redirect_html())

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return page(
            get_redoc_html(
                openapi_url=openapi_url,
                title=f"{app.title} – ReDoc",
                redoc_js_url=asset + "redoc.standalone.js",
                redoc_favicon_url=asset + "favicon.png",
                with_google_fonts=False,
            ),
            connect_src="'self'",
            worker_src="blob:",
        )

    @app.get("/docs/static/{name}", include_in_schema=False)
    def documentation_asset(name: str) -> FileResponse:
        if name not in DOCS_FILES:
            raise StarletteHTTPException(404, "not found")
        return FileResponse(DOCS_ASSETS / name, media_type=DOCS_FILES[name])


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
    runtime: Runtime | None = getattr(app.state, "runtime", None)
    if runtime is not None:
        runtime.freeze_heap = True
    # proxy_headers off: uvicorn would believe X-Forwarded-For from 127.0.0.1; the app decides whom to
    # believe (TRUSTED_PROXIES, see shared.limits)
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
    )
