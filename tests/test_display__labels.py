"""Every code a person can see has a Chinese label, in data: the glossary for the program's own vocabulary,
the workflow files for states, triggers and their fields, the definitions for figures, the reference data for
categories and sources. No English leaks onto a page, a printout or an export."""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib import resources
from typing import get_args

import pytest
import yaml

from mediation_flow.cases.schemas import CaseCreate, PartyCreate, TransitionCreate, workflow_file_specs
from mediation_flow.display.labels import field_label, glossary, label, labels, ledger_columns, office_label
from mediation_flow.stats.definitions import figures_at, load_definitions
from mediation_flow.stats.drilldown import drill_definition, drillable
from mediation_flow.vocabulary import AgencyKind, Handoff, Level, PartyKind, PartyRole, Role
from mediation_flow.workflow.deadlines import Status
from mediation_flow.workflow.registry import workflows_dir

CHINESE = re.compile(r"[\u4e00-\u9fff]")
SPECS = workflow_file_specs()


def chinese(text: str) -> bool:
    return bool(CHINESE.search(text))


@pytest.mark.parametrize(
    ("kind", "enum"),
    [
        ("roles", Role),
        ("levels", Level),
        ("party_roles", PartyRole),
        ("party_kinds", PartyKind),
        ("agency_kinds", AgencyKind),
        ("handoff", Handoff),
    ],
)
def test_every_enum_member_has_its_label_and_nothing_more(kind, enum):
    assert set(labels(kind)) == {member.value for member in enum}
    for member in enum:
        assert chinese(member.label), member
        assert member.label == label(kind, member) == label(kind, member.value)


def test_every_clock_status_has_a_label():
    assert set(labels("clock_status")) == set(get_args(Status))


def test_every_field_a_client_sends_is_named_in_chinese():
    for model in (CaseCreate, PartyCreate, TransitionCreate):
        for name in model.model_fields:
            assert chinese(field_label(name)), f"{model.__name__}.{name}"


def test_the_glossary_has_only_chinese_words():
    for kind, entries in glossary().items():
        values = entries.values() if isinstance(entries, Mapping) else entries
        for value in values:
            assert chinese(value), (kind, value)
    assert len(ledger_columns()) == len(set(ledger_columns())) == 22


def test_an_unknown_code_shows_as_itself_and_none_as_nothing():
    assert (label("levels", "moon"), label("levels", None), label("levels", "moon", "—")) == ("moon", "", "—")


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_every_state_trigger_field_and_clock_of_every_workflow_has_a_chinese_label(spec):
    assert chinese(spec.title)
    for name, state in spec.states.items():
        assert chinese(state.label), f"{spec.name}: state {name}"
    for clock_name, clock in spec.clocks.items():
        assert chinese(clock.label), f"{spec.name}: clock {clock_name}"
    for field in spec.intake_fields:
        assert chinese(field.label), f"{spec.name}: intake field {field.name}"
    for t in spec.transitions:
        assert chinese(t.label), f"{spec.name}: trigger {t.trigger}"
        for field in t.fields:
            assert chinese(field.label), f"{spec.name}: {t.trigger}.{field.name}"
            if isinstance(field.choices, dict):
                assert all(chinese(v) for v in field.choices.values()), f"{spec.name}: {t.trigger}.{field.name}"
    assert len(SPECS) == len(list(workflows_dir().glob("*.yaml")))


def test_figures_and_reference_data_are_named_in_chinese():
    for key, figure in load_definitions().figures.items():
        assert chinese(figure.label), key
    reference = yaml.safe_load(resources.files("mediation_flow").joinpath("data/reference.yaml").read_text("utf-8"))
    for kind, items in reference.items():
        for code, text in items.items():
            assert chinese(str(text)), (kind, code)


def test_every_figure_a_page_drills_into_is_titled_and_explained_in_chinese():
    """The list behind a number (/reports/cases) is titled by the figure's definition and shows its 统计口径:
    each drillable figure has one, the monthly rows and the pass's internal names included."""
    for figure in drillable():
        for level in ("county", "township", "village", "grid"):
            definition = drill_definition(figure, level)
            assert chinese(definition.label) and definition.numerator, figure
            assert not re.search(r"[a-z]{3,}_[a-z]", definition.label), figure


def test_a_breakdown_by_place_is_named_by_what_the_jurisdictions_children_are():
    """A county's report groups its cases by township, a village's by grid: the heading says so."""
    labels = {level: figures_at(level)["by_village"].label for level in ("county", "township", "village", "grid")}
    assert labels == {"county": "按乡镇（街道）", "township": "按村（社区）", "village": "按网格", "grid": "按所属辖区"}


@pytest.mark.parametrize("role", list(Role))
def test_every_page_in_the_navigation_is_named(role):
    from types import SimpleNamespace

    from web.pages.common import nav_items

    items = nav_items(SimpleNamespace(role=role, scope_path=None))  # type: ignore[arg-type]
    assert items and all(path.startswith("/") and chinese(name) for path, name in items)


def test_a_county_supervisor_works_for_the_county_bureau_a_township_one_for_the_township() -> None:
    assert office_label(Role.SUPERVISOR, "/1/") == "县司法局"
    assert office_label(Role.SUPERVISOR, "/1/2/") == label("roles", "supervisor") == "司法所/综治中心"
    assert office_label(Role.MEDIATOR, "/1/") == "人民调解员"
    assert office_label(Role.ADMIN, None) == "管理员"


def test_the_register_pages_heading_is_the_glossarys_name_of_the_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """登记纠纷 is named once, in the glossary's ``pages``: the registration page's heading (and its title and
    the navigation, which use the same function) reads it there, so renaming the page renames its heading."""
    from mediation_flow.accounts.policy import Actor
    from mediation_flow.cases.intake_paths import register_heading
    from mediation_flow.display import labels as labels_module

    mediator = Actor(id=1, username="m", role=Role.MEDIATOR, scope_path="/1/")
    assert register_heading(mediator) == label("pages", "/register") == "登记纠纷"
    renamed = {**glossary(), "pages": {**labels("pages"), "/register": "登记矛盾纠纷"}}
    monkeypatch.setattr(labels_module, "glossary", lambda: renamed)
    assert register_heading(mediator) == "登记矛盾纠纷"
    police = Actor(id=2, username="p", role=Role.POLICE_LIAISON, scope_path="/1/")
    assert register_heading(police) == label("agency_refer", AgencyKind.POLICE)  # an agency names its own action
