"""Turning case rows into list items: labels, due status, mediator and village names."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, select

from mediation_flow.cases.queries import user_names
from mediation_flow.cases.queues import due_soon_until
from mediation_flow.places.reference import load_reference
from mediation_flow.store.config import get_settings
from mediation_flow.store.models import Jurisdiction
from mediation_flow.workflow.registry import REGISTRY

JUR = Jurisdiction.__table__


def due_status(due: date | None, today: date, due_soon_days: int | None = None, *, until: date | None = None) -> str:
    """overdue / due_soon / on_time / '' (no running clock) for a case's nearest due date (``until``: the
    due-soon horizon, when the caller has it already)."""
    if due is None:
        return ""
    if due < today:
        return "overdue"
    if until is None:
        until = due_soon_until(today, get_settings().due_soon_working_days if due_soon_days is None else due_soon_days)
    return "due_soon" if due <= until else "on_time"


def state_labels(conn: Connection, rows: list[dict[str, Any]]) -> dict[tuple[str, int], dict[str, str]]:
    labels = {}
    for key in {(r["workflow_name"], r["workflow_version"]) for r in rows}:
        spec = REGISTRY.get(conn, *key).spec
        labels[key] = {name: s.label for name, s in spec.states.items()}
    return labels


def village_names(conn: Connection) -> dict[str, str]:
    """Path prefix of every village → its name (a case's village is the prefix of its path)."""
    return {r.path: r.name for r in conn.execute(select(JUR.c.path, JUR.c.name).where(JUR.c.level == "village"))}


def village_of(path: str, villages: dict[str, str]) -> str:
    parts = path.strip("/").split("/")
    for depth in range(len(parts), 0, -1):
        prefix = "/" + "/".join(parts[:depth]) + "/"
        if prefix in villages:
            return villages[prefix]
    return ""


def decorate(conn: Connection, rows: list[dict[str, Any]], today: date) -> list[dict[str, Any]]:
    """The rows with the labels and statuses the list templates show."""
    if not rows:
        return []
    reference = load_reference(conn)
    labels = state_labels(conn, rows)
    names = user_names(conn, {r["mediator_id"] for r in rows if r["mediator_id"]})
    villages = village_names(conn)
    until = due_soon_until(today, get_settings().due_soon_working_days)  # once, not per row
    items = []
    for r in rows:
        due = r["due_date"]
        items.append(
            {
                **r,
                "state_label": labels[(r["workflow_name"], r["workflow_version"])].get(r["state"], r["state"]),
                "risk_label": reference.get("risk_grade", {}).get(r["risk_grade"], r["risk_grade"]),
                "category_label": reference.get("category", {}).get(r["category"], r["category"]),
                "source_label": reference.get("source", {}).get(r["source"], r["source"]),
                "mediator": names.get(r["mediator_id"] or 0, ""),
                "village": village_of(r["jurisdiction_path"], villages),
                "due_status": due_status(due, today, until=until),
                "days_left": (due - today).days if due else None,
            }
        )
    return items
