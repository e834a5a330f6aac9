"""The notifications inbox (通知) and the unread count in the header. Opening the inbox reads; marking
everything read is a POST of its own (a GET that wrote would be repeated by any prefetch or crawler), and so
is marking one notice handled (已处理), one by one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from mediation_flow.cases.notices import mark_all_seen, mark_handled, open_inbox
from mediation_flow.errors import InvalidData
from web.deps import EngineDep
from web.pages.common import PageActor, is_fragment, render
from web.session import verified_form

router = APIRouter()


@router.get("/notices", include_in_schema=False)
def inbox(request: Request, engine: EngineDep, actor: PageActor) -> Response:
    items = open_inbox(engine, actor)
    unread = sum(1 for n in items if n.unread)
    pending = sum(1 for n in items if not n.handled)
    context = {"title": "通知", "items": items, "unread_here": unread, "pending": pending}
    return render(request, "notices.html", context)


@router.post("/notices/seen", include_in_schema=False)
def mark_seen(engine: EngineDep, actor: PageActor, form: Annotated[FormData, Depends(verified_form)]) -> Response:
    mark_all_seen(engine, actor)
    return RedirectResponse("/notices", status_code=303)


@router.post("/notices/handled", include_in_schema=False)
def handled(
    request: Request, engine: EngineDep, actor: PageActor, form: Annotated[FormData, Depends(verified_form)]
) -> Response:
    """标为已处理: one notice (case, kind, moment), not the whole inbox."""
    case_id, kind, at = (str(form.get(k) or "") for k in ("case_id", "kind", "at"))
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        moment = None
    if not case_id.isdigit() or len(case_id) > 12 or not kind or len(kind) > 32 or moment is None:
        raise InvalidData([{"field": "notice", "message": "通知无效，请刷新后重试"}])
    notice = mark_handled(engine, actor, case_id=int(case_id), kind=kind, at=moment)
    if is_fragment(request):
        return render(request, "partials/notice_item.html", {"n": notice})
    return RedirectResponse("/notices", status_code=303)
