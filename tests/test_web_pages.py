"""The pages over HTTP (httpx through the ASGI app, on SQLite and PostgreSQL): sign-in and its cookie,
CSRF, role homes, fragments versus full pages with ``Vary: HX-Request``, inline trigger forms with
out-of-band updates, stale versions, inline errors, masking — and no page or fragment of a case for a
user of another village."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from factories import PASSWORD, REFER_TO_POLICE, Town, drive, happy_path, register
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from mediation_flow.accounts.policy import SYSTEM
from mediation_flow.cases.queries import get_case_row
from mediation_flow.store import clock
from mediation_flow.store.config import get_settings
from mediation_flow.store.db import write_transaction
from mediation_flow.store.tables import AGENCIES
from web.app import create_app

REGIONS = ("state", "facts", "actions", "clocks", "timeline")
OOB_IDS = ("case-state", "case-facts", "case-actions", "case-clocks", "case-timeline")


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, "page without a CSRF meta tag"
    return match.group(1)


class Browser:
    """A cookie-keeping client that signs in through the login page, like a browser without JavaScript."""

    def __init__(self, app: Any) -> None:
        self.client = TestClient(app, follow_redirects=False)
        self.csrf = csrf_of(self.client.get("/login").text)

    def login(self, username: str, password: str = PASSWORD) -> Any:
        response = self.client.post(
            "/login", data={"username": username, "password": password, "csrf_token": self.csrf}
        )
        if response.status_code == 303:
            self.csrf = csrf_of(self.client.get("/login").text)
        return response

    def get(self, url: str, **headers: str) -> Any:
        return self.client.get(url, headers=headers)

    def post(self, url: str, data: dict[str, Any], *, htmx: bool = False, token: bool = True) -> Any:
        headers = {"HX-Request": "true"} if htmx else {}
        body = {**data, "csrf_token": self.csrf} if token else data
        return self.client.post(url, data=body, headers=headers)


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Each test its own data directory (secret key, attachments)."""
    monkeypatch.setenv("MEDIATION_FLOW_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.fixture
def app(engine: Engine, town: Town) -> Any:
    return create_app(engine)


@pytest.fixture
def signed_in(app: Any) -> Iterator[Any]:
    made: dict[str, Browser] = {}

    def make(username: str) -> Browser:
        if username not in made:
            browser = Browser(app)
            assert browser.login(username).status_code == 303
            made[username] = browser
        return made[username]

    yield make


def version_of(engine: Engine, case_id: int) -> int:
    with engine.connect() as conn:
        return int(get_case_row(conn, SYSTEM, case_id)["version"])


def test_login_sets_a_signed_httponly_samesite_cookie_and_lands_each_role_on_its_home(app: Any) -> None:
    homes = {
        "grid_worker": "/grid",
        "mediator": "/my",
        "supervisor": "/queue",
        "admin": "/admin",
        "liaison": "/inbox",
        "court_liaison": "/inbox",
        "petition_liaison": "/inbox",
    }
    for username, home in homes.items():
        browser = Browser(app)
        response = browser.login(username)
        assert response.status_code == 303
        assert response.headers["location"] == home
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "mf_session=" in cookie
        page = browser.get(home)
        assert page.status_code == 200 and "<html" in page.text
        assert browser.get("/").headers["location"] == home


def test_wrong_password_and_missing_csrf_are_refused_in_chinese(app: Any) -> None:
    browser = Browser(app)
    wrong = browser.login("mediator", "not-the-password-1")
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
    no_token = browser.client.post("/login", data={"username": "mediator", "password": PASSWORD})
    assert no_token.status_code == 403 and "刷新页面" in no_token.text
    assert "mf_session" not in browser.client.cookies or browser.get("/my").status_code == 303


def test_anonymous_pages_go_to_login_and_htmx_gets_hx_redirect(app: Any, town: Town, engine: Engine) -> None:
    case_id = register(engine, town)
    client = TestClient(app, follow_redirects=False)
    for url in ("/grid", "/my", f"/cases/{case_id}", f"/cases/{case_id}/part/timeline", "/queue"):
        response = client.get(url)
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")
        fragment = client.get(url, headers={"HX-Request": "true"})
        assert fragment.headers["HX-Redirect"].startswith("/login")


def test_logout_ends_the_session_and_needs_the_token(signed_in: Any) -> None:
    browser = signed_in("mediator")
    assert browser.post("/logout", {}, token=False).status_code == 403
    assert browser.get("/my").status_code == 200
    assert browser.post("/logout", {}).headers["location"] == "/login"
    assert browser.get("/my").status_code == 303


def test_fragment_routes_return_fragments_and_pages_return_pages_with_vary(
    signed_in: Any, town: Town, engine: Engine
) -> None:
    case_id = register(engine, town)
    supervisor = signed_in("supervisor")
    urls = [f"/cases/{case_id}", f"/cases/{case_id}/do/add_note", "/queue", "/dashboard", "/cases"]
    urls += [f"/cases/{case_id}/part/{region}" for region in REGIONS]
    for url in urls:
        full = supervisor.get(url)
        boosted = supervisor.get(url, **{"HX-Request": "true", "HX-Boosted": "true"})
        fragment = supervisor.get(url, **{"HX-Request": "true"})
        for response in (full, boosted, fragment):
            assert response.status_code == 200, url
            assert "HX-Request" in [v.strip() for v in response.headers["vary"].split(",")], url
        assert "<html" in full.text and "<html" in boosted.text, url
        assert "<html" not in fragment.text and "<body" not in fragment.text, url
    assert 'id="queue"' in supervisor.get("/queue", **{"HX-Request": "true"}).text
    assert 'hx-trigger="every 60s"' in supervisor.get("/queue").text


def test_every_case_page_and_fragment_is_404_for_another_village(
    app: Any, signed_in: Any, town: Town, engine: Engine
) -> None:
    case_id = register(engine, town)
    case_routes = sorted(
        {
            (method, context.path)
            for context in iter_route_contexts(app.routes)  # included routers flattened, prefixes applied
            if "{case_id}" in context.path
            for method in (context.methods or ())
            if method != "HEAD"
        }
    )
    page_routes = [(m, p) for m, p in case_routes if not p.startswith("/api")]
    assert len(page_routes) >= 4, page_routes
    values = {
        "region": list(REGIONS),
        "trigger": ["add_note", "accept", "escalate"],
        "form_name": ["registration", "agreement"],
        "attachment_id": ["0" * 32],
    }
    for username in ("other_village_mediator", "other_grid_worker"):
        outsider = signed_in(username)
        for method, path in page_routes:
            urls = [path.replace("{case_id}", str(case_id))]
            for name, options in values.items():
                urls = (
                    [u.replace("{" + name + "}", option) for u in urls for option in options]
                    if "{" + name + "}" in path
                    else urls
                )
            for url in urls:
                for htmx in (False, True):
                    if method == "GET":
                        response = outsider.get(url, **({"HX-Request": "true"} if htmx else {}))
                    else:
                        data = {"expected_version": "1", "text": "越权备注", "reason": "越权提级"}
                        response = outsider.post(url, data, htmx=htmx)
                    assert response.status_code == 404, (username, method, url, htmx, response.status_code)
                    assert "案件不存在或无权查看" in response.text
                    assert "张三" not in response.text
    assert version_of(engine, case_id) == 1  # nothing an outsider sent changed the case


def test_a_trigger_updates_state_actions_clocks_and_timeline_out_of_band(
    signed_in: Any, town: Town, engine: Engine
) -> None:
    case_id = register(engine, town)
    mediator = signed_in("mediator")
    form = mediator.get(f"/cases/{case_id}/do/accept", **{"HX-Request": "true"})
    assert 'name="rights_notified"' in form.text and 'name="expected_version" value="1"' in form.text
    response = mediator.post(
        f"/cases/{case_id}/do/accept", {"expected_version": "1", "rights_notified": "true"}, htmx=True
    )
    assert response.status_code == 200
    assert "已完成：受理" in response.text
    for region in OOB_IDS:
        assert re.search(rf'id="{region}"[^>]*hx-swap-oob="true"', response.text), region
    assert 'data-state="accepted"' in response.text
    assert 'data-version="2"' in response.text  # the state region says the case changed (to scripts, not shown)
    assert not re.search(r"第\s*\d+\s*版", response.text)  # the record's version means nothing to a mediator
    assert 'data-clock="mediation"' in response.text
    assert "<html" not in response.text
    plain = mediator.post(f"/cases/{case_id}/do/add_note", {"expected_version": "2", "text": "电话联系双方"})
    assert plain.status_code == 303 and plain.headers["location"] == f"/cases/{case_id}"
    assert "电话联系双方" in mediator.get(f"/cases/{case_id}").text


def test_a_written_agreement_asks_for_its_performance_and_says_so_on_the_form(
    signed_in: Any, town: Town, engine: Engine
) -> None:
    """履行方式、地点、期限 is required of a written agreement only (《人民调解法》第二十九条): the form says when, a
    written agreement without it is refused on that field, an oral one goes through."""
    case_id = register(engine, town)
    steps = [("assign", {"mediator_id": town["mediator"].id}), *happy_path()[:2]]
    drive(engine, case_id, town["supervisor"], steps)
    mediator = signed_in("mediator")
    form = mediator.get(f"/cases/{case_id}/do/reach_agreement", **{"HX-Request": "true"}).text
    note = '<span class="muted" data-required-when>（协议形式为“书面协议（调解协议书）”时必填）'
    assert f"履行方式、地点、期限 {note}" in form
    agreement = {k: v for k, v in happy_path()[3][1].items() if k != "performance"}
    version = version_of(engine, case_id)
    refused = mediator.post(
        f"/cases/{case_id}/do/reach_agreement", {**agreement, "expected_version": str(version)}, htmx=True
    )
    assert refused.status_code == 422
    assert "协议形式为“书面协议（调解协议书）”时，请填写“履行方式、地点、期限”" in refused.text
    assert 'id="t-reach_agreement-performance-err"' in refused.text and version_of(engine, case_id) == version
    oral = {**agreement, "form": "oral", "expected_version": str(version)}
    assert mediator.post(f"/cases/{case_id}/do/reach_agreement", oral, htmx=True).status_code == 200
    assert version_of(engine, case_id) == version + 1


def test_a_stale_version_shows_a_clear_message_and_the_fresh_case(signed_in: Any, town: Town, engine: Engine) -> None:
    case_id = register(engine, town)
    drive(engine, case_id, town["supervisor"], [("add_note", {"text": "他人先更新"})])
    mediator = signed_in("mediator")
    response = mediator.post(
        f"/cases/{case_id}/do/reject", {"expected_version": "1", "reason": "已由法院受理"}, htmx=True
    )
    assert response.status_code == 409
    assert "案件已被他人更新" in response.text and not re.search(r"第\s*\d+\s*版", response.text)
    assert "他人先更新" in response.text  # the fresh timeline, out of band
    assert 'name="expected_version" value="2"' in response.text and "已由法院受理" in response.text  # typed text kept
    assert version_of(engine, case_id) == 2


def test_invalid_trigger_data_re_renders_the_form_with_messages(signed_in: Any, town: Town, engine: Engine) -> None:
    case_id = register(engine, town)
    mediator = signed_in("mediator")
    response = mediator.post(f"/cases/{case_id}/do/reject", {"expected_version": "1", "note": "先记下"}, htmx=True)
    assert response.status_code == 422
    assert "请填写“不予受理理由”" in response.text and 'data-form="reject"' in response.text
    assert "先记下" in response.text
    accept = mediator.post(f"/cases/{case_id}/do/accept", {"expected_version": "1"}, htmx=True)
    assert accept.status_code == 422 and "请确认" in accept.text
    full = mediator.post(f"/cases/{case_id}/do/accept", {"expected_version": "1"})
    assert full.status_code == 422 and "<html" in full.text
    missing = mediator.post(f"/cases/{case_id}/do/accept", {"rights_notified": "true"}, htmx=True)
    assert missing.status_code == 422 and "页面缺少案件版本" in missing.text
    assert mediator.post(f"/cases/{case_id}/do/accept", {"expected_version": "1"}, token=False).status_code == 403
    assert version_of(engine, case_id) == 1


def test_register_form_errors_inline_keep_what_was_typed_then_register(signed_in: Any, engine: Engine) -> None:
    grid_worker = signed_in("grid_worker")
    typed = {
        "title": "王五与赵六宅基地纠纷",
        "category": "housing_homestead",
        "source": "initiative",
        "summary": "",
        "people_involved": "4",
        "amount": "12000",
        "risk_hints": ["petition_risk"],
        "parties.0.role": "applicant",
        "parties.0.name": "王五",
        "parties.0.phone": "12345",
        "parties.0.id_number": "",
        "parties.1.role": "respondent",
        "parties.1.name": "赵六",
    }
    bad = grid_worker.post("/register", typed)
    assert bad.status_code == 422
    assert "请填写“纠纷简要情况”" in bad.text
    assert 'id="e-parties-0-phone"' in bad.text and "手机号或固定电话格式不正确" in bad.text
    for kept in ('value="王五与赵六宅基地纠纷"', 'value="赵六"', 'value="12000"', 'value="12345"'):
        assert kept in bad.text
    assert re.search(r'value="petition_risk" checked', bad.text)
    more = grid_worker.post("/register", {**typed, "add_party": "1"})
    assert more.status_code == 200 and 'name="parties.2.name"' in more.text and 'value="赵六"' in more.text
    blank_second = grid_worker.post("/register", {**typed, "parties.1.name": "", "add_party": "1"})
    assert 'name="parties.2.name"' in blank_second.text  # an empty row is kept while adding another
    good = grid_worker.post(
        "/register", {**typed, "summary": "两户因宅基地界址争执。", "parties.0.phone": "13912345678"}
    )
    assert good.status_code == 303
    case_url = good.headers["location"]
    page = grid_worker.get(case_url)
    assert "已登记，案号" in page.text and 'data-draft-clear="register.' in page.text  # the draft is kept per user
    assert "139****5678" in page.text and "13912345678" not in page.text  # grid workers see masked phones


def test_mediators_see_full_identity_when_they_ask_grid_workers_masked(
    signed_in: Any, town: Town, engine: Engine
) -> None:
    case_id = register(engine, town)
    mediator = signed_in("mediator")
    shown = mediator.get(f"/cases/{case_id}").text  # 最小必要: masked by default, 查看完整信息 on the card
    assert "13812345678" not in shown and "138****5678" in shown and "查看完整信息" in shown
    assert "13812345678" in mediator.get(f"/cases/{case_id}/parties/full", **{"HX-Request": "true"}).text
    masked = signed_in("grid_worker").get(f"/cases/{case_id}").text
    assert "13812345678" not in masked and "11010519491231002X" not in masked and "138****5678" in masked


def test_lists_queue_dashboard_and_workflow_pages_render(signed_in: Any, town: Town, engine: Engine) -> None:
    done = register(engine, town)
    drive(engine, done, town["supervisor"], [("assign", {"mediator_id": town["mediator"].id}), *happy_path()])
    open_case = register(engine, town, title="孙七与周八劳务纠纷")
    supervisor = signed_in("supervisor")
    dashboard = supervisor.get("/dashboard")
    assert dashboard.status_code == 200 and dashboard.text.count("<svg") >= 4
    assert re.search(r'data-stat="resolved">调解成功结案<b>1</b>', dashboard.text)
    assert "孙七与周八劳务纠纷" in signed_in("grid_worker").get("/grid").text
    mine = signed_in("mediator").get("/my").text
    assert "孙七与周八劳务纠纷" in mine  # waiting for acceptance, unassigned
    workflow = supervisor.get("/workflows/people_mediation")
    assert workflow.status_code == 200 and "stateDiagram-v2" in workflow.text and "已登记" in workflow.text
    assert supervisor.get("/workflows/no_such_flow").status_code == 404
    assert supervisor.get(f"/cases/{open_case}/part/nope").status_code == 404
    assert supervisor.get("/cases/999999").status_code == 404
    assert supervisor.get("/queue?village=nowhere&risk=red").status_code == 200


def test_queue_rows_offer_only_the_steps_the_case_can_take(signed_in: Any, town: Town, engine: Engine) -> None:
    """督办队列's row actions (指派, 提级) follow the case's workflow: an escalated case still in mediation has
    both; one referred out since (已转出) has none, instead of links to a refusal."""
    escalate = ("escalate", {"reason": "矛盾激化"})
    open_case = register(engine, town, title="冯一与陈二邻里纠纷")
    drive(engine, open_case, town["supervisor"], [("accept", {"rights_notified": True}), escalate])
    referred = register(engine, town, title="褚三与卫四治安纠纷")
    drive(engine, referred, town["supervisor"], [("accept", {"rights_notified": True}), escalate])
    drive(engine, referred, town["supervisor"], [("refer", REFER_TO_POLICE)], version=version_of(engine, referred))
    page = signed_in("supervisor").get("/queue").text
    rows = dict(re.findall(r'<tr class="[^"]*" data-case="(\d+)">(.*?)</tr>', page, re.S))
    assert f"/cases/{open_case}/do/assign" in rows[str(open_case)]
    assert f"/cases/{open_case}/do/escalate" in rows[str(open_case)]
    assert "/do/" not in rows[str(referred)] and "已转出" in rows[str(referred)]


def test_notices_inbox_and_unread_count(signed_in: Any, town: Town, engine: Engine) -> None:
    case_id = register(engine, town, title="吴九与郑十借款纠纷")
    mediator = signed_in("mediator")
    assert 'data-unread="0"' in mediator.get("/my").text
    drive(engine, case_id, town["supervisor"], [("assign", {"mediator_id": town["mediator"].id})])
    assert 'data-unread="1"' in mediator.get("/my").text
    inbox = mediator.get("/notices").text
    assert "案件指派给您" in inbox and "吴九与郑十借款纠纷" in inbox and ">新<" in inbox
    assert 'data-unread="1"' in mediator.get("/my").text  # opening the inbox reads, it does not write
    assert mediator.post("/notices/seen", {}).status_code == 303  # 全部标为已读
    assert 'data-unread="0"' in mediator.get("/my").text
    assert ">新<" not in mediator.get("/notices").text
    drive(engine, case_id, town["grid_worker"], [("escalate", {"reason": "矛盾激化"})], version=2)
    supervisor = signed_in("supervisor")
    inbox = supervisor.get("/notices").text
    assert "案件已提级" in inbox and "吴九与郑十借款纠纷" in inbox
    assert "案件已提级" in mediator.get("/notices").text  # the mediator's own case was escalated
    assert "案件已提级" not in signed_in("other_village_mediator").get("/notices").text


def test_overdue_cases_are_notices_for_their_mediator_and_the_supervisor(
    signed_in: Any, town: Town, engine: Engine
) -> None:
    month_ago = clock.utcnow() - timedelta(days=30)
    case_id = register(engine, town, "supervisor", title="冯一与陈二噪音纠纷", effective_at=month_ago)
    drive(engine, case_id, town["supervisor"], [("assign", {"mediator_id": town["mediator"].id})])
    for username in ("mediator", "supervisor"):
        inbox = signed_in(username).get("/notices").text
        assert "冯一与陈二噪音纠纷" in inbox and "已超期" in inbox, username
    assert "已超期" not in signed_in("village_mediator").get("/notices").text  # not assigned to them


def test_township_staff_choose_the_village_or_grid_grid_workers_do_not(signed_in: Any, town: Town) -> None:
    grid_code = town.places.grids[1].code
    mediator = signed_in("mediator")
    form = mediator.get("/register").text
    assert f'value="{grid_code}"' in form and town.places.villages[1].name in form
    assert 'name="jurisdiction_code"' not in signed_in("grid_worker").get("/register").text
    typed = {
        "title": "褚一与卫二相邻纠纷",
        "category": "neighbourhood",
        "summary": "滴水纠纷。",
        "jurisdiction_code": grid_code,
        "parties.0.name": "褚一",
    }
    response = mediator.post("/register", typed)
    assert response.status_code == 303
    page = mediator.get(response.headers["location"]).text
    assert town.places.grids[1].name in page
    outside = signed_in("village_mediator").post("/register", {**typed, "jurisdiction_code": town.places.grids[2].code})
    assert outside.status_code == 422 and "只能登记本辖区的纠纷" in outside.text


def test_csrf_token_in_the_header_or_the_form_either_will_do_but_one_must_match(
    signed_in: Any, town: Town, engine: Engine
) -> None:
    case_id = register(engine, town)
    mediator = signed_in("mediator")
    url = f"/cases/{case_id}/do/add_note"
    stale = {"X-CSRF-Token": "a-token-from-an-older-page-0000000000000"}
    wrong_both = mediator.client.post(
        url, data={"expected_version": "1", "text": "x", "csrf_token": "bad"}, headers=stale
    )
    assert wrong_both.status_code == 403 and version_of(engine, case_id) == 1
    form_ok = mediator.client.post(
        url, data={"expected_version": "1", "text": "表单里的令牌", "csrf_token": mediator.csrf}, headers=stale
    )
    assert form_ok.status_code == 303 and version_of(engine, case_id) == 2
    header_ok = mediator.client.post(
        url, data={"expected_version": "2", "text": "请求头里的令牌"}, headers={"X-CSRF-Token": mediator.csrf}
    )
    assert header_ok.status_code == 303 and version_of(engine, case_id) == 3


def test_the_joint_mediation_fields_say_when_they_show(signed_in: Any, town: Town, engine: Engine) -> None:
    """开始调解's court and judge are marked shown when 人民法庭 is ticked, the station and officer when 派出所 is (the
    workflow's shown_when, for register.js); the server renders every field (a form without script shows them) and
    accepts a court without 人民法庭 ticked, as before."""
    case_id = register(engine, town)
    drive(engine, case_id, town["supervisor"], [("assign", {"mediator_id": town["mediator"].id}), happy_path()[0]])
    mediator = signed_in("mediator")
    form = mediator.get(f"/cases/{case_id}/do/start_mediation", **{"HX-Request": "true"}).text
    shown = re.findall(r"data-shown-when='([^']*)'>\s*<label for=\"t-start_mediation-(\w+)\"", form)
    assert {name: when for when, name in shown} == {
        "joint_court": '{"joint_agencies": "tribunal"}',
        "joint_judge": '{"joint_agencies": "tribunal"}',
        "joint_police": '{"joint_agencies": "police_station"}',
        "joint_officer": '{"joint_agencies": "police_station"}',
    }
    assert " hidden" not in form and " disabled" not in form  # without script every field shows
    court = next(
        iter(re.findall(r'name="joint_court">\s*<option value="">请选择</option>\s*<option value="([^"]+)"', form))
    )
    sent = {"expected_version": "3", "all_parties_consent": "true", "joint_court": court, "joint_judge": "王法官"}
    assert mediator.post(f"/cases/{case_id}/do/start_mediation", sent, htmx=True).status_code == 200


def test_a_field_whose_condition_the_form_cannot_meet_always_shows() -> None:
    """A township whose 联合调解单位 list lacks 人民法庭 shows the court's field whatever is ticked."""
    from mediation_flow.cases.forms import FieldView, with_conditions
    from mediation_flow.workflow.schema import FieldSpec

    agencies = FieldSpec(name="joint_agencies", label="联合调解单位", type="multichoice", choices="agency")
    court = FieldSpec(name="joint_court", label="人民法庭", type="text", shown_when={"joint_agencies": "tribunal"})
    with_tribunal = with_conditions([FieldView(agencies, {"tribunal": "人民法庭"}), FieldView(court)])
    assert with_tribunal[1].shown_when == {"joint_agencies": "tribunal"}
    without = with_conditions([FieldView(agencies, {"legal_adviser": "法律顾问"}), FieldView(court)])
    assert without[1].shown_when == {}


def test_a_list_with_nothing_to_pick_says_whom_to_ask(signed_in: Any, town: Town, engine: Engine) -> None:
    """开始调解 in a township with no court or police station registered: the court's and the station's lists have
    nothing to pick, so each says whom to ask (ticking 人民法庭 makes the court required); a list with choices
    (the venue) says nothing of the kind."""
    case_id = register(engine, town)
    drive(engine, case_id, town["supervisor"], [("assign", {"mediator_id": town["mediator"].id}), happy_path()[0]])
    with write_transaction(
        engine
    ) as conn:  # the township's court and stations out of use (the stamps' triggers see it)
        conn.execute(update(AGENCIES).values(active=False))
    form = signed_in("mediator").get(f"/cases/{case_id}/do/start_mediation", **{"HX-Request": "true"}).text
    for field in ("joint_court", "joint_police"):
        select = re.search(
            rf'<select id="t-start_mediation-{field}"[^>]*>(.*?)</select>\s*(<p[^>]*>[^<]*</p>)?', form, re.S
        )
        assert select is not None and re.findall(r"<option", select.group(1)) == ["<option"]  # 请选择 only
        hint = f'<p class="hint" id="t-start_mediation-{field}-none">暂无可选项，请联系管理员添加</p>'
        assert select.group(2) == hint
        assert f'aria-describedby="t-start_mediation-{field}-none"' in select.group(0)
    venue = re.search(r'<select id="t-start_mediation-venue"[^>]*>(.*?)</select>', form, re.S)
    assert venue is not None and venue.group(1).count("<option") > 1
    assert "t-start_mediation-venue-none" not in form
