"""Changing the jurisdiction tree: add, rename, move, retire; each checked, audited, in the caller's transaction.

Codes follow 统计用区划代码: a county is 6 digits (or 12 ending in 000000), a township 9 (or 12 ending in 000),
a village 12, a grid its village's code and a suffix of 1–4 digits; a child's code starts with its parent's
significant digits, and its level is the one below its parent's. Nothing is ever deleted: a retired place
keeps its cases and stops being offered for new ones.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, String, func, literal, select, update

from mediation_flow.accounts.admin_log import log_change
from mediation_flow.accounts.policy import Actor, Permission, require
from mediation_flow.errors import Conflict, InvalidData, NotFound
from mediation_flow.places.jurisdictions import Place, add_jurisdiction, get_by_code
from mediation_flow.places.subtree import in_subtree
from mediation_flow.store.tables import CASES, PARTY_KEYS, USERS
from mediation_flow.store.tables import JURISDICTIONS as JUR
from mediation_flow.textinput import TextRefused, clean_text

LEVELS = ("county", "township", "village", "grid")
CHILD_LEVEL = {None: "county", "county": "township", "township": "village", "village": "grid"}
SIGNIFICANT = {"county": 6, "township": 9, "village": 12}
NAME_LIMIT = 64


def code_problem(code: str, level: str, parent: Place | None) -> str | None:
    """Why ``code`` cannot name a place of ``level`` under ``parent`` (None when it can)."""
    if not code.isascii() or not code.isdigit():
        return "辖区代码只能由数字组成"
    if level == "grid":
        if parent is None or not (code.startswith(parent.code) and 1 <= len(code) - len(parent.code) <= 4):
            return "网格代码为所属村（社区）代码加1至4位数字"
        return None
    width = SIGNIFICANT[level]
    if not (len(code) == width or (len(code) == 12 and set(code[width:]) <= {"0"})):
        return {
            "county": "县级代码为6位（或12位统计用区划代码，后6位为0）",
            "township": "乡镇代码为9位（或12位统计用区划代码，后3位为0）",
            "village": "村（社区）代码为12位统计用区划代码",
        }[level]
    if parent is not None:
        digits = SIGNIFICANT[parent.level]
        if code[:digits] != parent.code[:digits]:
            return f"代码须以上级代码的前{digits}位（{parent.code[:digits]}）开头"
    return None


def level_problem(level: str, parent: Place | None) -> str | None:
    expected = CHILD_LEVEL.get(parent.level if parent else None)
    if parent is not None and not parent.active:
        return f"上级辖区{parent.name}已撤销"
    if level != expected:
        where = f"{parent.name}（{_level_name(parent.level)}）之下" if parent else "最上级"
        return f"{where}只能添加{_level_name(expected)}" if expected else f"{where}不能再添加下级"
    return None


def _level_name(level: str | None) -> str:
    from mediation_flow.vocabulary import Level

    return Level(level).label if level else ""


def checked_line(value: str, *, field: str, label: str, limit: int) -> str:
    """A one-line name typed by an administrator, under the one text-input policy (``textinput``): pasted
    breaks as spaces, control characters refused, not empty, at most ``limit`` characters; InvalidData."""
    try:
        text = clean_text(value, label=label, max_length=limit, multiline=False)
    except TextRefused as exc:
        raise InvalidData([{"field": field, "message": str(exc)}]) from None
    if not text:
        raise InvalidData([{"field": field, "message": f"“{label}”不能为空"}])
    return text


def check_name(name: str) -> str:
    return checked_line(name, field="name", label="名称", limit=NAME_LIMIT)


def add_place(
    conn: Connection, actor: Actor, *, code: str, name: str, parent_code: str | None, level: str | None = None
) -> Place:
    """A new place under ``parent_code`` (None: a county at the top); its level follows the parent's."""
    require(actor, Permission.ADMINISTER)
    parent = _parent(conn, parent_code)
    level = level or CHILD_LEVEL.get(parent.level if parent else None) or ""
    problem = level_problem(level, parent) or code_problem(code, level, parent)
    if problem:
        raise InvalidData([{"field": "code" if "代码" in problem else "parent_code", "message": problem}])
    name = check_name(name)
    if conn.execute(select(JUR.c.id).where(JUR.c.code == code)).first():
        raise Conflict(f"辖区代码已存在：{code}")
    place = add_jurisdiction(conn, code=code, name=name, level=level, parent_id=parent.id if parent else None)
    log_change(conn, actor, "place_add", code, name=name, level=level, parent=parent_code)
    return place


def _parent(conn: Connection, parent_code: str | None) -> Place | None:
    if not parent_code:
        return None
    try:
        return get_by_code(conn, parent_code)
    except NotFound:
        raise InvalidData([{"field": "parent_code", "message": f"上级辖区代码不存在：{parent_code[:32]}"}]) from None


def rename_place(conn: Connection, actor: Actor, *, code: str, name: str) -> Place:
    require(actor, Permission.ADMINISTER)
    place = get_by_code(conn, code)
    name = check_name(name)
    if name == place.name:
        return place  # nothing to change, nothing to log
    conn.execute(update(JUR).where(JUR.c.id == place.id).values(name=name))
    log_change(conn, actor, "place_rename", code, before=place.name, after=name)
    return get_by_code(conn, code)


