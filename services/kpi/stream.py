"""`GET /kpis/{year}/stream`: the KPIs of a year as Server-Sent Events, for the dashboard and any client.

A connection first gets a `snapshot` event with every KPI of the year; after each committed projector
batch it gets one `change` event with only the KPIs whose answer changed (value, target, status or
items), and nothing when a batch changed nothing (a redelivered event, a fact of another year). When
the year's KPIs cannot be computed (database away) it gets an `unavailable` event and the stream ends;
the browser tries again after `retry`.

The work is shared: one feed per subscribed year awaits the projector's change counter (live.Changes),
computes the year's answer once per change and diffs it against what it sent last, whatever the number
of subscribers. An idle subscriber costs one heartbeat comment every 15 s and nothing else.

Auth: a bearer token (READERS) as on every KPI route, or — for a browser's EventSource, which cannot
send a header — `?ticket=`, a ticket of 60 s from `POST /kpis/stream-tickets` (which needs the bearer
token). A ticket opens streams only; it is refused as a bearer token and a bearer token is refused as
a ticket, so the long-lived token never appears in a URL. A ticket is checked when a stream opens: when
the connection drops, the page asks a new one."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import threading
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Annotated, Any

import jwt
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlmodel import Session

from services.kpi import kpis
from services.kpi.generations import Generations
from services.kpi.live import SETTLE_SECONDS, Changes
from shared.auth import ALGORITHM, ISSUER, READERS, Principal, require
from shared.errors import DomainError

log = logging.getLogger(__name__)
router = APIRouter()

# KPI_STREAM_HEARTBEAT_SECONDS only lets a test see heartbeats without waiting 15 s
HEARTBEAT_SECONDS = float(os.environ.get("KPI_STREAM_HEARTBEAT_SECONDS", "15"))
RETRY_MS = 3000  # the browser reconnects after this; a reconnect gets a full snapshot
TICKET_SECONDS = 60
TICKET_AUDIENCE = "kpi-stream"
QUEUE_LIMIT = 64  # a subscriber this far behind is disconnected; it reconnects to a snapshot

Year = Annotated[int, Path(ge=2000, le=2100)]
Event = str | None  # an encoded event, or None: the stream ends


class StreamClosed(DomainError):
    status_code = 503


class Ticket(BaseModel):
    ticket: str
    expires_in: int  # seconds


def issue_ticket(secret: str, who: Principal, ttl: timedelta = timedelta(seconds=TICKET_SECONDS)) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": who.subject,
        "role": who.role,
        "iss": ISSUER,
        "aud": TICKET_AUDIENCE,
        "iat": now,
        "exp": now + ttl,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def _unauthorised(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
    )


def verify_ticket(secret: str, ticket: str) -> Principal:
    try:
        claims = jwt.decode(
            ticket,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            audience=TICKET_AUDIENCE,
            options={"require": ["sub", "role", "exp", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise _unauthorised("stream ticket expired: ask a new one") from None
    except jwt.PyJWTError as exc:
        raise _unauthorised(f"invalid stream ticket: {exc}") from None
    role = claims.get("role")
    if role not in READERS:
        raise _unauthorised("stream ticket carries no known role")
    return Principal(subject=str(claims["sub"]), role=role)


_bearer = HTTPBearer(auto_error=False, description="A token from `vvsg token --role ROLE`")
_readers = require(*READERS)


def stream_reader(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ticket: Annotated[
        str | None,
        Query(
            max_length=2000,
            description="for EventSource (no headers): a ticket from POST /kpis/stream-tickets",
        ),
    ] = None,
) -> Principal:
    """A bearer token as on every KPI route, or else a stream ticket."""
    if credentials is None and ticket is not None:
        secret: str = request.app.state.settings.auth_secret.get_secret_value()
        principal = verify_ticket(secret, ticket)
        request.state.principal = principal
        return principal
    return _readers(request, credentials)


# --- one shared feed per subscribed year ------------------------------------------------------------


def encode(kind: str, event_id: str, data: dict[str, Any], retry: bool = False) -> str:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return (f"retry: {RETRY_MS}\n" if retry else "") + f"id: {event_id}\nevent: {kind}\ndata: {body}\n\n"


def changed_kpis(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The KPIs of `after` whose answer differs from `before` (or that are new), in `after`'s order."""
    return [kpi for code, kpi in after.items() if before.get(code) != kpi]


