"""Workflow files: validated on load with file and field named; one Machine per version; cases pinned."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from factories import drive, happy_path, register
from sqlalchemy import select

from mediation_flow.store.db import write_transaction
from mediation_flow.store.models import Case
from mediation_flow.workflow import registry as registry_module
from mediation_flow.workflow.registry import WorkflowFileError, WorkflowRegistry, read_workflow_file, workflows_dir

BASE = workflows_dir() / "people_mediation.yaml"


def write(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load(BASE.read_text("utf-8"))
    mutate(data)
    path = tmp_path / "people_mediation.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return path


def _performance(data: dict) -> dict:
    """reach_agreement's 履行方式 field (required when the agreement is written)."""
    step = next(t for t in data["transitions"] if t["trigger"] == "reach_agreement")
    return next(f for f in step["fields"] if f["name"] == "performance")


def _joint(data: dict, name: str) -> dict:
    """start_mediation's 一庭两所 field ``name`` (the court's name is required when 人民法庭 is ticked)."""
    step = next(t for t in data["transitions"] if t["trigger"] == "start_mediation")
    return next(f for f in step["fields"] if f["name"] == name)


def _outcome(data: dict) -> dict:
    """agency_feedback's 办理结果 (each kind of agency offered its own outcomes)."""
    step = next(t for t in data["transitions"] if t["trigger"] == "agency_feedback")
    return next(f for f in step["fields"] if f["name"] == "result")


@pytest.mark.parametrize(
    ("mutate", "field", "message"),
    [
        (lambda d: d.update(initial="limbo"), "initial", "unknown state 'limbo'"),
        (lambda d: d["transitions"][0].update(dest="nowhere"), "dest", "unknown state 'nowhere'"),
        (lambda d: d["transitions"][0].update(roles=["emperor"]), "transitions.0.roles.0", "Input should be"),
        (lambda d: d["transitions"][0].update(guards=["moon_is_full"]), "transitions.0.guards", "moon_is_full"),
        (lambda d: d["clocks"]["mediation"].pop("basis"), "clocks.mediation.basis", "Field required"),
        (lambda d: d["clocks"]["mediation"].update(stops_on=["teleport"]), "stops_on", "teleport"),
        (lambda d: d["transitions"][1]["fields"][0].update(type="colour"), "transitions.1.fields.0.type", ""),
        (lambda d: d["states"]["accepted"].update(colour="red"), "states.accepted.colour", "Extra inputs"),
        (lambda d: _performance(d).update(required_when={"shape": "written"}), "transitions", "'shape' is not"),
        (lambda d: _performance(d).update(required_when={"form": "carved"}), "transitions", "'carved' is not a"),
        (lambda d: _performance(d).update(required=True), "transitions", "takes no required_when"),
        (lambda d: _performance(d).update(type="bool"), "transitions", "of type bool takes no required_when"),
        (
            lambda d: _joint(d, "joint_court").update(required_when={"joint_agencies": "army"}),
            "transitions",
            "'army' is",
        ),
        (
            lambda d: _joint(d, "joint_court").update(required_when={"joint_judge": "x"}),
            "transitions",
            "'joint_judge' is",
        ),
        (
            lambda d: _joint(d, "joint_agencies").update(required_when={"venue": "x"}),
            "transitions",
            "multichoice takes",
        ),
        (lambda d: _performance(d).update(shown_when={"shape": "written"}), "transitions", "'shape' is not another"),
        (lambda d: _performance(d).update(shown_when={"form": "carved"}), "transitions", "'carved' is not a choice"),
        (lambda d: _outcome(d)["choices_by_agency"].update(court=["judged", "jailed"]), "transitions", "jailed not in"),
        (lambda d: _outcome(d)["choices_by_agency"].update(army=["other"]), "choices_by_agency.army", ""),
        (lambda d: _outcome(d)["choices_by_agency"].update(police=[]), "transitions", "empty or repeated"),
        (lambda d: _performance(d).update(choices_by_agency={"police": ["x"]}), "transitions", "needs inline choices"),
    ],
)
def test_invalid_file_names_file_and_field(tmp_path, mutate, field, message):
    path = write(tmp_path, mutate)
    with pytest.raises(WorkflowFileError) as info:
        read_workflow_file(path)
    assert str(path) in str(info.value)
    assert field in info.value.field or field in info.value.message
    assert message in str(info.value)


