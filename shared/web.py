"""FastAPI building blocks every service's routes use: a database session and the outbox of the
running service, and the shape of a paged list."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel
from sqlmodel import Session

from shared.outbox import Outbox

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


def _session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.runtime.engine, expire_on_commit=False) as session:
        yield session


def _outbox(request: Request) -> Outbox:
    outbox: Outbox = request.app.state.runtime.outbox
    return outbox


SessionDep = Annotated[Session, Depends(_session)]
OutboxDep = Annotated[Outbox, Depends(_outbox)]
