"""The route × role × jurisdiction matrix: every route of ``create_app()`` (read from ``app.routes``, so a
new route cannot be forgotten) is requested anonymously, by each role, and by users of another village, over
HTTP from a real server (``mediation-flow serve``) on the test's database.

Expected access lives in ``RULES``, one row per (method, path); a route missing from it fails the test. The
roles a rule allows come from the policy table (``accounts.policy.PERMISSIONS``) wherever the policy decides.
Anonymous API requests get 401, anonymous page requests go to the login page; a role the rule does not
allow gets 403; a user of another village asking for a case gets 404 — the same answer as for a case
that does not exist, so a hidden case cannot be told from a missing one.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from factories import PASSWORD, REFER_TO_POLICE, USERS, Town, drive, intake, local_today, make_town, register
from fastapi.routing import APIRoute, iter_route_contexts
from server_harness import Server
from sqlalchemy import text
from starlette.routing import Mount, Route

from mediation_flow.accounts.policy import Permission, roles_with
from mediation_flow.accounts.users import add_user
from mediation_flow.cases.intake import register_case
from mediation_flow.store.db import write_transaction
from mediation_flow.vocabulary import Role
from web.app import create_app

ROLES = [
    "supervisor",
    "county_supervisor",
    "mediator",
    "village_mediator",
    "other_village_mediator",
    "grid_worker",
    "other_grid_worker",
    "liaison",
    "court_liaison",
    "petition_liaison",
    "admin",
]
OUTSIDE = {"other_village_mediator", "other_grid_worker"}  # the case under test lies in village 0
# The partner agencies' users (派出所, 人民法庭, 信访局) see only the cases handed to or by their agency: the case
# under test is neither, so they get 404 on it as an outsider does (test_agency_users_see_... below: the rest).
AGENCY = {"liaison", "court_liaison", "petition_liaison"}
HIDDEN = OUTSIDE | AGENCY
ALL = frozenset(ROLES)


# 县司法局: a supervisor of the county, who sees every township of it (issue 15); made by ``world`` only
COUNTY_USERS = {"county_supervisor": (Role.SUPERVISOR, "county")}


def may(permission: Permission) -> frozenset[str]:
    """The test users whose role the policy table (accounts.policy.PERMISSIONS) gives ``permission``."""
    return frozenset(name for name in ROLES if {**USERS, **COUNTY_USERS}[name][0] in roles_with(permission))


REGISTERING = may(Permission.REGISTER)
MEDIATING = frozenset(  # the workflow's roles (a supervisor of the county is one)
    {"supervisor", "county_supervisor", "mediator", "village_mediator", "other_village_mediator"}
)
NOT_OFFERED = frozenset({403, 422})
REPORTING = may(Permission.READ_REPORTS)
UPLOADING = may(Permission.UPLOAD_ATTACHMENT)
QUEUES = may(Permission.SUPERVISION_QUEUE)
PATH_VALUES = {
    "name": "people_mediation",
    "region": "state",
    "trigger": "accept",
    "form_name": "registration",
    "code": "500101001001",  # a village of the test township
    "username": "liaison",
}
MISSING_CASE = 987654


@dataclass(frozen=True)
class Rule:
    """``kind``: public | api | page. ``roles``: who may (others get 403). ``case``: the path names a case,
    so users outside its village get 404. ``body``: a valid request for the allowed roles. ``ok``: statuses
    that mean 'allowed'; ``denied`` those that mean refused. ``fresh``: the request ends the session (logout)."""

    kind: str
    roles: frozenset[str] = ALL
    case: bool = False
    body: Callable[[Any, int], dict[str, Any]] | None = None
    ok: frozenset[int] = frozenset({200})
    fresh: bool = False
    denied: frozenset[int] = frozenset({403})


# What a partner agency's user registers: a referral in from its own agency, in its own format.
REFERRALS_IN = {
    "liaison": ("police_referral", "police", {"agency": "qinglong_police", "reference_number": "青公调〔2026〕15号"}),
    "court_liaison": (
        "court_referral",
        "court",
        {"agency": "qinglong_tribunal", "reference_number": "（2026）示0101民诉前调15号", "court_mode": "delegated"},
    ),
    "petition_liaison": (
        "petition_referral",
        "petition",
        {"agency": "county_petition", "reference_number": "县信转〔2026〕45号", "channel": "letter"},
    ),
}


def _intake(world: Any, role: str | None = None) -> dict[str, Any]:
    """A valid registration for the user asking (``world.role``): an agency's users register referrals in."""
    role = role or world.role
    if role in COUNTY_USERS:  # a county's user names the village (a case lies in a township or below)
        return intake(jurisdiction_code=world.town.places.villages[0].code)
    if role not in REFERRALS_IN:
        return intake()
    workflow, source, attributes = REFERRALS_IN[role]
    place = world.town.places.villages[0].code
    return intake(workflow=workflow, source=source, jurisdiction_code=place, attributes=attributes)


