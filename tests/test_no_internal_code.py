"""No internal code in front of a person (issue 13): over the full demo, every role's demo user walks every
page and htmx fragment the site offers it — the pages of the route list, every link and GET form they lead to
(case pages of each workflow and state, their regions, trigger forms and timelines, notices, queues, the
report and its drill-downs, admin, account) — and downloads every printout, the report .docx and .xlsx and
the ledger template. No visible text may hold a state, trigger, field or figure key, an ISO date, or any
English word. The names are taken from the workflow files, the schemas, the figure definitions and the
glossary (tests/plain_text.py), not listed by hand."""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from plain_text import ALLOWED, docx_text, html_text, internal_names, offences, xlsx_text
from sqlalchemy import text

from mediation_flow.accounts.users import actor_for, add_user
from mediation_flow.cases.engine import apply_trigger
from mediation_flow.cases.schemas import workflow_file_specs
from mediation_flow.demo import DEMO_PASSWORDS, demo_password, load_demo
from mediation_flow.store.config import get_settings
from mediation_flow.store.db import make_engine, write_transaction
from mediation_flow.store.migrate import upgrade
from mediation_flow.vocabulary import Role
from web.app import create_app
from web.pages import supervisor
from web.pages.cases import REGIONS

# Roles the demo has no account for: a clerk (录入员) of the township and a county-level supervisor.
EXTRA_USERS = {
    "luru": (Role.CLERK, "500101001", "刘洋"),
    "xianli": (Role.SUPERVISOR, "500101", "县司法局 何静"),
}
PER_SHAPE = 6  # pages of one shape (same path but for numbers, same query names) a role opens at most,
PER_SHAPE_OF = {"/reports/cases": 40}  # but every drill-down of a report,
CASE_PARTS = 3  # and of a case's region, trigger form or printout of one kind, this many (the page has them all)
SKIPPED = re.compile(r"^/(static|api|healthz|readyz|openapi)|^/logout")
# Routes no page links to: the demo has no attachments; the offline outbox's key, the service worker and the
# web manifest are fetched by script (no text a person reads as a page).
NOT_LINKED = {"/cases/#/attachments/#", "/register/outbox-key", "/sw.js", "/manifest.webmanifest", "/login"}
CASE_PATH = re.compile(r"^/cases/(\d+)")


