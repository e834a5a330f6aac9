"""The notifications inbox (通知) and the unread count in the header."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import Engine

from mediation_flow.accounts.policy import Actor
from mediation_flow.cases.notices import mark_seen, notices, unread_count
from mediation_flow.store import clock
from mediation_flow.store.config import get_settings
from mediation_flow.store.db import write_transaction
from web.deps import EngineDep
from web.pages.common import PageActor, render

router = APIRouter()


def header_unread(engine: Engine, actor: Actor) -> int:
    with engine.connect() as conn:
        return unread_count(conn, actor, now=clock.utcnow(), due_soon_days=get_settings().due_soon_working_days)


@router.get("/notices", include_in_schema=False)
def inbox(request: Request, engine: EngineDep, actor: PageActor) -> Response:
    now = clock.utcnow()
    with engine.connect() as conn:
        items = notices(conn, actor, now=now, due_soon_days=get_settings().due_soon_working_days)
    if actor.id is not None:
        with write_transaction(engine) as conn:
            mark_seen(conn, actor.id, now)
    request.state.unread = 0
    unread = sum(1 for n in items if n.unread)
    return render(request, "notices.html", {"title": "通知", "items": items, "unread_here": unread})