def _accept_json(world: Any, case_id: int) -> dict[str, Any]:
    return {"json": {"trigger": "accept", "expected_version": 1, "data": {"rights_notified": True}}}


def _accept_form(world: Any, case_id: int) -> dict[str, Any]:
    return {"data": {"expected_version": "1", "rights_notified": "true"}}


PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
REPORT = {"year": str(local_today().year), "jurisdiction": "500101001"}


def _report(**extra: str) -> Callable[[Any, int], dict[str, Any]]:
    return lambda world, case_id: {"params": {**REPORT, **extra}}


def _upload(world: Any, case_id: int) -> dict[str, Any]:
    return {"data": {"kind": "evidence"}, "files": {"file": ("协议.pdf", PDF, "application/pdf")}}


def _stored_attachment(world: Any, case_id: int) -> dict[str, Any]:
    """An evidence file already on the case (kept by the attachments module, as an upload would)."""
    from mediation_flow.cases import attachments
    from mediation_flow.store.config import get_settings

    item = attachments.save(
        get_settings().data_dir, case_id, io.BytesIO(PDF), filename="证据.pdf", kind="evidence", uploaded_by=None
    )
    return {"path": {"attachment_id": item.id}}


_serial = itertools.count(1)


def _new_place(world: Any, case_id: int) -> dict[str, Any]:
    """A village code not yet taken (each allowed request adds one)."""
    return {"json": {"code": f"500101001{800 + next(_serial):03d}", "name": "新村", "parent_code": "500101001"}}


def _new_account(world: Any, case_id: int) -> dict[str, Any]:
    return {"json": {"username": f"new{next(_serial)}", "display_name": "新人", "role": "mediator",
                     "jurisdiction_code": "500101001"}}  # fmt: skip


def _spare_account(world: Any, case_id: int) -> dict[str, Any]:
    """An account of its own for a request that changes it (a reset ends the account's tokens)."""
    from mediation_flow.accounts.admin_log import administer
    from mediation_flow.accounts.management import create_account
    from mediation_flow.accounts.policy import CONSOLE
    from mediation_flow.vocabulary import Role

    name = f"spare{next(_serial)}"
    administer(world.engine, CONSOLE, lambda conn, a: create_account(
        conn, a, username=name, role=Role.MEDIATOR, display_name=name, jurisdiction_code="500101001"
    ))  # fmt: skip
    return {"path": {"username": name}, "data": {"action": "reset"}}


def _places_csv(world: Any, case_id: int) -> dict[str, Any]:
    return {"files": {"file": ("区划.csv", "500101001001,龙井村,500101001\n".encode(), "text/csv")}}


ADMINS = may(Permission.ADMINISTER)
COUNTY = frozenset({"county_supervisor", "admin"})  # reporting roles whose subtree holds the county


def _county_report(world: Any, case_id: int) -> dict[str, Any]:
    return {"params": {"county": "500101", "year": str(local_today().year)}}


