"""Importing a township's existing ledger (台账) from .xlsx or .csv: every row validated, every error
reported by row and column, all or nothing. Each row is planned here as a registration and a back-dated
trigger sequence; ``ledger_bulk`` registers and drives it in memory by the engine's ``step`` and
``ledger_write`` writes the cases in bulk, so each has a complete event history and counts in the
statistics like any other case. Only supervisors import (back-dating is theirs)."""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from typing import Any

from sqlalchemy import Engine

from mediation_flow.accounts.policy import Actor, Permission, require
from mediation_flow.cases import intake
from mediation_flow.display.formats import money_decimal
from mediation_flow.errors import DomainError, InvalidData
from mediation_flow.ledger import bulk as ledger_bulk
from mediation_flow.ledger import referrals
from mediation_flow.ledger import write as ledger_write
from mediation_flow.ledger.columns import FORMS, OUTCOMES, PERFORMED, REQUIRED
from mediation_flow.ledger.read import (
    MAX_BYTES,
    MAX_ROWS,
    LedgerImportError,
    as_text,
    error_at,
    parse_day,
    read_table,
)
from mediation_flow.places.jurisdictions import Place
from mediation_flow.store import clock
from mediation_flow.store.db import write_transaction
from mediation_flow.workflow.fields import parse_money_fen
from mediation_flow.workflow.registry import REGISTRY, WorkflowRegistry

__all__ = ["MAX_BYTES", "MAX_ROWS", "ImportResult", "LedgerImportError", "import_ledger", "plan_row", "read_table"]
CHUNK = 2000  # cases written per executemany (bounds the memory a large file needs)
INTAKE_COLUMNS = {
    "title": "案件名称",
    "category": "纠纷类型",
    "source": "案件来源",
    "summary": "纠纷简要情况",
    "amount": "涉及金额（元）",
    "people_involved": "涉及人数",
    "venue": "调解场所",
    "jurisdiction_code": "所属辖区代码",
    "parties.0.name": "申请人",
    "parties.0.id_number": "申请人身份证号",
    "parties.0.phone": "申请人电话",
    "parties.1.name": "被申请人",
    "mediator_id": "调解员",
    "signed_on": "协议日期",
    "performance": "履行方式",
    "amount_agreed": "协议金额（元）",
}


@dataclass
class PlannedCase:
    row: int
    intake: intake.CaseIntake
    registered: datetime
    steps: list[tuple[str, dict[str, Any], datetime, str]]  # trigger, data, effective time, note
    acted_by: int | None = None  # the mediator the row names (调解员), who acted in the mediation's steps


@dataclass
class ImportResult:
    case_ids: list[int]

    @property
    def count(self) -> int:
        return len(self.case_ids)


def _lookup(value: str, items: dict[str, str]) -> str | None:
    """A reference code from its code or its label (labels like 法院委派/委托 are matched whole)."""
    if value in items:
        return value
    known = _LABELS.get(id(items))
    if known is None or known[0] is not items:  # the items are held, so their id is not reused meanwhile
        if len(_LABELS) > 64:
            _LABELS.clear()
        known = _LABELS[id(items)] = (items, {label: code for code, label in reversed(items.items())})
    return known[1].get(value)


_LABELS: dict[int, tuple[dict[str, str], dict[str, str]]] = {}


class _Row:
    """One ledger row being read: typed values out, errors collected by column."""

    def __init__(self, number: int, record: dict[str, Any]) -> None:
        self.number, self.record = number, record
        self.errors: list[dict[str, Any]] = []

    def error(self, column: str, message: str) -> None:
        self.errors.append(error_at(self.number, column, message))

    def text(self, column: str) -> str:
        value = self.record.get(column)
        if value is None:
            return ""
        return value if type(value) is str else as_text(value)  # read_table strips text

    def day(self, column: str, today: date) -> date | None:
        if column not in self.record:
            return None
        try:
            day = parse_day(self.record[column])
        except ValueError as exc:
            self.error(column, str(exc))
            return None
        if day >= today:
            self.error(column, "日期须早于今天（当天的纠纷请直接登记）")
        return day

    def money(self, column: str) -> str | None:
        if column not in self.record:
            return None
        try:
            return _money(self.record[column])
        except ValueError as exc:
            self.error(column, f"“{column}”{exc}")
            return None


