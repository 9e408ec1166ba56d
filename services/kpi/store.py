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
   DO UPDATE), in the caller's transaction: on SQLite an executemany; on PostgreSQL one statement
   with a column's values as one array parameter each, unnested (psycopg's executemany sends one
   statement per row: half the projector's time on PostgreSQL went there).
Rows are plain objects with one slot per column, standing in for the tables' SQLModel classes (the
handlers only read and set their columns): making a SQLModel instance (its ORM state, pydantic's
`__new__`) and setting its attributes (SQLModel's `__setattr__`) cost more per event than the rest of
a handler. They are never attached to the session.
Results are the same as event by event (tests/integration/test_kpi_projector_batches.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import repeat
from operator import attrgetter
from typing import Any, ClassVar, Protocol, TypeVar, cast

from sqlalchemy import (
    Executable,
    Table,
    bindparam,
    inspect,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import configure_mappers
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter, ClauseElement
from sqlmodel import Session, SQLModel

from shared import arrays, events
from shared.binds import faster
from shared.consumer import padded_size
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
    # the column names (in a handler's order) `new` was given and found right: checked once per form
    valid: set[tuple[str, ...]] = field(default_factory=set)


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
def _upsert_arrays(dialect: Dialect, model: type[SQLModel]) -> arrays.Compiled:
    """PostgreSQL: `_upsert` with the rows as one array parameter per column (shared.arrays), in the
    arrays' order (the store's rows in key order: the rows' locks are taken in that order). One
    statement for any number of rows, planned once."""
    found = shape(model)
    ins = postgresql.insert(found.table).from_select(
        list(found.ordered), arrays.unnested(found.table, found.ordered)
    )
    others = [name for name in found.ordered if name != found.key]
    statement = ins.on_conflict_do_update(
        index_elements=[found.key], set_={name: ins.excluded[name] for name in others}
    )
    return arrays.compile_binary(statement, dialect, found.table, found.ordered)


@cache
def _select_keys(dialect: Dialect, model: type[SQLModel]) -> arrays.Compiled:
    """PostgreSQL: the rows of `model` (its columns in `shape(model).ordered`) whose keys are in one
    array parameter, sent in binary (shared.arrays): one statement for any number of keys, planned
    once (an expanding IN was a new statement text per length, parsed again on every call)."""
    found = shape(model)
    columns = found.table.columns
    statement = select(*(columns[name] for name in found.ordered)).where(
        arrays.any_of(found.table, found.key)
    )
    return arrays.compile_binary(statement, dialect, found.table, [found.key])


def _made(model: type[Row], values: Mapping[Any, Any]) -> Row:
    """A row of `model` as the store hands it out (a plain row, see the module's docstring)."""
    row = shape(model).plain()
    # setattr over the pairs in C (`any` of Nones runs the map to its end): a Python loop per column
    # cost more than the rest of making a row
    any(map(setattr, repeat(row), values.keys(), values.values()))
    return cast(Row, row)


@dataclass(frozen=True)
class _Reader:
    """The SELECT … IN of one table's rows by key compiled to SQLite's text, the key's bind conversion
    and each column's result processor (PostgreSQL's preload uses these), so that a preload costs the
    database's work and one conversion per column, not SQLAlchemy's expansion of the IN list on every
    call."""

    dialect: Dialect
    model: type[SQLModel]
    names: tuple[str, ...]  # the columns, in the SELECT's order
    key: Callable[[Any], Any] | None
    results: tuple[tuple[int, Callable[[Any], Any]], ...]

    def parameters(self, keys: list[Any]) -> tuple[str, tuple[Any, ...]]:
        """The statement for `keys` and its parameters: the IN list padded with the last key repeated
        (shared.consumer.padded_size)."""
        size = padded_size(len(keys))
        values = tuple(map(self.key, keys)) if self.key is not None else tuple(keys)
        return _select_sql(self.dialect, self.model, size), values + values[-1:] * (size - len(keys))

    def rows(self, fetched: Sequence[Any]) -> list[tuple[Any, ...]]:
        if not self.results or not fetched:
            return [tuple(row) for row in fetched]
        columns: list[Any] = list(zip(*fetched, strict=True))
        for index, process in self.results:
            columns[index] = map(process, columns[index])
        return list(zip(*columns, strict=True))


@cache
def _reader(dialect: Dialect, model: type[SQLModel], coltypes: tuple[Any, ...] | None = None) -> _Reader:
    """`coltypes`: the type codes of the driver's cursor description, which some of PostgreSQL's result
    processors need (none of SQLite's: None)."""
    found = shape(model)
    columns = found.table.columns
    process = columns[found.key].type._cached_bind_processor(dialect)
    key = faster(columns[found.key].type, process) if process is not None else None
    results = tuple(
        (index, processor)
        for index, name in enumerate(found.ordered)
        if (
            processor := columns[name].type._cached_result_processor(
                dialect, coltypes[index] if coltypes is not None else None
            )
        )
        is not None
    )
    return _Reader(dialect, model, found.ordered, key, results)


@cache
def _select_sql(dialect: Dialect, model: type[SQLModel], size: int) -> str:
    """SELECT the columns (in `shape(model).ordered`) of the rows whose key is one of `size` positional
    parameters, for `dialect` (SQLite's qmark parameters): `_select_template` with its list of keys
    written out."""
    marks = "(" + ", ".join("?" * size) + ")"
    return _select_template(dialect, model).replace(_KEYS_MARK, marks)


# where an expanding parameter named "keys" stands in a compiled statement until it is executed
_KEYS_MARK = "(__[POSTCOMPILE_keys])"


@cache
def _select_template(dialect: Dialect, model: type[SQLModel]) -> str:
    """The SELECT of `_select_sql` compiled once per table, its keys one expanding parameter. Compiling
    it with 512 parameters of their own took SQLAlchemy 4-5 ms, for each table and each size, in each
    process of a rebuild: 2 % of a replay of 200,000 records (docs/BENCHMARKS.md, 2026-12-06)."""
    found = shape(model)
    columns = found.table.columns
    keys: BindParameter[Any] = bindparam("keys", expanding=True)
    statement = select(*(columns[name] for name in found.ordered)).where(columns[found.key].in_(keys))
    compiled = statement.compile(dialect=dialect)
    if (
        dialect.paramstyle != "qmark"
        or list(compiled.positiontup or ()) != ["keys"]
        or compiled.string.count(_KEYS_MARK) != 1
    ):
        raise TypeError(f"{model.__name__}: the preload's parameters are not its keys")
    return compiled.string


class BatchStore:
    """`ReadModels` for one batch, in the transaction of `session` (see the module's docstring)."""

    def __init__(self, session: Session, lookups: Lookups) -> None:
        self.session = session
        self.lookups = lookups
        self.rows: dict[tuple[type[SQLModel], Any], SQLModel | None] = {}  # None: known absent
        self.dirty: dict[type[SQLModel], dict[Any, SQLModel]] = {}

    def preload(self, batch: Sequence[events.Event]) -> None:
        """Per looked-up table, one SELECT … IN per 500 keys (SQLite), one SELECT … = ANY (PostgreSQL)."""
        dialect = self.session.get_bind().dialect
        for model, keys in named_keys(self.lookups, batch).items():
            wanted = [key for key in keys if (model, key) not in self.rows]
            if not wanted:
                continue
            if dialect.name == "sqlite":
                for start in range(0, len(wanted), _CHUNK):
                    self._preload_sqlite(model, wanted[start : start + _CHUNK])
            else:
                self._preload_postgresql(model, wanted)
            for key in wanted:
                self.rows.setdefault((model, key), None)

    def _preload_sqlite(self, model: type[SQLModel], keys: list[Any]) -> None:
        reader = _reader(self.session.get_bind().dialect, model)
        sql, parameters = reader.parameters(keys)
        self._preloaded(reader, model, self.session.connection().exec_driver_sql(sql, parameters).fetchall())

    def _preload_postgresql(self, model: type[SQLModel], keys: list[Any]) -> None:
        dialect = self.session.get_bind().dialect
        compiled = _select_keys(dialect, model)
        parameters = compiled.arrays([keys])
        if parameters is None:  # keys of more than one type: SQLAlchemy binds them one by one
            found = shape(model)
            column = found.table.columns[found.key]
            for start in range(0, len(keys), _CHUNK):
                statement = select(found.table).where(column.in_(keys[start : start + _CHUNK]))
                for values in self.session.execute(statement).mappings():
                    self.rows[(model, values[found.key])] = _made(model, values)
            return
        result = self.session.connection().exec_driver_sql(compiled.sql, parameters)
        coltypes = tuple(column[1] for column in result.cursor.description or ())
        self._preloaded(_reader(dialect, model, coltypes), model, result.fetchall())

    def _preloaded(self, reader: _Reader, model: type[SQLModel], fetched: Sequence[Any]) -> None:
        """The fetched rows (columns in `reader.names`) as the store's rows."""
        found = shape(model)
        at = reader.names.index(found.key)
        names = reader.names
        for values in reader.rows(fetched):
            row = found.plain()
            any(map(setattr, repeat(row), names, values))
            self.rows[(model, values[at])] = cast(SQLModel, row)

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
        names = tuple(values)
        if names not in found.valid:
            wrong = (values.keys() - found.columns) | (found.required - values.keys())
            if wrong:  # a typo, or a row the upsert could not write
                raise TypeError(f"{model.__name__}: unknown or missing {', '.join(sorted(wrong))}")
            found.valid.add(names)
        return _made(model, {**found.defaults, **values})

    def add(self, row: SQLModel) -> None:
        model = _MODELS.get(type(row), type(row))  # a plain row, or a table's own class
        key = getattr(row, shape(model).key)
        self.rows[(model, key)] = row
        self.dirty.setdefault(model, {})[key] = row

    def write(self) -> None:
        """Every added row, one upsert statement per table; the caller commits."""
        self.written()(self.session)

    def written(self) -> Callable[[Session], None]:
        """What `write` does, with the rows' values converted for the driver now and the statements run
        later, in the session it is given (services.kpi.projection.prepare)."""
        dialect = self.session.get_bind().dialect
        statements: list[tuple[Any, Any]] = []
        for model, rows in self.dirty.items():
            if dialect.name == "sqlite":
                sql, convert = _compiled_upsert(dialect, model)
                statements.append((sql, convert(rows.values())))
                continue
            found = shape(model)
            ordered = [rows[key] for key in sorted(rows)]  # in key order (see `_upsert_arrays`)
            compiled = _upsert_arrays(dialect, model)
            values = compiled.arrays(zip(*map(found.values, ordered), strict=True))
            if values is not None:
                statements.append((compiled.sql, values))
            else:  # a column of values of more than one type: row by row, as SQLAlchemy binds them
                rows_values = [dict(zip(found.ordered, found.values(row), strict=True)) for row in ordered]
                statements.append((_upsert(dialect.name, model), rows_values))
        self.dirty.clear()

        def run(session: Session) -> None:
            for statement, values in statements:
                if isinstance(statement, str):
                    session.connection().exec_driver_sql(statement, values)
                else:
                    session.execute(statement, values)

        return run


@cache
def _compiled_upsert(
    dialect: Dialect, model: type[SQLModel]
) -> tuple[str, Callable[[Iterable[Any]], list[Any]]]:
    """The upsert of `model` compiled once for SQLite (positional parameters), and the function that
    turns a batch's rows into their parameters with the columns' own bind processors: what
    `session.execute` does per row on every call, less its per-row dictionary and bookkeeping, which
    cost more than the write itself. The values are converted a column at a time (one `map` per
    column), with a faster equivalent of a processor where one is known (`shared.binds.faster`)."""
    statement = cast(ClauseElement, _upsert(dialect.name, model))
    compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
    names = tuple(compiled.positiontup or ())
    if len(names) < 2 or set(names) != shape(model).columns:
        raise TypeError(f"{model.__name__}: the upsert's parameters are not its columns")
    get = attrgetter(*names)
    processors = cast("Mapping[str, Callable[[Any], Any]]", compiled._bind_processors)
    # (the processors execute() applies to every value, None included; a tuple type has a sequence)
    if not all(callable(processors[name]) for name in names if name in processors):
        raise TypeError(f"{model.__name__}: a column of a tuple type")
    table = shape(model).table
    steps = [
        (index, faster(table.columns[name].type, processors[name]))
        for index, name in enumerate(names)
        if name in processors
    ]

    def convert(rows: Iterable[Any]) -> list[Any]:
        values = list(map(get, rows))
        if not steps or not values:
            return values
        columns: list[Any] = list(zip(*values, strict=True))
        for index, process in steps:
            columns[index] = map(process, columns[index])
        return list(zip(*columns, strict=True))

    return compiled.string, convert
