"""Reference data: categories, sources, risk grades, venues … kept as data and loaded into a table."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import yaml
from sqlalchemy import Connection, insert, select

from mediation_flow.models import ReferenceItem

KINDS = ("category", "source", "risk_grade", "venue", "referral_target", "conversion_type", "agency")


@lru_cache
def builtin_reference() -> dict[str, dict[str, str]]:
    text = resources.files("mediation_flow").joinpath("data/reference.yaml").read_text("utf-8")
    data: dict[str, dict[str, str]] = yaml.safe_load(text)
    return data


def seed_reference(conn: Connection) -> int:
    """Insert the built-in items that are missing; never overwrite a local edit. Returns rows added."""
    table = ReferenceItem.__table__
    existing = {(k, c) for k, c in conn.execute(select(table.c.kind, table.c.code))}
    rows: list[dict[str, Any]] = []
    for kind, items in builtin_reference().items():
        for ordinal, (code, label) in enumerate(items.items()):
            if (kind, code) not in existing:
                rows.append({"kind": kind, "code": code, "label": label, "ordinal": ordinal, "active": True})
    if rows:
        conn.execute(insert(table), rows)
    return len(rows)


def load_reference(conn: Connection) -> dict[str, dict[str, str]]:
    """Active items by kind, in display order: ``{'category': {'neighbourhood': '邻里', …}, …}``."""
    table = ReferenceItem.__table__
    result: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
    query = select(table.c.kind, table.c.code, table.c.label).where(table.c.active.is_(True))
    for kind, code, label in conn.execute(query.order_by(table.c.kind, table.c.ordinal, table.c.id)):
        result.setdefault(kind, {})[code] = label
    return result