def move_place(conn: Connection, actor: Actor, *, code: str, parent_code: str) -> Place:
    """Put a place (and its subtree, and the cases registered there) under another parent of the same level."""
    require(actor, Permission.ADMINISTER)
    place = get_by_code(conn, code)
    parent = _parent(conn, parent_code)
    problem = level_problem(place.level, parent)
    if parent is not None and parent.path.startswith(place.path):
        problem = "不能移到自己的下级辖区之下"
    if problem:
        raise InvalidData([{"field": "parent_code", "message": problem}])
    assert parent is not None  # only a county has no parent, and a county's level needs none (refused above)
    if parent.id == place.parent_id:
        return place  # already there: nothing to move, nothing to log
    old, new = place.path, f"{parent.path}{place.id}/"
    moved = literal(new, String()).concat(func.substr(JUR.c.path, len(old) + 1))
    conn.execute(update(JUR).where(in_subtree(JUR.c.path, old)).values(path=moved))
    conn.execute(update(JUR).where(JUR.c.id == place.id).values(parent_id=parent.id))
    tail = func.substr(CASES.c.jurisdiction_path, len(old) + 1)
    conn.execute(
        update(CASES)
        .where(in_subtree(CASES.c.jurisdiction_path, old))
        .values(jurisdiction_path=literal(new, String()).concat(tail))
    )
    # The match keys carry a copy of their case's place (cases.people): the moved cases' keys follow, and a
    # grid's cases' names count in its new village.
    path = select(CASES.c.jurisdiction_path).where(CASES.c.id == PARTY_KEYS.c.case_id).scalar_subquery()
    keys: dict[str, Any] = {"jurisdiction_path": path} | ({"village_id": parent.id} if place.level == "grid" else {})
    moved_cases = select(CASES.c.id).where(in_subtree(CASES.c.jurisdiction_path, new))
    conn.execute(update(PARTY_KEYS).where(PARTY_KEYS.c.case_id.in_(moved_cases)).values(keys))
    log_change(conn, actor, "place_move", code, before=_code_of(conn, place.parent_id), after=parent_code)
    return get_by_code(conn, code)


def _code_of(conn: Connection, jurisdiction_id: int | None) -> str | None:
    return conn.execute(select(JUR.c.code).where(JUR.c.id == jurisdiction_id)).scalar()


def retire_blockers(conn: Connection, place_id: int | None = None) -> dict[int, str]:
    """What keeps each place (``place_id``: that one; None: every place) from being retired, in words: its
    active child places and active accounts (下级辖区2个、在用账号3个); a place with neither is not listed. The
    administrator's page shows it beside a disabled 撤销此辖区; ``retire_place`` refuses with it."""
    children = select(JUR.c.parent_id, func.count()).where(JUR.c.active.is_(True), JUR.c.parent_id.isnot(None))
    users = select(USERS.c.jurisdiction_id, func.count()).where(
        USERS.c.is_active.is_(True), USERS.c.jurisdiction_id.isnot(None)
    )
    if place_id is not None:
        children, users = children.where(JUR.c.parent_id == place_id), users.where(USERS.c.jurisdiction_id == place_id)
    counts: dict[int, dict[str, int]] = {}
    for word, query, column in (("下级辖区", children, JUR.c.parent_id), ("在用账号", users, USERS.c.jurisdiction_id)):
        for held_by, n in conn.execute(query.group_by(column)):
            counts.setdefault(int(held_by), {})[word] = int(n)
    return {held_by: "、".join(f"{word}{n}个" for word, n in found.items()) for held_by, found in counts.items()}


def retire_place(conn: Connection, actor: Actor, *, code: str) -> Place:
    """Retire (撤销) a place: it keeps its cases and history, and is offered for nothing new. Refused while
    places or active accounts still belong to it (move or retire those first)."""
    require(actor, Permission.ADMINISTER)
    place = get_by_code(conn, code)
    if not place.active:
        return place
    what = retire_blockers(conn, place.id).get(place.id)
    if what:
        raise Conflict(f"{place.name}尚有{what}，请先移走或停用")
    conn.execute(update(JUR).where(JUR.c.id == place.id).values(active=False))
    log_change(conn, actor, "place_retire", code, name=place.name)
    return get_by_code(conn, code)


def restore_place(conn: Connection, actor: Actor, *, code: str) -> Place:
    """Undo a retirement (the parent must be in use)."""
    require(actor, Permission.ADMINISTER)
    place = get_by_code(conn, code)
    if place.active:
        return place
    parent = conn.execute(select(JUR.c.active, JUR.c.name).where(JUR.c.id == place.parent_id)).first()
    if parent is not None and not parent.active:
        raise Conflict(f"上级辖区{parent.name}已撤销，请先恢复上级")
    conn.execute(update(JUR).where(JUR.c.id == place.id).values(active=True))
    log_change(conn, actor, "place_restore", code, name=place.name)
    return get_by_code(conn, code)