def test_required_when_a_multichoice_box_is_ticked_loads(tmp_path):
    """``required_when: {joint_agencies: tribunal}`` on 一庭两所's court: a multichoice condition (that box ticked),
    its value a code of the multichoice's reference-data kind; an inline multichoice's choice loads as well."""
    spec, _definition = read_workflow_file(BASE)
    for trigger in ("start_mediation", "record_session"):
        fields = {f.name: f for t in spec.transitions_for(trigger) for f in t.fields}
        assert fields["joint_court"].required_when == {"joint_agencies": "tribunal"}
        assert fields["joint_police"].required_when == {"joint_agencies": "police_station"}
        assert not fields["joint_judge"].required_when and not fields["joint_officer"].required_when

    def inline(d: dict) -> None:
        _joint(d, "joint_agencies").update(choices={"court": "法庭", "police": "派出所"})
        _joint(d, "joint_court").update(
            shown_when={"joint_agencies": "court"}, required_when={"joint_agencies": "court"}
        )
        _joint(d, "joint_police").update(shown_when={}, required_when={"joint_agencies": "police"})
        _joint(d, "joint_judge").update(shown_when={})
        _joint(d, "joint_officer").update(shown_when={})

    changed, _definition = read_workflow_file(write(tmp_path, inline))
    fields = {f.name: f for f in changed.transitions_for("start_mediation")[0].fields}
    assert fields["joint_police"].required_when == {"joint_agencies": "police"}


def test_yaml_syntax_error_names_the_file(tmp_path):
    path = tmp_path / "people_mediation.yaml"
    path.write_text("name: [unclosed\n", "utf-8")
    with pytest.raises(WorkflowFileError) as info:
        read_workflow_file(path)
    assert info.value.path == str(path) and info.value.field == "(syntax)"


def test_one_machine_per_version_shared_by_every_case(sqlite_engine):
    registry = WorkflowRegistry()
    built = []
    original = registry_module.build_machine

    def counting(spec):
        built.append(spec.name)
        return original(spec)

    registry_module.build_machine = counting
    try:
        with sqlite_engine.connect() as conn:
            registry.sync(conn)
            first = registry.get(conn, "people_mediation", 1)
            for _ in range(50):
                assert registry.get(conn, "people_mediation", 1).machine is first.machine
    finally:
        registry_module.build_machine = original
    assert built.count("people_mediation") == 1


def test_changed_file_is_a_new_version_and_old_cases_keep_working(sqlite_engine, tmp_path, monkeypatch):
    from factories import make_town

    town = make_town(sqlite_engine)
    old_case = register(sqlite_engine, town)
    folder = tmp_path / "wf"
    shutil.copytree(workflows_dir(), folder)
    changed = folder / "people_mediation.yaml"
    data = yaml.safe_load(changed.read_text("utf-8"))
    data["states"]["registered"]["label"] = "已登记（新版）"
    data["clocks"]["mediation"]["duration"] = 45
    changed.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    with write_transaction(sqlite_engine) as conn:
        versions = registry_module.REGISTRY.sync(conn, folder)
    try:
        assert versions["people_mediation"] == 2
        new_case = register(sqlite_engine, town)
        with sqlite_engine.connect() as conn:
            pinned = dict(conn.execute(select(Case.__table__.c.id, Case.__table__.c.workflow_version)).all())
        assert pinned == {old_case: 1, new_case: 2}
        assert drive(sqlite_engine, old_case, town["mediator"], happy_path()).state == "resolved"
        assert drive(sqlite_engine, new_case, town["mediator"], happy_path()).state == "resolved"
        # the same content again is the same version, not a third one
        with write_transaction(sqlite_engine) as conn:
            assert registry_module.REGISTRY.sync(conn, folder)["people_mediation"] == 2
    finally:
        with write_transaction(sqlite_engine) as conn:
            registry_module.REGISTRY.sync(conn)


