"""关联纠纷 on the case page: the panel (loaded into the page by htmx) and a supervisor's confirm / dismiss."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from mediation_flow.cases.related import DECISIONS, decide_link, related_disputes, related_for_intake
from web.deps import CaseId, EngineDep
from web.pages.common import PageActor, is_fragment, render
from web.pages.intake import parse_form
from web.session import verified_form

router = APIRouter()
TEMPLATE = "partials/case_related.html"


@router.get("/cases/{case_id}/related", include_in_schema=False)
def related_panel(request: Request, engine: EngineDep, actor: PageActor, case_id: CaseId) -> Response:
    related = related_disputes(engine, actor, case_id)
    context = {"related": related, "decisions": DECISIONS, "title": "关联纠纷"}
    return render(request, TEMPLATE if is_fragment(request) else "related.html", context)


@router.post("/cases/{case_id}/related", include_in_schema=False)
def decide(
    request: Request,
    engine: EngineDep,
    actor: PageActor,
    case_id: CaseId,
    form: Annotated[FormData, Depends(verified_form)],
) -> Response:
    other = str(form.get("other_case_id") or "")
    other_id = int(other) if other.isdigit() and len(other) <= 12 else 0  # 0: no such link (the core says so)
    related = decide_link(engine, actor, case_id, other_id, str(form.get("decision") or ""))
    if not is_fragment(request):
        return RedirectResponse(f"/cases/{case_id}/related", status_code=303)
    context = {"related": related, "decisions": DECISIONS, "flash": "已记录"}
    return render(request, TEMPLATE, context)


@router.post("/register/related", include_in_schema=False)
def related_at_registration(
    request: Request, engine: EngineDep, actor: PageActor, form: Annotated[FormData, Depends(verified_form)]
) -> Response:
    """The registration form's 关联纠纷 hint, refreshed by htmx as the parties are typed."""
    values, parties = parse_form(form)
    found = related_for_intake(engine, actor, parties, jurisdiction_code=values.get("jurisdiction_code") or None)
    return render(request, "partials/register_related.html", {"found": found})
