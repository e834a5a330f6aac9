"""The jurisdiction tree (county → township → village → grid)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from mediation_flow.errors import NotFound
from mediation_flow.places.subtree import in_subtree, within
from mediation_flow.store.fast import Prepared
from mediation_flow.store.reads import reads
from mediation_flow.store.tables import JURISDICTIONS as JUR


@dataclass(frozen=True)
class Place:
    id: int
    code: str
    name: str
    short_name: str
    level: str
    path: str
    parent_id: int | None
    active: bool = True

    @property
    def depth(self) -> int:
        """0 at the top of the tree."""
        return self.path.count("/") - 2


def _place(row: Any) -> Place:
    return Place(row.id, row.code, row.name, row.short_name, row.level, row.path, row.parent_id, bool(row.active))


def add_jurisdiction(
    conn: Connection, *, code: str, name: str, level: str, parent_id: int | None, short_name: str = ""
) -> Place:
    parent_path = "/"
    if parent_id is not None:
        parent_path = get_by_id(conn, parent_id).path
    key = conn.execute(
        insert(JUR).values(code=code, name=name, level=level, parent_id=parent_id, short_name=short_name, path="")
    ).inserted_primary_key
    assert key is not None  # an INSERT always has one
    new_id = key[0]
    path = f"{parent_path}{new_id}/"
    conn.execute(update(JUR).where(JUR.c.id == new_id).values(path=path))
    return Place(new_id, code, name, short_name, level, path, parent_id, True)


def get_by_id(conn: Connection, jurisdiction_id: int) -> Place:
    row = conn.execute(select(JUR).where(JUR.c.id == jurisdiction_id)).first()
    if row is None:
        raise NotFound("辖区不存在", jurisdiction_id=jurisdiction_id)
    return _place(row)


def get_by_code(conn: Connection, code: str) -> Place:
    row = conn.execute(select(JUR).where(JUR.c.code == code)).first()
    if row is None:
        raise NotFound(f"辖区代码不存在：{code[:32]}", code=code[:32])
    return _place(row)


def ancestors(conn: Connection, place: Place) -> list[Place]:
    """The place's ancestors from the root down, the place itself last."""
    ids = [int(part) for part in place.path.strip("/").split("/") if part]
    rows = {r.id: _place(r) for r in conn.execute(select(JUR).where(JUR.c.id.in_(ids)))}
    return [rows[i] for i in ids]


def township_of(conn: Connection, place: Place) -> Place | None:
    return next((p for p in ancestors(conn, place) if p.level == "township"), None)


def all_places(conn: Connection) -> list[Place]:
    """Every place in tree order, brothers by code (the public key; ``path`` holds internal ids)."""
    return code_order([_place(r) for r in conn.execute(select(JUR))])


def code_order(places: list[Place]) -> list[Place]:
    """Depth first, each place's children ordered by code."""
    children: dict[int | None, list[Place]] = {}
    for p in sorted(places, key=lambda p: p.code):
        children.setdefault(p.parent_id, []).append(p)
    known = {p.id for p in places}
    ordered: list[Place] = []
    stack = [p for parent, kids in children.items() if parent is None or parent not in known for p in kids][::-1]
    while stack:
        place = stack.pop()
        ordered.append(place)
        stack.extend(reversed(children.get(place.id, [])))
    return ordered


def places_at(conn: Connection, paths: list[str]) -> dict[str, Place]:
    """Path → the place at it, for those of ``paths`` that name one."""
    return {r.path: _place(r) for r in conn.execute(select(JUR).where(JUR.c.path.in_(paths)))} if paths else {}


def townships_of(conn: Connection, county: Place) -> list[Place]:
    """The townships of ``county``, retired ones too, by code (one statement)."""
    query = select(JUR).where(JUR.c.parent_id == county.id, JUR.c.level == "township").order_by(JUR.c.code)
    return [_place(r) for r in conn.execute(query)]


def townships(conn: Connection) -> list[Place]:
    """The active townships, by code."""
    rows = conn.execute(select(JUR).where(JUR.c.level == "township", JUR.c.active.is_(True)).order_by(JUR.c.code))
    return [_place(r) for r in rows]


def tree(conn: Connection, root_path: str | None = None) -> list[dict[str, Any]]:
    """Nested dicts ``{code, name, level, children}`` for the subtree at ``root_path`` (all when None)."""
    places = [p for p in all_places(conn) if within(p.path, root_path)]
    nodes: dict[int, dict[str, Any]] = {
        p.id: {"code": p.code, "name": p.name, "level": p.level, "active": p.active, "children": []} for p in places
    }
    roots: list[dict[str, Any]] = []
    for p in places:
        parent = nodes.get(p.parent_id) if p.parent_id is not None else None
        (parent["children"] if parent else roots).append(nodes[p.id])
    return roots


def jurisdiction_tree(engine: Engine, root_path: str | None = None) -> list[dict[str, Any]]:
    with reads(engine) as conn:
        return tree(conn, root_path)


_PLACE_NAME = Prepared(select(JUR.c.name).where(JUR.c.id == bindparam("id")))


def place_name(conn: Connection, jurisdiction_id: int) -> str:
    found = _PLACE_NAME.first(conn, {"id": jurisdiction_id})
    return found["name"] if found else ""


def village_names(conn: Connection) -> dict[str, str]:
    """Path of every village → its name (a case's village is a prefix of its path)."""
    return {r.path: r.name for r in conn.execute(select(JUR.c.path, JUR.c.name).where(JUR.c.level == "village"))}


def village_of(path: str, villages: dict[str, str]) -> str:
    """The name of the village whose subtree holds ``path`` ('' above village level)."""
    parts = path.strip("/").split("/")
    for depth in range(len(parts), 0, -1):
        prefix = "/" + "/".join(parts[:depth]) + "/"
        if prefix in villages:
            return villages[prefix]
    return ""


def villages_within(conn: Connection, scope: str | None) -> dict[str, str]:
    """Code → name of the villages in the subtree at ``scope`` (all when None), by code."""
    query = select(JUR.c.code, JUR.c.name).where(JUR.c.level == "village")
    if scope is not None:
        query = query.where(in_subtree(JUR.c.path, scope))
    return {code: name for code, name in conn.execute(query.order_by(JUR.c.code))}


def places_within(
    conn: Connection, scope: str | None, levels: tuple[str, ...], *, active_only: bool = False
) -> list[Place]:
    """The places of ``levels`` in the subtree at ``scope`` (all when None), in tree order (brothers by code);
    ``active_only`` leaves out retired ones (what a form offers for something new)."""
    return [
        p for p in all_places(conn) if p.level in levels and within(p.path, scope) and (p.active or not active_only)
    ]
