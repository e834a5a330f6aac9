"""What the administrator's page shows: the jurisdiction tree, the accounts and the latest changes (each told in
words: the action's label, the place, account or item by its name, what it was and became), with the choices
each form offers (a place's possible parents, the places an account may belong to)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from mediation_flow.accounts.admin_log import inspect, recent_changes
from mediation_flow.accounts.management import Account, list_accounts
from mediation_flow.accounts.policy import Actor, may_edit_reference
from mediation_flow.display.labels import label
from mediation_flow.places.agencies import all_agencies
from mediation_flow.places.changes import CHILD_LEVEL, retire_blockers
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
    retire_blocked: str = ""  # why 撤销此辖区 would be refused now (尚有在用账号3个，不能撤销); '' if it would not


@dataclass(frozen=True)
class ChangeLine:
    """One line of 最近操作, in words: ``辖区更名 更新村（500101001099）：新村 → 更新村``."""

    at: datetime
    by: str
    action: str  # the action's label (admin_actions)
    subject: str  # the place, account or item, by its name
    detail: str = ""  # what it was and became, where it says more than the action


@dataclass(frozen=True)
class AdminOverview:
    places: list[PlaceRow]
    accounts: list[Account]
    changes: list[ChangeLine]
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
    blockers = retire_blockers(conn)

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
            retire_blocked=f"尚有{blockers[p.id]}，不能撤销" if p.active and p.id in blockers else "",
        )
        for p in places
    ]
    return AdminOverview(
        places=rows,
        accounts=list_accounts(conn, actor),
        changes=change_lines(recent_changes(conn, 30), places, list_accounts(conn, actor)),
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


def change_lines(rows: list[dict[str, Any]], places: list[Place], accounts: list[Account]) -> list[ChangeLine]:
    """The change log's rows (``admin_log.recent_changes``, newest first) as a person reads them: no action code,
    role code, ``kind:code`` target or parent code left; a place as its name and its statistical code (as the
    page's tree shows it), an account as its name and username (as the accounts table does). Each line names places
    and people as they were called then: walking back from today's names, a rename undoes itself for the lines
    older than it."""
    names = {p.code: p.name for p in places}
    people = {a.username: a.display_name for a in accounts}

    def place(code: Any) -> str:
        return f"{names[code]}（{code}）" if code in names else str(code or "")

    def home(code: Any) -> str:
        return names.get(code, str(code)) if code else label("admin_change", "everywhere")

    def person(username: str) -> str:
        return f"{people[username]}（{username}）" if username in people else username

    def placement(value: Mapping[str, Any]) -> str:
        return f"{label('roles', value.get('role'))}，{home(value.get('jurisdiction'))}"

    def renamed(after: Any) -> str:
        return f"{label('admin_change', 'renamed_to')}「{after}」"

    lines = []
    for row in rows:
        action, target, detail = str(row["action"]), str(row["target"]), row["detail"] or {}
        subject, said = target, ""
        if action.startswith("place_"):  # the place by its name then (a rename: its old name)
            then = detail.get("name") or detail.get("before") if action != "place_move" else None
            subject = f"{then}（{target}）" if then else place(target)
            if action == "place_add" and detail.get("parent"):
                said = f"{label('admin_change', 'parent')} {home(detail['parent'])}"
            elif action == "place_rename":
                said = renamed(detail.get("after"))
            elif action == "place_move":
                said = f"{home(detail.get('before'))} → {home(detail.get('after'))}"
        elif action.startswith("account_"):
            subject = person(target)
            if action == "account_add":
                said = placement(detail)
            elif action == "account_placement":
                said = f"{placement(detail.get('before') or {})} → {placement(detail.get('after') or {})}"
            elif action == "account_rename":
                subject, said = f"{detail.get('before')}（{target}）", renamed(detail.get("after"))
        elif action.startswith("reference_"):
            kind = label("reference_kinds", target.partition(":")[0])
            subject = f"{kind}「{detail.get('label') or detail.get('before') or ''}」"
            if action == "reference_add":
                owner = detail.get("township")
                subject += f"（{names.get(owner, str(owner)) if owner else label('admin_change', 'county_wide')}）"
            elif action == "reference_replace":
                said = renamed(detail.get("after"))
        lines.append(ChangeLine(row["at"], row["by"], label("admin_actions", action), subject, said))
        if action == "place_rename" and detail.get("before"):  # the older lines knew it by its old name
            names[target] = str(detail["before"])
        elif action == "account_rename" and detail.get("before"):
            people[target] = str(detail["before"])
    return lines
