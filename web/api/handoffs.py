"""三调对接 for the API: the partner agencies to pick from, an agency's inbox, and the supervisor's 转出待反馈
queue. Who may read each is the policy's (``AGENCY_INBOX``, ``REFERRED_OUT_QUEUE``); the core builds them."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from mediation_flow.cases.handoffs import read_agency_inbox, read_referred_out_queue
from mediation_flow.cases.schemas import AgencyInboxOut, AgencyOut, ReferredOutQueueOut
from mediation_flow.places.agencies import agency_options
from mediation_flow.vocabulary import AgencyKind
from web.deps import ApiActor, EngineDep

router = APIRouter(tags=["handoffs"])
Today = Annotated[date | None, Query(description="按哪一天判断期限（默认今天）")]


@router.get("/agencies", response_model=list[AgencyOut])
async def list_agencies(
    engine: EngineDep,
    actor: ApiActor,
    jurisdiction: Annotated[str | None, Query(max_length=32, description="案件所在辖区代码（默认本人辖区）")] = None,
    kind: Annotated[AgencyKind | None, Query(description="police 派出所 | court 人民法院 | petition 信访部门")] = None,
) -> list[dict[str, str]]:
    """对接单位: the active partner agencies serving the place (what registration and referral offer)."""
    return await run_in_threadpool(
        agency_options, engine, jurisdiction_code=jurisdiction, kind=kind, scope_path=actor.scope_path
    )


@router.get("/agency/inbox", response_model=AgencyInboxOut)
async def agency_inbox(engine: EngineDep, actor: ApiActor, today: Today = None) -> Any:
    """对接单位收件箱 (派出所、人民法庭、信访部门的用户): referrals to the agency awaiting 签收 or 反馈, oldest
    first with their deadline, and the cases the agency referred in with where they stand."""
    return await run_in_threadpool(read_agency_inbox, engine, actor, today=today)


@router.get("/queues/referred-out", response_model=ReferredOutQueueOut)
async def referred_out_queue(engine: EngineDep, actor: ApiActor, today: Today = None) -> Any:
    """转出待反馈 (司法所、管理员): every case of the area referred out and not yet answered, whoever handles
    it, oldest referral first."""
    return await run_in_threadpool(read_referred_out_queue, engine, actor, today=today)
