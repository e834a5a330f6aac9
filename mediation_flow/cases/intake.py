"""Registering a new dispute: validation, a gap-free case number, the case row, its parties and its
first event, all in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import Connection, Engine, bindparam, insert, update
from sqlalchemy.dialects import postgresql, sqlite

from mediation_flow.accounts.policy import Actor, can_see, may_backdate, may_register
from mediation_flow.cases.events import event_row, insert_event
from mediation_flow.cases.party_input import PartyIn, blank_is_none
from mediation_flow.cases.people import repeat_count, write_party_keys
from mediation_flow.cases.risk import RiskScore, score_intake
from mediation_flow.cases.step import CLOCK_SKEW, check_backdate
from mediation_flow.display.errors import translate
from mediation_flow.display.labels import field_label
from mediation_flow.errors import InvalidData, NotFound, PermissionDenied
from mediation_flow.places.agencies import Agency, AgencyLookup
from mediation_flow.places.jurisdictions import Place, get_by_code, get_by_id, township_of
from mediation_flow.places.reference import load_reference
from mediation_flow.store import clock
from mediation_flow.store.db import write_transaction
from mediation_flow.store.fast import Executor, Prepared
from mediation_flow.store.tables import CASES, COUNTERS, PARTIES
from mediation_flow.textinput import Line, Text
from mediation_flow.vocabulary import Level, Role
from mediation_flow.workflow.deadlines import advance_clocks, earliest_due
from mediation_flow.workflow.fields import parse_money_fen, validate_fields
from mediation_flow.workflow.handoff_rules import intake_problems
from mediation_flow.workflow.registry import REGISTRY, CompiledWorkflow, WorkflowRegistry
from mediation_flow.workflow.rules import EFFECTS, RuleContext
from mediation_flow.workflow.schema import CREATION_TRIGGER

HANDLING_LEVEL = {"grid": Level.GRID, "village": Level.VILLAGE, "township": Level.TOWNSHIP, "county": Level.COUNTY}


class CaseIntake(BaseModel):
    """What a grid worker types on a phone: short, and enough to start."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: Line = Field(min_length=1, max_length=200)
    category: Line = Field(max_length=32)
    source: Line = Field(default="initiative", max_length=32)
    risk_grade: Line | None = Field(default=None, max_length=16)
    summary: Text = Field(min_length=1, max_length=5000)
    amount: Decimal | None = None
    people_involved: int = Field(default=2, ge=1, le=100_000)
    venue: Line | None = Field(default=None, max_length=32)
    jurisdiction_code: Line | None = Field(default=None, max_length=32)
    workflow: Line = Field(default="people_mediation", max_length=64)
    attributes: dict[str, Any] = Field(default_factory=dict)
    risk_hints: list[str] = Field(default_factory=list, max_length=10)
    parties: list[PartyIn] = Field(min_length=1, max_length=50)
    incident_place: Line | None = Field(default=None, max_length=200)
    occurred_at: datetime | None = None

    _blank = field_validator("incident_place", "occurred_at", mode="before")(blank_is_none)

    @field_validator("occurred_at")
    @classmethod
    def _occurred(cls, value: datetime | None) -> datetime | None:
        """When the dispute happened: local time unless an offset is given; not in the future."""
        if value is None:
            return None
        moment = clock.as_local(value)
        if clock.out_of_range(moment):
            raise ValueError(clock.RANGE_MESSAGE)
        if moment > clock.utcnow() + CLOCK_SKEW:
            raise ValueError("发生时间不能晚于当前时间")
        return moment

    @field_validator("risk_hints")
    @classmethod
    def _hints(cls, value: list[str]) -> list[str]:
        from mediation_flow.cases.risk import hint_labels

        unknown = [h for h in value if h not in hint_labels()]
        if unknown:
            raise ValueError(f"未知的风险提示：{'、'.join(h[:20] for h in unknown)}")
        return value

    @field_validator("amount", mode="before")
    @classmethod
    def _amount(cls, value: Any) -> Any:
        if value in (None, ""):
            return None
        try:
            return Decimal(parse_money_fen(value)) / 100
        except ValueError as exc:
            raise ValueError(str(exc)) from None