def test_a_case_under_way_keeps_its_versions_rules_for_the_joint_units(sqlite_engine, tmp_path):
    """The 一庭两所 unit required when ticked came with a new content of the file: a case registered under the
    version before it (the same file without those ``required_when``) still takes 开始调解 with 人民法庭 ticked and
    no court named; a case registered under the current version is refused."""
    from factories import make_town

    from mediation_flow.errors import InvalidData

    town = make_town(sqlite_engine)
    folder = tmp_path / "wf"
    shutil.copytree(workflows_dir(), folder)
    before = folder / "people_mediation.yaml"
    data = yaml.safe_load(before.read_text("utf-8"))
    for trigger in ("start_mediation", "record_session"):
        for name in ("joint_court", "joint_police"):
            step = next(t for t in data["transitions"] if t["trigger"] == trigger)
            next(f for f in step["fields"] if f["name"] == name).pop("required_when")
    before.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    try:
        with write_transaction(sqlite_engine) as conn:
            old_version = registry_module.REGISTRY.sync(conn, folder)["people_mediation"]
        old_case = register(sqlite_engine, town)
        with write_transaction(sqlite_engine) as conn:
            assert registry_module.REGISTRY.sync(conn)["people_mediation"] != old_version
        new_case = register(sqlite_engine, town)
        start = {"all_parties_consent": True, "joint_agencies": ["tribunal"]}
        for case_id in (old_case, new_case):
            drive(sqlite_engine, case_id, town["mediator"], [("accept", {"rights_notified": True})])
        with pytest.raises(InvalidData) as info:
            drive(sqlite_engine, new_case, town["mediator"], [("start_mediation", start)], version=2)
        assert [e["field"] for e in info.value.errors] == ["joint_court"]
        assert (
            drive(sqlite_engine, old_case, town["mediator"], [("start_mediation", start)], version=2).state
            == "mediating"
        )
        with sqlite_engine.connect() as conn:
            pinned = dict(conn.execute(select(Case.__table__.c.id, Case.__table__.c.workflow_version)).all())
        assert pinned[old_case] == old_version and pinned[new_case] != old_version
    finally:
        with write_transaction(sqlite_engine) as conn:
            registry_module.REGISTRY.sync(conn)


# --- extends: every bad change is refused, naming the extending file and the field -----------------


def write_child(tmp_path: Path, mutate, name: str = "police_referral") -> Path:
    """A folder with the real base and one extending file, changed by ``mutate``."""
    folder = tmp_path / "wf"
    folder.mkdir(exist_ok=True)
    shutil.copy(BASE, folder / BASE.name)
    data = yaml.safe_load((workflows_dir() / f"{name}.yaml").read_text("utf-8"))
    mutate(data)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return path


