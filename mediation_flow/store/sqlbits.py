"""Small SQL expressions that differ between SQLite and PostgreSQL (JSON, strings, dates)."""

from __future__ import annotations

import re
import typing
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ColumnElement, Numeric, String, cast, func, literal_column, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnClause
from sqlalchemy.sql.visitors import InternalTraversal

from mediation_flow.store.clock import LOCAL_TZ

_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def _checked(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"not a safe SQL name: {name!r}")
    return name


def json_text(column: Any, *path: str) -> ColumnElement[str]:
    """The text at ``path`` inside a JSON column (NULL when absent) on either back end."""
    element = column[path] if len(path) > 1 else column[path[0]]
    return typing.cast(ColumnElement[str], element.as_string())


def fen(text: ColumnElement[Any]) -> ColumnElement[int]:
    """A money text like '1200.50' (yuan) as integer fen."""
    return cast(func.round(cast(text, Numeric(18, 2)) * 100), BigInteger)


def json_flag(dialect: str, qualified_column: str, key: str) -> ColumnElement[bool]:
    """True when the JSON object ``qualified_column`` (``table.column``) has ``key`` set to true.

    The key comes from definitions.yaml and is checked to be a plain name.
    """
    key = _checked(key)
    if dialect == "postgresql":
        return literal_column(f"(({qualified_column} ->> '{key}') = 'true')")
    return literal_column(f"(json_extract({qualified_column}, '$.{key}') = 1)")


def position(dialect: str, haystack: ColumnElement[str], needle: str) -> ColumnElement[int]:
    """1-based position of ``needle`` in ``haystack`` (0 when absent)."""
    if dialect == "postgresql":
        return func.strpos(haystack, needle)
    return func.instr(haystack, needle)


def child_path(dialect: str, path: ColumnClause[str] | ColumnElement[str], root: str) -> ColumnElement[str]:
    """The path of the child of ``root`` that ``path`` lies under (``root`` itself for cases at the root)."""
    rest = func.substr(path, len(root) + 1)
    return cast(func.substr(path, 1, len(root) + position(dialect, rest, "/")), String)


class PerBackend(ColumnElement[bool]):
    """A condition spelled one way on SQLite and another on PostgreSQL; the dialect's compiler picks one."""

    type = Boolean()
    inherit_cache = True
    _is_implicitly_boolean = True  # a comparison already: no '= 1' on back ends without a boolean type
    _traverse_internals: list[tuple[str, Any]] = [  # noqa: RUF012 - SQLAlchemy declares it per instance
        ("on_sqlite", InternalTraversal.dp_clauseelement),
        ("elsewhere", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, *, on_sqlite: ColumnElement[bool], elsewhere: ColumnElement[bool]) -> None:
        self.on_sqlite, self.elsewhere = on_sqlite, elsewhere


@compiles(PerBackend)
def _compile_elsewhere(element: PerBackend, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.elsewhere, **kw)


@compiles(PerBackend, "sqlite")
def _compile_sqlite(element: PerBackend, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.on_sqlite, **kw)


def in_township(column: ColumnClause[str], path: str | None) -> ColumnElement[bool] | None:
    """ "``column`` (a case's path) lies in the township of ``path``", to put beside the subtree's own condition,
    which it follows from (a path that starts with '/a/b/' has 'b' as its third field): on PostgreSQL in the form
    the township queue index answers (migration 0020: ``split_part(jurisdiction_path, '/', 3)``, the township's id
    in '/county/township/…/'), so that a township's (or a village's) cases by due date are read from its own
    entries instead of the county's; on SQLite TRUE (it keeps its due-date index: one township per database as
    deployed). None for a county's path (or none).

    The separator and the field number are written into the statement: an expression index is matched on the
    statement's text, which a bound parameter (or a prepared statement's generic plan) would not match."""
    township = township_id(path)
    if township is None:
        return None
    field = func.split_part(column, literal_column("'/'"), literal_column("3"))
    return PerBackend(on_sqlite=true(), elsewhere=field == township)


def township_id(path: str | None) -> str | None:
    """The township's id in a path ('/county/township/…/'), None for a county's path (or none)."""
    parts = (path or "").strip("/").split("/")
    return parts[1] if len(parts) >= 2 else None


def local_month(dialect: str, moment: ColumnElement[datetime], at: datetime) -> ColumnElement[str]:
    """'YYYY-MM' of a UTC timestamp column in the local time zone (China has had no DST since 1991)."""
    if dialect == "postgresql":
        return func.to_char(func.timezone(str(LOCAL_TZ), moment), "YYYY-MM")
    offset = at.astimezone(LOCAL_TZ).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    return func.strftime("%Y-%m", moment, f"{minutes:+d} minutes")


def days_between(
    dialect: str, later: ColumnElement[datetime], earlier: ColumnElement[datetime]
) -> ColumnElement[float]:
    """Days (fractional) from ``earlier`` to ``later``."""
    if dialect == "postgresql":
        return typing.cast(ColumnElement[float], func.extract("epoch", later - earlier) / 86400.0)
    return typing.cast(ColumnElement[float], func.julianday(later) - func.julianday(earlier))


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)
