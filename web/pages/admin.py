"""A simple administrator's page: the users and the jurisdiction tree (changes go through the CLI)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from mediation_flow.accounts.sessions import roster
from web.deps import EngineDep
from web.pages.common import PageActor, render

router = APIRouter()


@router.get("/admin", include_in_schema=False)
def admin_page(request: Request, engine: EngineDep, actor: PageActor) -> Response:
    users, tree = roster(engine, actor)
    return render(request, "admin.html", {"title": "管理", "users": users, "tree": tree})
