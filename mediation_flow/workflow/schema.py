"""The schema of a workflow file. Every error names the file and the field."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mediation_flow.places.reference import builtin_reference
from mediation_flow.vocabulary import AgencyKind, Role

FieldType = Literal["text", "longtext", "bool", "int", "money", "date", "choice", "multichoice", "user"]
CREATION_TRIGGER = "register"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StateSpec(_Strict):
    """A state. ``next``: the steps a mediator usually takes from it, most usual first (the case page's first
    button is the first of them the user may take now; ``cases.offers``)."""

    label: str = Field(min_length=1)
    final: bool = False
    next: list[str] = []


class FieldSpec(_Strict):
    """One piece of data a trigger asks for. ``choices`` is a reference-data kind or an inline map."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1)
    type: FieldType
    required: bool = False
    max_length: int | None = Field(default=None, gt=0)
    min: int | None = None
    max: int | None = None
    choices: str | dict[str, str] | None = None
    # The choices a partner agency's user is offered, by agency kind (a police station's outcomes are not a
    # court's): codes of the inline ``choices``, in the order offered. ``choices`` keeps every label (the
    # timeline, the figures); a kind not named, and everyone else, is offered all of them.
    choices_by_agency: dict[AgencyKind, list[str]] = {}
    only_with: str | None = None  # the name of a bool field of the same form that must be true for this one
    # Required when each named choice field of the same form has the given value (a written agreement's 履行方式),
    # or each named multichoice field has it ticked (一庭两所: the court's name when 人民法庭 is ticked). A rule:
    # the step refuses without it. The value is a code of the field's inline choices or of its reference-data
    # kind as the program ships it (``data/reference.yaml``), checked on load.
    required_when: dict[str, str] = {}
    # Shown on the form only when each named choice or multichoice field of the same form has the given value (a
    # multichoice: that box ticked; 一庭两所's court and judge when 人民法庭 is ticked). How the form looks, not a
    # rule: what the step accepts is unchanged, and a form without script shows the field.
    shown_when: dict[str, str] = {}
    # Date rules (type date only): not after today (local date), and not before each named day — the case's
    # start (``case_start``: registration's effective date) or another date field of the same form.
    not_future: bool = False
    not_before: list[str] = []

    @model_validator(mode="after")
    def _choices_for_choice_types(self) -> FieldSpec:
        if self.type in ("choice", "multichoice") and not self.choices:
            raise ValueError(f"field '{self.name}' of type {self.type} needs choices")
        if self.type not in ("choice", "multichoice") and self.choices:
            raise ValueError(f"field '{self.name}' of type {self.type} takes no choices")
        if self.choices_by_agency and not isinstance(self.choices, dict):
            raise ValueError(f"field '{self.name}': choices_by_agency needs inline choices")
        for kind, codes in self.choices_by_agency.items():
            unknown = [c for c in codes if c not in (self.choices or {})]
            if unknown or not codes or len(set(codes)) != len(codes):
                problem = f"{', '.join(unknown)} not in its choices" if unknown else "empty or repeated codes"
                raise ValueError(f"field '{self.name}': choices_by_agency.{kind.value}: {problem}")
        if self.type != "date" and (self.not_future or self.not_before):
            raise ValueError(f"field '{self.name}' of type {self.type} takes no date rules")
        if self.required and self.required_when:
            raise ValueError(f"field '{self.name}' is required: it takes no required_when")
        if self.required_when and self.type in ("bool", "multichoice"):
            raise ValueError(f"field '{self.name}' of type {self.type} takes no required_when")
        return self


class TransitionSpec(_Strict):
    trigger: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1)
    source: str | list[str]
    dest: str | None = None
    roles: list[Role] = Field(min_length=1)
    fields: list[FieldSpec] = []
    guards: list[str] = []
    effects: list[str] = []
    basis: str = ""
    rare: bool = False  # an administrative or seldom step (更正, 转出, 中止 …): the case page groups it after the rest

    @property
    def sources(self) -> list[str]:
        return [self.source] if isinstance(self.source, str) else list(self.source)

    @property
    def internal(self) -> bool:
        """An internal trigger keeps the state but still writes an event."""
        return self.dest is None


class ExtendSpec(_Strict):
    """How a clock is lengthened: by which trigger, by how much in all, approved by whom, and which
    of the trigger's fields must be true or filled (e.g. the parties' consent, an approval reference)."""

    trigger: str
    max_days: int = Field(gt=0)
    approver_roles: list[Role] = Field(min_length=1)
    requires: list[str] = []


class DurationRule(_Strict):
    """A clock length that applies when the case's intake attributes match ``when`` (all of them)."""

    when: dict[str, str] = Field(min_length=1)
    duration: int = Field(gt=0)


