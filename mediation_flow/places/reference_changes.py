"""Editing reference data (venues, categories, joint-mediation agencies, referral targets) by an administrator.

A label is never changed in place: every case, event and report keeps the code it was given, so a code's label
is what those records showed. ``replace`` retires the old item and adds a new one with the new label — old
cases keep showing the label they had, new ones are offered the new item. Retired items stay readable (every
label ever used); they are just no longer offered. Sources and risk grades are not editable: the figure
definitions and the risk rules name them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection, func, insert, select, update

from mediation_flow.accounts.admin_log import log_change
from mediation_flow.accounts.policy import Actor, Permission, require
from mediation_flow.errors import Conflict, InvalidData, NotFound
from mediation_flow.places.changes import checked_line
from mediation_flow.store.tables import REFERENCE_ITEMS as ITEMS

EDITABLE = ("venue", "category", "agency", "referral_target")
LABEL_LIMIT = 64
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


@dataclass(frozen=True)
class Item:
    kind: str
    code: str
    label: str
    active: bool


def list_items(conn: Connection, kind: str | None = None) -> list[Item]:
    """The editable kinds' items (retired ones too), by kind and display order."""
    query = select(ITEMS.c.kind, ITEMS.c.code, ITEMS.c.label, ITEMS.c.active).where(ITEMS.c.kind.in_(EDITABLE))
    if kind:
        query = query.where(ITEMS.c.kind == kind)
    rows = conn.execute(query.order_by(ITEMS.c.kind, ITEMS.c.ordinal, ITEMS.c.id))
    return [Item(r.kind, r.code, r.label, bool(r.active)) for r in rows]


def _check_kind(kind: str) -> None:
    if kind not in EDITABLE:
        raise InvalidData([{"field": "kind", "message": "只能修改调解场所、纠纷类型、联合调解单位和转出去向"}])


def _check_label(label: str) -> str:
    return checked_line(label, field="label", label="名称", limit=LABEL_LIMIT)


def add_item(conn: Connection, actor: Actor, *, kind: str, label: str, code: str | None = None) -> Item:
    """A new item, offered from now on; without ``code`` one is made (``venue_7``)."""
    require(actor, Permission.ADMINISTER)
    _check_kind(kind)
    label = _check_label(label)
    taken = {c for (c,) in conn.execute(select(ITEMS.c.code).where(ITEMS.c.kind == kind))}
    if any(i.label == label and i.active for i in list_items(conn, kind)):
        raise Conflict(f"已有同名项目：{label}")
    if code is None:
        code = next(f"{kind}_{n}" for n in range(len(taken) + 1, len(taken) + 1000) if f"{kind}_{n}" not in taken)
    if not _CODE.match(code):
        raise InvalidData([{"field": "code", "message": "代码为小写字母开头的字母、数字或下划线，不超过32位"}])
    if code in taken:
        raise Conflict(f"代码已存在：{code}")
    ordinal = conn.execute(select(func.coalesce(func.max(ITEMS.c.ordinal), 0)).where(ITEMS.c.kind == kind)).scalar()
    conn.execute(insert(ITEMS).values(kind=kind, code=code, label=label, ordinal=int(ordinal or 0) + 1, active=True))
    log_change(conn, actor, "reference_add", f"{kind}:{code}", label=label)
    return Item(kind, code, label, True)


def get_item(conn: Connection, kind: str, code: str) -> Item:
    _check_kind(kind)
    row = conn.execute(select(ITEMS.c.label, ITEMS.c.active).where(ITEMS.c.kind == kind, ITEMS.c.code == code)).first()
    if row is None:
        raise NotFound(f"项目不存在：{code[:32]}")
    return Item(kind, code, row.label, bool(row.active))


def set_item_active(conn: Connection, actor: Actor, *, kind: str, code: str, active: bool) -> Item:
    """Retire (no longer offered; old records keep their label) or restore an item."""
    require(actor, Permission.ADMINISTER)
    item = get_item(conn, kind, code)
    conn.execute(update(ITEMS).where(ITEMS.c.kind == kind, ITEMS.c.code == code).values(active=active))
    log_change(conn, actor, "reference_restore" if active else "reference_retire", f"{kind}:{code}", label=item.label)
    return Item(kind, code, item.label, active)


def replace_item(conn: Connection, actor: Actor, *, kind: str, code: str, label: str) -> Item:
    """A new label for what ``code`` stood for: the old item retired (its records keep their label), a new
    item added with ``label``. Returns the new item."""
    old = get_item(conn, kind, code)
    set_item_active(conn, actor, kind=kind, code=code, active=False)
    new = add_item(conn, actor, kind=kind, label=label)
    log_change(conn, actor, "reference_replace", f"{kind}:{code}", before=old.label, after=label, new_code=new.code)
    return new