PUBLIC = Rule("public", ok=frozenset({200, 303, 401, 404, 422}))
RULES: dict[tuple[str, str], Rule] = {
    # operations and the API's own description
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/static"): PUBLIC,
    # JSON API
    ("POST", "/api/v1/auth/token"): PUBLIC,
    ("GET", "/api/v1/account"): Rule("api"),
    ("POST", "/api/v1/account/password"): Rule("api", body=lambda w, c: {"json": {}}, ok=frozenset({422})),
    ("GET", "/api/v1/jurisdictions"): Rule("api"),
    ("GET", "/api/v1/workflows"): Rule("api"),
    ("GET", "/api/v1/workflows/{name}/diagram"): Rule("api"),
    ("GET", "/api/v1/cases"): Rule("api"),
    ("POST", "/api/v1/cases"): Rule("api", REGISTERING, body=lambda w, c: {"json": _intake(w)}, ok=frozenset({201})),
    # 三调对接: the agencies serving one's area; an agency's inbox; the supervisor's 转出待反馈
    ("GET", "/api/v1/agencies"): Rule("api"),
    ("GET", "/api/v1/agency/inbox"): Rule("api", may(Permission.AGENCY_INBOX)),
    ("GET", "/api/v1/queues/referred-out"): Rule("api", may(Permission.REFERRED_OUT_QUEUE)),
    # statistics: supervisors and admins; definitions and the blank ledger template are public documents
    ("GET", "/api/v1/reports/annual"): Rule("api", REPORTING, body=_report()),
    ("GET", "/api/v1/reports/annual/cases"): Rule("api", REPORTING, body=_report(figure="closed")),
    ("GET", "/api/v1/reports/annual/download"): Rule("api", REPORTING, body=_report(format="json")),
    ("POST", "/api/v1/reports/annual/download"): Rule(
        "api", REPORTING, body=lambda w, c: {"params": {**REPORT, "format": "json"}, "json": {"paragraphs": ["正文"]}}
    ),
    ("GET", "/api/v1/reports/definitions"): PUBLIC,
    ("GET", "/api/v1/reports/ledger/template"): PUBLIC,
    ("POST", "/api/v1/reports/ledger/import"): Rule(
        "api",
        may(Permission.IMPORT_LEDGER),
        body=lambda w, c: {"files": {"file": ("台账.csv", "案号\n".encode(), "text/csv")}},
        ok=frozenset({201, 422}),
    ),
    ("GET", "/api/v1/cases/{case_id}"): Rule("api", case=True),
    ("GET", "/api/v1/cases/{case_id}/assignees"): Rule("api", case=True),
    # administration: jurisdictions and accounts (administrators only)
    ("GET", "/api/v1/admin/places"): Rule("api", ADMINS),
    ("POST", "/api/v1/admin/places"): Rule("api", ADMINS, body=_new_place, ok=frozenset({201})),
    ("PATCH", "/api/v1/admin/places/{code}"): Rule("api", ADMINS, body=lambda w, c: {"json": {"name": "龙井村"}}),
    ("POST", "/api/v1/admin/places/import"): Rule("api", ADMINS, body=_places_csv, ok=frozenset({201, 422})),
    ("GET", "/api/v1/admin/accounts"): Rule("api", ADMINS),
    ("POST", "/api/v1/admin/accounts"): Rule("api", ADMINS, body=_new_account, ok=frozenset({201})),
    ("PATCH", "/api/v1/admin/accounts/{username}"): Rule(
        "api", ADMINS, body=lambda w, c: {"json": {"display_name": "liaison"}}
    ),
    ("POST", "/api/v1/admin/accounts/{username}/reset-password"): Rule(
        "api", ADMINS, body=lambda w, c: {"path": _spare_account(w, c)["path"]}
    ),
    ("GET", "/api/v1/admin/log"): Rule("api", ADMINS),
    ("GET", "/api/v1/admin/reference"): Rule("api", ADMINS),
    ("POST", "/api/v1/admin/reference"): Rule(
        "api",
        ADMINS,
        body=lambda w, c: {"json": {"kind": "venue", "label": f"调解室{next(_serial)}"}},
        ok=frozenset({201}),
    ),
    ("PATCH", "/api/v1/admin/reference/{kind}/{code}"): Rule(
        "api", ADMINS, body=lambda w, c: {"path": {"kind": "venue", "code": "village_room"}, "json": {"active": True}}
    ),
    ("GET", "/api/v1/cases/{case_id}/access-log"): Rule("api", may(Permission.READ_ACCESS_LOG), case=True),
    # 关联纠纷: everyone who sees the case; confirming or dismissing a link is for supervisors (issue 16)
    ("GET", "/api/v1/cases/{case_id}/related"): Rule("api", case=True),
    ("POST", "/api/v1/cases/{case_id}/related"): Rule(
        "api",
        may(Permission.DECIDE_LINKS),
        case=True,
        body=lambda w, c: {"json": {"other_case_id": MISSING_CASE, "decision": "dismissed"}},
        ok=frozenset({422}),
    ),
    ("GET", "/api/v1/queues/overdue"): Rule("api", QUEUES),
    ("GET", "/api/v1/queues/due-soon"): Rule("api", QUEUES),
    ("GET", "/api/v1/queues/suspended"): Rule("api", may(Permission.SUSPENDED_QUEUE)),
    ("POST", "/api/v1/cases/{case_id}/transitions"): Rule(
        "api", MEDIATING, case=True, body=_accept_json, ok=frozenset({200})
    ),
    # 更正: supervisors only (the workflow's ``correct`` step; issue 17)
    ("POST", "/api/v1/cases/{case_id}/corrections"): Rule(
        "api",
        frozenset({"supervisor", "county_supervisor"}),
        case=True,
        body=lambda w, c: {"json": {"expected_version": 1, "what": "title", "value": "更正后的名称", "reason": "笔误"}},
    ),
    # pages
    ("GET", "/"): Rule("page", ok=frozenset({303})),
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): Rule("page", body=lambda w, c: {"data": {}}, ok=frozenset({303}), fresh=True),
    ("GET", "/register"): Rule("page", REGISTERING),
    ("POST", "/register"): Rule("page", REGISTERING, body=lambda w, c: {"data": {}}, ok=frozenset({422})),
    ("GET", "/register/path"): Rule(
        "page", REGISTERING, body=lambda w, c: {"params": {"source": "police"}}, ok=frozenset({303})
    ),
    ("GET", "/register/outbox-key"): Rule("page", REGISTERING),
    ("GET", "/sw.js"): PUBLIC,
    ("GET", "/manifest.webmanifest"): PUBLIC,
    ("POST", "/register/related"): Rule("page", REGISTERING, body=lambda w, c: {"data": {"parties.0.name": "张三"}}),
    ("GET", "/grid"): Rule("page"),
    ("GET", "/my"): Rule("page", may(Permission.OWN_CASE_LIST)),
    ("GET", "/cases"): Rule("page"),
    ("GET", "/queue"): Rule("page", QUEUES),
    ("GET", "/inbox"): Rule("page", may(Permission.AGENCY_INBOX)),
    ("GET", "/referrals"): Rule("page", may(Permission.REFERRED_OUT_QUEUE)),
    ("GET", "/suspended"): Rule("page", may(Permission.SUSPENDED_QUEUE)),
    ("GET", "/dashboard"): Rule("page", REPORTING),
    ("GET", "/dashboard/cases"): Rule(
        "page", REPORTING, body=lambda w, c: {"params": {"jurisdiction": "500101001", "figure": "open"}}
    ),
    # the county view: a township's user sees their own township there; the county's report, those who see the county
    ("GET", "/county"): Rule("page", REPORTING),
    ("GET", "/county/report"): Rule("page", COUNTY, body=_county_report, denied=frozenset({403, 404})),
    ("GET", "/county/report.docx"): Rule("page", COUNTY, body=_county_report, denied=frozenset({403, 404})),
    ("GET", "/admin"): Rule("page", ADMINS),
    ("POST", "/admin/places"): Rule("page", ADMINS, body=lambda w, c: {"data": _new_place(w, c)["json"]}),
    ("POST", "/admin/places/import"): Rule("page", ADMINS, body=_places_csv),
    ("POST", "/admin/places/{code}"): Rule(
        "page", ADMINS, body=lambda w, c: {"data": {"action": "rename", "name": "龙井村"}}
    ),
    ("POST", "/admin/accounts"): Rule("page", ADMINS, body=lambda w, c: {"data": _new_account(w, c)["json"]}),
    ("POST", "/admin/accounts/{username}"): Rule("page", ADMINS, body=_spare_account),
    ("POST", "/admin/reference"): Rule(
        "page", ADMINS, body=lambda w, c: {"data": {"kind": "venue", "label": f"调解室{next(_serial)}"}}
    ),
    ("POST", "/admin/reference/{kind}/{code}"): Rule(
        "page",
        ADMINS,
        body=lambda w, c: {"path": {"kind": "venue", "code": "village_room"}, "data": {"action": "restore"}},
    ),
    ("GET", "/account"): Rule("page"),
    ("POST", "/account/password"): Rule("page", body=lambda w, c: {"data": {}}, ok=frozenset({422})),
    ("GET", "/notices"): Rule("page"),
    ("POST", "/notices/seen"): Rule("page", body=lambda w, c: {"data": {}}, ok=frozenset({303})),
    ("POST", "/notices/handled"): Rule(
        "page",
        body=lambda w, c: {"data": {"case_id": str(c), "kind": "accept", "at": "2024-01-01T08:00:00+00:00"}},
        ok=frozenset({404}),
    ),
    ("GET", "/reports"): Rule("page", REPORTING),
    ("GET", "/reports/cases"): Rule("page", REPORTING, body=_report(figure="closed")),
    ("POST", "/reports/download"): Rule(
        "page", REPORTING, body=lambda w, c: {"data": {**REPORT, "format": "xlsx", "paragraphs": "正文"}}
    ),
    ("GET", "/workflows"): Rule("page"),
    ("GET", "/workflows/{name}"): Rule("page"),
    ("GET", "/cases/{case_id}"): Rule("page", case=True),
    ("GET", "/cases/{case_id}/part/{region}"): Rule("page", case=True),
    ("GET", "/cases/{case_id}/related"): Rule("page", case=True),
    # 查看完整信息: the parties' card in full, for the roles the policy shows full identity (issue 15, 最小必要)
    ("GET", "/cases/{case_id}/parties/full"): Rule("page", may(Permission.SEE_FULL_IDENTITY), case=True),
    ("POST", "/cases/{case_id}/related"): Rule(
        "page",
        may(Permission.DECIDE_LINKS),
        case=True,
        body=lambda w, c: {"data": {"other_case_id": str(MISSING_CASE), "decision": "dismissed"}},
        ok=frozenset({422}),
    ),
    ("POST", "/cases/{case_id}/attachments"): Rule("page", UPLOADING, case=True, body=_upload, ok=frozenset({303})),
    ("GET", "/cases/{case_id}/attachments/{attachment_id}"): Rule("page", case=True, body=_stored_attachment),
    ("GET", "/cases/{case_id}/print/{form_name}.docx"): Rule("page", case=True),
    # a trigger the role may not fire is answered like one the state does not offer: 422 "不能执行该操作"
    ("GET", "/cases/{case_id}/do/{trigger}"): Rule("page", MEDIATING, case=True, denied=NOT_OFFERED),
    ("POST", "/cases/{case_id}/do/{trigger}"): Rule(
        "page", MEDIATING, case=True, body=_accept_form, ok=frozenset({200, 303}), denied=NOT_OFFERED
    ),
}


