"""PostgreSQL: many rows in one statement, each column's values as one array parameter sent in binary.

Why: psycopg's executemany sends one statement per row (pipelined, but each row's parameters are
adapted and framed in Python: it was half of the KPI projector's time on PostgreSQL), and an expanding
`IN (…)` is a new statement text per length, parsed again by SQLAlchemy and psycopg on each call. One
array per column makes one statement text for any number of rows, planned once. The arrays go in
binary (`%b`): psycopg builds an array's text form in Python, which took 87 ms for 20,000 UUIDs and
198 ms for 20,000 timestamps, against 14-15 ms in binary (docs/BENCHMARKS.md).

psycopg dumps an array of one Python type only (an int among floats is refused before anything is
sent): `arrays` says None for such a column, and the caller takes the row-by-row way instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from sqlalchemy import ARRAY, Delete, Table, any_, bindparam, delete, func, insert, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import Select
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement, ColumnElement

from shared.binds import faster


def parameter(name: str) -> str:
    """The name of the array parameter of column `name`."""
    return f"a_{name}"


def _array(table: Table, name: str) -> ColumnElement[Any]:
    """The array parameter of column `name`, cast to an array of the column's type."""
    return sql_cast(bindparam(parameter(name)), ARRAY(table.columns[name].type))


def any_of(table: Table, name: str) -> ColumnElement[bool]:
    """`name = ANY(its array parameter)`: the IN of a list for any number of values, one statement. For
    statements compiled once to the driver's text (`compile_binary`), the values given by name at each
    call; `select_among` and `delete_among` build statements SQLAlchemy executes."""
    return table.columns[name] == any_(_array(table, name))


def _among(dialect: str, column: ColumnElement[Any]) -> ColumnElement[bool]:
    """`column IN` the list given as the parameter `ids` when the statement runs: on PostgreSQL as
    `= ANY(an array parameter)`, the same statement text for any number of values, elsewhere an
    expanding IN. For statements built once (`select_among`, `delete_among`): a statement built per
    call cost SQLAlchemy's construction and cache key, and was garbage in cycles holding its list of
    values until the collector walked it (docs/BENCHMARKS.md, 2026-12-06)."""
    if dialect != "postgresql":
        return column.in_(bindparam("ids", expanding=True))
    return column == any_(bindparam("ids", type_=ARRAY(column.type)))


# keyed by the table and the columns' names: a column's `==` builds an expression, which a cache's
# comparison of two keys of the same hash would take for the answer
@cache
def select_among(dialect: str, table: Table, names: tuple[str, ...], key: str) -> Select[Any]:
    """SELECT the columns `names` of `table`'s rows whose column `key` is among the parameter `ids`
    (`_among`)."""
    columns = table.columns
    return select(*(columns[name] for name in names)).where(_among(dialect, columns[key]))


@cache
def delete_among(dialect: str, table: Table, key: str) -> Delete:
    """DELETE `table`'s rows whose column `key` is among the parameter `ids` (`_among`)."""
    return delete(table).where(_among(dialect, table.columns[key]))


def unnested(table: Table, names: Sequence[str]) -> Select[Any]:
    """SELECT the columns `names` of `table` from one array parameter each (`parameter(name)`), the
    rows in the arrays' order (the order the caller gave: the order locks are taken in)."""
    rows = (
        func.unnest(*(_array(table, name) for name in names))
        .table_valued(*names, with_ordinality="_n")
        .render_derived(name="_rows")
    )
    return select(*(rows.c[name] for name in names)).order_by(rows.c._n)


@dataclass(frozen=True)
class Compiled:
    """A statement compiled to psycopg's text with its array parameters in binary, and what turns
    values into its parameters."""

    sql: str
    names: tuple[str, ...]  # the columns whose values go in arrays, in `processors`' order
    # each column's bind processor: what SQLAlchemy would apply to the array's elements (UTCDateTime's
    # refusal of a naive datetime, its move to UTC)
    processors: tuple[Callable[[Any], Any] | None, ...]

    def arrays(self, columns: Iterable[Sequence[Any]]) -> dict[str, list[Any]] | None:
        """The parameters for the columns' values (one sequence per name, in `names`' order), or None
        if a column holds values of more than one type."""
        arrays: dict[str, list[Any]] = {}
        for name, values, process in zip(self.names, columns, self.processors, strict=True):
            array = list(values) if process is None else list(map(process, values))
            kinds = set(map(type, array))
            kinds.discard(type(None))
            if len(kinds) > 1:
                return None
            arrays[parameter(name)] = array
        return arrays


def compile_binary(
    statement: ClauseElement, dialect: Dialect, table: Table, names: Sequence[str]
) -> Compiled:
    """`statement` compiled for PostgreSQL with the array parameters of the columns `names` of `table`
    (`parameter(name)`) sent in binary; any other parameter stays text."""
    compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
    sql = compiled.string
    for name in map(parameter, names):
        placeholder = f"%({name})s"
        if sql.count(placeholder) != 1:
            raise TypeError(f"{placeholder} is not once in {sql}")
        sql = sql.replace(placeholder, f"%({name})b")
    processors = tuple(table.columns[name].type._cached_bind_processor(dialect) for name in names)
    return Compiled(sql, tuple(names), processors)


@cache
def _insert(table: Table, names: tuple[str, ...], dialect: Dialect) -> Compiled:
    statement = insert(table).from_select(list(names), unnested(table, names))
    return compile_binary(statement, dialect, table, names)


@cache
def _insert_sqlite(
    table: Table, names: tuple[str, ...], dialect: Dialect
) -> tuple[str, Callable[[Sequence[Mapping[str, Any]]], list[tuple[Any, ...]]]]:
    """SQLite: the INSERT of the columns `names` compiled once to the driver's text, and what turns rows
    into its parameters with the columns' own bind processors (or their faster equivalents,
    shared.binds), a column at a time. SQLAlchemy's executemany of dictionaries builds and processes
    each row's parameters one by one, in Python; the KPI rebuild writes the members' spells with this,
    under SQLite's write lock."""
    compiled = insert(table).compile(dialect=dialect, column_keys=list(names))
    order = tuple(compiled.positiontup or ())
    if sorted(order) != sorted(names):  # a column's client-side default, which insert_rows never fills
        raise TypeError(f"the INSERT into {table.name} has the parameters {order}, not {names}")
    processors = cast("Mapping[str, Callable[[Any], Any] | None]", compiled._bind_processors)
    steps = [
        (index, faster(table.columns[name].type, process))
        for index, name in enumerate(order)
        if (process := processors.get(name))
    ]

    def convert(rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        columns: list[Any] = [[row[name] for row in rows] for name in order]
        for index, process in steps:
            columns[index] = map(process, columns[index])
        return list(zip(*columns, strict=True))

    return compiled.string, convert


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT `rows` (all with the same columns, every column they need: no client-side default is
    filled in) into `table`: on PostgreSQL in one statement of arrays (see the module's docstring), in
    the rows' order, or for a column of mixed types as SQLAlchemy's executemany; on SQLite as the
    driver's executemany of the converted values (`_insert_sqlite`)."""
    if not rows:
        return
    names = tuple(rows[0])
    if connection.dialect.name == "sqlite":
        sql, convert = _insert_sqlite(table, names, connection.dialect)
        connection.exec_driver_sql(sql, convert(rows))
        return
    if connection.dialect.name == "postgresql":
        compiled = _insert(table, names, connection.dialect)
        arrays = compiled.arrays([[row[name] for row in rows] for name in names])
        if arrays is not None:
            connection.exec_driver_sql(compiled.sql, arrays)
            return
    connection.execute(insert(table), list(rows))