def parse_intake(payload: Any) -> CaseIntake:
    try:
        return CaseIntake.model_validate(payload)
    except ValidationError as exc:
        raise InvalidData(translate(exc.errors())) from None


def case_number(year: int, township: Place, seq: int) -> str:
    return f"（{year}）{township.short_name or township.name}人调字第{seq:03d}号"


# register_case's statements, built and compiled once (per dialect) instead of on every call.
_COUNTER_ROW = {
    name: Prepared(
        dialect.insert(COUNTERS)
        .values(township_id=bindparam("township_id"), year=bindparam("year"), last=0)
        .on_conflict_do_nothing()
    )
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}
_BUMP_COUNTER = Prepared(
    update(COUNTERS)
    .where(COUNTERS.c.township_id == bindparam("township_id"), COUNTERS.c.year == bindparam("year"))
    .values(last=COUNTERS.c.last + bindparam("count"))
    .returning(COUNTERS.c.last)
)
CASE_COLUMNS = (
    "number", "township_id", "year", "seq", "title", "category", "source", "risk_grade", "jurisdiction_id",
    "jurisdiction_path", "level", "venue", "summary", "amount_fen", "people_involved", "mediator_id", "created_by",
    "agency_id", "handoff", "workflow_name", "workflow_version", "state", "version", "clocks", "due_date",
    "attributes", "incident_place", "occurred_at", "risk_hints", "registered_at", "created_at", "updated_at",
)  # fmt: skip
_INSERT_CASE = Prepared(insert(CASES).values({c: bindparam(c) for c in CASE_COLUMNS}).returning(CASES.c.id))
_INSERT_PARTY = Prepared(insert(PARTIES).values({c: bindparam(c) for c in ("case_id", *PartyIn.model_fields)}))


def next_case_seq(conn: Connection, township_id: int, year: int) -> int:
    """Bump the per-township, per-year counter inside the caller's transaction: rolled back with it, so
    numbers never skip; the row lock (or SQLite's write lock) makes it unique under concurrency."""
    return reserve_case_seqs(conn, township_id, year, 1)


def reserve_case_seqs(conn: Executor, township_id: int, year: int, count: int) -> int:
    """``next_case_seq`` for ``count`` cases at once (a bulk import): returns the first of the ``count``
    consecutive numbers now reserved in the caller's transaction."""
    key = {"township_id": township_id, "year": year}
    _COUNTER_ROW["postgresql" if conn.dialect.name == "postgresql" else "sqlite"].execute(conn, key)
    bumped = _BUMP_COUNTER.first(conn, {**key, "count": count})
    assert bumped is not None  # the row was just made sure of
    return int(bumped["last"]) - count + 1


def register_case(
    engine: Engine,
    *,
    actor: Actor,
    intake: CaseIntake | dict[str, Any],
    effective_at: datetime | None = None,
    now: datetime | None = None,
    registry: WorkflowRegistry = REGISTRY,
) -> int:
    """Register a dispute; returns the new case id."""
    data = intake if isinstance(intake, CaseIntake) else parse_intake(intake)
    now = now or clock.utcnow()
    moment = registration_time(actor, effective_at, now)
    with write_transaction(engine) as conn:
        return register_in(conn, actor=actor, data=data, moment=moment, now=now, registry=registry)


def registration_time(
    actor: Actor, effective_at: datetime | None, now: datetime, *, outbox: timedelta | None = None
) -> datetime:
    """Who may register, and when: the registration's effective time (now unless given), checked as a
    step's is (the same clock skew; back-dating is for supervisors). ``outbox``: the registration was kept
    on a phone (sent with an idempotency key); the time recorded there counts if no older than this."""
    if not may_register(actor):
        raise PermissionDenied("您的角色无权登记纠纷")
    if effective_at is None:
        return now
    moment = clock.as_local(effective_at)
    if clock.out_of_range(moment, now):
        raise InvalidData([{"field": "effective_at", "message": clock.RANGE_MESSAGE}])
    if moment > now + CLOCK_SKEW:
        raise InvalidData([{"field": "effective_at", "message": "登记时间不能晚于当前时间"}])
    if outbox is not None and now - outbox <= moment and not may_backdate(actor):
        return moment
    if outbox is not None and not may_backdate(actor):
        days = outbox.days
        message = f"离线登记保存超过{days}天，已过期，请核实后重新登记"
        raise InvalidData([{"field": "effective_at", "message": message}])
    if moment < now - CLOCK_SKEW:
        check_backdate(actor, moment, now)
    return moment


