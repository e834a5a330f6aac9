"""The notifications inbox (通知) and the unread count in the header."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from mediation_flow.cases.notices import open_inbox
from web.deps import EngineDep
from web.pages.common import PageActor, render

router = APIRouter()


@router.get("/notices", include_in_schema=False)
def inbox(request: Request, engine: EngineDep, actor: PageActor) -> Response:
    items = open_inbox(engine, actor)
    request.state.unread = 0
    unread = sum(1 for n in items if n.unread)
    return render(request, "notices.html", {"title": "通知", "items": items, "unread_here": unread})
