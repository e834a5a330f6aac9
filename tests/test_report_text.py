"""The report wording for zero, one and many, from the editable sentence templates."""

from __future__ import annotations

import copy

from report_cases import at, enter, resolved_path

from mediation_flow.display.formats import money_wan as money
from mediation_flow.display.formats import number
from mediation_flow.stats.figures import compute_figures
from mediation_flow.stats.report_text import join_cn, load_templates, render
from mediation_flow.stats.scope import year_scope


def figures(engine, town, year=2023):
    with engine.connect() as conn:
        return compute_figures(conn, year_scope(conn, code=town.places.township.code, year=year))


def test_an_empty_year_says_there_is_no_record_and_claims_nothing(engine, town):
    report = render(figures(engine, town))
    assert report.paragraphs == ["本期（2023年1月1日至2023年12月31日）青龙镇无矛盾纠纷案件记录。"]
    text = report.text
    assert "全年无" not in text and "三调" not in text and "一庭两所" not in text
    assert "成功率" not in text and "None" not in text and "{" not in text


def test_a_year_with_cases_but_nothing_mediated_says_what_it_has(engine, town):
    enter(engine, town, at(2023, 6, 1), [])
    text = render(figures(engine, town)).text
    assert "2023年，青龙镇全年未开展人民调解" in text
    assert "全年登记矛盾纠纷1件" in text
    assert "全年无矛盾纠纷转化为重大事故的案件" in text  # said from a year with records, not from none


def test_one_case_uses_the_singular_wording(engine, town):
    enter(
        engine,
        town,
        at(2023, 6, 1),
        resolved_path(town, at(2023, 6, 3)),
        source="police",
        jurisdiction_code=town.places.grids[0].code,
    )
    enter(
        engine,
        town,
        at(2023, 7, 1),
        [("mark_conversion", {"type": "major_accident", "occurred_on": "2023-07-02", "detail": "塌方"})],
    )
    text = render(figures(engine, town)).text
    assert "结合“清风茶室”开展人民调解1件次，成功化解矛盾纠纷1件，化解矛盾成功率高达100%" in text
    assert "全年发生矛盾纠纷转化1件（重大事故1件）" in text
    assert "全年接收派出所移交纠纷1件" in text
    assert "网格化解1件" in text


def test_templates_are_data(engine, town):
    enter(engine, town, at(2023, 6, 1), resolved_path(town, at(2023, 6, 3)))
    templates = copy.deepcopy(load_templates())
    templates["paragraphs"] = [[{"count": "resolved", "one": "本年度化解{resolved}件纠纷", "many": "化解{resolved}件"}]]
    templates["title"] = "{jurisdiction}{year}年报告"
    report = render(figures(engine, town), templates)
    assert report.paragraphs == ["本年度化解1件纠纷。"]
    assert report.title == "青龙镇2023年报告"
    assert [row["key"] for row in report.table][:3] == ["taken_in", "mediated", "resolved"]


def test_formatting_helpers():
    assert (number(122), number(100.0), number(88.94), number(None)) == ("122", "100", "88.9", "—")
    assert (money(320000), money(1_680_000_00), money(120050)) == ("3200元", "168万元", "1200.50元")
    assert join_cn(["1起写信重复访", "1起进京访"]) == "1起写信重复访和1起进京访"
    assert join_cn(["a", "b", "c"]) == "a、b和c"