def app_routes(app: Any) -> list[tuple[str, str]]:
    """Every (method, path) the app answers, HEAD aside; a mount counts as one GET."""
    found = []
    for context in iter_route_contexts(app.routes):  # included routers flattened, prefixes applied
        route = context.route
        if isinstance(route, APIRoute | Route):
            found += [(m, context.path) for m in sorted(context.methods or ()) if m != "HEAD"]
        elif isinstance(route, Mount):
            found.append(("GET", context.path))
    assert len(found) == len(set(found)), "a (method, path) is routed twice"
    return found


@dataclass
class World:
    app: Any
    town: Town
    engine: Any
    base_url: str
    api: dict[str, dict[str, str]] = field(default_factory=dict)
    pages: dict[str, httpx.Client] = field(default_factory=dict)
    checks: int = 0
    role: str | None = None  # who is asking (a rule's body may depend on it)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, follow_redirects=False, timeout=60)

    def page_session(self, username: str | None) -> httpx.Client:
        """A browser-like client: signed in as ``username`` (or anonymous), holding its CSRF token."""
        client = self.client()
        if ("GET", "/login") not in set(app_routes(self.app)):
            return client
        client.headers["X-CSRF-Token"] = _csrf(client.get("/login").text)
        if username:
            response = client.post("/login", data={"username": username, "password": PASSWORD})
            assert response.status_code == 303, (username, response.status_code)
            client.headers["X-CSRF-Token"] = _csrf(client.get("/login").text) or client.headers["X-CSRF-Token"]
        return client

    def new_case(self) -> int:
        return register(self.engine, self.town, "grid_worker")


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html) or re.search(r'"X-CSRF-Token": ?"([^"]+)"', html)
    return match.group(1) if match else ""


