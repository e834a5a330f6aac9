"""登记 by path: which workflow a case's source (案件来源) starts, and the intake fields that workflow asks for.

公安移交, 法院委派/委托 and 信访转办 start the referral workflows (警调, 诉调, 访调), with their own clocks and
intake fields (the referring body, its reference number, …: data in each workflow file, not code); every
other source starts 人民调解. The registration page and the API send the same ``workflow`` and
``attributes`` to ``intake.register_case``; this module is how the page picks them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine

from mediation_flow.accounts.policy import Actor, Permission, require
from mediation_flow.cases.forms import FieldView, with_conditions
from mediation_flow.cases.referral_facts import AGENCY, BODY
from mediation_flow.display.formats import duration
from mediation_flow.display.labels import label
from mediation_flow.places.agencies import agencies_serving
from mediation_flow.places.reference import load_reference
from mediation_flow.store.reads import reads
from mediation_flow.workflow.fields import choice_options, required_when_text
from mediation_flow.workflow.registry import REGISTRY, WorkflowRegistry
from mediation_flow.workflow.schema import CREATION_TRIGGER, ClockSpec, WorkflowSpec

DEFAULT_WORKFLOW = "people_mediation"
SOURCE_WORKFLOWS = {"police": "police_referral", "court": "court_referral", "petition": "petition_referral"}


def register_heading(actor: Actor) -> str:
    """What registering is called for the user: the glossary's name of the /register page (登记纠纷), or a partner
    agency's own action (移交纠纷, 委派/委托调解, 转办信访事项: the words of its 对接工作台's button)."""
    kind = actor.role.agency_kind
    return label("agency_refer", kind) if kind is not None else label("pages", "/register")


def workflow_for_source(source: str | None) -> str:
    """The workflow a case from ``source`` is registered under."""
    return SOURCE_WORKFLOWS.get(source or "", DEFAULT_WORKFLOW)


@dataclass
class IntakePath:
    """What registering from one source asks for: the workflow, its intake fields (with what was typed and
    what was wrong), and the clocks that start at registration, as sentences."""

    source: str
    workflow: str
    title: str
    fields: list[FieldView] = field(default_factory=list)
    clocks: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)  # the 案件来源 the user may pick
    reference_hint: str = ""  # the listed agencies' reference-number examples
    heading: str = ""  # the page's title (register_heading): a partner agency's user names their action (委派/委托调解)

    @property
    def referral(self) -> bool:
        return self.workflow != DEFAULT_WORKFLOW


def clock_sentence(spec: WorkflowSpec, clock: ClockSpec) -> str:
    """“委派/委托调解期限：按对接方式和适用程序，7天至30天” — a clock's length as a person reads it."""
    lengths = {clock.duration, *(rule.duration for rule in clock.duration_by)}
    if len(lengths) == 1:
        return f"{clock.label}：{duration(clock.duration, clock.unit)}"
    keys = {key for rule in clock.duration_by for key in rule.when}
    names = "和".join(re.sub(r"（[^）]*）", "", f.label) for f in spec.intake_fields if f.name in keys) or "登记内容"
    span = f"{duration(min(lengths), clock.unit)}至{duration(max(lengths), clock.unit)}"
    return f"{clock.label}：按{names}，{span}"


def own_source(conn: Connection, actor: Actor, registry: WorkflowRegistry = REGISTRY) -> str | None:
    """The one 案件来源 a partner agency's user registers under: the path whose workflow names their kind."""
    kind = actor.role.agency_kind
    if kind is None:
        return None
    return next(
        (s for s, name in SOURCE_WORKFLOWS.items() if registry.current(conn, name).spec.agency_kind == kind), None
    )


def _agency_choices(conn: Connection, actor: Actor, spec: WorkflowSpec) -> tuple[dict[str, str], str]:
    """The agencies a referral in may name (those of the path's kind serving the user's area; an agency's
    user: their own) and their reference-number examples, as a hint."""
    if spec.agency_kind is None:
        return {}, ""
    found = agencies_serving(conn, actor.scope_path or "/", spec.agency_kind)
    if actor.is_agency_user:
        found = [a for a in found if a.id == actor.agency_id]
    examples = "；".join(f"{a.name}：{a.reference_example}" for a in found if a.reference_example)
    return {a.code: a.name for a in found}, examples


def intake_path(
    engine: Engine,
    actor: Actor,
    source: str | None,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    registry: WorkflowRegistry = REGISTRY,
) -> IntakePath:
    """The intake fields of the workflow ``source`` starts (for a partner agency's user: always their own
    path), filled with ``values`` and ``errors`` (by field name), the sources the user may pick, and the
    clocks registration starts."""
    require(actor, Permission.REGISTER)
    values, errors = values or {}, errors or {}
    with reads(engine) as conn:
        reference = load_reference(conn, actor.scope_path)
        own = own_source(conn, actor, registry)
        source = own or source
        spec = registry.current(conn, workflow_for_source(source)).spec
        agencies, examples = _agency_choices(conn, actor, spec)
    sources = reference.get("source", {})
    fields = []
    named = {f.name for f in spec.intake_fields}
    for f in spec.intake_fields:
        if f.name == BODY and AGENCY in named:
            continue  # picked from the list: the core writes the agency's name
        options = agencies if f.name == AGENCY else choice_options(f, reference) if f.choices else {}
        value = values.get(f.name) or (next(iter(agencies)) if f.name == AGENCY and len(agencies) == 1 else None)
        fields.append(
            FieldView(f, options, value, errors.get(f.name, ""), required_when_text(f, spec.intake_fields, reference))
        )
    clocks = [clock_sentence(spec, c) for c in spec.clocks.values() if CREATION_TRIGGER in c.starts_on]
    return IntakePath(
        source=source or "",
        workflow=spec.name,
        title=spec.title,
        fields=with_conditions(fields),
        clocks=clocks,
        sources={own: sources.get(own, own)} if own else dict(sources),
        reference_hint=examples,
        heading=register_heading(actor),
    )