class ClockSpec(_Strict):
    """A legal or local time limit: when it starts, stops, pauses, how it is extended, and why.

    ``duration_by`` lists lengths that depend on intake attributes (first match wins; ``duration``
    otherwise), e.g. a court referral's 30 days (委派) or 15/7 days (委托, ordinary/simplified).
    """

    label: str = Field(min_length=1)
    duration: int = Field(gt=0)
    duration_by: list[DurationRule] = []
    unit: Literal["calendar_days", "working_days"]
    starts_on: list[str] = Field(min_length=1)
    stops_on: list[str] = Field(min_length=1)
    pauses_in: list[str] = []
    starts_if: dict[str, list[str]] = {}
    extend: ExtendSpec | None = None
    # A date field of the starting trigger the clock counts from (e.g. the agreement's signing date: the law
    # counts from when it took effect, not from when it was entered); the event's date when absent.
    starts_from: str | None = None
    basis: str = Field(min_length=4)

    def starts_with(self, data: dict[str, Any]) -> bool:
        """``starts_if`` is a condition on the starting trigger's data: each named field's value is one of
        those listed (e.g. a referral's 签收 deadline runs only for targets that sign for it)."""
        return all(str(data.get(key)) in values for key, values in self.starts_if.items())

    def duration_for(self, attributes: dict[str, object] | None) -> int:
        """The clock's length for a case with these intake attributes."""
        attributes = attributes or {}
        for rule in self.duration_by:
            if all(str(attributes.get(key)) == value for key, value in rule.when.items()):
                return rule.duration
        return self.duration


class WorkflowSpec(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=1)
    description: str = ""
    legal_basis: str = ""
    initial: str
    # 三调对接: a workflow for cases referred in by one kind of partner agency names that kind; its
    # registration runs ``intake_effects`` (named effects, as a transition's) on the new case.
    agency_kind: AgencyKind | None = None
    intake_effects: list[str] = []
    intake_fields: list[FieldSpec] = []
    states: dict[str, StateSpec] = Field(min_length=1)
    clocks: dict[str, ClockSpec] = {}
    transitions: list[TransitionSpec] = Field(min_length=1)

    @field_validator("states")
    @classmethod
    def _state_names(cls, states: dict[str, StateSpec]) -> dict[str, StateSpec]:
        for name in states:
            if not name.replace("_", "").isalpha() or not name.islower():
                raise ValueError(f"state name '{name}' must be lower-case letters and underscores")
        return states

    @model_validator(mode="after")
    def _references(self) -> WorkflowSpec:
        states = set(self.states)
        if self.initial not in states:
            raise ValueError(f"initial: unknown state '{self.initial}'")
        triggers = {t.trigger for t in self.transitions} | {CREATION_TRIGGER}
        for index, t in enumerate(self.transitions):
            where = f"transitions[{index}] ({t.trigger})"
            if t.trigger == CREATION_TRIGGER:
                raise ValueError(f"{where}: '{CREATION_TRIGGER}' is reserved for case creation")
            if t.source != "*":
                for source in t.sources:
                    if source not in states:
                        raise ValueError(f"{where}.source: unknown state '{source}'")
            if t.dest is not None and t.dest not in states:
                raise ValueError(f"{where}.dest: unknown state '{t.dest}'")
            names = [f.name for f in t.fields]
            if len(names) != len(set(names)):
                raise ValueError(f"{where}.fields: duplicate field names")
            _check_only_with(t.fields, f"{where}.fields")
            _check_required_when(t.fields, f"{where}.fields")
            _check_shown_when(t.fields, f"{where}.fields")
            _check_date_rules(t.fields, f"{where}.fields")
        _check_only_with(self.intake_fields, "intake_fields")
        _check_required_when(self.intake_fields, "intake_fields")
        _check_shown_when(self.intake_fields, "intake_fields")
        self._check_next()
        for name, clock in self.clocks.items():
            for key in ("starts_on", "stops_on"):
                for trigger in getattr(clock, key):
                    if trigger not in triggers:
                        raise ValueError(f"clocks.{name}.{key}: unknown trigger '{trigger}'")
            for state in clock.pauses_in:
                if state not in states:
                    raise ValueError(f"clocks.{name}.pauses_in: unknown state '{state}'")
            for key in clock.starts_if:
                given = {f.name for t in self.transitions if t.trigger in clock.starts_on for f in t.fields}
                if key not in given:
                    raise ValueError(f"clocks.{name}.starts_if: '{key}' is not a field of a starting trigger")
            if clock.starts_from is not None:
                starting = [f for t in self.transitions if t.trigger in clock.starts_on for f in t.fields]
                dated = {f.name for f in starting if f.type == "date"}
                if clock.starts_from not in dated:
                    raise ValueError(
                        f"clocks.{name}.starts_from: '{clock.starts_from}' is not a date of a starting trigger"
                    )
            intake_names = {f.name for f in self.intake_fields}
            for index, rule in enumerate(clock.duration_by):
                for key in rule.when:
                    if key not in intake_names:
                        raise ValueError(f"clocks.{name}.duration_by[{index}].when: unknown intake field '{key}'")
            if clock.extend and clock.extend.trigger not in triggers:
                raise ValueError(f"clocks.{name}.extend.trigger: unknown trigger '{clock.extend.trigger}'")
            if clock.extend:
                given = {f.name for t in self.transitions_for(clock.extend.trigger) for f in t.fields}
                for required in clock.extend.requires:
                    if required not in given:
                        raise ValueError(f"clocks.{name}.extend.requires: '{required}' is not a field of the trigger")
        return self

    def _check_next(self) -> None:
        """Each state's usual next steps leave that state, once each, and none is marked rare."""
        for name, state in self.states.items():
            if len(state.next) != len(set(state.next)):
                raise ValueError(f"states.{name}.next: a step is named twice")
            for trigger in state.next:
                leaving = [t for t in self.transitions_for(trigger) if t.source == "*" or name in t.sources]
                if not leaving:
                    raise ValueError(f"states.{name}.next: '{trigger}' is not a step from this state")
                if all(t.rare for t in leaving):
                    raise ValueError(f"states.{name}.next: '{trigger}' is marked rare")

    def transitions_for(self, trigger: str) -> list[TransitionSpec]:
        return [t for t in self.transitions if t.trigger == trigger]

    @property
    def final_states(self) -> set[str]:
        return {name for name, spec in self.states.items() if spec.final}


