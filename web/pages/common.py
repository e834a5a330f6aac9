"""What every page route shares: templates and their filters, the signed-in user, full page or fragment."""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import date
from functools import partial
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from sqlalchemy import Engine
from starlette.datastructures import FormData

from mediation_flow.accounts.policy import Actor, Permission, compares_townships
from mediation_flow.accounts.policy import require as require_permission
from mediation_flow.accounts.sessions import signed_in_session
from mediation_flow.cases.intake_paths import register_heading
from mediation_flow.cases.notices import header_unread
from mediation_flow.display import formats
from mediation_flow.display.labels import label, office_label, without_codes
from mediation_flow.store import clock
from mediation_flow.store.reads import release_reads, share_reads
from mediation_flow.vocabulary import Role
from web.deps import get_db
from web.pages import drill_links
from web.session import csrf_token, session_stamp, session_token, session_user_id

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))
TEMPLATES.env.auto_reload = False  # templates are compiled once per process, not stat()ed on every render and include


OWN_ACCOUNT_PAGES = frozenset({"/account", "/account/password", "/logout"})


class MustChangePassword(Exception):
    """Signed in with a temporary password: every page leads to /account until it is changed."""


class LoginRequired(Exception):
    """No valid session: the page handler sends the browser to the login page."""


def _label_of(code: str | None, kind: str) -> str:
    """``{{ c.status|label("clock_status") }}``: the code first, as a filter receives it."""
    return label(kind, code)


def _filters() -> dict[str, Callable[..., str]]:
    """The template filters: every format and label comes from ``mediation_flow.display``."""
    return {
        "cn_date": formats.cn_date,
        "cn_datetime": formats.cn_datetime,
        "cn_month_day": formats.cn_month_day,
        "yuan": formats.money,
        "percent": formats.percent,
        "number": formats.number,
        "duration": formats.duration,
        "days_text": formats.days_left,
        "day_count": formats.day_count,
        "cn_numeral": formats.cn_numeral,
        "level_label": partial(label, "levels"),
        "role_label": partial(label, "roles"),
        "office_label": lambda actor: office_label(actor.role, actor.scope_path, actor.agency_name),
        "admin_action": partial(label, "admin_actions"),
        "reference_kind": partial(label, "reference_kinds"),
        "field_label": partial(label, "fields"),
        "label": _label_of,
        "plain": without_codes,
    }


TEMPLATES.env.filters.update(_filters())

RENDERED_KEPT = 256  # bodies rendered once per kept answer (each holds its answers, so their ids are not reused)
_RENDERED: OrderedDict[tuple[object, ...], tuple[tuple[object, ...], Markup]] = OrderedDict()
_RENDERED_LOCK = threading.Lock()


def rendered_once(template: str, **answers: object) -> Markup:
    """``template`` rendered with ``answers`` as its only variables, once per set of answer objects. For a part of a
    page whose answer the core keeps while nothing is written (``store.unchanged``: the same object comes back),
    so a view of the same answer renders only the rest of the page. The template may read nothing else but the
    globals and filters (no user, no request, no clock). A string or a number is an answer by its value."""
    names = sorted(answers)
    values = tuple(answers[name] for name in names)
    key = (template, *names, *(v if isinstance(v, str | int) else id(v) for v in values))
    with _RENDERED_LOCK:
        found = _RENDERED.get(key)
        if found is not None and all(a is b or isinstance(b, str | int) for a, b in zip(found[0], values, strict=True)):
            _RENDERED.move_to_end(key)
            return found[1]
    html = Markup(TEMPLATES.env.get_template(template).render(answers))
    with _RENDERED_LOCK:
        _RENDERED[key] = (values, html)
        _RENDERED.move_to_end(key)
        while len(_RENDERED) > RENDERED_KEPT:
            _RENDERED.popitem(last=False)
    return html


TEMPLATES.env.globals["demo_offset_days"] = clock.demo_offset_days  # the demo-mode banner in base.html
TEMPLATES.env.globals["time_zone"] = lambda: str(clock.LOCAL_TZ)  # the outbox shows times as the pages do
TEMPLATES.env.globals["figure_cases_url"] = drill_links.figure_cases_url
TEMPLATES.env.globals["open_cases_url"] = drill_links.open_cases_url
TEMPLATES.env.globals["from_county"] = drill_links.from_county
TEMPLATES.env.globals["rendered_once"] = rendered_once


def is_fragment(request: Request) -> bool:
    """An htmx request for part of a page (not a boosted navigation, not a history restore)."""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-Boosted") != "true"
        and headers.get("HX-History-Restore-Request") != "true"
    )


