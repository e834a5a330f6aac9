"""Reference data: categories, sources, risk grades, venues … kept as data and loaded into a table."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml
from sqlalchemy import Connection, bindparam, insert, select

from mediation_flow.places.agencies import CHOICE_KINDS, AgencyBook
from mediation_flow.store.fast import Executor, Prepared
from mediation_flow.store.tables import REFERENCE_ITEMS
from mediation_flow.store.tables import REFERENCE_ITEMS as _TABLE

KINDS = ("category", "source", "risk_grade", "venue", "referral_target", "conversion_type", "agency")


@lru_cache
def builtin_reference() -> dict[str, dict[str, str]]:
    text = resources.files("mediation_flow").joinpath("data/reference.yaml").read_text("utf-8")
    data: dict[str, dict[str, str]] = yaml.safe_load(text)
    return data


def seed_reference(conn: Connection) -> int:
    """Insert the built-in items that are missing; never overwrite a local edit. Returns rows added."""
    table = REFERENCE_ITEMS
    existing = {(k, c) for k, c in conn.execute(select(table.c.kind, table.c.code))}
    rows: list[dict[str, Any]] = []
    for kind, items in builtin_reference().items():
        for ordinal, (code, label) in enumerate(items.items()):
            if (kind, code) not in existing:
                rows.append({"kind": kind, "code": code, "label": label, "ordinal": ordinal, "active": True})
    if rows:
        conn.execute(insert(table), rows)
    return len(rows)


def load_reference(conn: Executor) -> dict[str, dict[str, str]]:
    """Active items by kind, in display order: ``{'category': {'neighbourhood': '邻里', …}, …}``; the partner
    agencies too, as the kinds ``places.agencies.CHOICE_KINDS`` (code → name)."""
    result: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
    for item in _ACTIVE_ITEMS.rows(conn, {}):
        result.setdefault(item["kind"], {})[item["code"]] = item["label"]
    book = AgencyBook.read(conn)
    for kind in CHOICE_KINDS:
        result[kind] = book.choices(kind)
    return result


def reference_labels(conn: Executor) -> dict[str, dict[str, str]]:
    """Every item's label by kind, retired ones too: what a record holding a code shows (a retired venue's
    old cases keep its name; the partner agencies too). ``load_reference`` is what is offered and accepted
    for something new."""
    result: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
    for item in _ALL_ITEMS.rows(conn, {}):
        result.setdefault(item["kind"], {})[item["code"]] = item["label"]
    book = AgencyBook.read(conn)
    for kind in CHOICE_KINDS:
        result[kind] = book.choices(kind, retired=True)
    return result


_ALL_ITEMS = Prepared(
    select(_TABLE.c.kind, _TABLE.c.code, _TABLE.c.label).order_by(_TABLE.c.kind, _TABLE.c.ordinal, _TABLE.c.id)
)


_ACTIVE_ITEMS = Prepared(
    select(_TABLE.c.kind, _TABLE.c.code, _TABLE.c.label)
    .where(_TABLE.c.active.is_(True))
    .order_by(_TABLE.c.kind, _TABLE.c.ordinal, _TABLE.c.id)
)


_KIND_ITEMS = Prepared(
    select(_TABLE.c.code, _TABLE.c.label)
    .where(_TABLE.c.active.is_(True), _TABLE.c.kind == bindparam("kind"))
    .order_by(_TABLE.c.ordinal, _TABLE.c.id)
)


class LazyReference(Mapping[str, dict[str, str]]):
    """``load_reference(conn)``, read from the database only as far as a caller looks inside: one kind
    when one kind is asked for (most transitions validate no reference-data choice, and pay nothing)."""

    def __init__(self, conn: Executor) -> None:
        self._conn = conn
        self._kinds: dict[str, dict[str, str]] = {}
        self._all: dict[str, dict[str, str]] | None = None

    def _loaded(self) -> dict[str, dict[str, str]]:
        if self._all is None:
            self._all = load_reference(self._conn)
        return self._all

    def __getitem__(self, kind: str) -> dict[str, str]:
        if self._all is not None:
            return self._all[kind]
        if kind not in self._kinds and kind in CHOICE_KINDS:
            self._kinds[kind] = AgencyBook.read(self._conn).choices(kind)
        if kind not in self._kinds:
            items = {row["code"]: row["label"] for row in _KIND_ITEMS.rows(self._conn, {"kind": kind})}
            if not items and kind not in KINDS:
                raise KeyError(kind)
            self._kinds[kind] = items
        return self._kinds[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())
