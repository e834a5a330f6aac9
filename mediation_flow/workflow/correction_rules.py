"""更正: a supervisor corrects a fact of a case, or the time or amount of an earlier step, giving a reason.

Nothing is rewritten: the correction is an event of its own (trigger ``correct``) whose data says what was
corrected, what it was (``was``) and what it is now (``value``); the case row takes the new value. What the
correction changes beyond the named fact (the case's place path, its clocks when a step's time moves, the
count of the parties' earlier disputes when an ID number changes) is in the data too, so the record as it
stood at any moment can be rebuilt from the events (``cases.corrections.as_recorded``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from mediation_flow.accounts.personal_data import (
    PersonalDataError,
    age_on,
    id_number_birth_date,
    id_number_sex,
    validate_credit_code,
    validate_id_number,
    validate_phone,
)
from mediation_flow.display.formats import cn_datetime
from mediation_flow.places.jurisdictions import Place
from mediation_flow.store import clock
from mediation_flow.vocabulary import Gender
from mediation_flow.workflow.deadlines import advance_clocks
from mediation_flow.workflow.fields import date_problem, parse_money_fen
from mediation_flow.workflow.rules import RuleContext, effect, guard

CORRECT = "correct"
CASE_TEXT = {"title": 200, "summary": 5000}  # corrected as typed (their column's limit)
PARTY_FIELDS = {"party_name": "name", "party_id_number": "id_number", "party_phone": "phone"}
DERIVED = ("birth_date", "gender", "age")  # what a person's ID number determines (出生日期, 性别, 年龄 at registration)
EVENT_FIELDS = ("agreement_amount", "event_time")  # corrections of an earlier step, not of the case
FIRST = 1  # the registration's seq


class CorrectionFacts(Protocol):
    """What a correction reads besides the case row (answered inside the engine's transaction)."""

    def parties(self) -> list[dict[str, Any]]: ...

    def events(self) -> list[dict[str, Any]]: ...  # as recorded, earlier corrections applied

    def place(self, text: str) -> Place | None: ...  # a place of the case's township, by code or name

    def place_by_id(self, place_id: int) -> Place | None: ...

    def categories(self) -> Mapping[str, str]: ...

    def repeats(self, parties: list[dict[str, Any]], at: datetime) -> int: ...


@dataclass
class Planned:
    """What a correction records (event data) and changes (case columns, one party's column)."""

    data: dict[str, Any]
    updates: dict[str, Any] = field(default_factory=dict)
    party: dict[str, Any] | None = None  # {"id": party id, column: new value}


def _facts(ctx: RuleContext) -> CorrectionFacts:
    facts = ctx.facts
    if facts is None:
        raise LookupError("更正只能逐案办理")
    return facts  # type: ignore[no-any-return]


def plan(ctx: RuleContext) -> Planned:
    """The correction ``ctx.data`` asks for, checked; ValueError with the Chinese reason when refused."""
    what, value = ctx.data["what"], str(ctx.data["value"]).strip()
    try:
        facts = _facts(ctx)
    except LookupError as exc:
        raise ValueError(str(exc)) from None
    base = {"what": what}
    if what in CASE_TEXT:
        return _same_checked(Planned({**base, "was": ctx.case[what], "value": _text(value, CASE_TEXT[what])},
                                     {what: _text(value, CASE_TEXT[what])}))  # fmt: skip
    if what == "category":
        return _same_checked(Planned({**base, "was": ctx.case["category"], "value": _category(value, facts)},
                                     {"category": _category(value, facts)}))  # fmt: skip
    if what == "village":
        return _village(ctx, facts, value, base)
    if what == "amount":
        fen = _fen(value)
        was = ctx.case["amount_fen"]
        return _same_checked(Planned({**base, "was": _yuan(was), "value": _yuan(fen)}, {"amount_fen": fen}))
    if what in PARTY_FIELDS:
        return _party(ctx, facts, value, base)
    if what in EVENT_FIELDS:
        return _event(ctx, facts, value, base)
    raise ValueError("不能更正这一项")


def _same_checked(planned: Planned) -> Planned:
    if planned.data["was"] == planned.data["value"]:
        raise ValueError("更正后的内容与原来相同")
    return planned


def _text(value: str, limit: int) -> str:
    if len(value) > limit:
        raise ValueError(f"不能超过{limit}个字")
    return value


def _category(value: str, facts: CorrectionFacts) -> str:
    categories = facts.categories()
    found = value if value in categories else next((c for c, name in categories.items() if name == value), None)
    if found is None:
        raise ValueError(f"没有“{value[:20]}”这一纠纷类型")
    return found


def _fen(value: str) -> int:
    try:
        return parse_money_fen(value)
    except ValueError:
        raise ValueError("金额应为不小于零的数，最多两位小数，如 12000 或 12000.50") from None


def _yuan(fen: int | None) -> str | None:
    return None if fen is None else f"{fen // 100}.{fen % 100:02d}"


def _village(ctx: RuleContext, facts: CorrectionFacts, value: str, base: dict[str, Any]) -> Planned:
    place = facts.place(value)
    if place is None or place.level not in ("township", "village", "grid"):
        raise ValueError(f"本乡镇没有“{value[:20]}”这个村（社区）或网格")
    if place.path == ctx.case["jurisdiction_path"]:
        raise ValueError("更正后的内容与原来相同")
    old = facts.place_by_id(ctx.case["jurisdiction_id"])
    columns = {"jurisdiction_id": [ctx.case["jurisdiction_id"], place.id],
               "jurisdiction_path": [ctx.case["jurisdiction_path"], place.path]}  # fmt: skip
    data = {**base, "was": old.code if old else None, "value": place.code, "columns": columns}
    return Planned(data, {k: new for k, (_, new) in columns.items()})


def _party(ctx: RuleContext, facts: CorrectionFacts, value: str, base: dict[str, Any]) -> Planned:
    parties = facts.parties()
    index = ctx.data.get("party")
    if not index or not 1 <= int(index) <= len(parties):
        raise ValueError("请选择要更正的当事人")
    party = parties[int(index) - 1]
    column = PARTY_FIELDS[base["what"]]
    new = _party_value(column, value, party.get("kind") or "person")
    if new == (party.get(column) or ""):
        raise ValueError("更正后的内容与原来相同")
    data = {**base, "party": party["id"], "was": party.get(column) or "", "value": new}
    events = facts.events()
    registered = events[0]
    derived = _derived(party, new, clock.local_date(registered["effective_at"])) if column == "id_number" else {}
    if derived:
        data["derived"] = {k: [_plain(was), _plain(now)] for k, (was, now) in derived.items()}
    corrected = [{**p, column: new} if p["id"] == party["id"] else p for p in parties]
    before = int((registered["data"] or {}).get("repeat_disputes") or 0)
    after = facts.repeats(corrected, registered["effective_at"])
    if after != before:
        data["repeat_disputes"] = [before, after]
    return Planned(data, party={"id": party["id"], column: new, **{k: now for k, (_, now) in derived.items()}})


def _derived(party: dict[str, Any], number: str, registered_on: date) -> dict[str, tuple[Any, Any]]:
    """What a corrected ID number changes of a person's recorded 出生日期, 性别 and 年龄 (column → (was, now)):
    each one recorded that the number contradicts takes the number's value, so the case never shows a birth date,
    sex or age the corrected number denies; one left blank stays blank (the printouts decode the number itself)."""
    if (party.get("kind") or "person") != "person":
        return {}
    born = id_number_birth_date(number)
    says = {
        "birth_date": born,
        "gender": Gender.MALE.value if id_number_sex(number) == "男" else Gender.FEMALE.value,
        "age": age_on(born, registered_on),
    }
    recorded = {k: party.get(k) for k in DERIVED}
    return {k: (recorded[k], says[k]) for k in DERIVED if recorded[k] is not None and recorded[k] != says[k]}


def _plain(value: Any) -> Any:
    """A value as event data keeps it (a date as ISO text)."""
    return value.isoformat() if isinstance(value, date) else value


def _party_value(column: str, value: str, kind: str) -> str:
    try:
        if column == "id_number":
            return validate_id_number(value) if kind == "person" else validate_credit_code(value)
        if column == "phone":
            return validate_phone(value)
    except PersonalDataError as exc:
        raise ValueError(str(exc)) from None
    if not value or len(value) > 100:
        raise ValueError("姓名（名称）应为1至100个字")
    return value


def _target(ctx: RuleContext, events: list[dict[str, Any]], what: str) -> dict[str, Any]:
    seq = ctx.data.get("event")
    if what == "agreement_amount":
        agreements = [e for e in events if e["trigger"] == "reach_agreement"]
        found = next((e for e in agreements if e["seq"] == seq), None) if seq else next(reversed(agreements), None)
        if found is None:
            raise ValueError("请选择要更正金额的“达成调解协议”记录")
        return found
    found = next((e for e in events if e["seq"] == seq and e["trigger"] != CORRECT), None) if seq else None
    if found is None:
        raise ValueError("请选择要更正办理时间的那一步")
    return found


def _event(ctx: RuleContext, facts: CorrectionFacts, value: str, base: dict[str, Any]) -> Planned:
    events = facts.events()
    what = base["what"]
    target = _target(ctx, events, what)
    data: dict[str, Any] = {**base, "event": target["seq"]}
    if what == "agreement_amount":
        was = (target["data"] or {}).get("amount")
        new = _yuan(_fen(value))
        if was == new:
            raise ValueError("更正后的内容与原来相同")
        return Planned({**data, "was": was, "value": new})
    at = _moment(value, ctx.effective_at)
    steps = [e for e in events if e["trigger"] != CORRECT]
    before = [e["effective_at"] for e in steps if e["seq"] < target["seq"]]
    after = [e["effective_at"] for e in steps if e["seq"] > target["seq"]]
    if before and at < max(before):
        raise ValueError(f"不能早于前一步的办理时间（{cn_datetime(max(before))}）")
    if after and at > min(after):
        raise ValueError(f"不能晚于后一步的办理时间（{cn_datetime(min(after))}）")
    if at == target["effective_at"]:
        raise ValueError("更正后的内容与原来相同")
    if target["seq"] == FIRST:
        _later_dates_allowed(ctx, steps, clock.local_date(at))
    moved = [{**e, "effective_at": at} if e["seq"] == target["seq"] else e for e in steps]
    clocks = fold_clocks(ctx, moved)
    columns: dict[str, list[Any]] = {}
    if clocks != (ctx.case["clocks"] or {}):
        columns["clocks"] = [ctx.case["clocks"] or {}, clocks]
    data |= {"was": target["effective_at"].isoformat(), "value": at.isoformat()}
    if target["seq"] == FIRST:
        columns["registered_at"] = [target["effective_at"].isoformat(), at.isoformat()]
    if columns:
        data["columns"] = columns
    updates = {k: new for k, (_, new) in columns.items()}
    if "registered_at" in updates:
        updates["registered_at"] = at
    return Planned(data, updates)


def _later_dates_allowed(ctx: RuleContext, steps: list[dict[str, Any]], start: date) -> None:
    """A registration moved later: the dates typed into later steps must still follow the date rules that the case's
    start bounds (a session date not before the case began, …), as when they were entered."""
    if ctx.workflow is None:
        return
    for event in steps[1:]:
        specs = [f for t in ctx.workflow.transitions_for(event["trigger"]) for f in t.fields]
        for spec in specs:
            problem = date_problem(spec, specs, event["data"] or {}, None, start)
            if problem:
                raise ValueError(f"更正后登记日期晚于已记录的日期：{problem}")


def _moment(value: str, now: datetime) -> datetime:
    try:
        at = clock.parse_user_moment(value)
    except ValueError as exc:
        raise ValueError(f"办理时间{exc}") from None
    if at > now:
        raise ValueError("办理时间不能晚于当前时间")
    return at


def fold_clocks(ctx: RuleContext, events: list[dict[str, Any]]) -> dict[str, Any]:
    """The case's clocks folded from its events (as ``check`` folds them), when a step's time moved."""
    clocks: dict[str, Any] = {}
    if ctx.workflow is None:
        return dict(ctx.case["clocks"] or {})
    for event in events:
        clocks = advance_clocks(
            ctx.workflow,
            clocks,
            trigger=event["trigger"],
            to_state=event["to_state"],
            on=clock.local_date(event["effective_at"]),
            data=dict(event["data"] or {}),
            attributes=ctx.case["attributes"],
        )
    return clocks


@guard
def correction_applies(ctx: RuleContext) -> str | None:
    """The correction asked for is possible: the thing exists, the new value is valid and differs."""
    try:
        plan(ctx)
    except ValueError as exc:
        return str(exc)
    return None


@effect
def apply_correction(ctx: RuleContext) -> None:
    planned = plan(ctx)
    ctx.data.update(planned.data)
    ctx.updates.update(planned.updates)
    if planned.party is not None:
        ctx.updates[PARTY_UPDATE] = planned.party


PARTY_UPDATE = "_party"  # the key of ``ctx.updates`` carrying one party's change (the engine writes it)
