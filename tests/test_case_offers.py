"""What the case page and the API offer, in which order: the usual next step first (the state's ``next`` in the
workflow file), rare steps last, and no step a guard refuses whatever is typed (``rules.PRECHECKS``) — over the
real workflow files, through the engine on both back ends."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from factories import PASSWORD, drive, happy_path, register
from fastapi.testclient import TestClient
from test_recording_for_others import clerk  # noqa: F401  (fixture)

from mediation_flow.cases.offers import PRIMARY, RARE, USUAL, offers
from mediation_flow.cases.views import case_page
from mediation_flow.errors import GuardFailed, TriggerNotAllowed
from mediation_flow.workflow.registry import WorkflowFileError, parse_workflow, read_workflow_file
from mediation_flow.workflow.rules import PRECHECKS, RuleContext
from web.app import create_app

FILES = sorted((Path(__file__).resolve().parents[1] / "workflows").glob("*.yaml"))
GROUPS = ("primary", "usual", "other", "rare")


def offered(engine, town, who: str, case_id: int) -> list[tuple[str, str]]:
    return [(t.trigger, t.group) for t in case_page(engine, town[who], case_id).triggers]


def primary(engine, town, who: str, case_id: int) -> str | None:
    return next((t for t, group in offered(engine, town, who, case_id) if group == PRIMARY), None)


def test_the_mediator_is_offered_the_usual_next_step_first_along_the_happy_path(engine, town):
    """受理 after 登记, 开始调解 after 受理, 记录调解 then 达成协议, 开始回访, 记录回访, then 调解成功结案."""
    case_id = register(engine, town, "grid_worker")
    expected = ["accept", "start_mediation", "record_session", "reach_agreement", "start_follow_up", "record_visit"]
    expected += ["close_resolved"]
    version = 1
    for (trigger, data), first in zip(happy_path(), expected, strict=True):
        shown = offered(engine, town, "mediator", case_id)
        assert shown[0] == (first, PRIMARY), (trigger, shown)
        ranks = [GROUPS.index(group) for _, group in shown]
        assert ranks == sorted(ranks), shown  # primary, usual, other, rare: in that order
        assert [t for t, group in shown if group == PRIMARY] == [first]
        version = drive(engine, case_id, town["mediator"], [(trigger, data)], version=version).version
    assert primary(engine, town, "mediator", case_id) is None  # resolved: nothing usual is left


def test_rare_steps_come_last_and_the_usual_ones_before_the_rest(engine, town):
    case_id = register(engine, town, "grid_worker")
    drive(engine, case_id, town["mediator"], happy_path()[:2])  # 调解中
    shown = offered(engine, town, "supervisor", case_id)
    assert shown[:2] == [("record_session", PRIMARY), ("reach_agreement", USUAL)]
    rare = [t for t, group in shown if group == RARE]
    assert {"suspend", "refer", "withdraw", "escalate", "correct", "extend"} <= set(rare)
    assert [t for t, _ in shown[-len(rare) :]] == rare
    assert ("fail", "other") in shown and ("add_note", "other") in shown


def test_a_step_taken_in_this_state_moves_behind_the_usual_ones_not_yet_taken(engine, town):
    """Once a session is recorded, 达成协议 comes first; 记录调解 is still offered, after it."""
    case_id = register(engine, town, "grid_worker")
    result = drive(engine, case_id, town["mediator"], happy_path()[:2])
    assert primary(engine, town, "mediator", case_id) == "record_session"
    drive(engine, case_id, town["mediator"], happy_path()[2:3], version=result.version)
    shown = offered(engine, town, "mediator", case_id)
    assert shown[:2] == [("reach_agreement", PRIMARY), ("record_session", USUAL)]


def test_close_resolved_is_refused_whatever_is_typed_until_a_visit_is_recorded(engine, town):
    case_id = register(engine, town, "grid_worker")
    result = drive(engine, case_id, town["mediator"], happy_path()[:5])  # 回访中, no visit yet
    page = case_page(engine, town["mediator"], case_id)
    assert "close_resolved" not in [t.trigger for t in page.triggers]
    assert page.refused["close_resolved"] == "结案前须至少记录一次回访"
    assert primary(engine, town, "mediator", case_id) == "record_visit"
    with pytest.raises(GuardFailed):  # the engine agrees: refused, nothing written
        drive(engine, case_id, town["mediator"], [("close_resolved", {})], version=result.version)
    drive(engine, case_id, town["mediator"], happy_path()[5:6], version=result.version)
    shown = offered(engine, town, "mediator", case_id)
    assert shown[:2] == [("close_resolved", PRIMARY), ("record_visit", USUAL)]  # 结案 after 回访


def test_a_supervisor_is_offered_assign_before_mediation_on_an_unassigned_case(engine, town):
    """开始调解 needs a mediator (mediator_assigned, judged from the case and who acts): the supervisor of an
    unassigned case is offered 指派调解员 first, and 开始调解 only once someone is assigned."""
    case_id = register(engine, town, "grid_worker")
    result = drive(engine, case_id, town["supervisor"], happy_path()[:1])  # accepted by the supervisor: no mediator
    page = case_page(engine, town["supervisor"], case_id)
    assert "start_mediation" not in [t.trigger for t in page.triggers]
    assert page.refused["start_mediation"] == "请先指派调解员"
    assert primary(engine, town, "supervisor", case_id) == "assign"
    assert primary(engine, town, "mediator", case_id) == "start_mediation"  # a mediator takes it on themself
    with pytest.raises(GuardFailed):
        drive(engine, case_id, town["supervisor"], happy_path()[1:2], version=result.version)
    drive(engine, case_id, town["supervisor"], [("assign", {"mediator_id": town["mediator"].id})], version=2)
    assert primary(engine, town, "supervisor", case_id) == "start_mediation"


def test_a_step_that_depends_on_what_is_typed_is_still_offered(engine, town):
    """受理 needs 已告知权利义务 ticked, 达成协议 a complete written agreement: judged when fired, so offered."""
    case_id = register(engine, town, "grid_worker")
    assert primary(engine, town, "mediator", case_id) == "accept"
    with pytest.raises(GuardFailed):
        drive(engine, case_id, town["mediator"], [("accept", {"rights_notified": False})])


def test_extension_is_offered_while_days_are_left(engine, town):
    case_id = register(engine, town, "grid_worker")
    result = drive(engine, case_id, town["mediator"], happy_path()[:2])
    assert ("extend", RARE) in offered(engine, town, "supervisor", case_id)
    assert "extend" not in dict(offered(engine, town, "mediator", case_id))  # not the mediator's step at all
    extend = {"days": 30, "parties_consent": True, "reason": "等待伤情鉴定"}
    result = drive(engine, case_id, town["supervisor"], [("extend", extend)], version=result.version)
    page = case_page(engine, town["supervisor"], case_id)
    assert "extend" not in [t.trigger for t in page.triggers]
    assert page.refused["extend"] == "期限已延长至上限，不能再延长"
    with pytest.raises(GuardFailed):
        drive(engine, case_id, town["supervisor"], [("extend", {**extend, "days": 1})], version=result.version)


def test_a_red_case_is_not_offered_a_grade_change_the_mediator_may_not_make(engine, town):
    case_id = register(engine, town, "grid_worker")
    red = {"grade": "red", "reason": "双方扬言动手"}
    drive(engine, case_id, town["supervisor"], [("set_risk", red)])
    assert "set_risk" not in dict(offered(engine, town, "mediator", case_id))
    assert ("set_risk", RARE) in offered(engine, town, "supervisor", case_id)


def test_a_form_refused_whatever_is_typed_says_why(engine, town):
    from mediation_flow.cases.forms import trigger_form

    case_id = register(engine, town, "grid_worker")
    drive(engine, case_id, town["mediator"], happy_path()[:5])
    view = case_page(engine, town["mediator"], case_id)
    with pytest.raises(TriggerNotAllowed, match="结案前须至少记录一次回访"):
        trigger_form(engine, town["mediator"], view, "close_resolved")


def test_a_clerk_is_offered_what_a_handler_could_do(engine, town, clerk):  # noqa: F811
    """代录: the clerk names who acted when recording, so a step is offered if it passes for some handler's role
    (开始调解 on an unassigned case: a mediator could take it on, though a supervisor could not)."""
    case_id = register(engine, town, "grid_worker")
    drive(engine, case_id, town["supervisor"], happy_path()[:1])  # accepted, nobody assigned
    assert "start_mediation" not in dict(offered(engine, town, "supervisor", case_id))
    assert case_page(engine, clerk, case_id).triggers[0].trigger == "start_mediation"


def test_the_api_lists_what_the_page_offers_in_the_same_order(engine, town):
    case_id = register(engine, town, "grid_worker")
    drive(engine, case_id, town["mediator"], happy_path()[:5])
    with TestClient(create_app(engine)) as client:
        token = client.post("/api/v1/auth/token", data={"username": "mediator", "password": PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        listed = client.get(f"/api/v1/cases/{case_id}", headers=headers).json()["available_triggers"]
    assert [(t["trigger"], t["group"]) for t in listed] == offered(engine, town, "mediator", case_id)
    assert listed[0]["trigger"] == "record_visit" and "close_resolved" not in [t["trigger"] for t in listed]


# --- over the workflow files ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_open_state_names_its_usual_next_step(path):
    spec = read_workflow_file(path)[0]
    for name, state in spec.states.items():
        if not state.final:
            assert state.next, f"{spec.name}: state {name} names no usual next step"


class _Untyped(Mapping[str, Any]):
    """The form before anything is typed: a precheck that reads it fails the test."""

    def __getitem__(self, key: str) -> Any:
        raise AssertionError(f"a precheck read the typed field {key!r}")

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("a precheck read the typed form")

    def __len__(self) -> int:
        raise AssertionError("a precheck read the typed form")

    def get(self, key: str, default: Any = None) -> Any:
        raise AssertionError(f"a precheck read the typed field {key!r}")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_prechecks_never_read_what_is_typed(path, engine, town):
    """Every guard judged before typing is judged from the case, its events and who acts — in every state of
    every workflow, for every role that may take the step."""
    spec = read_workflow_file(path)[0]
    case_id = register(engine, town, "grid_worker")
    row = case_page(engine, town["supervisor"], case_id).case
    judged = 0
    for state in spec.states:
        for t in spec.transitions:
            if not (t.source == "*" or state in t.sources):
                continue
            for role in t.roles:
                for guard in (g for g in t.guards if g in PRECHECKS):
                    ctx = RuleContext(
                        case={**row, "state": state}, data=_Untyped(),  # type: ignore[arg-type]
                        actor_id=1, actor_role=role.value, effective_at=row["created_at"],
                        effective_date=row["created_at"].date(), count_events=lambda _t: 0,
                        last_event_data=lambda _t: None, workflow=spec,
                    )  # fmt: skip
                    PRECHECKS[guard](ctx)
                    judged += 1
    assert judged > 0


def _people_mediation() -> dict[str, Any]:
    return yaml.safe_load(FILES[[p.stem for p in FILES].index("people_mediation")].read_text("utf-8"))


@pytest.mark.parametrize(
    ("state", "next_steps", "message"),
    [
        ("registered", ["accept", "accept"], "named twice"),
        ("registered", ["close_resolved"], "is not a step from this state"),
        ("registered", ["no_such_step"], "is not a step from this state"),
        ("mediating", ["suspend"], "is marked rare"),
    ],
)
def test_a_bad_next_list_is_refused_on_load(state, next_steps, message):
    raw = _people_mediation()
    raw["states"][state]["next"] = next_steps
    with pytest.raises(WorkflowFileError, match=message) as refused:
        parse_workflow(raw, path="people_mediation.yaml")
    assert f"states.{state}.next" in str(refused.value)


def test_offers_of_a_case_with_no_events_judge_only_the_row(engine, town):
    case_id = register(engine, town, "grid_worker")
    page = case_page(engine, town["mediator"], case_id)
    assert offers(page.workflow, page.case, town["mediator"], []).options == page.triggers
