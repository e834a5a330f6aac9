"""Editing reference data (venues, categories, joint-mediation agencies, referral targets) by an administrator.

A label is never changed in place: every case, event and report keeps the code it was given, so a code's label
is what those records showed. ``replace`` retires the old item and adds a new one with the new label — old
cases keep showing the label they had, new ones are offered the new item. Retired items stay readable (every
label ever used); they are just no longer offered. Sources and risk grades are not editable: the figure
definitions and the risk rules name them.

Categories and referral targets serve the whole county; a venue (清风茶室) or a local joint-mediation partner
may belong to one township, which alone is offered it (``places.reference.load_reference``). Who may change
which is the policy's (``may_edit_reference``): a township's administrator, its own township's items only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from mediation_flow.accounts.admin_log import log_change
from mediation_flow.accounts.policy import (
    Actor,
    Permission,
    may_edit_reference,
    may_see_reference,
    require,
    require_reference_editor,
)
from mediation_flow.errors import Conflict, InvalidData, NotFound
from mediation_flow.places.changes import checked_line
from mediation_flow.places.jurisdictions import Place, get_by_code, get_by_id, township_of
from mediation_flow.places.reference import offered_at
from mediation_flow.places.subtree import within
from mediation_flow.store.tables import JURISDICTIONS as JUR
from mediation_flow.store.tables import REFERENCE_ITEMS as ITEMS

EDITABLE = ("venue", "category", "agency", "referral_target")
#: The kinds a township may have items of its own of; the others serve the whole county.
LOCAL = ("venue", "agency")
LABEL_LIMIT = 64
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


@dataclass(frozen=True)
class Item:
    kind: str
    code: str
    label: str
    active: bool
    township_code: str | None = None  # None: the whole county
    township_name: str = ""


@dataclass(frozen=True)
class _Row:
    item: Item
    jurisdiction_id: int | None
    path: str | None


_SELECT = select(
    ITEMS.c.kind, ITEMS.c.code, ITEMS.c.label, ITEMS.c.active, ITEMS.c.jurisdiction_id, JUR.c.code.label("place"),
    JUR.c.name.label("place_name"), JUR.c.path,
).select_from(ITEMS.outerjoin(JUR, JUR.c.id == ITEMS.c.jurisdiction_id))  # fmt: skip


def _row(r: Any) -> _Row:
    item = Item(r.kind, r.code, r.label, bool(r.active), r.place, r.place_name or "")
    return _Row(item, r.jurisdiction_id, r.path)


def _rows(conn: Connection, kind: str | None = None) -> list[_Row]:
    query = _SELECT.where(ITEMS.c.kind.in_(EDITABLE))
    if kind:
        query = query.where(ITEMS.c.kind == kind)
    return [_row(r) for r in conn.execute(query.order_by(ITEMS.c.kind, ITEMS.c.ordinal, ITEMS.c.id))]


def list_items(
    conn: Connection, kind: str | None = None, *, actor: Actor | None = None, township: str | None = None
) -> list[Item]:
    """The editable kinds' items (retired ones too), by kind and display order. ``township`` (a code): only
    what that township is offered (the county's items and its own); ``actor``: only what their page lists
    (not another township's)."""
    at = _township(conn, township).path if township else None
    return [
        r.item
        for r in _rows(conn, kind)
        if offered_at(r.path, at) and (actor is None or may_see_reference(actor, r.path))
    ]


def items_for(conn: Connection, actor: Actor) -> list[tuple[Item, bool]]:
    """What an administrator's page lists (``list_items(actor=…)``), each with whether they may change it."""
    return [(r.item, may_edit_reference(actor, r.path)) for r in _rows(conn) if may_see_reference(actor, r.path)]


def _check_kind(kind: str) -> None:
    if kind not in EDITABLE:
        raise InvalidData([{"field": "kind", "message": "只能修改调解场所、纠纷类型、联合调解单位和转出去向"}])


def _check_label(label: str) -> str:
    return checked_line(label, field="label", label="名称", limit=LABEL_LIMIT)


def _township(conn: Connection, code: str) -> Place:
    try:
        place = get_by_code(conn, code)
    except NotFound:
        raise InvalidData([{"field": "township", "message": f"乡镇（街道）代码不存在：{code[:32]}"}]) from None
    if place.level != "township":
        raise InvalidData([{"field": "township", "message": f"{place.name}不是乡镇（街道），请填写乡镇代码"}])
    if not place.active:
        raise InvalidData([{"field": "township", "message": f"{place.name}已撤销"}])
    return place


def _owner(conn: Connection, actor: Actor, kind: str, township: str | None) -> Place | None:
    """The township a new item belongs to: the one named, else a township administrator's own for the local
    kinds; None for the whole county."""
    if township:
        if kind not in LOCAL:
            raise InvalidData([{"field": "township", "message": "纠纷类型和转出去向全县通用，不能只属于一个乡镇"}])
        return _township(conn, township)
    if kind in LOCAL and actor.jurisdiction_id is not None and not may_edit_reference(actor, None):
        return township_of(conn, get_by_id(conn, actor.jurisdiction_id))
    return None


def add_item(
    conn: Connection, actor: Actor, *, kind: str, label: str, code: str | None = None, township: str | None = None
) -> Item:
    """A new item, offered from now on (in ``township`` only, when a township code is given); without
    ``code`` one is made (``venue_7``)."""
    item = _add(conn, actor, kind=kind, label=label, code=code, township=township)
    log_change(conn, actor, "reference_add", f"{kind}:{item.code}", label=item.label, township=item.township_code)
    return item


def _add(conn: Connection, actor: Actor, *, kind: str, label: str, code: str | None, township: str | None) -> Item:
    require(actor, Permission.ADMINISTER)
    _check_kind(kind)
    label = _check_label(label)
    owner = _owner(conn, actor, kind, township)
    path = owner.path if owner else None
    require_reference_editor(actor, path)
    rows = _rows(conn, kind)
    taken = {r.item.code for r in rows}
    if any(r.item.label == label and r.item.active and _overlap(r.path, path) for r in rows):
        raise Conflict(f"已有同名项目：{label}")
    if code is None:
        code = next(f"{kind}_{n}" for n in range(len(taken) + 1, len(taken) + 1000) if f"{kind}_{n}" not in taken)
    if not _CODE.match(code):
        raise InvalidData([{"field": "code", "message": "代码为小写字母开头的字母、数字或下划线，不超过32位"}])
    if code in taken:
        raise Conflict(f"代码已存在：{code}")
    ordinal = conn.execute(select(func.coalesce(func.max(ITEMS.c.ordinal), 0)).where(ITEMS.c.kind == kind)).scalar()
    conn.execute(
        insert(ITEMS).values(
            kind=kind, code=code, label=label, ordinal=int(ordinal or 0) + 1, active=True,
            jurisdiction_id=owner.id if owner else None,
        )
    )  # fmt: skip
    return Item(kind, code, label, True, owner.code if owner else None, owner.name if owner else "")


def _overlap(a: str | None, b: str | None) -> bool:
    """Whether items of these two jurisdictions (None: the whole county) are offered in one place."""
    return a is None or b is None or within(a, b) or within(b, a)


def _get(conn: Connection, kind: str, code: str) -> _Row:
    _check_kind(kind)
    row = conn.execute(_SELECT.where(ITEMS.c.kind == kind, ITEMS.c.code == code)).first()
    if row is None:
        raise NotFound(f"项目不存在：{code[:32]}")
    return _row(row)


def get_item(conn: Connection, kind: str, code: str) -> Item:
    return _get(conn, kind, code).item


def set_item_active(conn: Connection, actor: Actor, *, kind: str, code: str, active: bool) -> Item:
    """Retire (no longer offered; old records keep their label) or restore an item."""
    found = _get(conn, kind, code)
    require_reference_editor(actor, found.path)
    if found.item.active == active:
        return found.item  # nothing to change, nothing to log
    conn.execute(update(ITEMS).where(ITEMS.c.kind == kind, ITEMS.c.code == code).values(active=active))
    log_change(
        conn, actor, "reference_restore" if active else "reference_retire", f"{kind}:{code}", label=found.item.label
    )
    old = found.item
    return Item(kind, code, old.label, active, old.township_code, old.township_name)


def replace_item(conn: Connection, actor: Actor, *, kind: str, code: str, label: str) -> Item:
    """A new label for what ``code`` stood for: the old item retired (its records keep their label), a new
    item added with ``label``, in the same township. Returns the new item. One line in the change log: the
    replacement, naming the new code (not a retirement and an addition besides)."""
    found = _get(conn, kind, code)
    require_reference_editor(actor, found.path)
    old = found.item
    if old.active and _check_label(label) == old.label:
        return old  # the same name: nothing to replace
    conn.execute(update(ITEMS).where(ITEMS.c.kind == kind, ITEMS.c.code == code).values(active=False))
    new = _add(conn, actor, kind=kind, label=label, code=None, township=old.township_code)
    log_change(conn, actor, "reference_replace", f"{kind}:{code}", before=old.label, after=label, new_code=new.code)
    return new