class YearFeed:
    """The answer of one year, computed once per change for all its subscribers."""

    def __init__(self, year: int, changes: Changes, compute: Callable[[int], dict[str, Any]]) -> None:
        self.year = year
        self.changes = changes
        self.compute = compute
        self.subscribers: set[asyncio.Queue[Event]] = set()
        self.head: dict[str, Any] = {}  # year, as_of, generated_at, targets_version of the last answer
        self.kpis: dict[str, dict[str, Any]] = {}
        self.event_id = ""
        self.ready = asyncio.Event()
        self.failure: BaseException | None = None
        self.task: asyncio.Task[None] | None = None
        self.waiting = 0  # subscribers waiting for the first answer (not in `subscribers` yet)

    def _take(self, answer: dict[str, Any], version: int) -> list[dict[str, Any]]:
        fresh = {kpi["code"]: kpi for kpi in answer["kpis"]}
        changed = changed_kpis(self.kpis, fresh)
        self.head = {k: v for k, v in answer.items() if k != "kpis"}
        self.kpis = fresh
        self.event_id = self.changes.token_of(version)
        return changed

    def snapshot(self) -> str:
        return encode("snapshot", self.event_id, {**self.head, "kpis": list(self.kpis.values())}, retry=True)

    async def run(self) -> None:
        seen = self.changes.version
        try:
            self._take(await asyncio.to_thread(self.compute, self.year), seen)
        except asyncio.CancelledError:  # stopped before its first answer: release whoever waits for it
            self.failure = StreamClosed("the stream was stopped")
            self.ready.set()
            raise
        except Exception as exc:  # the subscribers waiting get a 503
            log.exception("KPI stream: cannot compute %d", self.year)
            self.failure = exc
            self.ready.set()
            return
        self.ready.set()
        while True:
            await self.changes.after(seen)
            await asyncio.sleep(SETTLE_SECONDS)
            seen = self.changes.version
            try:
                answer = await asyncio.to_thread(self.compute, self.year)
            except Exception:  # database away: the next change tries again
                log.exception("KPI stream: cannot compute %d", self.year)
                continue
            changed = self._take(answer, seen)
            if changed:
                self.publish(encode("change", self.event_id, {**self.head, "kpis": changed}))

    def publish(self, event: Event) -> None:
        for queue in list(self.subscribers):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:  # far behind: it ends, and the browser reconnects to a snapshot
                self.subscribers.discard(queue)
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
                queue.put_nowait(None)


class Hub:
    """The year feeds of one service: started by the first subscriber of a year, stopped with the last."""

    def __init__(self, changes: Changes, compute: Callable[[int], dict[str, Any]]) -> None:
        self.changes = changes
        self.compute = compute
        self.feeds: dict[int, YearFeed] = {}
        self.closed = False

    def subscribers(self) -> int:
        return sum(len(feed.subscribers) for feed in self.feeds.values())

    async def subscribe(self, year: int) -> tuple[str, asyncio.Queue[Event]]:
        """The snapshot to send first and the queue of what follows it."""
        if self.closed:
            raise StreamClosed("the service is stopping")
        feed = self.feeds.get(year)
        if feed is None:
            feed = self.feeds[year] = YearFeed(year, self.changes, self.compute)
            feed.task = asyncio.create_task(feed.run(), name=f"kpi-stream-{year}")
        feed.waiting += 1
        try:
            await feed.ready.wait()
        except asyncio.CancelledError:  # the client went away first: a feed nobody follows or awaits stops
            if not feed.subscribers and feed.waiting == 1:
                self._drop(feed)
            raise
        finally:
            feed.waiting -= 1
        if feed.failure is not None:
            self._drop(feed)
            raise StreamClosed(f"the KPIs of {year} cannot be computed now: {feed.failure}")
        queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_LIMIT)
        feed.subscribers.add(queue)  # with the snapshot, in one step: no change can fall in between
        return feed.snapshot(), queue

    def unsubscribe(self, year: int, queue: asyncio.Queue[Event]) -> None:
        feed = self.feeds.get(year)
        if feed is None:
            return
        feed.subscribers.discard(queue)
        if not feed.subscribers:
            self._drop(feed)

    def _drop(self, feed: YearFeed) -> None:
        if self.feeds.get(feed.year) is feed:
            del self.feeds[feed.year]
        if feed.task is not None:
            feed.task.cancel()

    def close(self) -> None:
        """Ends every stream (the server waits for open responses before it stops)."""
        self.closed = True
        for feed in list(self.feeds.values()):
            feed.publish(None)
            self._drop(feed)


