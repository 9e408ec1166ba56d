"""The read-model store the projection's handlers write through: look a row up by its key, add a row.

Why not the session itself: event by event, every `session.get` first flushed the previous event's
INSERT (autoflush) and then asked the database — two round trips per event, which made replay ~100
times slower than reading Kafka. `BatchStore` instead, once per batch,
1. loads every row any event of the batch could be looked up by — per keyed table one SELECT … IN the
   key values the batch's events name (`event_id` means the events' own ids) — and remembers the keys
   not found as absent;
2. answers the handlers' `get` from those rows and from the rows they added, and asks the database
   only for a key no event of the batch named;
3. leaves the writing to the session: the commit sends the batch's rows as batched INSERTs/UPDATEs.
Results are the same as event by event (tests/integration/test_kpi_projector_batches.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import inspect, select
from sqlmodel import Session, SQLModel

from shared import events

Row = TypeVar("Row", bound=SQLModel)

_CHUNK = 500  # keys per SELECT … IN: well under SQLite's and PostgreSQL's parameter limits


class ReadModels(Protocol):
    """What a projection handler may do with the read models."""

    def get(self, model: type[Row], key: Any) -> Row | None:
        """The row of `model` whose primary key is `key`, or None."""
        ...

    def add(self, row: SQLModel) -> None:
        """A new or changed row, to be written with the batch."""
        ...


@cache
def key_column(model: type[SQLModel]) -> str:
    """The attribute name of a table's one-column primary key."""
    keys = inspect(model).primary_key
    if len(keys) != 1:
        raise TypeError(f"{model.__name__} is not keyed by one column")
    return str(keys[0].key)


def named_keys(column: str, batch: Iterable[events.Event]) -> set[Any]:
    """The values of `column` the batch's events name: their own ids for `event_id`, else the field of
    that name in their data."""
    if column == "event_id":
        return {event.id for event in batch}
    # __dict__ rather than getattr: no pydantic __getattr__ for the many events without the field
    found = (event.data.__dict__.get(column) for event in batch)
    return {value for value in found if value is not None}


class BatchStore:
    """`ReadModels` over a session, preloaded for one batch (see the module's docstring)."""

    def __init__(self, session: Session, keyed: Sequence[type[SQLModel]]) -> None:
        self.session = session
        self.keyed = keyed
        # None marks a key known to be absent; holding the rows here also keeps them alive, since
        # the session's identity map only holds unchanged rows weakly
        self.rows: dict[tuple[type[SQLModel], Any], SQLModel | None] = {}

    def preload(self, batch: Sequence[events.Event]) -> None:
        """One SELECT … IN per keyed table (per 500 keys). It flushes first, so rows already added to
        the session before this batch are seen."""
        for model in self.keyed:
            column = key_column(model)
            wanted = [key for key in named_keys(column, batch) if (model, key) not in self.rows]
            attribute = getattr(model, column)
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                for row in self.session.execute(select(model).where(attribute.in_(chunk))).scalars():
                    self.rows[(model, getattr(row, column))] = row
                for key in chunk:
                    self.rows.setdefault((model, key), None)

    def get(self, model: type[Row], key: Any) -> Row | None:
        try:
            return cast("Row | None", self.rows[(model, key)])
        except KeyError:
            pass
        with self.session.no_autoflush:  # every row added through this store is in `rows` already
            row = self.session.get(model, key)
        self.rows[(model, key)] = row
        return row

    def add(self, row: SQLModel) -> None:
        model = type(row)
        self.rows[(model, getattr(row, key_column(model)))] = row
        self.session.add(row)