@pytest.fixture
def world(sqlite_engine, tmp_path, monkeypatch) -> Iterator[World]:
    from mediation_flow.store.config import get_settings

    monkeypatch.setattr(get_settings(), "data_dir", tmp_path)  # attachments stored here are the server's too
    town = make_town(sqlite_engine)
    with write_transaction(sqlite_engine) as conn:
        add_user(conn, username="county_supervisor", password=PASSWORD, role=Role.SUPERVISOR,
                 jurisdiction_code=town.places.county.code)  # fmt: skip
    url = sqlite_engine.url.render_as_string(hide_password=False)
    with Server(url, tmp_path, workers=1) as server:
        w = World(app=create_app(sqlite_engine), town=town, engine=sqlite_engine, base_url=server.base_url)
        with w.client() as client:
            for role in ROLES:
                token = client.post("/api/v1/auth/token", data={"username": role, "password": PASSWORD})
                w.api[role] = {"Authorization": f"Bearer {token.json()['access_token']}"}
        for role in ROLES:
            w.pages[role] = w.page_session(role)
        yield w
        for client in w.pages.values():
            client.close()


def _url(path: str, case_id: int, values: dict[str, str] | None = None) -> str:
    url = path.replace("{case_id}", str(case_id))
    for name, value in {**PATH_VALUES, **(values or {})}.items():
        url = url.replace("{" + name + "}", value)
    if path == "/static":
        url = "/static/htmx.min.js"
    return url


