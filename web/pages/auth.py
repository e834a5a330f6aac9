"""Sign-in, sign-out and each role's home page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from mediation_flow.accounts.sessions import active_actor, current_stamp, end_session, start_session
from mediation_flow.accounts.throttle import sign_in as throttled_sign_in
from mediation_flow.demo import is_demo_password
from mediation_flow.errors import DomainError
from mediation_flow.vocabulary import Role
from web.deps import EngineDep, client_address
from web.pages.common import render
from web.session import session_token, session_user_id, sign_in, sign_out, verified_form

router = APIRouter()
HOME = {
    Role.GRID_WORKER: "/grid",
    Role.MEDIATOR: "/my",
    Role.SUPERVISOR: "/queue",
    # the partner agencies' users: their 对接工作台 (referrals awaiting them, the cases they referred in)
    Role.POLICE_LIAISON: "/inbox",
    Role.COURT_LIAISON: "/inbox",
    Role.PETITION_LIAISON: "/inbox",
    Role.CLERK: "/cases",
    Role.ADMIN: "/admin",
}


def safe_next(target: str | None) -> str | None:
    """Only a local path may follow the login (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target[:500]
    return None


@router.get("/", include_in_schema=False)
def home(request: Request, engine: EngineDep) -> Response:
    uid = session_user_id(request)
    if uid is not None:
        actor = active_actor(engine, uid)
        if actor is not None:
            return RedirectResponse(HOME[actor.role], status_code=303)
    return RedirectResponse("/login", status_code=303)


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", {"next": safe_next(next), "title": "登录"})


@router.post("/login", include_in_schema=False)
def login(request: Request, engine: EngineDep, form: Annotated[FormData, Depends(verified_form)]) -> Response:
    username = str(form.get("username") or "").strip()[:64]
    password = str(form.get("password") or "")[:200]
    target = safe_next(str(form.get("next") or ""))
    try:
        actor = throttled_sign_in(engine, username=username, password=password, address=client_address(request))
    except DomainError as exc:
        context = {"error": exc.message, "username": username, "next": target, "title": "登录"}
        return render(request, "login.html", context, status_code=exc.status)
    assert actor.id is not None
    sign_in(request, actor, current_stamp(engine, actor.id), start_session(engine, actor.id))
    if is_demo_password(username, password):
        request.session["weak"] = True  # every page then says so, with the way to /account
    if actor.must_change_password:
        return RedirectResponse("/account", status_code=303)
    return RedirectResponse(target or HOME[actor.role], status_code=303)


@router.post("/logout", include_in_schema=False)
def logout(request: Request, engine: EngineDep, form: Annotated[FormData, Depends(verified_form)]) -> Response:
    """Sign out on the server (the cookie, even a copy of it, stops working) and in the browser; the page it
    lands on tells the browser to forget what the pages kept (the register draft)."""
    end_session(engine, session_token(request))
    sign_out(request)
    return RedirectResponse("/login", status_code=303)