def register_in(
    conn: Connection,
    *,
    actor: Actor,
    data: CaseIntake,
    moment: datetime,
    now: datetime,
    registry: WorkflowRegistry,
) -> int:
    """Register ``data`` in the caller's write transaction (``register_case``; ``intake_once`` with its key)."""
    place = _intake_place(conn, actor, data.jurisdiction_code)
    try:
        workflow: CompiledWorkflow | None = registry.current(conn, data.workflow)
    except LookupError:
        workflow = None
    township = township_of(conn, place)
    parties_in = [p.model_dump() for p in data.parties]
    repeats = repeat_count(conn, parties_in, place=place, township=township, moment=moment) if township else 0
    case, parties, event = new_case_rows(
        actor=actor,
        data=data,
        workflow=workflow,
        reference=load_reference(conn, place.path),
        place=place,
        township=township,
        moment=moment,
        now=now,
        agency=AgencyLookup(conn),
        repeats=repeats,
    )
    assert township is not None  # new_case_rows refuses a place outside any township
    seq = next_case_seq(conn, township.id, case["year"])
    inserted = _INSERT_CASE.first(conn, {**case, "seq": seq, "number": case_number(case["year"], township, seq)})
    assert inserted is not None
    case_id = inserted["id"]
    for party in parties:
        _INSERT_PARTY.execute(conn, {"case_id": case_id, **party})
    write_party_keys(conn, [case_id])
    insert_event(conn, {**event, "case_id": case_id})
    return int(case_id)


