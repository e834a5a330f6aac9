"""A simple administrator's page: the users and the jurisdiction tree (changes go through the CLI)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from mediation_flow.places.jurisdictions import all_places
from mediation_flow.store.models import Jurisdiction, User
from mediation_flow.vocabulary import Role
from web.deps import EngineDep
from web.pages.common import PageActor, render, require

router = APIRouter()
USERS, JUR = User.__table__, Jurisdiction.__table__
LEVELS = {"county": "县", "township": "乡镇", "village": "村（社区）", "grid": "网格"}


@router.get("/admin", include_in_schema=False)
def admin_page(request: Request, engine: EngineDep, actor: PageActor) -> Response:
    require(actor, Role.ADMIN)
    with engine.connect() as conn:
        users = conn.execute(
            select(USERS.c.username, USERS.c.display_name, USERS.c.role, USERS.c.is_active, JUR.c.name.label("place"))
            .select_from(USERS.outerjoin(JUR, USERS.c.jurisdiction_id == JUR.c.id))
            .order_by(USERS.c.role, USERS.c.username)
        ).all()
        places = all_places(conn)
    tree = [(p.path.count("/") - 2, LEVELS.get(p.level, p.level), p.name, p.code) for p in places]
    return render(request, "admin.html", {"title": "管理", "users": users, "tree": tree})
