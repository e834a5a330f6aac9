"""Steps about the record, not the dispute (更正): every workflow version has them, from the newest definition.

A case is pinned to the workflow version it was registered under (``workflow.registry``), so that editing a
file never changes the course of a dispute already under way. A correction is not part of that course: it
fixes what was written down (a title, a party's ID number, the date typed for a step), it keeps the state,
and its rules are the record-keeping rules in force now (``workflow.correction_rules`` is today's code, and
its field list must match it). So the registry compiles every version with the ``correct`` transition of the
newest recorded definition that has one (of the same workflow, else of any workflow), in place of the
version's own or where the version had none. A case registered under a version written before 更正 existed
is then corrected by the same step as any other: ``cases.step.step`` through ``cases.engine.apply_trigger``,
one transaction with its event, the same guard, roles and fields.

The stored definition and its hash are untouched (the version is still what was recorded); only the compiled
workflow gains the step. Replay and ``check`` stay exact because a record step leaves every state
(``source: "*"``) and keeps it (``dest: null``), which :func:`problem` requires of any file defining one.
"""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import Connection, select

from mediation_flow.store.tables import WORKFLOW_VERSIONS
from mediation_flow.workflow.correction_rules import CORRECT

RECORD_STEPS = (CORRECT,)


def problem(raw: dict[str, Any]) -> tuple[int, str] | None:
    """(index, message) of a record step in ``raw`` that would move the case or not leave every state."""
    for index, t in enumerate(raw.get("transitions") or []):
        if isinstance(t, dict) and t.get("trigger") in RECORD_STEPS and (t.get("source") != "*" or t.get("dest")):
            return index, f"'{t['trigger']}' corrects the record: it must have source '*' and dest null"
    return None


def _steps_of(definition: Any) -> list[dict[str, Any]]:
    transitions = definition.get("transitions") if isinstance(definition, dict) else None
    return [t for t in transitions or [] if isinstance(t, dict) and t.get("trigger") in RECORD_STEPS]


def newest(conn: Connection, name: str) -> list[dict[str, Any]]:
    """The record steps of the newest recorded definition of ``name`` that has any, else of any workflow."""
    table = WORKFLOW_VERSIONS
    for where in (table.c.name == name, table.c.name != name):
        ids = list(conn.execute(select(table.c.id).where(where).order_by(table.c.id.desc())).scalars())
        for version_id in ids:  # one definition read at a time: the newest has them, almost always
            steps = _steps_of(conn.execute(select(table.c.definition).where(table.c.id == version_id)).scalar())
            if steps:
                return steps
    return []


def with_record_steps(definition: dict[str, Any], steps: list[dict[str, Any]]) -> dict[str, Any]:
    """``definition`` with its record steps replaced by ``steps`` (a copy; itself when there is nothing to change)."""
    if not steps or _steps_of(definition) == steps:
        return definition
    grafted = copy.deepcopy(definition)
    own = _steps_of(grafted)
    grafted["transitions"] = [t for t in grafted.get("transitions") or [] if t not in own] + copy.deepcopy(steps)
    return grafted