def new_case_rows(
    *,
    actor: Actor,
    data: CaseIntake,
    workflow: CompiledWorkflow | None,
    reference: Mapping[str, Mapping[str, str]],
    place: Place,
    township: Place | None,
    moment: datetime,
    now: datetime,
    agency: Callable[[str], Agency | None] = lambda _code: None,
    repeats: int = 0,
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """What registering ``data`` at ``place`` writes, checked, without touching the database: the case row
    (``number`` and ``seq`` left out: they come from the counter), its party rows and its first event (both
    without ``case_id``). Raises InvalidData as ``register_case`` does. Bulk importers share it. ``repeats``:
    the parties' earlier disputes (``people.repeat_count``), scored and recorded with the first event."""
    errors = [
        {"field": field, "message": f"“{field_label(field)}”的选项无效"}
        for field, kind, value in (
            ("category", "category", data.category),
            ("source", "source", data.source),
            ("risk_grade", "risk_grade", data.risk_grade),
            ("venue", "venue", data.venue),
        )
        if value is not None and value not in reference.get(kind, {})
    ]
    if workflow is None:
        errors.append({"field": "workflow", "message": "流程不存在"})
    if errors or workflow is None:
        raise InvalidData(errors)
    attributes = validate_fields(workflow.spec.intake_fields, data.attributes, reference=reference)
    if township is None:
        raise InvalidData([{"field": "jurisdiction_code", "message": "所属辖区须在某个乡镇之内"}])
    kind = workflow.spec.agency_kind
    if kind is not None:
        problems = intake_problems(
            kind, attributes, place.path, agency, actor_role=actor.role, actor_agency_id=actor.agency_id
        )
        if problems:
            raise InvalidData(problems)
    elif actor.is_agency_user:
        raise InvalidData([{"field": "workflow", "message": "对接单位只能登记本单位移交调解的案件"}])
    local_day = clock.local_date(moment)
    scored = score_intake(data, repeats)
    risk = data.risk_grade or scored.grade
    clocks = advance_clocks(
        workflow.spec,
        {},
        trigger=CREATION_TRIGGER,
        to_state=workflow.spec.initial,
        on=local_day,
        data={},
        attributes=attributes,
    )
    level = HANDLING_LEVEL[place.level].value
    case = dict(
        township_id=township.id,
        year=local_day.year,
        title=data.title,
        category=data.category,
        source=data.source,
        risk_grade=risk,
        jurisdiction_id=place.id,
        jurisdiction_path=place.path,
        level=level,
        venue=data.venue,
        summary=data.summary,
        amount_fen=int(data.amount * 100) if data.amount is not None else None,
        people_involved=data.people_involved,
        mediator_id=actor.id if actor.role == Role.MEDIATOR else None,
        created_by=actor.id,
        agency_id=None,
        handoff=None,
        workflow_name=workflow.name,
        workflow_version=workflow.version,
        state=workflow.spec.initial,
        version=1,
        clocks=clocks,
        due_date=earliest_due(clocks),
        attributes=attributes,
        incident_place=data.incident_place,
        occurred_at=data.occurred_at,
        risk_hints=list(data.risk_hints),
        registered_at=moment,
        created_at=now,
        updated_at=now,
    )
    case.update(_intake_effects(workflow, case, actor, moment, agency))
    parties = [party.row() for party in data.parties]
    event = event_row(
        case_id=None,
        seq=1,
        trigger=CREATION_TRIGGER,
        from_state=None,
        to_state=workflow.spec.initial,
        actor_id=actor.id,
        effective_at=moment,
        recorded_at=now,
        note="",
        data={"source": data.source, "risk_grade": risk, "level": level} | _repeat_data(repeats, scored),
    )
    return case, parties, event


def _intake_effects(
    workflow: CompiledWorkflow,
    case: dict[str, Any],
    actor: Actor,
    moment: datetime,
    agency: Callable[[str], Agency | None],
) -> dict[str, Any]:
    """The workflow's ``intake_effects`` on the new case (its attributes are their data): column updates,
    as a transition's effects give them."""
    if not workflow.spec.intake_effects:
        return {}
    ctx = RuleContext(
        case=case,
        data=case["attributes"],
        actor_id=actor.id,
        actor_role=actor.role.value,
        effective_at=moment,
        effective_date=clock.local_date(moment),
        count_events=lambda _trigger: 0,
        last_event_data=lambda _trigger: None,
        workflow=workflow.spec,
        actor_agency_id=actor.agency_id,
        agency=agency,
    )
    for name in workflow.spec.intake_effects:
        EFFECTS[name](ctx)
    return ctx.updates


def _repeat_data(repeats: int, scored: RiskScore) -> dict[str, Any]:
    """What the first event records of the parties' earlier disputes: how many, and the risk reason."""
    if not repeats:
        return {}
    return {"repeat_disputes": repeats, "risk_reasons": [r for r in scored.reasons if "近两年涉及" in r]}


def check_intake_place(actor: Actor, place: Place) -> Place:
    """A place named by code for an intake: within the actor's subtree, a township, village or grid."""
    if not can_see(actor, place.path):
        raise InvalidData([{"field": "jurisdiction_code", "message": "只能登记本辖区的纠纷"}])
    if place.level not in ("grid", "village", "township"):
        raise InvalidData([{"field": "jurisdiction_code", "message": "请选择乡镇、村（社区）或网格"}])
    if not place.active:
        raise InvalidData([{"field": "jurisdiction_code", "message": f"{place.name}已撤销，不能登记新纠纷"}])
    return place


def _intake_place(conn: Connection, actor: Actor, code: str | None) -> Place:
    if code:
        try:
            place = get_by_code(conn, code)
        except NotFound:
            raise InvalidData([{"field": "jurisdiction_code", "message": "所属辖区不存在"}]) from None
        return check_intake_place(actor, place)
    if actor.jurisdiction_id is None:
        raise InvalidData([{"field": "jurisdiction_code", "message": "请选择所属辖区"}])
    place = get_by_id(conn, actor.jurisdiction_id)
    if place.level == "county":
        raise InvalidData([{"field": "jurisdiction_code", "message": "请选择乡镇、村（社区）或网格"}])
    if not place.active:
        raise InvalidData([{"field": "jurisdiction_code", "message": f"{place.name}已撤销，不能登记新纠纷"}])
    return place