@lru_cache(maxsize=8192)
def _money(value: Any) -> str:
    return str(money_decimal(parse_money_fen(value)))


@lru_cache(maxsize=65536)
def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=clock.LOCAL_TZ)


def plan_row(
    row: _Row,
    *,
    reference: dict[str, dict[str, str]],
    mediators: dict[str, int],
    actor: Actor,
    today: date,
    places: Mapping[str, Place] | None = None,
) -> PlannedCase | None:
    """The intake and the back-dated trigger sequence for one row, or None (with ``row.errors``)."""
    for column in REQUIRED:
        if column not in row.record:
            row.error(column, "必填")
    codes = {}
    for column, kind in (("纠纷类型", "category"), ("案件来源", "source"), ("调解场所", "venue")):
        if column in row.record:
            codes[kind] = _lookup(row.text(column), reference.get(kind, {}))
            if codes[kind] is None:
                row.error(column, f"未知的{column}：{row.text(column)[:20]}")
    outcome = OUTCOMES.get(row.text("调解结果")) if "调解结果" in row.record else None
    if "调解结果" in row.record and outcome is None:
        row.error("调解结果", "应为：" + "、".join(OUTCOMES))
    registered = row.day("登记日期", today)
    started = row.day("开始调解日期", today)
    agreed = row.day("协议日期", today)
    visited = row.day("回访日期", today)
    closed = row.day("结案日期", today)
    amount, agreed_amount = row.money("涉及金额（元）"), row.money("协议金额（元）")
    mediator_id = actor.id
    if "调解员" in row.record:
        mediator_id = mediators.get(row.text("调解员"))
        if mediator_id is None:
            row.error("调解员", "不是本辖区在职的调解员或司法所人员的用户名")
    if outcome in ("agreed", "failed", "mediating") and started is None and "开始调解日期" not in row.record:
        row.error("开始调解日期", "调解结果为达成协议、调解不成或调解中时必填")
    if outcome == "agreed" and agreed is None and "协议日期" not in row.record:
        row.error("协议日期", "达成协议时必填")
    if visited and outcome != "agreed":
        row.error("回访日期", "只有达成协议的纠纷才记录回访")
    performed = PERFORMED.get(row.text("履行情况")) if "履行情况" in row.record else None
    if visited and performed is None:
        row.error("履行情况", "填写回访日期时须填写：已履行、部分履行或未履行")
    if closed and outcome == "agreed" and visited is None:
        row.error("结案日期", "达成协议的纠纷须先回访才能结案（请填写回访日期）")
    if closed and outcome not in ("agreed", "failed"):
        row.error("结案日期", "只有达成协议或调解不成的纠纷填写结案日期")
    form = FORMS.get(row.text("协议形式") or "口头")
    if form is None:
        row.error("协议形式", "应为书面或口头")
    referred = referrals.referral(row, reference)
    workflow, attributes = referred or ("people_mediation", {})
    place = (places or {}).get(row.text("所属辖区代码"))
    extra = [*referrals.escalations(row, place.level if place else None, today, agreed or closed),
             *referrals.confirmation(row, today)]  # fmt: skip
    reported = referrals.report_back(row, outcome or "", workflow, today) if referred else None
    if referred and closed and reported is None and "结果反馈日期" not in row.record:
        row.error("结果反馈日期", "移入案件须先向移交单位反馈结果才能结案")
    if extra and outcome != "agreed" and any(t == "apply_confirmation" for t, _, _ in extra):
        row.error("申请司法确认日期", "只有达成协议的纠纷才能申请司法确认")
    ordered = [("登记日期", registered), ("开始调解日期", started), ("协议日期", agreed), ("回访日期", visited),
               ("结案日期", closed)]  # fmt: skip
    present = [(c, d) for c, d in ordered if d is not None]
    for (before, earlier), (after, later) in pairwise(present):
        if later < earlier:
            row.error(after, f"不能早于{before}")
    data = {
        "title": row.text("案件名称"),
        "category": codes.get("category") or "other",
        "source": codes.get("source") or "initiative",
        "summary": row.text("纠纷简要情况"),
        "amount": amount,
        "people_involved": row.text("涉及人数") or 2,
        "venue": codes.get("venue"),
        "jurisdiction_code": row.text("所属辖区代码") or None,
        "parties": [
            {"role": "applicant", "name": row.text("申请人"), "id_number": row.text("申请人身份证号") or None,
             "phone": row.text("申请人电话") or None},
            {"role": "respondent", "name": row.text("被申请人")},
        ],
        "workflow": workflow,
        "attributes": attributes,
    }  # fmt: skip
    joint = referrals.joint(row, reference)
    try:
        parsed = intake.parse_intake(data)
    except InvalidData as exc:
        for e in exc.errors:
            row.error(_intake_column(e["field"], e["message"]), e["message"])
        parsed = None
    if row.errors or parsed is None or registered is None or outcome is None:
        return None
    moves = _steps(
        row, outcome, registered, started, agreed, visited, closed, performed, form, agreed_amount, mediator_id
    )
    moves = referrals.merged(moves, extra, reported, joint)
    origin = f"，原编号{row.text('原台账编号')}" if "原台账编号" in row.record else ""
    note = f"自台账导入（第{row.number}行{origin}）"
    last = moves[-1][2] if moves else _at(registered, 9)
    steps = [(trigger, data, moment, "") for trigger, data, moment in moves]
    steps.append(("add_note", {"text": note}, last + timedelta(minutes=1), note))
    acted_by = mediator_id if mediator_id != actor.id else None
    return PlannedCase(row.number, parsed, _at(registered, 9), steps, acted_by)


