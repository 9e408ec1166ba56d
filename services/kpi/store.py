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
Rows are plain objects with one slot per column, standing in for the tables' SQLModel classes (the
handlers only read and set their columns): making a SQLModel instance (its ORM state, pydantic's
`__new__`) and setting its attributes (SQLModel's `__setattr__`) cost more per event than the rest of
a handler. They are never attached to the session.
Results are the same as event by event (tests/integration/test_kpi_projector_batches.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from operator import attrgetter
from typing import Any, ClassVar, Protocol, TypeVar, cast

from sqlalchemy import Executable, Table, bindparam, inspect, select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import configure_mappers
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement
from sqlmodel import Session, SQLModel

from shared import events
from shared.db import insert_for

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


class _PlainRow:
    """Base of the store's row classes: one slot per column of `MODEL` (see `shape`)."""

    __slots__ = ()
    MODEL: ClassVar[type[SQLModel]]

    def __repr__(self) -> str:
        names: tuple[str, ...] = self.__slots__
        values = ", ".join(f"{name}={getattr(self, name, None)!r}" for name in names)
        return f"{type(self).__name__}({values})"


# the SQLModel class of each plain row class
_MODELS: dict[type[Any], type[SQLModel]] = {}


@dataclass(frozen=True)
class _Shape:
    """What the store needs to know about one table."""

    table: Table
    key: str  # the one-column primary key's attribute
    columns: frozenset[str]
    required: frozenset[str]
    defaults: dict[str, Any]
    plain: type[_PlainRow]  # the row class the store hands out
    values: Callable[[Any], tuple[Any, ...]]  # a row's values in `ordered`'s order
    ordered: tuple[str, ...]


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
    ordered = tuple(sorted(columns))
    plain = type(f"{model.__name__}Row", (_PlainRow,), {"__slots__": ordered, "MODEL": model})
    _MODELS[plain] = model
    if len(ordered) < 2:  # attrgetter of one name gives the value, not a tuple
        raise TypeError(f"{model.__name__}: a table of one column has nothing to upsert")
    return _Shape(table, keys[0].key, columns, required, defaults, plain, attrgetter(*ordered), ordered)


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
    ins = insert_for(dialect, found.table)
    update = {name: ins.excluded[name] for name in others}
    return cast(Executable, ins.on_conflict_do_update(index_elements=[found.key], set_=update))


@cache
def _select_keys(model: type[SQLModel]) -> Executable:
    """The rows of `model` whose keys are in the parameter `keys`: built once per table (an expanding
    parameter, not one literal per key coerced on every call)."""
    found = shape(model)
    column = found.table.columns[found.key]
    return select(found.table).where(column.in_(bindparam("keys", expanding=True)))


def _made(model: type[Row], values: Mapping[Any, Any]) -> Row:
    """A row of `model` as the store hands it out (a plain row, see the module's docstring)."""
    row = shape(model).plain()
    for name, value in values.items():
        setattr(row, name, value)
    return cast(Row, row)


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
            statement = _select_keys(model)
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                for values in self.session.execute(statement, {"keys": chunk}).mappings():
                    self.rows[(model, values[found.key])] = _made(model, values)
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
        row = _made(model, values) if values is not None else None
        self.rows[(model, key)] = row
        return row

    def new(self, model: type[Row], **values: Any) -> Row:
        found = shape(model)
        wrong = (values.keys() - found.columns) | (found.required - values.keys())
        if wrong:  # a typo, or a row the upsert could not write
            raise TypeError(f"{model.__name__}: unknown or missing {', '.join(sorted(wrong))}")
        return _made(model, {**found.defaults, **values})

    def add(self, row: SQLModel) -> None:
        model = _MODELS.get(type(row), type(row))  # a plain row, or a table's own class
        key = getattr(row, shape(model).key)
        self.rows[(model, key)] = row
        self.dirty.setdefault(model, {})[key] = row

    def write(self) -> None:
        """Every added row, one upsert statement per table (executemany); the caller commits."""
        dialect = self.session.get_bind().dialect
        for model, rows in self.dirty.items():
            if dialect.name == "sqlite":
                sql, convert = _compiled_upsert(dialect, model)
                self.session.connection().exec_driver_sql(sql, [convert(row) for row in rows.values()])
                continue
            found = shape(model)
            values = [dict(zip(found.ordered, found.values(row), strict=True)) for row in rows.values()]
            self.session.execute(_upsert(dialect.name, model), values)
        self.dirty.clear()


@cache
def _compiled_upsert(dialect: Dialect, model: type[SQLModel]) -> tuple[str, Callable[[Any], tuple[Any, ...]]]:
    """The upsert of `model` compiled once for SQLite (positional parameters), and the function that
    turns a row into its parameters with the columns' own bind processors: what `session.execute`
    does per row on every call, less its per-row dictionary and bookkeeping, which cost more than the
    write itself."""
    statement = cast(ClauseElement, _upsert(dialect.name, model))
    compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
    names = tuple(compiled.positiontup or ())
    if len(names) < 2 or set(names) != shape(model).columns:
        raise TypeError(f"{model.__name__}: the upsert's parameters are not its columns")
    get = attrgetter(*names)
    processors = cast("Mapping[str, Callable[[Any], Any]]", compiled._bind_processors)
    # (the processors execute() applies to every value, None included; a tuple type has a sequence)
    steps = [(index, processors[name]) for index, name in enumerate(names) if name in processors]
    if not all(callable(process) for _, process in steps):
        raise TypeError(f"{model.__name__}: a column of a tuple type")

    def convert(row: Any) -> tuple[Any, ...]:
        values = list(get(row))
        for index, process in steps:
            values[index] = process(values[index])
        return tuple(values)

    return compiled.string, convert
