"""Accounts managed by an administrator over the API: add with a one-time password that must be changed at
first sign-in, disable (its tokens stop at once) and re-enable, reset, a new role and jurisdiction, each in
the change log; the last administrator is kept; the assign form's people listed by name for a case."""

from __future__ import annotations

import re

import pytest
from factories import PASSWORD, register
from fastapi.testclient import TestClient

from mediation_flow.accounts.admin_log import recent_changes
from web.app import create_app


@pytest.fixture
def client(engine, town):
    with TestClient(create_app(engine)) as c:
        yield c


def token(client, username, password=PASSWORD):
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_a_new_account_signs_in_with_its_one_time_password_and_must_change_it_first(client, town):
    admin = token(client, "admin")
    made = client.post(
        "/api/v1/admin/accounts",
        headers=admin,
        json={"username": "zhangfang", "display_name": "张芳", "role": "mediator", "jurisdiction_code": "500101001001"},
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["account"]["must_change_password"] is True and body["account"]["jurisdiction_name"]
    temporary = body["temporary_password"]
    assert len(temporary) == 12
    headers = token(client, "zhangfang", temporary)
    blocked = client.get("/api/v1/cases", headers=headers)
    assert blocked.status_code == 403 and blocked.json()["error"]["code"] == "password_change_required"
    changed = client.post(
        "/api/v1/account/password",
        headers=headers,
        json={"current_password": temporary, "new_password": "my-own-pass-9"},
    )
    assert changed.status_code == 200, changed.text
    fresh = token(client, "zhangfang", "my-own-pass-9")
    assert client.get("/api/v1/cases", headers=fresh).status_code == 200


def test_a_disabled_account_stops_at_once_and_comes_back_when_re_enabled(client, engine, town):
    admin, mediator = token(client, "admin"), token(client, "mediator")
    assert client.get("/api/v1/cases", headers=mediator).status_code == 200
    off = client.patch("/api/v1/admin/accounts/mediator", headers=admin, json={"active": False})
    assert off.status_code == 200 and off.json()["is_active"] is False
    assert client.get("/api/v1/cases", headers=mediator).status_code == 401  # the token issued before
    assert client.post("/api/v1/auth/token", data={"username": "mediator", "password": PASSWORD}).status_code == 401
    on = client.patch("/api/v1/admin/accounts/mediator", headers=admin, json={"active": True})
    assert on.json()["is_active"] is True
    assert client.get("/api/v1/cases", headers=mediator).status_code == 401  # the old token stays dead
    assert client.get("/api/v1/cases", headers=token(client, "mediator")).status_code == 200
    with engine.connect() as conn:
        assert [(c["action"], c["target"]) for c in recent_changes(conn)][:2] == [
            ("account_enable", "mediator"),
            ("account_disable", "mediator"),
        ]


def test_a_reset_password_ends_the_old_tokens_and_the_old_password(client, town):
    admin, mediator = token(client, "admin"), token(client, "mediator")
    reset = client.post("/api/v1/admin/accounts/mediator/reset-password", headers=admin)
    assert reset.status_code == 200
    assert client.get("/api/v1/cases", headers=mediator).status_code == 401
    assert client.post("/api/v1/auth/token", data={"username": "mediator", "password": PASSWORD}).status_code == 401
    token(client, "mediator", reset.json()["temporary_password"])


def test_role_and_jurisdiction_change_and_the_last_administrator_is_kept(client, town):
    admin = token(client, "admin")
    moved = client.patch(
        "/api/v1/admin/accounts/village_mediator",
        headers=admin,
        json={"role": "supervisor", "jurisdiction_code": "500101001"},
    )
    assert moved.status_code == 200
    assert (moved.json()["role"], moved.json()["jurisdiction_code"]) == ("supervisor", "500101001")
    for change in ({"active": False}, {"role": "mediator", "jurisdiction_code": "500101001"}):
        refused = client.patch("/api/v1/admin/accounts/admin", headers=admin, json=change)
        assert refused.status_code == 409, refused.text
    no_place = client.patch("/api/v1/admin/accounts/mediator", headers=admin, json={"role": "mediator"})
    assert no_place.status_code == 422
    assert client.get("/api/v1/admin/accounts", headers=token(client, "supervisor")).status_code == 403


def test_the_people_a_case_may_be_assigned_to_are_listed_by_name_within_its_jurisdiction(client, engine, town):
    case_id = register(engine, town, "grid_worker")  # in village 0
    listed = client.get(f"/api/v1/cases/{case_id}/assignees", headers=token(client, "supervisor"))
    assert listed.status_code == 200
    names = {a["display_name"] for a in listed.json()}
    assert names == {"supervisor", "mediator", "village_mediator"}  # not the other village's mediator
    assert (
        client.get(f"/api/v1/cases/{case_id}/assignees", headers=token(client, "other_village_mediator")).status_code
        == 404
    )


def test_an_agency_account_is_added_with_its_agency_on_the_admin_page_and_over_the_api(client, engine, town):
    """A police station's user belongs to its station, not to a village: the add-account form offers the agencies."""
    from test_web_pages import Browser, csrf_of

    admin = Browser(client.app)
    assert admin.login("admin").status_code == 303
    page = admin.get("/admin").text
    assert 'name="agency_code"' in page and "青龙派出所" in page
    admin.csrf = csrf_of(page)
    wrong = admin.post(
        "/admin/accounts",
        {"username": "minjing2", "display_name": "民警 孙二", "role": "police_liaison", "jurisdiction_code": ""},
    )
    assert wrong.status_code == 422 and "必须属于一个对接单位" in wrong.text
    added = admin.post(
        "/admin/accounts",
        {
            "username": "minjing2",
            "display_name": "民警 孙二",
            "role": "police_liaison",
            "jurisdiction_code": "",
            "agency_code": "qinglong_police",
        },
    )
    assert added.status_code == 200 and "已添加账号minjing2" in added.text, added.text
    temporary = re.search(r'id="one-time-password">([^<]+)<', added.text).group(1)
    headers = token(client, "minjing2", temporary)
    client.post(
        "/api/v1/account/password",
        headers=headers,
        json={"current_password": temporary, "new_password": "minjing-own-9"},
    )
    inbox = client.get("/api/v1/agency/inbox", headers=token(client, "minjing2", "minjing-own-9"))
    assert inbox.status_code == 200, inbox.text

    made = client.post(
        "/api/v1/admin/accounts",
        headers=token(client, "admin"),
        json={
            "username": "faguan2",
            "display_name": "法官助理 钱二",
            "role": "police_liaison",
            "agency_code": "qinglong_tribunal",
        },
    )
    assert made.status_code == 422 and "与角色不符" in made.text


def test_the_change_log_on_the_admin_page_reads_in_chinese_with_no_code_of_its_rows(client, engine, town):
    """最近操作 tells each change in words (walk-through: it showed ``venue:venue_7``, bare codes and usernames):
    the action's label, the place or item by its name, the account by name and username, a role by its label,
    a move or a rename from what to what. No action code, ``kind:code`` target, item or role code, ISO time
    or other Latin word (but the usernames people chose) of the log's rows is on the page."""
    from plain_text import ALLOWED, html_text, internal_names, offences
    from test_web_pages import Browser, csrf_of

    from mediation_flow.accounts.admin_log import administer
    from mediation_flow.accounts.management import create_account, rename_account
    from mediation_flow.accounts.policy import CONSOLE
    from mediation_flow.cases.schemas import workflow_file_specs
    from mediation_flow.display.labels import labels
    from mediation_flow.vocabulary import Role

    administer(engine, CONSOLE, lambda conn, a: create_account(
        conn, a, username="wangguan", role=Role.ADMIN, display_name="王管", jurisdiction_code=None,
        password="wangguan-pass-1",
    ))  # fmt: skip
    admin = Browser(client.app)
    assert admin.login("wangguan", "wangguan-pass-1").status_code == 303
    admin.csrf = csrf_of(admin.get("/admin").text)
    village, grid = "500101001099", "500101001099001"
    steps = [
        ("/admin/places", {"code": village, "name": "新村", "parent_code": "500101001"}),
        (f"/admin/places/{village}", {"action": "rename", "name": "新兴村"}),
        ("/admin/places", {"code": grid, "name": "新兴村第一网格", "parent_code": village}),
        (f"/admin/places/{grid}", {"action": "move", "parent_code": "500101001001"}),
        (f"/admin/places/{grid}", {"action": "retire"}),
        (f"/admin/places/{grid}", {"action": "restore"}),
        ("/admin/accounts", {"username": "zhangfang", "display_name": "张芳", "role": "mediator",
                             "jurisdiction_code": village}),
        ("/admin/accounts/zhangfang", {"action": "placement", "role": "grid_worker", "jurisdiction_code": grid}),
        ("/admin/accounts/zhangfang", {"action": "disable"}),
        ("/admin/accounts/zhangfang", {"action": "enable"}),
        ("/admin/accounts/zhangfang", {"action": "reset"}),
        ("/admin/reference", {"kind": "venue", "label": "新议事厅", "township": "500101001"}),
    ]  # fmt: skip
    for url, data in steps:
        answer = admin.post(url, data)
        assert answer.status_code == 200 and 'id="admin-notice"' in answer.text, (url, answer.text[:2000])
        if data.get("action") == "rename":  # not 新兴村（…）已更名为新兴村 (walk-through)
            notice = answer.text.split("最近操作")[0]
            assert f"辖区（{village}）已更名为新兴村" in notice and "新兴村（" not in notice
    with engine.connect() as conn:
        venue = next(c["target"] for c in recent_changes(conn) if c["action"] == "reference_add")
    kind, code = venue.split(":")
    for data in ({"action": "rename", "label": "新兴议事厅"}, {"action": "restore"}, {"action": "retire"}):
        assert admin.post(f"/admin/reference/{kind}/{code}", data).status_code == 200
    administer(engine, CONSOLE, lambda conn, a: rename_account(conn, a, username="zhangfang", display_name="张芳芳"))
    assert admin.post(f"/admin/places/{village}", {"action": "rename", "name": "新兴社区"}).status_code == 200

    page = admin.get("/admin").text
    start = page.index('<section class="card" id="changes">')
    shown = page[start : page.index("</section>", start)]
    text = " ".join(html_text(shown))
    with engine.connect() as conn:
        rows = recent_changes(conn)
    assert {r["action"] for r in rows} == set(labels("admin_actions"))  # every kind of line
    raw: set[str] = set()
    for r in rows:
        raw |= {r["action"], r["at"].isoformat()[:16], r["at"].isoformat()[:10]}
        if ":" in r["target"]:
            raw |= {r["target"], *r["target"].split(":")}
        for value in r["detail"].values():
            for v in value.values() if isinstance(value, dict) else [value]:
                if isinstance(v, str) and (v in labels("roles") or v == code or v.startswith(f"{kind}_")):
                    raw.add(v)
    assert raw and not [code for code in sorted(raw) if code in text], text
    names = internal_names(workflow_file_specs()) | set(labels("roles"))
    assert not list(offences([text], names, ALLOWED | {"wangguan", "zhangfang"})), text
    for line in (
        "王管 · 新增辖区 新村（500101001099）：上级 青龙镇",
        "辖区更名 新村（500101001099）：改为「新兴村」",
        "移动辖区 新兴村第一网格（500101001099001）：新兴村 → 龙井村",
        "撤销辖区 新兴村第一网格（500101001099001）",
        # each line names the place and the person as they were called then (walk-through: a later rename showed)
        "新增账号 张芳（zhangfang）：人民调解员，新兴村",
        "修改角色和辖区 张芳（zhangfang）：人民调解员，新兴村 → 网格员，新兴村第一网格",
        "停用账号 张芳（zhangfang）",
        "辖区更名 新兴村（500101001099）：改为「新兴社区」",
        "新增参考数据 调解场所「新议事厅」（青龙镇）",
        "参考数据改名 调解场所「新议事厅」：改为「新兴议事厅」",
        "命令行 · 修改姓名 张芳（zhangfang）：改为「张芳芳」",
    ):
        assert line in text, (line, text)
