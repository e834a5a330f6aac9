"""Table-driven checks over EVERY workflow file: the graph, the clocks' legal basis, and — through the
engine on both back ends — every state reached, illegal triggers refused, failing guards writing nothing."""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

import pytest
from factories import intake, today_iso
from sqlalchemy import func, select

from mediation_flow.cases.engine import apply_trigger
from mediation_flow.cases.intake import register_case
from mediation_flow.errors import GuardFailed, TriggerNotAllowed
from mediation_flow.places.reference import load_reference
from mediation_flow.store.models import Case, CaseEvent
from mediation_flow.workflow.diagram import mermaid
from mediation_flow.workflow.registry import REGISTRY, CompiledWorkflow, read_workflow_file
from mediation_flow.workflow.schema import FieldSpec, TransitionSpec, WorkflowSpec

FILES = sorted((Path(__file__).resolve().parents[1] / "workflows").glob("*.yaml"))
CASES, EVENTS = Case.__table__, CaseEvent.__table__
# Internal steps that still make sense after a case is final: a note, a late conversion, the result
# sent back to the referring body after a rejection or withdrawal.
AFTER_FINAL = {"add_note", "mark_conversion", "report_back"}
# ... and the petition's own steps after the township closed its side: 答复意见, 复查, 复核 (信访工作条例 2022).
AFTER_FINAL |= {"correct"}  # 更正: a fact recorded wrongly is corrected whenever it is found (issue 17)
AFTER_FINAL |= {"petition_reply", "request_review", "review_decided", "request_re_review", "re_review_decided"}
AGENCY_USERS = {"police_liaison": "liaison", "court_liaison": "court_liaison", "petition_liaison": "petition_liaison"}


def spec_of(path: Path) -> WorkflowSpec:
    return read_workflow_file(path)[0]


