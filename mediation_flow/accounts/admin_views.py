"""What the administrator's page shows: the jurisdiction tree, the accounts and the latest changes, with the
choices each form offers (a place's possible parents, the places an account may belong to)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from mediation_flow.accounts.admin_log import inspect, recent_changes
from mediation_flow.accounts.management import Account, list_accounts
from mediation_flow.accounts.policy import Actor, may_edit_reference
from mediation_flow.places.agencies import all_agencies
from mediation_flow.places.changes import CHILD_LEVEL
from mediation_flow.places.jurisdictions import Place, all_places
from mediation_flow.places.reference_changes import EDITABLE, LOCAL, Item, items_for
from mediation_flow.places.subtree import within
from mediation_flow.vocabulary import Level, Role

PARENT_LEVEL = {child: parent for parent, child in CHILD_LEVEL.items() if parent}


@dataclass(frozen=True)
class PlaceRow:
    place: Place
    level_label: str
    parent_code: str | None
    parents: list[tuple[str, str]]  # (code, name) of the places it could move under
    can_have_children: bool


@dataclass(frozen=True)
class AdminOverview:
    places: list[PlaceRow]
    accounts: list[Account]
    changes: list[dict[str, Any]]
    roles: dict[str, str]
    homes: list[tuple[str, str]]  # (code, indented name) of the active places an account may belong to
    agencies: list[tuple[str, str]]  # (code, name) of the active partner agencies an agency account may belong to
    add_parents: list[tuple[str, str]]  # where a new place may go (active, not a grid)
    reference: dict[str, list[tuple[Item, bool]]]  # the editable kinds' items, retired ones too; may change it
    # where a new venue or local partner may belong: ('', 全县通用) for a county's administrator, then townships
    owners: list[tuple[str, str]]
    local_kinds: tuple[str, ...]


def admin_overview(engine: Engine, actor: Actor) -> AdminOverview:
    return inspect(engine, actor, lambda conn: _overview(actor, all_places(conn), items_for(conn, actor), conn))


def _overview(actor: Actor, places: list[Place], items: list[tuple[Item, bool]], conn: Any) -> AdminOverview:
    codes = {p.id: p.code for p in places}
    active = [p for p in places if p.active]

    def indented(p: Place) -> str:
        return f"{'　' * p.depth}{p.name}（{p.code}）"

    rows = [
        PlaceRow(
            place=p,
            level_label=Level(p.level).label,
            parent_code=codes.get(p.parent_id or 0),
            parents=[
                (q.code, indented(q)) for q in active if q.level == PARENT_LEVEL.get(p.level) and q.id != p.parent_id
            ],
            can_have_children=p.active and p.level != Level.GRID.value,
        )
        for p in places
    ]
    return AdminOverview(
        places=rows,
        accounts=list_accounts(conn, actor),
        changes=recent_changes(conn, 30),
        roles={r.value: r.label for r in Role},
        homes=[(p.code, indented(p)) for p in active],
        agencies=[(a.code, a.name) for a in all_agencies(conn) if a.active],
        add_parents=[(p.code, indented(p)) for p in active if p.level != Level.GRID.value],
        reference={kind: [(i, ok) for i, ok in items if i.kind == kind] for kind in EDITABLE},
        owners=_owners(actor, active),
        local_kinds=LOCAL,
    )


def _owners(actor: Actor, active: list[Place]) -> list[tuple[str, str]]:
    """Where an administrator may put a new venue or local partner: the whole county (a county's
    administrator), or one of the townships of their subtree."""
    county = [("", "全县通用")] if may_edit_reference(actor, None) else []
    return county + [
        (p.code, p.name) for p in active if p.level == Level.TOWNSHIP.value and within(p.path, actor.scope_path)
    ]
