"""Run a statement written against ``case_event`` / ``dispute_case`` over rows held in Python instead.

The report reads the tables; the few corrected cases (``cases.corrections``) must be read as rebuilt for a
moment. :func:`rows_relation` turns such rows into a common table expression with the table's own name and
columns (so even SQL text naming ``dispute_case.attributes`` reads it), and :func:`swap` rewrites a built
statement to read the expressions instead of the tables (aliases included: a subquery's ``EVENTS.alias``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, cast, literal, select, union_all
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import ColumnClause
from sqlalchemy.sql.selectable import CTE, Alias, FromClause


def rows_relation(table: Table, rows: Sequence[Mapping[str, Any]], dialect: str) -> CTE:
    """``rows`` (each with every column of ``table``) as a CTE named like the table, typed like its columns."""

    def value(column: Any, row: Mapping[str, Any]) -> Any:
        bound = literal(row.get(column.name), column.type)
        # PostgreSQL needs the types spelled out (a bare parameter is text); SQLite must not cast (CAST AS JSON or
        # DATETIME would give the text numeric affinity).
        return (cast(bound, column.type) if dialect == "postgresql" else bound).label(column.name)

    selects = [select(*(value(column, row) for column in table.c)) for row in rows]
    combined = selects[0] if len(selects) == 1 else union_all(*selects)
    return combined.cte(table.name)


def swap(statement: Any, tables: Mapping[Table, FromClause]) -> Any:
    """``statement`` with every use of the ``tables`` keys (and of their aliases) reading the values instead."""
    made: dict[Any, FromClause] = {}

    def relation(element: Any) -> FromClause | None:
        if isinstance(element, Table) and element in tables:
            return tables[element]
        if isinstance(element, Alias) and element.element in tables:
            if element not in made:
                base = tables[element.element]  # type: ignore[index]
                made[element] = base.alias(f"{element.name}_{len(made)}")  # names must differ
            return made[element]
        return None

    def replace(element: Any, **_: Any) -> Any:
        found = relation(element)
        if found is not None:
            return found
        if isinstance(element, ColumnClause) and getattr(element, "table", None) is not None:
            owner = relation(element.table)
            if owner is not None:
                return owner.c[element.key]
        return None

    return visitors.replacement_traverse(statement, {}, replace)