def _send(world: World, client: httpx.Client, method: str, path: str, rule: Rule, case_id: int, headers: Any) -> Any:
    kwargs = rule.body(world, case_id) if rule.body else {}
    url = _url(path, case_id, kwargs.pop("path", None))
    world.checks += 1
    return client.request(method, url, headers=headers, **kwargs)


def _is_login_redirect(response: Any) -> bool:
    if response.status_code in (302, 303, 307):
        return response.headers["location"].startswith("/login")
    return response.status_code == 200 and response.headers.get("hx-redirect", "").startswith("/login")


def test_every_route_is_in_the_table(world):
    missing = [route for route in app_routes(world.app) if route not in RULES]
    assert not missing, f"routes without an access rule in tests/test_security_routes.py RULES: {missing}"


@pytest.mark.timeout(1500)  # every route × ten users (three of them partner agencies' since issue 12) over
# HTTP; with the administration routes of issue 17 (~90 routes) it ran 5½ min at load 11 before issue 12's users
def test_route_role_jurisdiction_matrix(world):
    routes = app_routes(world.app)
    assert all(route in RULES for route in routes)
    for method, path in routes:
        rule = RULES[(method, path)]
        if rule.kind == "public":
            client = world.page_session(None) if method == "POST" else world.client()
            response = _send(world, client, method, path, rule, world.new_case(), None)
            assert response.status_code in rule.ok, (method, path, response.status_code)
            continue
        _check_anonymous(world, method, path, rule)
        for role in ROLES:
            _check_role(world, method, path, rule, role)
    print(f"\nroute matrix: {len(routes)} routes, {world.checks} requests")


def _check_anonymous(world: World, method: str, path: str, rule: Rule) -> None:
    case_id = world.new_case()
    if rule.kind == "api":
        response = _send(world, world.client(), method, path, rule, case_id, None)
        assert response.status_code == 401, (method, path, response.status_code)
        assert response.json()["error"]["code"] == "authentication_failed"
        return
    anonymous = world.page_session(None)
    response = _send(world, anonymous, method, path, rule, case_id, None)
    assert _is_login_redirect(response), (method, path, response.status_code, response.headers.get("location"))
    if method == "GET":
        fragment = _send(world, anonymous, method, path, rule, case_id, {"HX-Request": "true"})
        assert _is_login_redirect(fragment), (method, path, "htmx", fragment.status_code)


