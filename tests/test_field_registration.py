"""登记纠纷 made for the field (issue 16): where and when the dispute happened, the parties' 性别 / 民族 / 出生日期
or 年龄 / 住址 (masked like the rest), the 风险提示 ticks kept as facts, party rows removed without JavaScript,
and the phone's outbox answer (JSON, once per key, the recorded time as the registration time)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from factories import PASSWORD
from sqlalchemy import Engine, select
from test_web_pages import app, data_dir, signed_in  # noqa: F401 - the page fixtures

from mediation_flow.accounts.policy import SYSTEM
from mediation_flow.cases import attachments
from mediation_flow.cases.queries import case_parties, get_case_row
from mediation_flow.cases.views import party_views
from mediation_flow.store import clock
from mediation_flow.store.config import get_settings
from mediation_flow.store.tables import CASES

FORM = {
    "title": "张三与李四宅基地纠纷",
    "category": "neighbourhood",
    "summary": "两户因宅基地界址争执。",
    "people_involved": "2",
    "incident_place": "青龙村三组晒谷场",
    "occurred_at": "2026-11-30T08:30",
    "risk_hints": "petition_risk",
    "parties.0.role": "applicant",
    "parties.0.name": "张三",
    "parties.0.gender": "male",
    "parties.0.ethnicity": "汉族",
    "parties.0.birth_date": "1968-04-05",
    "parties.0.address": "青龙镇青龙村3组12号",
    "parties.1.role": "respondent",
    "parties.1.name": "李四",
    "parties.1.gender": "female",
    "parties.1.ethnicity": "苗",
    "parties.1.age": "52",
}


def case_id_of(location: str) -> int:
    return int(location.split("/")[2].split("?")[0])


def test_place_time_party_details_and_risk_ticks_are_stored_and_shown_masked_by_role(
    signed_in: Any,  # noqa: F811
    engine: Engine,
) -> None:
    grid = signed_in("grid_worker")
    done = grid.post("/register", FORM)
    assert done.status_code == 303, done.text
    case_id = case_id_of(done.headers["location"])
    with engine.connect() as conn:
        row = get_case_row(conn, SYSTEM, case_id)
        parties = case_parties(conn, case_id)
    assert row["incident_place"] == "青龙村三组晒谷场" and row["risk_hints"] == ["petition_risk"]
    assert (
        clock.as_local(row["occurred_at"]).astimezone(clock.LOCAL_TZ).strftime("%Y-%m-%d %H:%M") == "2026-11-30 08:30"
    )
    first, second = parties
    assert (first["gender"], first["ethnicity"], str(first["birth_date"]), first["age"]) == (
        "male",
        "汉族",
        "1968-04-05",
        None,
    )
    assert (second["gender"], second["ethnicity"], second["birth_date"], second["age"]) == ("female", "苗族", None, 52)
    mediator_page = signed_in("mediator").get(f"/cases/{case_id}").text
    for shown in ("发生地点", "青龙村三组晒谷场", "2026年11月30日 08:30", "风险提示", "性别", "苗族", "52岁"):
        assert shown in mediator_page
    assert "青龙镇青龙村3组12号" not in mediator_page and "1968年4月5日" not in mediator_page  # masked by default
    card = signed_in("mediator").get(f"/cases/{case_id}/parties/full", **{"HX-Request": "true"}).text
    assert "青龙镇青龙村3组12号" in card and "1968年4月5日" in card  # 查看完整信息
    grid_page = grid.get(f"/cases/{case_id}").text  # a grid worker sees identities masked
    assert "青龙镇青龙村3组****" in grid_page and "青龙镇青龙村3组12号" not in grid_page
    assert "1968年" in grid_page and "1968年4月5日" not in grid_page
    masked = party_views(parties, full=False)[0]
    assert (masked.address, masked.birth, masked.gender_label) == ("青龙镇青龙村3组****", "1968年", "男")
    token = grid.client.post("/api/v1/auth/token", data={"username": "grid_worker", "password": PASSWORD})
    api = grid.client.get(
        f"/api/v1/cases/{case_id}", headers={"Authorization": f"Bearer {token.json()['access_token']}"}
    )
    read = api.json()
    assert read["incident_place"] == "青龙村三组晒谷场" and read["risk_hints"] == ["petition_risk"]
    assert read["parties"][0]["address"] == "青龙镇青龙村3组****" and read["parties"][0]["birth"] == "1968年"
    assert (read["parties"][1]["gender"], read["parties"][1]["ethnicity"], read["parties"][1]["age"]) == (
        "female",
        "苗族",
        52,
    )


def test_bad_party_details_are_refused_in_chinese_at_their_fields_keeping_what_was_typed(
    signed_in: Any,  # noqa: F811
    engine: Engine,
) -> None:
    grid = signed_in("grid_worker")
    future = (clock.local_date(clock.utcnow()) + timedelta(days=3)).isoformat()
    bad = grid.post(
        "/register", {**FORM, "parties.1.ethnicity": "火星", "parties.0.birth_date": future, "parties.1.age": "300"}
    )
    assert bad.status_code == 422
    assert 'id="e-parties-1-ethnicity"' in bad.text and "请从列表中选择民族" in bad.text
    assert 'id="e-parties-0-birth_date"' in bad.text and "出生日期须在1900年1月1日至今天之间" in bad.text
    assert 'id="e-parties-1-age"' in bad.text and "“年龄”数值无效" in bad.text
    assert 'value="青龙村三组晒谷场"' in bad.text
    with engine.connect() as conn:
        assert conn.execute(select(CASES.c.id)).first() is None  # nothing half-written


def test_a_party_row_is_removed_without_javascript_keeping_the_others(signed_in: Any) -> None:  # noqa: F811
    grid = signed_in("grid_worker")
    three = {**FORM, "parties.2.role": "third_party", "parties.2.name": "王五"}
    page = grid.post("/register", {**three, "remove_party": "1"})
    assert page.status_code == 200
    assert 'value="张三"' in page.text and 'value="王五"' in page.text and 'value="李四"' not in page.text
    assert 'name="parties.1.name"' in page.text and 'name="parties.2.name"' not in page.text


def test_the_outbox_answer_is_json_once_per_key_with_the_recorded_time(
    signed_in: Any,  # noqa: F811
    engine: Engine,
) -> None:
    grid = signed_in("grid_worker")
    recorded = (clock.utcnow() - timedelta(hours=5)).replace(microsecond=0)
    body = {**FORM, "effective_at": recorded.isoformat(), "csrf_token": grid.csrf}
    headers = {"Idempotency-Key": "3f1c6a6e-6a51-4c1e-9b55-1b7f0f3e2a10", "Accept": "application/json"}
    first = grid.client.post("/register", data=body, headers=headers)
    again = grid.client.post("/register", data=body, headers=headers)
    assert first.status_code == 201 and again.status_code == 200
    answer = first.json()
    assert answer["case_id"] == again.json()["case_id"] and again.json()["replayed"] is True
    assert answer["number"].endswith("号") and answer["registered"] == again.json()["registered"]
    with engine.connect() as conn:
        assert len(conn.execute(select(CASES.c.id)).all()) == 1
        assert clock.ensure_aware(get_case_row(conn, SYSTEM, answer["case_id"])["registered_at"]) == recorded
    home = grid.get("/grid").text
    assert "已从手机提交" in home and answer["number"] in home
    refused = grid.client.post("/register", data={**body, "title": ""}, headers={**headers, "Idempotency-Key": "k2"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "title"
    seal = grid.get("/register/outbox-key")
    assert seal.headers["cache-control"] == "no-store" and len(seal.json()["key"]) == 43
    assert seal.json()["owner"] != signed_in("other_grid_worker").get("/register/outbox-key").json()["owner"]


def test_several_photos_are_uploaded_at_once_and_a_refused_one_is_named(
    signed_in: Any,  # noqa: F811
    engine: Engine,
    data_dir: Any,  # noqa: F811
) -> None:
    grid = signed_in("grid_worker")
    case_id = case_id_of(grid.post("/register", FORM).headers["location"])
    page = grid.get(f"/cases/{case_id}").text
    assert 'accept="image/*,application/pdf" multiple data-resize' in page and "capture=" not in page
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8
    pdf = b"%PDF-1.4\n% test\n" + b"0" * 2000
    photos = [("file", ("现场1.jpg", jpeg, "image/jpeg")), ("file", ("现场2.jpg", jpeg, "image/jpeg"))]
    body = {"kind": "evidence", "csrf_token": grid.csrf}
    both = grid.client.post(f"/cases/{case_id}/attachments", data=body, files=photos, headers={"HX-Request": "true"})
    assert both.status_code == 200 and "已上传：现场1.jpg、现场2.jpg" in both.text
    mixed = [*photos[:1], ("file", ("说明.jpg", pdf, "image/jpeg"))]
    half = grid.client.post(f"/cases/{case_id}/attachments", data=body, files=mixed, headers={"HX-Request": "true"})
    assert half.status_code == 422 and "已上传：现场1.jpg" in half.text and "说明.jpg：" in half.text
    assert len(attachments.list_for_case(get_settings().data_dir, case_id)) == 3


def test_the_service_worker_and_manifest_are_served_from_the_root_under_a_strict_csp(
    signed_in: Any,  # noqa: F811
) -> None:
    anyone = signed_in("grid_worker").client
    worker = anyone.get("/sw.js")
    assert worker.status_code == 200 and worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["cache-control"] == "no-cache" and 'importScripts("/static/outbox-core.js")' in worker.text
    csp = dict(d.strip().split(" ", 1) for d in worker.headers["content-security-policy"].split(";"))
    assert csp["worker-src"] == "'self'" and csp["script-src"] == "'self'" and csp["manifest-src"] == "'self'"
    manifest = anyone.get("/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    assert manifest.json()["scope"] == "/" and {i["sizes"] for i in manifest.json()["icons"]} >= {"192x192", "512x512"}
    for icon in manifest.json()["icons"]:
        assert anyone.get(icon["src"]).status_code == 200
    page = anyone.get("/register").text
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page and "data-outbox" in page
