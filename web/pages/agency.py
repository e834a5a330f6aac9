"""三调对接 pages: a partner agency's 对接工作台 (its home) and the supervisor's 转出待反馈 queue."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from mediation_flow.cases.agency_desk import agency_desk
from mediation_flow.cases.handoffs import read_referred_out_queue
from web.deps import EngineDep
from web.pages.common import PageActor, render

router = APIRouter()


@router.get("/inbox", include_in_schema=False)
def inbox(request: Request, engine: EngineDep, actor: PageActor) -> Response:
    """The agency's inbox: new notices, referrals awaiting 签收 or 反馈 with their deadlines and next steps,
    the cases it handed to the township, and the way to hand over another."""
    desk = agency_desk(engine, actor)
    context = {"title": "对接工作台", **vars(desk)}
    return render(request, "inbox.html", context)


@router.get("/referrals", include_in_schema=False)
def referrals(request: Request, engine: EngineDep, actor: PageActor) -> Response:
    """转出待反馈: every case of the area referred out and not yet answered, whoever handles it."""
    return render(request, "referrals.html", {"title": "转出待反馈", "queue": read_referred_out_queue(engine, actor)})
