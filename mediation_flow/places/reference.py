"""Reference data: categories, sources, risk grades, venues … kept as data and loaded into a table.

An item either serves the whole system (no jurisdiction: categories, sources, risk grades …) or belongs to a
jurisdiction (a township's own venue, its local joint-mediation partner): it is offered only for places in
that jurisdiction's subtree. Codes are unique per kind across the whole system, so a record holding a code
always shows its label (``reference_labels``), whichever township it came from."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml
from sqlalchemy import Connection, bindparam, insert, select

from mediation_flow.places.agencies import CHOICE_KINDS, AgencyBook
from mediation_flow.places.subtree import within
from mediation_flow.store.fast import Executor, Prepared
from mediation_flow.store.tables import JURISDICTIONS as _JUR
from mediation_flow.store.tables import REFERENCE_ITEMS
from mediation_flow.store.tables import REFERENCE_ITEMS as _TABLE
from mediation_flow.store.unchanged import KeptWhileUnchanged

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


def offered_at(item_path: str | None, at: str | None) -> bool:
    """Whether an item of the jurisdiction at ``item_path`` (None: the whole system) is offered for a place at
    ``at`` (a jurisdiction path; None: anywhere, as for a list of every item)."""
    return item_path is None or at is None or within(at, item_path)


# Read from reference items, agencies and places alone: kept while none of those changes (cases may be written).
# One kept book holds what is offered, the labels and the agencies: one stamp read a page, however many it asks.
_BOOKS: KeptWhileUnchanged[ReferenceBook] = KeptWhileUnchanged(size=64, topic="reference")


def reference_book(conn: Executor) -> ReferenceBook:
    """The reference book as ``conn`` sees it: kept while no reference item, agency or place changes (every page
    reads it; callers read it and never change it); read afresh in the engine's writer transaction (no token)."""
    if isinstance(conn, Connection):
        return _BOOKS.get(conn, "book", lambda: ReferenceBook(conn))
    return ReferenceBook(conn)


def load_reference(conn: Executor, at: str | None = None) -> dict[str, dict[str, str]]:
    """Active items by kind, in display order: ``{'category': {'neighbourhood': '邻里', …}, …}``; the partner
    agencies too, as the kinds ``places.agencies.CHOICE_KINDS`` (code → name). ``at``: a jurisdiction path —
    only what is offered there (the system-wide items and those of the township holding ``at``); None: all."""
    return reference_book(conn).at(at)


class ReferenceBook:
    """Every item with the jurisdiction it belongs to, and every agency, read once: what is offered at each place
    asked about (``load_reference(conn, at)``, kept per place: an import checks thousands of cases in a few
    places), every label ever given (``reference_labels``) and the agencies by code and id."""

    def __init__(self, conn: Executor) -> None:
        items = _ITEMS.rows(conn, {})
        self._items = [item for item in items if item["active"]]
        self.agencies = AgencyBook.read(conn)
        self._offered_agencies = {kind: self.agencies.choices(kind) for kind in CHOICE_KINDS}
        # What a place is offered depends only on which local items' places hold it: places alike share one answer
        # (a kept book lives until reference data changes; one answer per place asked about would grow with them).
        self._local_paths = sorted({item["path"] for item in self._items if item["path"] is not None})
        self._at: dict[tuple[str, ...] | None, dict[str, dict[str, str]]] = {}
        self.labels: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
        for item in items:
            self.labels.setdefault(item["kind"], {})[item["code"]] = item["label"]
        for kind in CHOICE_KINDS:
            self.labels[kind] = self.agencies.choices(kind, retired=True)
        self._place_names: dict[int, str] | None = None

    def place_name(self, conn: Executor, place_id: int) -> str:
        """A place's name ('' if there is none). Every place's name is read at the first ask, on ``conn`` (at the
        book's stamp or later: never older than the data it is kept under), then kept with the book: the case page
        asks at every view, the engine's writer, which reads a book of its own per step, never does."""
        names = self._place_names
        if names is None:
            names = self._place_names = {row["id"]: row["name"] for row in _PLACE_NAMES.rows(conn, {})}
        return names.get(place_id, "")

    def at(self, path: str | None) -> dict[str, dict[str, str]]:
        key = None if path is None else tuple(p for p in self._local_paths if offered_at(p, path))
        found = self._at.get(key)
        if found is None:
            found = {kind: {} for kind in KINDS}
            for item in self._items:
                if offered_at(item["path"], path):
                    found.setdefault(item["kind"], {})[item["code"]] = item["label"]
            found.update(self._offered_agencies)
            self._at[key] = found
        return found


def reference_labels(conn: Connection) -> dict[str, dict[str, str]]:
    """Every item's label by kind, retired ones too: what a record holding a code shows (a retired venue's
    old cases keep its name; the partner agencies too). ``load_reference`` is what is offered and accepted
    for something new. Kept as the reference book is."""
    return reference_book(conn).labels


_WITH_PATH = _TABLE.outerjoin(_JUR, _JUR.c.id == _TABLE.c.jurisdiction_id)
_ITEMS = Prepared(
    select(_TABLE.c.kind, _TABLE.c.code, _TABLE.c.label, _TABLE.c.active, _JUR.c.path)
    .select_from(_WITH_PATH)
    .order_by(_TABLE.c.kind, _TABLE.c.ordinal, _TABLE.c.id)
)


_PLACE_NAMES = Prepared(select(_JUR.c.id, _JUR.c.name))
_KIND_ITEMS = Prepared(
    select(_TABLE.c.code, _TABLE.c.label, _JUR.c.path)
    .select_from(_WITH_PATH)
    .where(_TABLE.c.active.is_(True), _TABLE.c.kind == bindparam("kind"))
    .order_by(_TABLE.c.ordinal, _TABLE.c.id)
)


class LazyReference(Mapping[str, dict[str, str]]):
    """``load_reference(conn, at)``, read from the database only as far as a caller looks inside: one kind
    when one kind is asked for (most transitions validate no reference-data choice, and pay nothing)."""

    def __init__(self, conn: Executor, at: str | None = None) -> None:
        self._conn = conn
        self._at = at
        self._kinds: dict[str, dict[str, str]] = {}
        self._all: dict[str, dict[str, str]] | None = None

    def _loaded(self) -> dict[str, dict[str, str]]:
        if self._all is None:
            self._all = load_reference(self._conn, self._at)
        return self._all

    def __getitem__(self, kind: str) -> dict[str, str]:
        if self._all is not None:
            return self._all[kind]
        if kind not in self._kinds and kind in CHOICE_KINDS:
            self._kinds[kind] = AgencyBook.read(self._conn).choices(kind)
        if kind not in self._kinds:
            rows = _KIND_ITEMS.rows(self._conn, {"kind": kind})
            items = {row["code"]: row["label"] for row in rows if offered_at(row["path"], self._at)}
            if not items and kind not in KINDS:
                raise KeyError(kind)
            self._kinds[kind] = items
        return self._kinds[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())
