"""The unit of work every command handler runs in: one database session, the service's outbox, who
acts, and one commit that either keeps everything or answers 409.

A handler is a plain function `handle(command, uow) -> result`; it loads, checks the domain rules,
changes rows, `publish`es its events and ends with `return uow.commit(result)`. Routes only build the
command and the unit of work (`StaffWork`-style dependencies from `unit_of_work(*roles)`), so a route,
a screen and a test call the same handler.

Idempotency: a creating request may carry an `Idempotency-Key` header. The key is stored with the
command's own changes in the same transaction, together with a digest of the request and the answer;
the same key with the same request gives the first answer again without doing anything, the same key
with another request (or another operation or caller) is a 422. Two racing requests with one key:
the loser's insert fails on the key's primary key, and it answers with the winner's stored answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel
from sqlalchemy import JSON, Column
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel
from starlette.concurrency import run_in_threadpool

from shared import events, staff
from shared.auth import Principal, Role, bearer, require
from shared.errors import Conflict, Invalid
from shared.outbox import Outbox

R = TypeVar("R")

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200


class IdempotencyRecord(SQLModel, table=True):
    """One answered creating request, kept so that a retry gets the same answer."""

    __tablename__ = "idempotency_keys"
    key: str = Field(primary_key=True, max_length=MAX_KEY_LENGTH)
    subject: str = Field(max_length=200)
    operation: str = Field(max_length=300)
    request_digest: str = Field(max_length=64)
    status_code: int
    response: Any = Field(sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class Replay(Exception):
    """The request was answered before: send the stored answer again."""

    def __init__(self, status_code: int, body: Any) -> None:
        super().__init__(f"replay of an earlier answer ({status_code})")
        self.status_code = status_code
        self.body = body


@dataclass(frozen=True)
class IdempotencyKey:
    key: str
    operation: str
    request_digest: str
    status_code: int


@dataclass
class UnitOfWork:
    session: Session
    outbox: Outbox
    actor: Principal
    idempotency: IdempotencyKey | None = None
    conflict: str = "this conflicts with an existing record"
    published: list[dict[str, Any]] = field(default_factory=list)

    def publish(self, data: events.EventData, *, time: datetime | None = None) -> dict[str, Any]:
        """Writes the event into this transaction's outbox, with the acting person's pseudonymous staff
        id as `actor` (never the token's subject, an e-mail address: shared.staff)."""
        envelope = self.outbox.add(self.session, data, actor=self.staff_id(), time=time)
        self.published.append(envelope)
        return envelope

    def staff_id(self) -> str:
        """The acting person's pseudonymous staff id, recorded in this transaction for the audit trail."""
        return staff.record(self.session, self.actor.subject)

    def commit(self, result: R) -> R:
        """Commits the changes (and the idempotency key with `result` as its answer); a unique
        constraint that two racing requests both passed the checks for becomes a 409."""
        if self.idempotency is not None:
            self.session.add(
                IdempotencyRecord(
                    key=self.idempotency.key,
                    subject=self.actor.subject,
                    operation=self.idempotency.operation,
                    request_digest=self.idempotency.request_digest,
                    status_code=self.idempotency.status_code,
                    response=_jsonable(result),
                )
            )
        try:
            self.session.commit()
        except IntegrityError as exc:
            self.session.rollback()
            if self.idempotency is not None:
                _replay_if_answered(self.session, self.idempotency, self.actor)
            raise Conflict(self.conflict) from exc
        return result

    def rollback(self) -> None:
        self.session.rollback()


def _jsonable(result: Any) -> Any:
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    if isinstance(result, list):
        return [_jsonable(item) for item in result]
    return result


def _replay_if_answered(session: Session, wanted: IdempotencyKey, actor: Principal) -> None:
    """Raises `Replay` with the stored answer, or 422 when the key was used for something else."""
    stored = session.get(IdempotencyRecord, wanted.key)
    if stored is None:
        return
    if (stored.subject, stored.operation, stored.request_digest) != (
        actor.subject,
        wanted.operation,
        wanted.request_digest,
    ):
        raise Invalid(
            "Idempotency-Key",
            "this Idempotency-Key was already used for another request; use a new key for a new request",
        )
    raise Replay(stored.status_code, stored.response)


def _digest(body: bytes) -> str:
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body  # not JSON (a file upload): the bytes themselves
    return hashlib.sha256(canonical).hexdigest()


async def _idempotency_key(
    request: Request,
    # a Header parameter, so that the OpenAPI documents declare it
    key: str | None = Header(
        default=None,
        alias=HEADER,
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        pattern=r"^[\x21-\x7e]+$",
        description="A retried request with the same key gets the first answer; another request is a 422",
    ),
) -> IdempotencyKey | None:
    # async only to read the body; the database work happens in the (threaded) dependency below
    if key is None:
        return None
    route = request.scope.get("route")
    return IdempotencyKey(
        key=key,
        operation=f"{request.method} {request.url.path}",
        request_digest=_digest(await request.body()),
        status_code=getattr(route, "status_code", None) or 200,
    )


def unit_of_work(*roles: Role, conflict: str | None = None) -> Callable[..., AsyncIterator[UnitOfWork]]:
    """A FastAPI dependency giving a route a unit of work for a caller with one of `roles`.
    A request with an `Idempotency-Key` that was answered before is answered again here, before the
    route runs."""

    allowed = require(*roles)

    # Async, so that it runs on the event loop: a sync dependency costs a hop through the thread pool
    # on the way in and another on the way out, and under load those hops (a thread woken, the GIL
    # handed over twice) cost a command more than the token check and the session together. Nothing
    # here waits on the database except the idempotency lookup and a rollback, which go to a thread.
    # Depends(...) as defaults: the annotations are strings here and could not see `roles`
    async def dependency(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),  # noqa: B008
        idempotency: IdempotencyKey | None = Depends(_idempotency_key),  # noqa: B008
    ) -> AsyncIterator[UnitOfWork]:
        actor = allowed(request, credentials)  # a signature check: microseconds of CPU, no I/O
        runtime = request.app.state.runtime
        # a Session touches the database only at its first statement, in the route's thread
        session = Session(runtime.engine, expire_on_commit=False)
        try:
            if idempotency is not None:
                await run_in_threadpool(_replay_if_answered, session, idempotency, actor)
            uow = UnitOfWork(session, runtime.outbox, actor, idempotency)
            if conflict is not None:
                uow.conflict = conflict
            yield uow
        finally:
            if session.in_transaction():
                # not committed (an error, a refusal): the rollback is I/O, and on SQLite it releases
                # the write lock, so it must not wait for the loop nor block it
                await run_in_threadpool(session.close)
            else:
                session.close()  # committed: the connection is back in the pool already

    return dependency


def install(app: FastAPI) -> None:
    """Answers a replayed request with its stored answer."""

    @app.exception_handler(Replay)
    async def _replay(_request: Request, exc: Replay) -> JSONResponse:
        return JSONResponse(exc.body, status_code=exc.status_code, headers={"Idempotent-Replayed": "true"})