def _steps(
    row: _Row,
    outcome: str,
    registered: date,
    started: date | None,
    agreed: date | None,
    visited: date | None,
    closed: date | None,
    performed: str | None,
    form: str | None,
    amount: str | None,
    mediator_id: int | None,
) -> list[tuple[str, dict[str, Any], datetime]]:
    reason = row.text("原因说明") or "详见原台账"
    if outcome == "rejected":
        return [("reject", {"reason": reason}, _at(registered, 10))]
    steps: list[tuple[str, dict[str, Any], datetime]] = [
        ("assign", {"mediator_id": mediator_id}, _at(registered, 9, 1)),
        ("accept", {"rights_notified": True}, _at(registered, 9, 2)),
    ]
    if outcome == "accepted":
        return steps
    if started:
        steps.append(("start_mediation", {"all_parties_consent": True}, _at(started, 10)))
    if outcome == "withdrawn":
        return [*steps, ("withdraw", {"reason": reason}, _at(closed or started or registered, 15))]
    if outcome == "failed":
        day = closed or started or registered
        steps.append(("fail", {"reason": reason, "routes_informed": True}, _at(day, 15)))
        if closed:
            steps.append(("close", {"outcome": reason}, _at(closed, 17)))
    if outcome == "agreed" and agreed:
        terms = row.text("协议内容") or "见纸质调解协议书"
        agreement = {"form": form, "facts": "详见原台账", "terms": terms, "signed_on": agreed.isoformat()}
        if amount:
            agreement["amount"] = amount
        if row.text("履行方式"):
            agreement["performance"] = row.text("履行方式")
        steps.append(("reach_agreement", agreement, _at(agreed, 15)))
        if visited:
            visit = {"visited_on": visited.isoformat(), "performed": performed, "satisfaction": "satisfied"}
            steps += [("start_follow_up", {}, _at(visited, 9)), ("record_visit", visit, _at(visited, 9, 1))]
        if closed:
            steps.append(("close_resolved", {}, _at(closed, 17)))
    return steps


