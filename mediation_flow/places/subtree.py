"""One SQL condition for "in the jurisdiction subtree under ``path``", which an index can answer.

Paths are materialised ('/1/4/9/'), so a subtree is every path starting with the prefix. ``LIKE '/1/4/%'``
says that, but SQLite's LIKE is case-insensitive and so never uses a b-tree index. On SQLite the condition
is compiled as a byte-order range instead: ``path >= '/1/4/' AND path < '/1/40'`` ('0' follows '/'), which
its index answers. On PostgreSQL it stays LIKE: a non-C collation ignores the '/' when comparing ranges, so
the range would be wrong there, while LIKE is right under any collation.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_
from sqlalchemy.sql.elements import ColumnElement

from mediation_flow.store.sqlbits import PerBackend


def path_upper(path: str) -> str:
    """The smallest string above every path that starts with ``path`` (which ends in '/')."""
    if not path.endswith("/"):
        raise ValueError(f"a jurisdiction path ends with '/': {path!r}")
    return path[:-1] + "0"


def in_subtree(column: Any, path: str, *, use_index: bool = True) -> ColumnElement[bool]:
    """``column`` (a materialised path) lies in the subtree at ``path`` ('/1/4/'), the node itself included.

    ``use_index=False`` keeps SQLite's planner off the path index (LIKE there too) for a condition that is
    usually broad, such as the user's own scope: without statistics it takes any range as selective and
    would walk a township's whole subtree instead of the index that serves the ORDER BY or a narrower filter."""
    like = column.like(path + "%")
    return PerBackend(on_sqlite=and_(column >= path, column < path_upper(path)).self_group() if use_index else like,
                      elsewhere=like)  # fmt: skip


def within(path: str, root: str | None) -> bool:
    """``path`` lies in the subtree at ``root`` (the node itself included); ``root`` None is the whole tree.

    The Python twin of :func:`in_subtree`, for rows already read (a user's scope, a case's place)."""
    return root is None or path.startswith(root)


def child_of(path: str, root: str) -> str:
    """The path of the child of ``root`` that ``path`` lies under (``root`` itself for a path at ``root``).

    The Python twin of ``store.sqlbits.child_path``, for rows already read."""
    end = path.find("/", len(root))
    return path[: end + 1] if end >= 0 else root


def related(path: str, other: str) -> bool:
    """One of the two nodes lies in the other's subtree (a mediator above or below a scope)."""
    return within(path, other) or within(other, path)
