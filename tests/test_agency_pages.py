"""The partner agencies' pages over HTTP: the 对接工作台 (notice, deadline, the next step on each referral, the
cases referred in), registering a referral into the township under the agency's own path, and the
supervisor's 转出待反馈 page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from factories import REFER_TO_POLICE, Town, drive, intake, register
from sqlalchemy import Engine, select
from test_web_pages import app, data_dir, signed_in, version_of  # noqa: F401 - the page fixtures

from mediation_flow.cases.intake import register_case
from mediation_flow.errors import InvalidData
from mediation_flow.store.models import CaseEvent

ACCEPT = ("accept", {"rights_notified": True})


def section(html: str, name: str) -> str:
    found = re.search(rf'<section id="{name}".*?</section>', html, re.S)
    assert found, f"no section {name}"
    return found.group(0)


def test_the_police_inbox_shows_the_referral_its_notice_deadline_and_next_steps(
    signed_in: Any,  # noqa: F811
    engine: Engine,
    town: Town,
) -> None:
    case_id = register(engine, town, "mediator", title="孙三与周四人身损害赔偿纠纷")
    drive(engine, case_id, town["mediator"], [ACCEPT, ("refer", REFER_TO_POLICE)])
    police = signed_in("liaison")
    page = police.get("/inbox").text
    incoming = section(page, "inbox-incoming")
    assert "孙三与周四人身损害赔偿纠纷" in incoming and "已移送未签收" in incoming and "签收期限" in incoming
    assert f'href="/cases/{case_id}/do/acknowledge"' in incoming and f"/cases/{case_id}/do/return_referral" in incoming
    assert "agency_feedback" not in incoming  # 反馈 comes after 签收
    assert "乡镇移送案件至本单位，请签收" in section(page, "inbox-notices")
    assert 'href="/inbox" aria-current="page"' in page and 'href="/queue"' not in page
    assert "court_liaison" not in page and "孙三与周四" not in signed_in("court_liaison").get("/inbox").text

    form = police.get(f"/cases/{case_id}/do/acknowledge", **{"HX-Request": "true"}).text
    assert form.count('name="note"') == 1 and "签收说明" in form and "备注（可选）" not in form  # one input, not two
    version = str(version_of(engine, case_id))
    signed = police.post(
        f"/cases/{case_id}/do/acknowledge", {"expected_version": version, "handler": "赵勇", "note": "已派民警核实"}
    )
    assert signed.status_code == 303
    with engine.connect() as conn:  # what was typed in 签收说明 is the step's, once (it was lost to the 备注)
        event = conn.execute(
            select(CaseEvent.__table__)
            .where(CaseEvent.__table__.c.case_id == case_id)
            .order_by(CaseEvent.__table__.c.seq.desc())
        ).first()
    assert event is not None and event.trigger == "acknowledge" and event.data["note"] == "已派民警核实"
    assert not event.note
    after = section(police.get("/inbox").text, "inbox-incoming")
    assert "已签收" in after and f"/cases/{case_id}/do/agency_feedback" in after and "do/acknowledge" not in after
    case_page = signed_in("mediator").get(f"/cases/{case_id}").text
    assert "<dt>接收单位</dt><dd>青龙派出所</dd><dt>承办人</dt><dd>赵勇</dd>" in case_page

    queue = signed_in("supervisor").get("/referrals")
    assert queue.status_code == 200
    row = re.search(rf'<tr class="[^"]*" data-case="{case_id}">.*?</tr>', queue.text, re.S)
    assert row and "青龙派出所" in row.group(0) and "已签收" in row.group(0)
    assert signed_in("mediator").get("/referrals").status_code == 403
    assert police.get("/referrals").status_code == 403 and signed_in("supervisor").get("/inbox").status_code == 403


def test_an_agency_registers_into_the_township_under_its_own_path_and_agency_only(
    signed_in: Any,  # noqa: F811
    engine: Engine,
    town: Town,
) -> None:
    court = signed_in("court_liaison")
    form = court.get("/register?source=initiative").text
    options = re.search(r'<select id="source".*?</select>', form, re.S)
    assert options and options.group(0).count("<option") == 1 and 'value="court" selected' in options.group(0)
    agency = re.search(r'<select id="a-agency".*?</select>', form, re.S)
    assert agency and 'value="qinglong_tribunal" selected' in agency.group(0) and "派出所" not in agency.group(0)
    assert "来文编号格式如：青龙人民法庭：" in form
    mediator_form = signed_in("mediator").get("/register?source=police").text
    police_options = re.search(r'<select id="a-agency".*?</select>', mediator_form, re.S)
    assert police_options and "qinglong_police" in police_options.group(0)
    assert "longjing_post" not in police_options.group(0)  # a post serving one village does not serve the township

    typed = {
        "title": "吴五与郑六买卖合同纠纷",
        "category": "contract",
        "source": "initiative",  # whatever is posted, a court registers a court referral
        "summary": "货款纠纷，诉前委派调解。",
        "jurisdiction_code": town.places.villages[0].code,
        "parties.0.name": "吴五",
        "parties.1.name": "郑六",
        "a.agency": "qinglong_tribunal",
        "a.reference_number": "法字第1号",
        "a.court_mode": "delegated",
    }
    bad = court.post("/register", typed)
    assert bad.status_code == 422 and "格式" in bad.text and 'value="法字第1号"' in bad.text
    example = re.search(r"来文编号格式如：青龙人民法庭：([^<；]+)", form)
    assert example
    good = court.post("/register", {**typed, "a.reference_number": example.group(1).strip()})
    assert good.status_code == 303, good.text[-2000:]
    page = court.get(good.headers["location"]).text
    assert "<dt>来文单位</dt><dd>青龙人民法庭</dd>" in page and "已移送未签收" in page
    assert "吴五与郑六买卖合同纠纷" in section(court.get("/inbox").text, "inbox-sent")


AGENCY_WORDS = {  # user: (their agency, the action their 对接工作台's button and /register name)
    "liaison": ("青龙派出所", "移交纠纷"),
    "court_liaison": ("青龙人民法庭", "委派/委托调解"),
    "petition_liaison": ("示例县信访局", "转办信访事项"),
}


def test_an_agency_reads_as_its_name_and_its_action_names_the_page_it_opens(
    signed_in: Any,  # noqa: F811
    engine: Engine,
    town: Town,
) -> None:
    for user, (agency, action) in AGENCY_WORDS.items():
        browser = signed_in(user)
        page = browser.get("/inbox").text
        who = re.search(r'<a class="who"[^>]*>([^<]*)</a>', page)
        assert who and who.group(1).endswith(f"（{agency}）") and who.group(1).count("（") == 1, who and who.group(1)
        button = re.search(r'<a class="button" id="inbox-refer" href="([^"]+)">＋ ([^<]+)</a>', page)
        assert button and button.group(2).startswith(action), button and button.group(0)
        form = browser.get(button.group(1).replace("&amp;", "&")).text
        assert f"<h1>{action}</h1>" in form and f"<title>{action} · " in form and "登记纠纷" not in form
        assert f'<a href="/register">{action}</a>' in page  # the navigation names it the same
    mediator = signed_in("mediator")
    assert "<h1>登记纠纷</h1>" in mediator.get("/register?source=police").text
    assert re.search(r'<a class="who"[^>]*>[^<（]*（人民调解员）</a>', mediator.get("/my").text)


def test_the_township_accepting_an_agencys_referral_tells_it_about_its_referral(
    signed_in: Any,  # noqa: F811
    engine: Engine,
    town: Town,
) -> None:
    form = intake(
        workflow="police_referral",
        source="police",
        jurisdiction_code=town.places.villages[0].code,
        attributes={"agency": "qinglong_police", "reference_number": "青公调〔2026〕15号"},
    )
    case_id = register_case(engine, actor=town["liaison"], intake=form)
    drive(engine, case_id, town["mediator"], [ACCEPT])
    notices = section(signed_in("liaison").get("/inbox").text, "inbox-notices")
    assert "您单位转来的纠纷已受理" in notices and "您登记的" not in notices
    worker_case = register(engine, town, "grid_worker", title="网格员登记的纠纷")
    drive(engine, worker_case, town["mediator"], [ACCEPT])
    assert "您登记的纠纷已受理" in signed_in("grid_worker").get("/notices").text  # the grid worker's words stay


OUTCOMES = {  # user: the agency a case is referred to, the 办理结果 its 反馈 offers (in order), one of its codes and
    # another kind's code it may not give
    "liaison": (
        {"target": "police", "agency": "qinglong_police"},
        ["调解成功", "治安处罚", "立案处理", "不予立案", "转有关部门处理", "其他"],
        "penalised",
        "judged",
    ),
    "court_liaison": (
        {"target": "court", "agency": "qinglong_tribunal"},
        ["调解成功", "出具调解书", "撤诉", "判决结案", "裁定驳回", "立案处理", "其他"],
        "withdrawn",
        "penalised",
    ),
    "petition_liaison": (
        {"target": "petition", "agency": "county_petition"},
        ["办结", "息访息诉", "已答复信访人", "转有关部门处理", "其他"],
        "settled",
        "mediated",
    ),
}


def test_each_agency_answers_with_its_own_outcomes(
    signed_in: Any,  # noqa: F811
    engine: Engine,
    town: Town,
) -> None:
    for user, (refer, outcomes, own, foreign) in OUTCOMES.items():
        case_id = register(engine, town, "mediator", title=f"移送{user}的纠纷")
        drive(engine, case_id, town["mediator"], [ACCEPT, ("refer", {**refer, "reason": "移送对接单位办理"})])
        drive(engine, case_id, town[user], [("acknowledge", {"handler": "承办人"})], version=3)
        form = signed_in(user).get(f"/cases/{case_id}/do/agency_feedback", **{"HX-Request": "true"}).text
        choice = re.search(r'<select[^>]*name="result".*?</select>', form, re.S)
        assert choice, form[:2000]
        offered = [o for o in re.findall(r"<option[^>]*>([^<]*)</option>", choice.group(0)) if o.strip("请选择 —")]
        assert offered == outcomes, (user, offered)
        typed = {"decided_on": "2026-03-02", "content": "已办理"}
        with pytest.raises(InvalidData) as refused:  # another kind's outcome: refused, in Chinese, on the field
            drive(engine, case_id, town[user], [("agency_feedback", {**typed, "result": foreign})], version=4)
        assert refused.value.details["errors"] == [{"field": "result", "message": "“办理结果”的选项无效"}]
        drive(engine, case_id, town[user], [("agency_feedback", {**typed, "result": own})], version=4)
        page = signed_in("mediator").get(f"/cases/{case_id}").text
        shown = {"penalised": "治安处罚", "withdrawn": "撤诉", "settled": "息访息诉"}[own]
        assert f"<dd>{shown}</dd>" in page or f"：{shown}" in page, page[-3000:]  # the township reads its label