def test_every_workflow_file_is_covered():
    names = {p.stem for p in FILES}
    assert {"people_mediation", "police_referral", "petition_referral", "court_referral"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_state_reachable_from_the_initial(path):
    spec = spec_of(path)
    reached, queue = {spec.initial}, deque([spec.initial])
    while queue:
        state = queue.popleft()
        for t in spec.transitions:
            if t.dest and (t.source == "*" or state in t.sources) and t.dest not in reached:
                reached.add(t.dest)
                queue.append(t.dest)
    assert reached == set(spec.states), f"unreachable: {set(spec.states) - reached}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_final_states_are_final(path):
    spec = spec_of(path)
    assert spec.final_states, "a workflow needs at least one final state"
    for t in spec.transitions:
        sources = set(spec.states) if t.source == "*" else set(t.sources)
        finals = sources & spec.final_states
        if not finals:
            continue
        assert t.internal, f"{t.trigger} leaves final state(s) {finals}"
        assert t.trigger in AFTER_FINAL, f"internal {t.trigger} is not allowed after {finals}"
    for state in set(spec.states) - spec.final_states:
        assert any(t.source == "*" or state in t.sources for t in spec.transitions if t.dest), state


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_clock_has_a_legal_basis_and_ends(path):
    spec = spec_of(path)
    assert spec.clocks, "every workflow declares its deadlines"
    for name, clock in spec.clocks.items():
        assert len(clock.basis) >= 10 and ("《" in clock.basis or "可配置" in clock.basis), name
        assert clock.stops_on, name
        if clock.extend:
            assert clock.extend.approver_roles, name


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_joint_mediation_recorded_everywhere(path):
    spec = spec_of(path)
    for trigger in ("start_mediation", "record_session"):
        fields = {f.name: f for t in spec.transitions_for(trigger) for f in t.fields}
        assert fields["joint_agencies"].choices == "agency", (trigger, "一庭两所 agencies")


def _sample(field: FieldSpec, reference: dict[str, dict[str, str]], user_id: int, *, bools: bool = True) -> Any:
    if field.type == "bool":
        return bools
    if field.type == "date":
        return today_iso()  # a case registered today: its steps may not lie before it (issue 13)
    if field.type == "user":
        return user_id
    if field.type in ("int", "money"):
        return field.min or 1
    if field.type in ("choice", "multichoice"):
        options = field.choices if isinstance(field.choices, dict) else reference[str(field.choices)]
        first = next(iter(options))
        return [first] if field.type == "multichoice" else first
    return f"测试{field.label}"[: field.max_length or 100]


class Walker:
    """Drives one workflow through the engine with sample data, as the user each trigger allows."""

    def __init__(self, engine: Any, town: Any, path: Path) -> None:
        self.engine, self.town = engine, town
        with engine.connect() as conn:
            self.compiled: CompiledWorkflow = REGISTRY.current(conn, path.stem)
            self.reference = load_reference(conn)
        self.spec = self.compiled.spec

    def data(self, t: TransitionSpec | list[FieldSpec], *, bools: bool = True) -> dict[str, Any]:
        fields = t.fields if isinstance(t, TransitionSpec) else t
        mediator = self.town["mediator"].id
        return {f.name: _sample(f, self.reference, mediator, bools=bools) for f in fields}

    def actor(self, t: TransitionSpec) -> Any:
        """The mediator, else the supervisor, else the agency user (the sample agency of each kind is the
        town's first: 青龙派出所, 青龙人民法庭, 示例县信访局)."""
        if "mediator" in t.roles or "supervisor" in t.roles:
            return self.town["mediator"] if "mediator" in t.roles else self.town["supervisor"]
        return self.town[AGENCY_USERS[t.roles[0]]]

    def register(self) -> int:
        attributes = self.data(self.spec.intake_fields)
        if "agency" in attributes:  # a referral in: the reference number in the agency's own format
            attributes["reference_number"] = self.town.places.agencies[attributes["agency"]].reference_example
        return register_case(
            self.engine, actor=self.town["grid_worker"], intake=intake(workflow=self.spec.name, attributes=attributes)
        )

    def snapshot(self, case_id: int) -> tuple[str, int, int]:
        with self.engine.connect() as conn:
            row = conn.execute(select(CASES.c.state, CASES.c.version).where(CASES.c.id == case_id)).one()
            count = conn.execute(select(func.count()).where(EVENTS.c.case_id == case_id)).scalar()
        return row.state, row.version, count

    def fire(self, case_id: int, t: TransitionSpec, **kwargs: Any) -> Any:
        _, version, _ = self.snapshot(case_id)
        return apply_trigger(
            self.engine,
            case_id=case_id,
            actor=kwargs.get("actor") or self.actor(t),
            trigger=t.trigger,
            expected_version=version,
            data=kwargs.get("data", self.data(t)),
        )

    def step(self, case_id: int, t: TransitionSpec) -> None:
        """Fire ``t``; when a guard wants an earlier internal step (a visit, a report back), do those first."""
        try:
            self.fire(case_id, t)
        except GuardFailed:
            state = self.snapshot(case_id)[0]
            for internal in self.compiled.transitions_from(state):
                if internal.internal and internal.trigger not in ("escalate", "set_risk", "extend"):
                    try:
                        self.fire(case_id, internal)
                    except GuardFailed:  # one of exclusive steps (签收 or 退回): the other was taken
                        continue
            self.fire(case_id, t)

    def paths(self) -> dict[str, list[TransitionSpec]]:
        """The shortest trigger path from the initial state to every state."""
        found: dict[str, list[TransitionSpec]] = {self.spec.initial: []}
        queue = deque([self.spec.initial])
        while queue:
            state = queue.popleft()
            for t in self.compiled.transitions_from(state):
                if t.dest and t.dest not in found:
                    found[t.dest] = [*found[state], t]
                    queue.append(t.dest)
        return found


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_engine_reaches_every_state_and_refuses_the_rest(engine, town, path):
    walker = Walker(engine, town, path)
    refused_guards = 0
    paths = walker.paths()
    assert set(paths) == set(walker.spec.states)
    for state, steps in paths.items():
        case_id = walker.register()
        for t in steps:
            walker.step(case_id, t)
        assert walker.snapshot(case_id)[0] == state
        allowed = {t.trigger for t in walker.compiled.transitions_from(state)}
        for trigger in sorted(walker.compiled.triggers() - allowed):
            t = walker.spec.transitions_for(trigger)[0]
            before = walker.snapshot(case_id)
            with pytest.raises(TriggerNotAllowed):
                walker.fire(case_id, t, actor=town["supervisor"])
            assert walker.snapshot(case_id) == before, f"{trigger} refused in {state} wrote something"
        for t in walker.compiled.transitions_from(state):
            if not any(f.type == "bool" and f.required for f in t.fields) or not t.guards:
                continue
            before = walker.snapshot(case_id)
            with pytest.raises(GuardFailed) as info:
                walker.fire(case_id, t, data=walker.data(t, bools=False))
            assert info.value.details["reasons"], "a failing guard says why (in Chinese)"
            assert walker.snapshot(case_id) == before, f"failed guard of {t.trigger} in {state} wrote something"
            refused_guards += 1
    assert refused_guards >= 2


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_diagram_comes_from_the_running_machine(engine, path):
    with engine.connect() as conn:
        compiled = REGISTRY.current(conn, path.stem)
    text = mermaid(compiled)
    assert text.startswith("stateDiagram-v2\n")
    assert f"[*] --> {compiled.spec.initial}" in text
    for name, state in compiled.spec.states.items():
        assert f'state "{state.label}" as {name}' in text
        assert (f"{name} --> [*]" in text) == state.final
    for t in compiled.spec.transitions:
        if t.dest:
            for source in t.sources:
                edge = next(line for line in text.splitlines() if line.strip().startswith(f"{source} --> {t.dest} :"))
                assert t.label in edge