class Visitor:
    """One signed-in user walking the site through the ASGI app, collecting what each response shows."""

    def __init__(self, app: Any, username: str, password: str, cases: set[int]) -> None:
        self.client = TestClient(app, follow_redirects=False)
        self.cases = cases
        page = self.client.get("/login").text
        self.csrf = _csrf(page)
        response = self.client.post(
            "/login", data={"username": username, "password": password, "csrf_token": self.csrf}
        )
        assert response.status_code == 303, (username, response.text[:300])
        self.csrf = _csrf(self.client.get("/login").text)
        self.seen: dict[str, list[str]] = {}  # url → visible texts
        self.files: dict[str, bytes] = {}  # url → .docx / .xlsx content
        self.shapes: Counter[str] = Counter()
        self.visited: set[str] = set()
        self.answered: set[str] = set()  # paths (numbers as #) that answered below 400
        self.actions: set[str] = set()  # GET forms already varied
        self.forms: list[tuple[str, dict[str, str]]] = []  # POST forms that download a file

    def wanted(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.netloc or not parts.path.startswith("/") or SKIPPED.search(parts.path) or url in self.visited:
            return False
        case = CASE_PATH.match(parts.path)
        if case and int(case.group(1)) not in self.cases:
            return False
        shape = re.sub(r"\d+", "#", parts.path) + "?" + ",".join(sorted(k for k, _ in parse_qsl(parts.query)))
        most = CASE_PARTS if case else PER_SHAPE_OF.get(parts.path, PER_SHAPE)
        if not re.fullmatch(r"/cases/\d+", parts.path) and self.shapes[shape] >= most:
            return False
        self.shapes[shape] += 1
        self.visited.add(url)
        return True

    def walk(self, start: list[str]) -> None:
        todo = [u for u in start if self.wanted(u)]
        while todo:
            url = todo.pop()
            fragment = "/part/" in url or "/do/" in url  # asked for by htmx only
            response = self.client.get(url, headers={"HX-Request": "true"} if fragment else {})
            if response.status_code < 400:
                self.answered.add(re.sub(r"\d+", "#", urlsplit(url).path))
            if response.status_code in (302, 303, 307):
                todo += [t for t in [response.headers["location"]] if self.wanted(t)]
                continue
            assert response.status_code < 500, (url, response.status_code, response.text[:300])
            if "html" in response.headers.get("content-type", ""):  # refusals too: a person reads them
                self.seen[url] = html_text(response.text)
                todo += [u for u in _links(response.text, self.actions) if self.wanted(u)]
                self.forms += _download_forms(response.text)
            elif response.status_code == 200 and response.content[:2] == b"PK":  # .docx, .xlsx
                self.files[url] = response.content

    def download(self) -> None:
        template = self.client.get("/api/v1/reports/ledger/template")
        if template.status_code == 200:
            self.files["/api/v1/reports/ledger/template"] = template.content
        for action, fields in self.forms:
            for fmt in ("docx", "xlsx"):
                key = f"{action}?{urlencode({**fields, 'format': fmt})}"
                if key in self.files:
                    continue
                response = self.client.post(action, data={**fields, "format": fmt, "csrf_token": self.csrf})
                assert response.status_code == 200, (key, response.text[:300])
                self.files[key] = response.content


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', page)
    return found.group(1) if found else ""


def _attrs(tag: str) -> dict[str, str]:
    return {k: html.unescape(v) for k, v in re.findall(r'([\w-]+)="([^"]*)"', tag)}


def _links(page: str, actions: set[str]) -> Iterator[str]:
    """Links, htmx GETs and the URLs a GET form builds (each choice of each of its drop-downs, the first
    time the form is seen)."""
    for tag in re.findall(r"<(?:a|button|div|section|span|li|tr|select|input)\b[^>]*>", page):
        found = _attrs(tag)
        for name in ("href", "hx-get"):
            if found.get(name, "").startswith("/"):
                yield found[name]
    for form in re.findall(r"<form\b.*?</form>", page, flags=re.S):
        head = _attrs(form[: form.index(">") + 1])
        if head.get("method", "get").lower() != "get" or not head.get("action", "").startswith("/"):
            continue
        if head["action"] in actions:
            continue
        actions.add(head["action"])
        defaults = dict(_inputs(form))
        for select in re.findall(r"<select\b.*?</select>", form, flags=re.S):
            name = _attrs(select[: select.index(">") + 1]).get("name", "")
            for value in re.findall(r'<option[^>]*value="([^"]*)"', select):
                yield f"{head['action']}?{urlencode({**defaults, name: value})}"
        yield f"{head['action']}?{urlencode(defaults)}"


def _inputs(form: str) -> Iterator[tuple[str, str]]:
    for tag in re.findall(r"<input\b[^>]*>", form):
        found = _attrs(tag)
        if found.get("name") and found.get("type") not in ("submit", "button", "checkbox", "radio"):
            yield found["name"], found.get("value", "")
    for head, body in re.findall(r"(<textarea\b[^>]*>)(.*?)</textarea>", form, flags=re.S):
        yield _attrs(head).get("name", ""), html.unescape(body)
    for select in re.findall(r"<select\b.*?</select>", form, flags=re.S):
        name = _attrs(select[: select.index(">") + 1]).get("name", "")
        chosen = re.search(r'<option[^>]*value="([^"]*)"[^>]*selected', select) or re.search(
            r'<option[^>]*value="([^"]*)"', select
        )
        if name and chosen:
            yield name, chosen.group(1)


def _download_forms(page: str) -> list[tuple[str, dict[str, str]]]:
    found = []
    for form in re.findall(r"<form\b.*?</form>", page, flags=re.S):
        head = _attrs(form[: form.index(">") + 1])
        if head.get("method", "").lower() == "post" and head.get("action", "").endswith("/download"):
            fields = dict(_inputs(form))
            fields.pop("csrf_token", None)
            fields.pop("format", None)
            found.append((head["action"], fields))
    return found


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any]]:
    folder: Path = tmp_path_factory.mktemp("plain")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MEDIATION_FLOW_DATA_DIR", str(folder))
        patch.setattr(supervisor, "PAGE_ROWS", 2)  # the demo's queue sections are short: page them, walk the pagers
        get_settings.cache_clear()
        engine = make_engine(f"sqlite:///{folder}/demo.db")
        upgrade(engine)
        load_demo(engine, cases=150)
        escalate_and_regrade(engine)
        with write_transaction(engine) as conn:
            for username, (role, code, name) in EXTRA_USERS.items():
                add_user(
                    conn, username=username, password=demo_password(username), role=role,
                    display_name=name, jurisdiction_code=code,
                )  # fmt: skip
        yield create_app(engine), engine
        engine.dispose()
    get_settings.cache_clear()