def _end_streams_on_exit(hub: Hub) -> None:
    """uvicorn stops on SIGTERM/SIGINT only once every response has ended, and a stream never ends by
    itself: chain a handler in front of the server's that ends the streams first. Only where a server
    installed its own handler (not under a test client)."""
    if threading.current_thread() is not threading.main_thread():
        return
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(sig)
        if not callable(previous) or previous is signal.default_int_handler:
            continue

        def handler(
            signum: int, frame: FrameType | None, previous: Callable[[int, FrameType | None], Any] = previous
        ) -> None:
            loop.call_soon_threadsafe(hub.close)
            previous(signum, frame)

        signal.signal(sig, handler)


def compute_with(generations: Generations) -> Callable[[int], dict[str, Any]]:
    def compute(year: int) -> dict[str, Any]:
        """The year's answer from the active generation, exactly as `GET /kpis/{year}` serves it."""
        generation = generations.active()
        with Session(generation.reader) as session:
            return kpis.answer(session, year, None, datetime.now(UTC)).model_dump(mode="json")

    return compute


def hub_of(request: Request) -> Hub:
    state = request.app.state
    hub: Hub | None = getattr(state, "kpi_streams", None)
    if hub is None:
        hub = state.kpi_streams = Hub(state.changes, compute_with(state.generations))
        _end_streams_on_exit(hub)
    return hub


async def events(hub: Hub, year: int) -> AsyncIterator[str]:
    # subscribed here, not in the route: a response that never starts (the client gone before the
    # headers) never runs this generator, and must leave no subscriber behind
    try:
        first, queue = await hub.subscribe(year)
    except StreamClosed as exc:
        # an error event and the end of the stream: EventSource tries again after `retry` (on an
        # error status it would give up for good)
        detail = json.dumps({"detail": str(exc)}, ensure_ascii=False)
        yield f"retry: {RETRY_MS}\nevent: unavailable\ndata: {detail}\n\n"
        return
    try:
        yield first
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
            except TimeoutError:
                yield ": heartbeat\n\n"
                continue
            if event is None:
                return
            yield event
    finally:
        hub.unsubscribe(year, queue)


# --- routes -----------------------------------------------------------------------------------------


@router.post("/kpis/stream-tickets", tags=["kpi"])
def stream_ticket(request: Request, who: Annotated[Principal, Depends(_readers)]) -> Ticket:
    """A ticket of 60 s that opens `GET /kpis/{year}/stream?ticket=…` (EventSource sends no header)."""
    secret: str = request.app.state.settings.auth_secret.get_secret_value()
    return Ticket(ticket=issue_ticket(secret, who), expires_in=TICKET_SECONDS)


@router.get(
    "/kpis/{year}/stream",
    tags=["kpi"],
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "Server-Sent Events: `snapshot` (every KPI) first, then `change` events "
            "(only the KPIs a batch changed), heartbeat comments every 15 s",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        # declared here: errors.route_errors finds the role check by shared.auth's dependency, and
        # this route's check (bearer token or ticket) is its own
        401: {"description": "no token or ticket, or one that is not valid (any more)"},
        403: {"description": "the token's role may not read KPIs"},
        503: {"description": "the service is stopping"},
    },
)
async def stream(
    request: Request, _who: Annotated[Principal, Depends(stream_reader)], year: Year
) -> StreamingResponse:
    """The year's KPIs as they change. Every connection (a reconnect with Last-Event-ID too) starts
    with a full snapshot, so a client that missed changes while away is right again at once."""
    hub = hub_of(request)
    if hub.closed:
        raise StreamClosed("the service is stopping")
    return StreamingResponse(
        events(hub, year),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