@pytest.mark.parametrize(
    ("mutate", "field", "message"),
    [
        (lambda d: d.update(extends="nobody"), "extends", "no workflow 'nobody'"),
        (lambda d: d.update(extends="People Mediation"), "extends", "names a workflow file"),
        (lambda d: d.update(extends="police_referral"), "extends", "a cycle: police_referral → police_referral"),
        (lambda d: d.pop("name"), "name", "Field required"),
        (lambda d: d.update(colour="red"), "colour", "Extra inputs"),
        (lambda d: d["transitions"].update(replace=[]), "transitions.replace", "Extra inputs"),
        (lambda d: d["states"]["remove"].append("limbo"), "states.remove[1]", "'limbo' is not in the base"),
        (
            lambda d: d["transitions"]["remove"].insert(0, "close"),
            "transitions.remove[0]",
            "'close' names 2 transitions; pick one as close@<source state>",
        ),
        (lambda d: d["transitions"]["remove"].append("close@mediating"), "transitions.remove[7]", "close@mediating"),
        (
            lambda d: d["clocks"]["add"].update(acceptance={"label": "受理"}),
            "clocks.add.acceptance",
            "'acceptance' is already in the base workflow 'people_mediation'; change it with override",
        ),
        (
            lambda d: d["transitions"]["override"].update(teleport={"label": "瞬移"}),
            "transitions.override.teleport",
            "'teleport' is not in the base",
        ),
        (
            lambda d: d["transitions"]["override"]["close_resolved"].update(after="nowhere"),
            "transitions.override.close_resolved.after",
            "'nowhere' is not in the base",
        ),
        (
            lambda d: d["transitions"]["add"][0].update(before="accept"),
            "transitions.add[0]",
            "either after or before",
        ),
        (
            lambda d: d["transitions"]["override"].update(accept={"trigger": "welcome"}),
            "transitions.override.accept.trigger",
            "not renamed by override",
        ),
        (lambda d: d["transitions"]["override"].update(accept={}), "transitions.override.accept", "at least one key"),
        # errors in the resolved definition name the transition and say it was resolved from the base
        (
            lambda d: d["transitions"]["override"].pop("set_risk"),
            "(top level)",
            "(set_risk).source: unknown state 'referred' (in the definition resolved from extends: people_mediation)",
        ),
        (
            lambda d: d["transitions"]["add"][0].update(guards=["moon_is_full"]),
            "transitions.15.guards",
            "unknown guard 'moon_is_full' (transition 'report_back'; in the definition resolved from extends",
        ),
    ],
)
def test_invalid_extension_names_file_and_field(tmp_path, mutate, field, message):
    path = write_child(tmp_path, mutate)
    with pytest.raises(WorkflowFileError) as info:
        read_workflow_file(path)
    assert info.value.path == str(path)
    assert info.value.field == field
    assert message in info.value.message


def test_extends_cycle_through_two_files_is_refused(tmp_path):
    for name, other in (("a", "b"), ("b", "a")):
        (tmp_path / f"{name}.yaml").write_text(f"extends: {other}\nname: {name}\n", "utf-8")
    with pytest.raises(WorkflowFileError) as info:
        read_workflow_file(tmp_path / "a.yaml")
    assert (info.value.path, info.value.field) == (str(tmp_path / "b.yaml"), "extends")
    assert info.value.message == "a cycle: a → b → a"


def test_a_bad_base_is_reported_against_the_base_file(tmp_path):
    path = write_child(tmp_path, lambda d: None)
    base = path.parent / BASE.name
    data = yaml.safe_load(base.read_text("utf-8"))
    data["initial"] = "limbo"
    base.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    with pytest.raises(WorkflowFileError) as info:
        read_workflow_file(path)
    assert info.value.path == str(base) and "unknown state 'limbo'" in info.value.message


def test_a_change_to_the_base_reaches_every_workflow_that_extends_it(sqlite_engine, tmp_path):
    folder = tmp_path / "wf"
    shutil.copytree(workflows_dir(), folder)
    base = folder / BASE.name
    data = yaml.safe_load(base.read_text("utf-8"))
    (agreement,) = (t for t in data["transitions"] if t["trigger"] == "reach_agreement")
    agreement["label"] = "达成调解协议（新）"
    base.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    for path in sorted(folder.glob("*.yaml")):
        (changed,) = read_workflow_file(path)[0].transitions_for("reach_agreement")
        assert changed.label == "达成调解协议（新）", path.stem
    with write_transaction(sqlite_engine) as conn:
        versions = registry_module.REGISTRY.sync(conn, folder)
    try:
        names = ("people_mediation", "police_referral", "petition_referral", "court_referral")
        assert versions == dict.fromkeys(names, 2)
    finally:
        with write_transaction(sqlite_engine) as conn:
            registry_module.REGISTRY.sync(conn)