def escalate_and_regrade(engine: Any) -> None:
    """What the demo never does: raise a grid case to its village and change its risk grade (the engine
    records the level and grade before and after)."""
    with engine.connect() as conn:
        case = conn.execute(
            text(
                "SELECT id, version, risk_grade FROM dispute_case WHERE workflow_name = 'people_mediation'"
                " AND state = 'mediating' AND level = 'grid' ORDER BY id LIMIT 1"
            )
        ).one()
        supervisor = actor_for(conn, conn.execute(text("SELECT id FROM app_user WHERE username = 'sifasuo'")).scalar())
    assert supervisor is not None
    grade = "red" if case.risk_grade != "red" else "blue"
    steps = [("escalate", {"reason": "涉及多户村民"}), ("set_risk", {"grade": grade, "reason": "双方情绪激动"})]
    for version, (trigger, data) in enumerate(steps, start=case.version):
        apply_trigger(engine, case_id=case.id, actor=supervisor, trigger=trigger, expected_version=version, data=data)


def _chosen_cases(engine: Any) -> set[int]:
    """One case of each workflow × state × handoff stage × agency, and the newest three."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT min(id) FROM dispute_case"
                " GROUP BY workflow_name, state, coalesce(handoff, ''), coalesce(agency_id, 0)"
            )
        ).all()
        newest = conn.execute(text("SELECT id FROM dispute_case ORDER BY id DESC LIMIT 3")).scalars()
        changed = conn.execute(text("SELECT case_id FROM case_event WHERE trigger IN ('escalate', 'set_risk')"))
        return {r[0] for r in rows} | set(newest) | set(changed.scalars())


def _page_routes(app: Any) -> set[str]:
    found = set()
    for context in iter_route_contexts(app.routes):
        if "GET" in (context.methods or ()) and not SKIPPED.search(context.path):
            found.add(re.sub(r"\{[^}]+\}", "#", context.path))
    return found


USERNAMES = [*DEMO_PASSWORDS, *EXTRA_USERS]


class Walks(dict[str, Visitor]):
    """Each user's walk, made when first asked for."""

    def __init__(self, app: Any, cases: set[int]) -> None:
        super().__init__()
        self.app, self.cases = app, cases

    def __missing__(self, username: str) -> Visitor:
        visitor = Visitor(self.app, username, demo_password(username), self.cases)
        cases = sorted(self.cases)
        regions = [f"/cases/{n}/part/{region}" for n in cases for region in REGIONS]  # htmx reloads them
        visitor.walk(["/", "/account", "/notices", "/workflows", *regions, *(f"/cases/{n}" for n in cases)])
        visitor.download()
        self[username] = visitor
        return visitor


@pytest.fixture(scope="module")
def walks(demo: tuple[Any, Any]) -> Walks:
    app, engine = demo
    return Walks(app, _chosen_cases(engine))


@pytest.mark.slow
@pytest.mark.timeout(1200)  # a supervisor's walk is some 400 requests and a dozen generated files
@pytest.mark.parametrize("username", USERNAMES)
def test_no_page_fragment_or_file_shows_an_internal_name_an_iso_date_or_english(walks: Walks, username: str) -> None:
    names = internal_names(workflow_file_specs())
    allowed = ALLOWED | set(USERNAMES)  # a user name is what its owner types to sign in
    visitor = walks[username]
    found = []
    for url, texts in visitor.seen.items():
        found += [f"{url}: {o}" for o in offences(texts, names, allowed)]
    for url, content in visitor.files.items():
        texts = xlsx_text(content) if b"xl/" in content[:2000] else docx_text(content)
        found += [f"{url}: {o}" for o in offences(texts, names, allowed)]
    unique = sorted(set(found))
    assert not unique, f"{len(unique)} offences:\n" + "\n".join(unique[:200])


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_the_walk_reaches_every_page_route_printouts_and_both_report_files(walks: Walks) -> None:
    """The walk covers the route list: every page route was answered (200) for someone, each printout
    of the case pages was downloaded, the report came as .docx and .xlsx."""
    visitors = [walks[u] for u in USERNAMES]
    opened = set().union(*(v.answered for v in visitors))
    routes = _page_routes(walks["admin"].client.app) - NOT_LINKED
    missing = {r for r in routes if not any(re.fullmatch(re.escape(r).replace("\\#", "[^/]+"), o) for o in opened)}
    assert not missing, missing
    queue_pages = {u for v in visitors for u in v.seen if u.startswith("/queue?") and "_page=" in u}
    assert {"overdue_page", "soon_page"} <= {k for u in queue_pages for k, _ in parse_qsl(urlsplit(u).query)}
    files = [u for v in visitors for u in v.files]
    assert any("/print/" in u for u in files) and any("format=xlsx" in u for u in files)
    assert any("format=docx" in u for u in files)