def nav_items(actor: Actor | None) -> list[tuple[str, str]]:
    if actor is None:
        return []
    paths = {
        Role.GRID_WORKER: ["/grid", "/register"],
        Role.MEDIATOR: ["/my", "/suspended", "/cases", "/register"],
        Role.SUPERVISOR: [
            "/queue",
            "/suspended",
            "/referrals",
            "/dashboard",
            "/county",
            "/reports",
            "/cases",
            "/register",
        ],
        Role.POLICE_LIAISON: ["/inbox", "/cases", "/register"],
        Role.COURT_LIAISON: ["/inbox", "/cases", "/register"],
        Role.PETITION_LIAISON: ["/inbox", "/cases", "/register"],
        Role.CLERK: ["/cases", "/register"],
        Role.ADMIN: ["/admin", "/county", "/reports", "/cases"],
    }[actor.role]
    if not compares_townships(actor):
        paths = [p for p in paths if p != "/county"]
    return [(path, _page_label(actor, path)) for path in [*paths, "/workflows"]]


def _page_label(actor: Actor, path: str) -> str:
    """A page's name in the navigation; /register under the name its page has for the user (委派/委托调解)."""
    return register_heading(actor) if path == "/register" else label("pages", path)


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    actor: Actor | None = getattr(request.state, "actor", None)
    unread = getattr(request.state, "unread", None)
    if actor is not None and unread is None and not is_fragment(request):
        unread = header_unread(request.app.state.engine, actor)
    ctx = {
        "unread": unread or 0,
        "actor": actor,
        "csrf": csrf_token(request),
        "nav": nav_items(actor),
        "path": request.url.path,
        "today": clock.local_date(clock.utcnow()),
        "weak_password": actor is not None and bool(request.session.get("weak")),
        **(context or {}),
    }
    response = TEMPLATES.TemplateResponse(request, template, ctx, status_code=status_code, headers=headers)
    response.headers["Vary"] = "HX-Request"
    release_reads()  # the page and its header read on one connection: back to the pool now (store.reads)
    return response


def page_actor(request: Request, engine: Annotated[Engine, Depends(get_db)]) -> Actor:
    """The signed-in user of a page request; no session → the login page."""
    uid = session_user_id(request)
    actor = None
    if uid is not None:
        actor, stamp = signed_in_session(engine, uid, session_token(request))  # None once signed out
        if actor is not None and (stamp or "") != session_stamp(request):
            actor = None  # the password changed since this session signed in
    if actor is None:
        raise LoginRequired
    request.state.actor = actor
    if actor.must_change_password and request.url.path not in OWN_ACCOUNT_PAGES:
        raise MustChangePassword
    share_reads()  # the page's reads and its header's share one connection from here (store.reads)
    return actor


PageActor = Annotated[Actor, Depends(page_actor)]


def require(actor: Actor, permission: Permission) -> None:
    """The page's permission (accounts.policy): 403 with its Chinese message otherwise."""
    require_permission(actor, permission)


def today() -> date:
    return clock.local_date(clock.utcnow())


def typed_fields(form: FormData, fields: list[Any], *, prefix: str = "") -> dict[str, Any]:
    """The data of declared workflow fields (``FieldView``s) from a form, typed the way the validator expects;
    each field's input is named ``prefix`` + its name."""
    data: dict[str, Any] = {}
    for view in fields:
        spec = view.spec
        key = prefix + spec.name
        if spec.type == "multichoice":
            values = [str(v) for v in form.getlist(key)]
            if values:
                data[spec.name] = values
        elif spec.type == "bool":
            if form.get(key) is not None:
                data[spec.name] = "true"
        else:
            raw = form.get(key)
            if isinstance(raw, str) and raw.strip():
                data[spec.name] = raw
    return data


def html_error(request: Request, status: int, message: str, errors: list[dict[str, str]] | None = None) -> HTMLResponse:
    """An error as a page (or as a fragment for htmx), in Chinese, never a stack trace."""
    try:
        request.session  # noqa: B018 - raises outside the session middleware (the 500 handler)
    except AssertionError:
        body = f'<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>{message}</title><h1>{message}</h1>'
        return HTMLResponse(body + '<p><a href="/">返回首页</a></p></html>', status_code=status)
    if getattr(request.state, "actor", None) is None and session_user_id(request) is not None:
        with contextlib.suppress(LoginRequired):
            page_actor(request, request.app.state.engine)  # the header and its navigation on error pages too
    template = "partials/error.html" if is_fragment(request) else "error.html"
    return render(request, template, {"message": message, "errors": errors or [], "title": message}, status_code=status)
