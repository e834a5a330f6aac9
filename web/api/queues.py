"""Supervisor queues: overdue (超期) and due soon (临期) cases, red first, then by how late. Who may read
them is the policy's ``SUPERVISION_QUEUE`` (supervisors and admins; mediators have 我的案件), as on the page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import AfterValidator, BaseModel

from mediation_flow.accounts.policy import Actor
from mediation_flow.cases.queues import QueueFilters, QueueKind, read_queue
from mediation_flow.cases.suspended import SuspendedList, suspended_cases
from mediation_flow.store import clock
from web.api.schemas import ErrorResponse
from web.deps import ApiActor, EngineDep

router = APIRouter(prefix="/queues", tags=["queues"])
ERRORS: dict[int | str, dict[str, Any]] = {status: {"model": ErrorResponse} for status in (401, 403, 422)}


class QueueClock(BaseModel):
    name: str
    label: str
    due: date | None
    status: str
    status_label: str
    days_left: int | None
    unit: str  # working_days / calendar_days: what days_left counts
    basis: str


class QueueItem(BaseModel):
    id: int
    number: str
    title: str
    state: str
    state_label: str
    workflow: str
    risk_grade: str
    level: str
    source: str
    category: str
    jurisdiction_name: str
    mediator_id: int | None
    mediator_name: str | None
    due_date: date
    days_late: int
    working_days_late: int
    clocks: list[QueueClock]


class QueuePageOut(BaseModel):
    kind: str
    today: date
    due_soon_until: date
    total: int
    page: int
    page_size: int
    items: list[QueueItem]


Village = Annotated[str | None, Query(max_length=32, description="辖区代码（村/网格等）：含其下级")]
Mediator = Annotated[int | None, Query(ge=1, le=2_147_483_647, description="调解员用户 id")]
LevelQ = Annotated[str | None, Query(max_length=16, description="处理层级 grid/village/township/county")]
Source = Annotated[str | None, Query(max_length=32, description="案件来源代码")]
Grade = Annotated[str | None, Query(max_length=16, description="风险等级 red/orange/yellow/blue")]
Today = Annotated[
    date | None,
    Query(description="按哪一天判断（默认今天）"),
    AfterValidator(lambda day: None if day is None else clock.bounded_day(day)),
]
Page = Annotated[int, Query(ge=1, le=100_000)]
PageSize = Annotated[int, Query(ge=1, le=200)]


@dataclass(frozen=True)
class QueueQuery:
    """The query parameters both queues share."""

    filters: QueueFilters
    today: date | None
    page: int
    page_size: int


async def queue_query(  # no I/O: no thread-pool hop (see web.deps.get_db)
    village: Village = None,
    mediator: Mediator = None,
    level: LevelQ = None,
    source: Source = None,
    risk_grade: Grade = None,
    today: Today = None,
    page: Page = 1,
    page_size: PageSize = 50,
) -> QueueQuery:
    return QueueQuery(QueueFilters(village, mediator, level, source, risk_grade), today, page, page_size)


QueueQueryDep = Annotated[QueueQuery, Depends(queue_query)]


def _queue(engine: Any, actor: Actor, kind: QueueKind, params: QueueQuery) -> dict[str, Any]:
    result = read_queue(
        engine, actor, kind, today=params.today, filters=params.filters, page=params.page, page_size=params.page_size
    )
    return vars(result)  # shallow: dataclasses.asdict would deep-copy every row (half the request's time)


@router.get("/overdue", response_model=QueuePageOut, responses=ERRORS)
async def overdue_queue(engine: EngineDep, actor: ApiActor, params: QueueQueryDep) -> dict[str, Any]:
    """超期: cases whose earliest running deadline is before today. Red first, then the latest first."""
    return await run_in_threadpool(_queue, engine, actor, "overdue", params)  # one pool hop (web.api.cases)


@router.get("/due-soon", response_model=QueuePageOut, responses=ERRORS)
async def due_soon_queue(engine: EngineDep, actor: ApiActor, params: QueueQueryDep) -> dict[str, Any]:
    """临期: the earliest running deadline falls within the next N working days
    (``MEDIATION_FLOW_DUE_SOON_WORKING_DAYS``, default 2). Red first, then the nearest first."""
    return await run_in_threadpool(_queue, engine, actor, "due_soon", params)


class PausedClock(BaseModel):
    name: str
    label: str
    unit: str
    used: int | None
    remaining: int | None
    resume_due: date | None  # the due date if the case resumed today


class SuspendedItem(BaseModel):
    id: int
    number: str
    title: str
    mediator_id: int | None
    mediator_name: str
    since: date
    waited_days: int
    reason: str
    expected_resume: date | None
    past_resume_days: int  # days since the expected resume date (0: not passed or not given)
    clocks: list[PausedClock]


class SuspendedOut(BaseModel):
    today: date
    total: int
    past_resume: int
    items: list[SuspendedItem]


def _suspended(found: SuspendedList) -> dict[str, Any]:
    items = [
        {
            "id": s.item.id,
            "number": s.item.number,
            "title": s.item.title,
            "mediator_id": s.item.mediator_id,
            "mediator_name": s.item.mediator,
            "since": s.since,
            "waited_days": s.waited,
            "reason": s.reason,
            "expected_resume": s.expected_resume,
            "past_resume_days": s.past_resume,
            "clocks": [vars(c) for c in s.clocks],
        }
        for s in found.items
    ]
    return {"today": found.today, "total": found.total, "past_resume": found.past_resume, "items": items}


@router.get("/suspended", response_model=SuspendedOut, responses=ERRORS)
async def suspended_queue(engine: EngineDep, actor: ApiActor, today: Today = None) -> dict[str, Any]:
    """中止案件: suspended cases (a mediator's own, a supervisor's subtree), longest waiting first, with the
    reason, the expected resume date and how far past it each is."""
    found = await run_in_threadpool(suspended_cases, engine, actor, today=today)
    return _suspended(found)