def import_ledger(
    engine: Engine,
    *,
    actor: Actor,
    filename: str,
    content: bytes,
    now: datetime | None = None,
    registry: WorkflowRegistry = REGISTRY,
) -> ImportResult:
    """Check every row and write them all in ONE transaction: all rows or none.

    Inside the transaction (so the checks see what the writes will see): what the checks need is read
    once; the case numbers of each township and year are reserved with one counter bump; every row is
    planned and then registered and driven through its history in memory by ``ledger_bulk`` (the engine's
    ``step``); valid cases are written in chunks with one executemany per table. After the first bad row
    nothing more is written, but every row is still checked; any error rolls the whole file back."""
    require(actor, Permission.IMPORT_LEDGER)
    table = read_table(filename, content)
    now = now or clock.utcnow()
    today = clock.local_date(now)
    errors: list[dict[str, Any]] = []
    ids: list[int] = []
    with write_transaction(engine) as conn, _no_gc_pauses():
        snap = ledger_bulk.load_snapshot(conn, actor, registry, now)
        snapshots = {snap.lookups.rules.workflow.name: snap}
        actors: dict[int, Actor | None] = {}
        keys = (_number_key(snap, record) for _, record in table)
        seqs = ledger_write.reserve_numbers(conn, Counter(key for key in keys if key is not None))
        batch: list[ledger_bulk.Draft] = []
        for number, record in table:
            row = _Row(number, record)
            plan = plan_row(row, reference=snap.reference, mediators=snap.mediators, actor=actor, today=today,
                            places=snap.places)  # fmt: skip
            errors += row.errors
            if plan is None:
                continue
            try:
                path = ledger_bulk.snapshot_for(snapshots, conn, actor, registry, now, plan.intake.workflow)
                acting = ledger_bulk.acting(actors, conn, plan.acted_by)
                draft = ledger_bulk.draft_case(path, plan.intake, plan.registered, plan.steps, acting)
            except DomainError as exc:
                details = exc.details.get("errors") or [{"message": exc.message}]
                errors += [error_at(plan.row, _column(d.get("field")), str(d.get("message"))) for d in details]
                continue
            if errors:
                continue  # the file will not be imported: only look for more errors
            key = (draft.township.id, draft.case["year"])
            seq, seqs[key] = seqs[key], seqs[key] + 1
            draft.case.update(seq=seq, number=intake.case_number(key[1], draft.township, seq))
            batch.append(draft)
            if len(batch) >= CHUNK:
                ids += ledger_write.write(conn, batch)
                batch = []
                snap.written()  # the drafts' keys are in the database now: counted from there
        if errors:  # raising inside the transaction rolls back every row already written
            raise LedgerImportError(errors, message=f"台账有{len(errors)}处错误，未导入任何数据")
        if batch:
            ids += ledger_write.write(conn, batch)
    return ImportResult(ids)


@contextmanager
def _no_gc_pauses() -> Iterator[None]:
    """The cyclic garbage collector paused while a large file is checked and written: its full passes
    walk every row held (~15% of the CPU time at 30,000 rows, measured); what it would find (nothing
    here builds cycles) is collected when it resumes."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _number_key(snap: ledger_bulk.Snapshot, record: dict[str, Any]) -> tuple[int, int] | None:
    """(township id, year) whose counter numbers this row, as far as the raw row tells (None if it cannot)."""
    township = snap.township_of(as_text(record.get("所属辖区代码", "")))
    try:
        return (township.id, parse_day(record["登记日期"]).year) if township else None
    except (KeyError, ValueError):
        return None


def _intake_column(field: str, message: str) -> str:
    """The ledger column of an intake error; a party's identity errors name the party, not the field."""
    if field in ("parties.0", "parties.1"):
        who = "申请人" if field == "parties.0" else "被申请人"
        if who == "申请人" and ("身份" in message or "证件" in message or "校验" in message):
            return "申请人身份证号"
        if who == "申请人" and ("电话" in message or "手机" in message):
            return "申请人电话"
        return who
    return INTAKE_COLUMNS.get(field, field)


def _column(field: Any) -> str:
    return INTAKE_COLUMNS.get(str(field or ""), str(field or ""))
