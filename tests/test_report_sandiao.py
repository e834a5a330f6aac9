"""The 三调 report: a year with cases on every path in every handoff state, in and out, driven through the
engine on both back ends, gives the right per-path counts, drill-downs and text; a year without such cases
says nothing about them."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from docx import Document
from openpyxl import load_workbook
from report_cases import at
from sandiao_cases import PATHS, feedback, fire, report_back, sandiao_year

from mediation_flow.stats.drilldown import case_ids
from mediation_flow.stats.figures import compute_figures
from mediation_flow.stats.report_text import render
from mediation_flow.stats.scope import year_scope
from mediation_flow.stats.service import annual_report, export
from mediation_flow.store import clock

STATES = ("sent", "acknowledged", "answered", "returned")


def report(engine, town, year=2023, as_of=None):
    with engine.connect() as conn:
        figures = compute_figures(conn, year_scope(conn, code=town.places.township.code, year=year, as_of=as_of))
    return figures, render(figures)


def ids(engine, town, figure, key=None, year=2023):
    with engine.connect() as conn:
        return case_ids(conn, year_scope(conn, code=town.places.township.code, year=year), figure, key)


def test_every_path_in_every_handoff_state(engine, town):
    year = sandiao_year(engine, town)
    # What happened after the year's end does not move the year: the police's 签收 of a case sent in 2023,
    # and the court's 反馈 of a referral left open.
    fire(engine, town, year.inbound["police"]["sent"], [("accept", {"rights_notified": True})], at(2024, 1, 3))
    fire(engine, town, year.outbound["court"]["sent"], [feedback("resolved", at(2024, 1, 4))], at(2024, 1, 4))
    figures, text = report(engine, town)
    count = figures.count

    received = {"police": 4, "petition": 4, "court": 5}
    for path in PATHS:
        assert count("referral_in", path) == received[path], path
        assert count("referral_in_resolved", path) == (2 if path == "court" else 1), path
        assert count("referral_in_returned", path) == 1, path
        assert count("referral_in_open", path) == 2, path
        assert count("referral_in_answered", path) == (2 if path == "court" else 1), path
        assert count("referral_out_agency", path) == (5 if path == "police" else 4), path
        assert (count("referral_out_answered", path), count("referral_out_returned", path)) == (1, 1), path
        assert count("referral_out_open", path) == 2, path
        for state in STATES:
            inbound, outbound = year.inbound[path][state], year.outbound[path][state]
            assert count("handoffs", f"in:{path}:{state}") == (2 if (path, state) == ("court", "answered") else 1)
            assert count("handoffs", f"out:{path}:{state}") == 1
            assert inbound in ids(engine, town, "handoffs", f"in:{path}:{state}")
            assert ids(engine, town, "handoffs", f"out:{path}:{state}") == [outbound]
    assert count("handoffs", "out:police:closed") == 1
    v = figures.values
    assert (v["referral_in"], v["referral_in_returned"], v["referral_in_open"]) == (13, 3, 6)
    assert (v["referral_out_agency"], v["referral_out_answered"], v["referral_out_returned"]) == (13, 3, 3)
    assert v["referral_out_open"] == 6

    # Drill-downs list exactly the cases counted.
    assert ids(engine, town, "referral_in_open", "police") == sorted(
        [year.inbound["police"]["sent"], year.inbound["police"]["acknowledged"]]
    )
    assert ids(engine, town, "referral_out_returned") == sorted(year.outbound[p]["returned"] for p in PATHS)
    assert ids(engine, town, "referral_out_open", "court") == sorted(
        [year.outbound["court"]["sent"], year.outbound["court"]["acknowledged"]]
    )

    # The court's limits: 委派 30 days met, 委托 (简易程序) 7 days missed; the denominator is shown.
    assert (v["court_on_time"], v["court_on_time_judged"], v["court_on_time_rate"]) == (1, 2, 50.0)
    assert ids(engine, town, "court_on_time_rate") == [year.inbound["court"]["answered"]]
    assert (v["on_time"], v["on_time_judged"]) == (3, 4)

    # 一庭两所: one case, two sessions; per participating agency (the judge's court in both, the officer's
    # station in the first, the 司法所 in the second).
    assert v["joint_mediations"] == 1 and v["joint_sessions"] == 2
    per_agency = {
        key: count("joint_sessions", key) for key in ("qinglong_tribunal", "qinglong_police", "justice_station")
    }
    assert per_agency == {"qinglong_tribunal": 2, "qinglong_police": 1, "justice_station": 1}
    assert ids(engine, town, "joint_sessions", "qinglong_police") == [year.inbound["court"]["acknowledged"]]

    paragraph = next(p for p in text.paragraphs if "三调" in p)
    assert paragraph.startswith(
        "统筹推进人民调解、行政调解、司法调解，构建“警调”、“访调”、“诉调”三调对接机制和“一庭两所”矛盾纠纷联调机制，"
        "成功化解1起写信重复访。"
    )
    assert (
        "警调方面，全年接收派出所移交纠纷4件（化解1件、退回1件；年末尚未反馈2件），"
        "向派出所移送纠纷5件（已反馈1件、被退回1件、年末待反馈2件）；" in paragraph
    )
    assert "访调方面，全年接收信访部门转办信访事项4件（化解1件、退回1件；年末尚未反馈2件）" in paragraph
    assert "诉调方面，全年接收人民法院委派委托纠纷5件（化解2件、退回1件；年末尚未反馈2件）" in paragraph
    assert "按法院委派、委托调解期限按期调结率50%（按期调结1件，有调解期限的调解终结2件）" in paragraph
    joint = paragraph[paragraph.index("；开展“一庭两所”联合调解1件（") :]
    assert joint.endswith("）。") and len(joint) == len(
        "；开展“一庭两所”联合调解1件（青龙人民法庭参加2次、青龙派出所参加1次、司法所参加1次）。"
    )
    assert all(p in joint for p in ("青龙人民法庭参加2次", "青龙派出所参加1次", "司法所参加1次"))
    shown = {row["label"]: row["value"] for row in text.table}
    assert (shown["按期调结"], shown["有调解期限的调解终结"], shown["按期调结率"]) == ("3件", "4件", "75%")
    assert (shown["三调对接转出待反馈"], shown["诉调案件按期调结率"]) == ("6件", "50%")

    # The report as of a moment in 2023 counts only what was recorded by then; 2024's report has no 三调
    # cases of its own (the two late events belong to 2023's referrals) and says nothing about them.
    later, later_text = report(engine, town, year=2024)
    assert later.values["referral_in"] == 0 and later.values["referral_out_agency"] == 0
    assert not any(word in later_text.text for word in ("三调", "警调", "访调", "诉调", "一庭两所"))


def test_a_path_alone_names_only_its_mechanism(engine, town):
    from sandiao_cases import referred_in

    day = at(2023, 5, 8)
    case = referred_in(engine, town, "police", day, [("reject", {"reason": "不属于民间纠纷"})])
    figures, text = report(engine, town)
    assert figures.count("handoffs", "in:police:returned") == 1
    assert "构建“警调”对接机制。警调方面，全年接收派出所移交纠纷1件（退回1件）。" in text.text
    assert "三调对接机制" not in text.text and "一庭两所" not in text.text
    assert ids(engine, town, "referral_in_returned", "police") == [case]


def test_the_exports_carry_the_three_paths_in_chinese(engine, town):
    sandiao_year(engine, town)
    result = annual_report(engine, actor=town["supervisor"], code=town.places.township.code, year=2023)
    doc = Document(io.BytesIO(export(engine, result, "docx")))
    assert "三、三调对接和“一庭两所”联合调解" in [p.text for p in doc.paragraphs]
    table = next(t for t in doc.tables if t.rows[0].cells[0].text == "对接类型")
    rows = [[c.text for c in row.cells] for row in table.rows]
    assert rows[0][1:5] == ["转入（件）", "化解（件）", "退回（件）", "尚未反馈（件）"]
    assert rows[1] == ["警调", "4", "1", "1", "2", "5", "1", "1", "2"]
    assert rows[3] == ["诉调", "5", "2", "1", "2", "4", "1", "1", "2"]
    joint = next(t for t in doc.tables if t.rows[0].cells[0].text == "参加单位")
    rows = sorted([c.text for c in row.cells] for row in joint.rows[1:])
    assert rows == [["司法所", "1"], ["青龙人民法庭", "2"], ["青龙派出所", "1"]]

    wb = load_workbook(io.BytesIO(export(engine, result, "xlsx")))
    cells = list(wb["分项统计"].iter_rows(values_only=True))
    start = next(i for i, row in enumerate(cells) if row[0] == "三调对接（按对接类型，状态按年末计）")
    assert cells[start + 2][:9] == ("警调", 4, 1, 1, 2, 5, 1, 1, 2)
    assert cells[start + 3][:9] == ("访调", 4, 1, 1, 2, 4, 1, 1, 2)
    block = [row for row in cells[start:] if row[0] is not None]
    assert all(not any(ch.isascii() and ch.isalpha() for ch in str(c)) for row in block for c in row if c)


def test_the_report_as_of_a_moment_keeps_a_referral_where_it_stood(engine, town):
    from sandiao_cases import referred_in

    day = at(2023, 6, 5)
    case = referred_in(engine, town, "petition", day, [("assign", {"mediator_id": town["mediator"].id})])
    before = datetime.now(UTC)
    fire(
        engine,
        town,
        case,
        [("accept", {"rights_notified": True}), ("start_mediation", {"all_parties_consent": True}),
         ("reach_agreement", {"form": "oral", "facts": "事实", "terms": "内容", "signed_on": "2023-06-20"}),
         report_back("petition", at(2023, 6, 21))],
        day + timedelta(days=10),
    )  # fmt: skip
    then, _ = report(engine, town, as_of=before)
    now, _ = report(engine, town)
    assert then.count("handoffs", "in:petition:sent") == 1 and then.count("referral_in_resolved", "petition") == 0
    assert now.count("handoffs", "in:petition:answered") == 1 and now.count("referral_in_resolved", "petition") == 1


def test_an_agreement_not_reported_back_reads_as_two_groups_not_one_sum(engine, town):
    """A referral in that reached agreement and was not reported back yet is 化解 and 尚未反馈 at once: the sentence
    sets the two groups apart (；), so that no reader adds them up to more than were received; before the year's
    end it says 目前, not 年末."""
    from sandiao_cases import referred_in

    day = datetime.now(UTC) - timedelta(days=5)
    case = referred_in(engine, town, "petition", day, [("assign", {"mediator_id": town["mediator"].id})])
    signed = clock.local_date(day + timedelta(days=4)).isoformat()
    fire(
        engine,
        town,
        case,
        [("accept", {"rights_notified": True}), ("start_mediation", {"all_parties_consent": True}),
         ("reach_agreement", {"form": "oral", "facts": "事实", "terms": "内容", "signed_on": signed})],
        day + timedelta(days=2),
    )  # fmt: skip
    year = clock.local_date(day).year
    figures, text = report(engine, town, year=year)
    assert figures.count("referral_in_resolved", "petition") == figures.count("referral_in_open", "petition") == 1
    moment = "目前" if clock.local_date(clock.utcnow()).year == year else "年末"
    assert f"访调方面，全年接收信访部门转办信访事项1件（化解1件；{moment}尚未反馈1件）" in text.text


def test_a_returned_referral_taken_back_and_sent_to_the_court_counts_on_each_path(engine, town):
    from sandiao_cases import acknowledge, enter, refer, return_referral, year_base

    day = at(2023, 4, 3)
    case = enter(engine, town, day, year_base(town, "police"))
    fire(engine, town, case, [return_referral()], day + timedelta(days=5), actor="liaison")
    fire(
        engine,
        town,
        case,
        [("take_back", {"reason": "派出所退回，收回继续调解"}), refer("court")],
        day + timedelta(days=7),
    )
    fire(engine, town, case, [acknowledge()], day + timedelta(days=10), actor="court_liaison")
    figures, text = report(engine, town)
    assert figures.count("handoffs", "out:police:returned") == 1
    assert figures.count("handoffs", "out:court:acknowledged") == 1
    assert figures.count("referral_out_returned", "police") == 1 and figures.count("referral_out_open", "court") == 1
    assert figures.values["referral_out_agency"] == 2  # one case, once on each path
    assert "警调方面，向派出所移送纠纷1件（被退回1件）；诉调方面，向人民法院移送纠纷1件（年末待反馈1件）" in text.text
    assert "构建“警调”、“诉调”对接机制。" in text.text


def test_the_seed_sentence_comes_out_of_the_data_with_a_ticket_to_beijing(engine, town):
    from report_cases import petition
    from sandiao_cases import JOINT, mediate, referred_in

    petition(engine, town, at(2023, 4, 11), channel="letter", flags={"repeat": True}, number="县信转〔2023〕7号")
    ticket = {"to_beijing": True, "to_beijing_detail": "ticket"}
    beijing = petition(engine, town, at(2023, 9, 5), channel="visit", flags=ticket, number="县信转〔2023〕19号")
    referred_in(engine, town, "police", at(2023, 5, 2), [])
    referred_in(engine, town, "court", at(2023, 6, 2), mediate(town, JOINT))
    arrived = {"to_beijing": True, "to_beijing_detail": "arrived"}
    petition(engine, town, at(2024, 3, 5), channel="visit", flags=arrived, number="县信转〔2024〕3号")
    figures, text = report(engine, town)
    assert (
        "构建“警调”、“访调”、“诉调”三调对接机制和“一庭两所”矛盾纠纷联调机制，成功化解1起写信重复访和1起购票进京访。"
        in text.text
    )
    assert figures.count("petitions_resolved", "to_beijing") == 1
    assert ids(engine, town, "petitions_by_channel", "to_beijing.ticket:visit") == [beijing]
    later = report(engine, town, year=2024)[1].text
    assert "成功化解1起进京访" in later and "购票" not in later  # 到京: plain 进京访
