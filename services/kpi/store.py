"""The read-model store the projection's handlers write through: look a row up by its key, make a new
row, add a new or changed row to be written.

Why not the ORM session: event by event, every `session.get` first flushed the previous event's INSERT
(autoflush) and then asked the database — two round trips per event, ~100 times slower than reading
Kafka — and even batched, building ORM objects and flushing them through the unit of work cost more
than everything else the projector does. `BatchStore` instead, once per batch,
1. loads every row the batch's events will look up — per table one SELECT … IN the keys named by the
   event types its `LOOKUPS` declare (by the key's field; by their own id for an `event_id` key) —
   and remembers the keys not found as absent;
2. answers the handlers' `get` from those rows and from the rows they added, and asks the database
   only for a key it did not preload (still right, only slower, if a declaration misses one);
3. writes every added row at the end with one set-based upsert per table (INSERT … ON CONFLICT (key)
   DO UPDATE, executemany), in the caller's transaction.
Rows are the tables' own SQLModel classes, made the way the ORM makes rows it loads (without running
`__init__`'s per-field validation) and never attached to the session.
Results are the same as event by event (tests/integration/test_kpi_projector_batches.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import Executable, Table, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import configure_mappers
from sqlalchemy.orm.instrumentation import ClassManager, manager_of_class
from sqlmodel import Session, SQLModel

from shared import events

Row = TypeVar("Row", bound=SQLModel)

_CHUNK = 500  # keys per SELECT … IN: well under SQLite's and PostgreSQL's parameter limits


class ReadModels(Protocol):
    """What a projection handler may do with the read models."""

    def get(self, model: type[Row], key: Any) -> Row | None:
        """The row of `model` whose primary key is `key`, or None."""
        ...

    def new(self, model: type[Row], **values: Any) -> Row:
        """A row of `model` not stored yet: the columns not given take their defaults."""
        ...

    def add(self, row: SQLModel) -> None:
        """A new or changed row, written with the batch."""
        ...


@dataclass(frozen=True)
class _Shape:
    """What the store needs to know about one table."""

    table: Table
    key: str  # the one-column primary key's attribute
    columns: frozenset[str]
    required: frozenset[str]
    defaults: dict[str, Any]
    manager: ClassManager[Any]


@cache
def shape(model: type[SQLModel]) -> _Shape:
    configure_mappers()  # an instance's attributes work only once its mapper is configured
    table = cast(Table, inspect(model).local_table)
    keys = list(table.primary_key.columns)
    if len(keys) != 1:
        raise TypeError(f"{model.__name__} is not keyed by one column")
    columns = frozenset(column.key for column in table.columns)
    defaults: dict[str, Any] = {}
    for name in columns:
        field = model.model_fields[name]
        if not field.is_required():
            if field.default_factory is not None:
                raise TypeError(f"{model.__name__}.{name}: the store only knows constant defaults")
            defaults[name] = field.default
    required = columns - defaults.keys()
    return _Shape(table, keys[0].key, columns, required, defaults, manager_of_class(model))


def key_column(model: type[SQLModel]) -> str:
    """The attribute name of a table's one-column primary key."""
    return shape(model).key


# Per table, the event types whose handlers look its rows up.
Lookups = Mapping[type[SQLModel], Sequence[type[events.EventData]]]


def named_keys(lookups: Lookups, batch: Iterable[events.Event]) -> dict[type[SQLModel], set[Any]]:
    """Per table, the keys the batch's events name: for each event of a type that looks the table up,
    its own id for an `event_id` key, else its field of the key's name."""
    by_type: dict[type[events.EventData], list[tuple[type[SQLModel], str]]] = {}
    for model, types in lookups.items():
        for event_type in types:
            by_type.setdefault(event_type, []).append((model, shape(model).key))
    wanted: dict[type[SQLModel], set[Any]] = {model: set() for model in lookups}
    for event in batch:
        for model, column in by_type.get(type(event.data), ()):
            key = event.id if column == "event_id" else event.data.__dict__[column]
            if key is not None:
                wanted[model].add(key)
    return wanted


@cache
def _upsert(dialect: str, model: type[SQLModel]) -> Executable:
    """INSERT … ON CONFLICT (key) DO UPDATE every other column: the same in SQLite and PostgreSQL, but
    each dialect has its own construct."""
    found = shape(model)
    others = [name for name in sorted(found.columns) if name != found.key]
    if dialect == "postgresql":
        pg = postgresql.insert(found.table)
        return pg.on_conflict_do_update(
            index_elements=[found.key], set_={name: pg.excluded[name] for name in others}
        )
    if dialect == "sqlite":
        lite = sqlite.insert(found.table)
        return lite.on_conflict_do_update(
            index_elements=[found.key], set_={name: lite.excluded[name] for name in others}
        )
    raise NotImplementedError(f"no upsert for {dialect}")


def _made(model: type[Row], values: dict[str, Any]) -> Row:
    """A row as the ORM makes one it loads: instrumented, `__init__` not run."""
    row = cast(Row, shape(model).manager.new_instance())
    row.__dict__.update(values)
    return row


class BatchStore:
    """`ReadModels` for one batch, in the transaction of `session` (see the module's docstring)."""

    def __init__(self, session: Session, lookups: Lookups) -> None:
        self.session = session
        self.lookups = lookups
        self.rows: dict[tuple[type[SQLModel], Any], SQLModel | None] = {}  # None: known absent
        self.dirty: dict[type[SQLModel], dict[Any, SQLModel]] = {}

    def preload(self, batch: Sequence[events.Event]) -> None:
        """One SELECT … IN per looked-up table (per 500 keys)."""
        for model, keys in named_keys(self.lookups, batch).items():
            found = shape(model)
            wanted = [key for key in keys if (model, key) not in self.rows]
            column = found.table.columns[found.key]
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                for values in self.session.execute(select(found.table).where(column.in_(chunk))).mappings():
                    self.rows[(model, values[found.key])] = _made(model, dict(values))
                for key in chunk:
                    self.rows.setdefault((model, key), None)

    def get(self, model: type[Row], key: Any) -> Row | None:
        try:
            return cast("Row | None", self.rows[(model, key)])
        except KeyError:
            pass
        found = shape(model)
        values = (
            self.session.execute(select(found.table).where(found.table.columns[found.key] == key))
            .mappings()
            .first()
        )
        row = _made(model, dict(values)) if values is not None else None
        self.rows[(model, key)] = row
        return row

    def new(self, model: type[Row], **values: Any) -> Row:
        found = shape(model)
        wrong = (values.keys() - found.columns) | (found.required - values.keys())
        if wrong:  # a typo, or a row the upsert could not write
            raise TypeError(f"{model.__name__}: unknown or missing {', '.join(sorted(wrong))}")
        return _made(model, {**found.defaults, **values})

    def add(self, row: SQLModel) -> None:
        model = type(row)
        key = getattr(row, shape(model).key)
        self.rows[(model, key)] = row
        self.dirty.setdefault(model, {})[key] = row

    def write(self) -> None:
        """Every added row, one upsert statement per table (executemany); the caller commits."""
        dialect = self.session.get_bind().dialect.name
        for model, rows in self.dirty.items():
            found = shape(model)
            values = [{name: row.__dict__[name] for name in found.columns} for row in rows.values()]
            self.session.execute(_upsert(dialect, model), values)
        self.dirty.clear()