def _check_role(world: World, method: str, path: str, rule: Rule, role: str) -> None:
    case_id = world.new_case()
    world.role = role
    client = world.page_session(role) if rule.fresh else world.pages[role] if rule.kind == "page" else world.client()
    headers = world.api[role] if rule.kind == "api" else None
    response = _send(world, client, method, path, rule, case_id, headers)
    where = (method, path, role, response.status_code, response.text[:300])
    if rule.case and role in HIDDEN:
        assert response.status_code == 404, where
        if rule.kind == "page" and method == "GET":  # the htmx fragment of a hidden case is hidden too
            fragment = _send(world, client, method, path, rule, case_id, {"HX-Request": "true"})
            assert fragment.status_code == 404 and "<html" not in fragment.text.lower(), where
        missing = _send(world, client, method, path, rule, MISSING_CASE, headers)
        assert missing.status_code == 404
        if rule.kind == "api":  # hidden and missing are indistinguishable
            assert response.json()["error"]["code"] == missing.json()["error"]["code"] == "case_not_found"
            assert response.json()["error"]["message"] == missing.json()["error"]["message"]
    elif role in rule.roles:
        assert response.status_code in rule.ok, where
    else:
        assert response.status_code in rule.denied, where
        if method != "GET" and rule.case:
            assert _case_version(world, case_id) == 1, where  # refused means nothing changed
    if rule.kind == "page" and method != "GET":  # the same request without its CSRF token is refused
        forged = world.page_session(role)
        del forged.headers["X-CSRF-Token"]
        case_id = world.new_case()
        before = _case_version(world, case_id)
        attempt = _send(world, forged, method, path, rule, case_id, None)
        assert attempt.status_code == 403, (method, path, role, "csrf", attempt.status_code)
        assert _case_version(world, case_id) == before


def _case_version(world: World, case_id: int) -> int:
    with world.engine.connect() as conn:
        return int(conn.execute(text("SELECT version FROM dispute_case WHERE id = :i"), {"i": case_id}).scalar())


def test_lists_never_show_another_villages_cases(world):
    case_id = world.new_case()
    with world.client() as client:
        for role in ROLES:
            listed = client.get("/api/v1/cases?page_size=200", headers=world.api[role]).json()
            ids = {item["id"] for item in listed["items"]}
            assert (case_id in ids) == (role not in HIDDEN), role
    if ("GET", "/cases") in set(app_routes(world.app)):
        with world.client() as client:
            number = client.get(f"/api/v1/cases/{case_id}", headers=world.api["supervisor"]).json()["number"]
        for role in ROLES:
            page = world.pages[role].get("/cases")
            assert page.status_code == 200, role
            assert (number in page.text) == (role not in HIDDEN), role


def test_agency_users_see_only_the_cases_handed_to_or_by_their_agency(world):
    """A case referred to 青龙派出所, one the court referred in and one the petition office referred in: each
    agency's user reads its own case on every case route (API, page, fragment, printouts, attachment) and gets
    404 on the others', as for a missing case."""
    to_police = world.new_case()
    drive(world.engine, to_police, world.town["supervisor"], [("refer", REFER_TO_POLICE)])
    from_court = register_case(world.engine, actor=world.town["court_liaison"], intake=_intake(world, "court_liaison"))
    from_petition = register_case(
        world.engine, actor=world.town["petition_liaison"], intake=_intake(world, "petition_liaison")
    )
    own = {"liaison": to_police, "court_liaison": from_court, "petition_liaison": from_petition}
    reads = [(m, p) for m, p in app_routes(world.app) if m == "GET" and RULES[(m, p)].case]
    assert len(reads) >= 6
    for method, path in reads:
        rule = RULES[(method, path)]
        if not AGENCY & rule.roles:
            continue
        for role in sorted(AGENCY):
            client = world.pages[role] if rule.kind == "page" else world.client()
            headers = world.api[role] if rule.kind == "api" else None
            for case_id in (to_police, from_court, from_petition):
                answer = _send(world, client, method, path, rule, case_id, headers)
                where = (method, path, role, case_id, answer.status_code)
                if case_id == own[role]:
                    assert answer.status_code in rule.ok, where
                else:
                    assert answer.status_code == 404, where
                    if rule.kind == "page":
                        fragment = _send(world, client, method, path, rule, case_id, {"HX-Request": "true"})
                        assert fragment.status_code == 404, where
    with world.client() as client:
        for role, case_id in own.items():
            listed = client.get("/api/v1/cases?page_size=200", headers=world.api[role]).json()
            assert [item["id"] for item in listed["items"]] == [case_id], role


def test_full_identity_through_the_api_follows_the_policy(world):
    """``GET /api/v1/cases/{id}?identity=full`` (the same route as the masked read, so the matrix asks it
    without the parameter): the policy's roles 200 with full numbers, other roles 403, outsiders 404."""
    allowed = may(Permission.SEE_FULL_IDENTITY)
    case_id = world.new_case()
    with world.client() as client:
        for role in ROLES:
            answer = client.get(f"/api/v1/cases/{case_id}?identity=full", headers=world.api[role])
            expected = 404 if role in HIDDEN else 200 if role in allowed else 403
            assert answer.status_code == expected, (role, answer.status_code)
            assert ("11010519491231002X" in answer.text) == (expected == 200), role
            if expected == 403:
                assert answer.json()["error"]["code"] == "permission_denied"