def _check_only_with(fields: list[FieldSpec], where: str) -> None:
    bools = {f.name for f in fields if f.type == "bool"}
    for f in fields:
        if f.only_with is not None and f.only_with not in bools:
            raise ValueError(f"{where}.{f.name}.only_with: '{f.only_with}' is not a yes/no field of the same form")


def listed_choices(spec: FieldSpec) -> dict[str, str]:
    """A choice field's choices as the program ships them: inline, or its reference-data kind's built-in items
    (a township may relabel or add items: read them from the database to show them; {} for other fields)."""
    if isinstance(spec.choices, dict):
        return dict(spec.choices)
    return dict(builtin_reference().get(spec.choices or "", {}))


def _check_required_when(fields: list[FieldSpec], where: str) -> None:
    """Another choice or multichoice field of the form, and one of its choices (inline or built-in reference data:
    a rule on a code the program does not ship would never apply)."""
    choices = {f.name: listed_choices(f) for f in fields if f.type in ("choice", "multichoice")}
    for f in fields:
        for other, value in f.required_when.items():
            if other not in choices or other == f.name:
                raise ValueError(f"{where}.{f.name}.required_when: '{other}' is not another choice field of the form")
            if value not in choices[other]:
                raise ValueError(f"{where}.{f.name}.required_when: '{value}' is not a choice of '{other}'")


def _check_shown_when(fields: list[FieldSpec], where: str) -> None:
    """Another choice or multichoice field of the form, and one of its choices when they are listed in the file
    (a reference-data kind's codes are the database's: a form whose field does not offer the value shows the field)."""
    choices = {f.name: f.choices for f in fields if f.type in ("choice", "multichoice")}
    for f in fields:
        for other, value in f.shown_when.items():
            if other not in choices or other == f.name:
                raise ValueError(f"{where}.{f.name}.shown_when: '{other}' is not another choice field of the form")
            listed = choices[other]
            if isinstance(listed, dict) and value not in listed:
                raise ValueError(f"{where}.{f.name}.shown_when: '{value}' is not a choice of '{other}'")


CASE_START = "case_start"  # ``not_before``: the case's registration (its effective date)


def _check_date_rules(fields: list[FieldSpec], where: str) -> None:
    dates = {f.name for f in fields if f.type == "date"}
    for f in fields:
        for other in f.not_before:
            if other != CASE_START and (other not in dates or other == f.name):
                raise ValueError(f"{where}.{f.name}.not_before: '{other}' is not another date field of the same form")


# --- A file that extends another (resolved by ``workflow.inherit`` before the checks above) -------------


class MapChanges(_Strict):
    """Changes to ``states`` or ``clocks`` of the base: entries by name."""

    remove: list[str] = []
    add: dict[str, dict[str, Any]] = {}
    override: dict[str, dict[str, Any]] = {}


class TransitionChanges(_Strict):
    """Changes to the base's ``transitions``, picked by selector (``trigger`` or ``trigger@source``)."""

    remove: list[str] = []
    add: list[dict[str, Any]] = []
    override: dict[str, dict[str, Any]] = {}


class ExtensionSpec(_Strict):
    """The shape of a file with ``extends``: plain values replace the base's, sections carry changes."""

    extends: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str | None = None
    description: str | None = None
    legal_basis: str | None = None
    initial: str | None = None
    agency_kind: AgencyKind | None = None
    intake_effects: list[str] | None = None
    intake_fields: list[dict[str, Any]] | None = None
    states: MapChanges = MapChanges()
    clocks: MapChanges = MapChanges()
    transitions: TransitionChanges = TransitionChanges()
