"""The notifications inbox (通知) and the unread count in the header. Opening the inbox reads; marking
everything read is a POST of its own (a GET that wrote would be repeated by any prefetch or crawler)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from mediation_flow.cases.notices import mark_all_seen, open_inbox
from web.deps import EngineDep
from web.pages.common import PageActor, render
from web.session import verified_form

router = APIRouter()


@router.get("/notices", include_in_schema=False)
def inbox(request: Request, engine: EngineDep, actor: PageActor) -> Response:
    items = open_inbox(engine, actor)
    unread = sum(1 for n in items if n.unread)
    return render(request, "notices.html", {"title": "通知", "items": items, "unread_here": unread})


@router.post("/notices/seen", include_in_schema=False)
def mark_seen(engine: EngineDep, actor: PageActor, form: Annotated[FormData, Depends(verified_form)]) -> Response:
    mark_all_seen(engine, actor)
    return RedirectResponse("/notices", status_code=303)