HOSTILE = ["99999999999999999999", "-1", "0", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "x" * 300, "%00", "%E4%B8%AD'\"<b>"]


def test_hostile_path_values_never_cause_a_server_error(world):
    """Every path parameter of every route, replaced by hostile values: a 4xx, never a 5xx (pages included)."""
    tried = 0
    api = world.client()
    for method, path in app_routes(world.app):
        names = re.findall(r"{(\w+)}", path)
        if not names:
            continue
        rule = RULES[(method, path)]
        client = world.pages["supervisor"] if rule.kind == "page" else api
        headers = world.api["supervisor"] if rule.kind == "api" else None
        for name in names:
            for value in HOSTILE:
                url = _url(path, world.new_case()).replace(_url("{" + name + "}", 1), value, 1)
                if name == "case_id":
                    url = _url(path.replace("{case_id}", value), 1)
                response = client.request(method, url, headers=headers)
                tried += 1
                assert response.status_code < 500, (method, url, response.status_code)
    print(f"\nhostile path values: {tried} requests")


def test_a_township_administrator_changes_only_its_own_townships_reference_data(world):
    """The jurisdiction half of the reference-data routes (issue 17): an administrator of 白马镇 lists the
    county's items and 白马镇's, not 青龙镇's tea house; adds and renames 白马镇's venues; is refused (403, nothing
    changed) on 青龙镇's and on the county's items, over the API and on /admin."""
    from mediation_flow.demo_county import build_second_township
    from mediation_flow.places.reference_changes import get_item

    with write_transaction(world.engine) as conn:
        build_second_township(conn, world.town.places)
        add_user(conn, username="baima_admin", password=PASSWORD, role=Role.ADMIN, jurisdiction_code="500101002")
    api = world.client()
    token = api.post("/api/v1/auth/token", data={"username": "baima_admin", "password": PASSWORD}).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    listed = api.get("/api/v1/admin/reference", headers=headers).json()
    venues = {i["code"]: i["township_code"] for i in listed if i["kind"] == "venue"}
    assert venues == {"village_room": None, "police_room": None, "court_room": None,
                      "baima_hall": "500101002", "huangjue_tree": "500101002"}  # fmt: skip
    offered = api.get("/api/v1/admin/reference?township=500101001", headers=world.api["admin"]).json()
    assert "qingfeng_teahouse" in {i["code"] for i in offered} and "baima_hall" not in {i["code"] for i in offered}
    added = api.post("/api/v1/admin/reference", headers=headers, json={"kind": "venue", "label": "石龙说理堂"})
    assert added.status_code == 201 and added.json()["township_name"] == "白马镇"
    renamed = api.patch("/api/v1/admin/reference/venue/baima_hall", headers=headers, json={"label": "白马镇议事厅"})
    assert renamed.status_code == 200 and renamed.json()["township_code"] == "500101002"
    refused = [
        ("POST", "/api/v1/admin/reference", {"kind": "venue", "label": "青龙新茶室", "township_code": "500101001"}),
        ("POST", "/api/v1/admin/reference", {"kind": "category", "label": "水利纠纷"}),
        ("PATCH", "/api/v1/admin/reference/venue/qingfeng_teahouse", {"active": False}),
        ("PATCH", "/api/v1/admin/reference/category/neighbourhood", {"label": "邻里纠纷"}),
    ]
    for method, url, body in refused:
        answer = api.request(method, url, headers=headers, json=body)
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "permission_denied", (url, answer.text)
    page = world.page_session("baima_admin")
    admin_page = page.get("/admin").text
    assert "石龙说理堂" in admin_page and "清风茶室" not in admin_page
    answer = page.post("/admin/reference/venue/qingfeng_teahouse", data={"action": "retire"})
    assert answer.status_code == 403 and "只能修改本辖区的参考数据" in answer.text
    with world.engine.connect() as conn:
        assert get_item(conn, "venue", "qingfeng_teahouse").active
        assert get_item(conn, "category", "neighbourhood").label == "邻里"
