"""The report says only what its data supports (issue 13): who it is about and who issues it, rates with their
numerator and denominator, breakdowns that add up (未填写), the seed's phrases as editable templates, units
that agree."""

from __future__ import annotations

from datetime import timedelta

import pytest
from report_cases import agreement, at, enter, resolved_path

from mediation_flow.errors import InvalidData
from mediation_flow.stats.drilldown import case_ids
from mediation_flow.stats.figures import compute_figures
from mediation_flow.stats.report_templates import load_templates
from mediation_flow.stats.report_text import render
from mediation_flow.stats.scope import year_scope
from mediation_flow.stats.unset import UNSET


def figures(engine, code, year=2023):
    with engine.connect() as conn:
        return compute_figures(conn, year_scope(conn, code=code, year=year))


def unvenued(town, day):
    """A resolved path whose mediation names no venue."""
    steps = resolved_path(town, day)
    steps[2] = ("start_mediation", {"all_parties_consent": True})
    return steps


def late(town, registered):
    """Accepted on the first day, agreement 40 days later: past the 30-day mediation limit."""
    day = registered + timedelta(days=41)
    steps = resolved_path(town, day)
    moments = [registered + timedelta(hours=h) for h in (1, 2, 3)] + [day + timedelta(hours=h) for h in range(4)]
    return steps, moments


def test_township_village_and_grid_reports_name_their_subject_and_issuer(engine, town):
    village, grid = town.places.villages[0], town.places.grids[0]
    enter(engine, town, at(2023, 6, 1), resolved_path(town, at(2023, 6, 3)), jurisdiction_code=grid.code)
    township = render(figures(engine, town.places.township.code))
    assert township.issuer_lines == ["示例县青龙镇人民政府"]
    assert township.subject == "青龙镇" and township.paragraphs[0].startswith("2023年，青龙镇结合“清风茶室”")
    in_village = render(figures(engine, village.code))
    assert in_village.issuer_lines == ["青龙镇龙井村村民委员会"]
    assert in_village.title == "龙井村2023年矛盾纠纷多元化解工作情况"
    assert in_village.paragraphs[0].startswith("2023年，龙井村结合“清风茶室”开展人民调解1件次")
    in_grid = render(figures(engine, grid.code))
    assert in_grid.issuer_lines == ["青龙镇龙井村村民委员会"]  # a grid issues nothing: its village does
    assert in_grid.paragraphs[0].startswith(f"2023年，{grid.name}结合")
    assert township.period == in_grid.period == "2023年1月1日至2023年12月31日"


def test_a_rate_shows_its_numerator_and_its_denominator(engine, town):
    enter(engine, town, at(2023, 3, 1), resolved_path(town, at(2023, 3, 3)))
    steps, moments = late(town, at(2023, 5, 1))
    enter(engine, town, at(2023, 5, 1), steps, moments=moments)
    report = render(figures(engine, town.places.township.code))
    assert "按期调结率为50%（有调解期限的调解终结2件，其中按期调结1件）" in report.text
    assert "化解矛盾成功率高达100%（调解终结2件，其中达成协议2件）" in report.text
    row = next(r for r in report.table if r["key"] == "on_time_rate")
    assert (row["value"], row["parts"]) == ("50%", "按期调结1件／有调解期限的调解终结2件")
    assert "分母：有调解期限的调解终结案件数" in row["definition"]


def test_breakdowns_count_the_cases_left_unfilled_and_sum_to_their_total(engine, town):
    named = enter(engine, town, at(2023, 3, 1), resolved_path(town, at(2023, 3, 3)))
    blank = [enter(engine, town, at(2023, 4, d), unvenued(town, at(2023, 4, d + 2))) for d in (1, 5)]
    f = figures(engine, town.places.township.code)
    venues = {r["key"]: (r["label"], r["count"]) for r in f.breakdowns["by_venue"]}
    assert venues == {"qingfeng_teahouse": ("清风茶室", 1), UNSET: ("未填写", 2)}
    for name, total in (("by_venue", "mediated"), ("by_source", "taken_in"), ("by_category", "taken_in"),
                        ("resolved_by_level", "resolved")):  # fmt: skip
        assert sum(r["count"] for r in f.breakdowns[name]) == f.values[total] == 3, name
    with engine.connect() as conn:
        scope = year_scope(conn, code=town.places.township.code, year=2023)
        assert case_ids(conn, scope, "by_venue", UNSET) == blank
        assert case_ids(conn, scope, "by_venue", "qingfeng_teahouse") == [named]


def test_the_motto_is_the_seeds_unless_the_township_words_it_otherwise(engine, town, tmp_path):
    enter(engine, town, at(2023, 6, 1), resolved_path(town, at(2023, 6, 3)))
    f = figures(engine, town.places.township.code)
    assert "坚持“小事不出网格、大事不出社区、风险不外溢乡镇”" in render(f).text
    own = tmp_path / "templates" / town.places.township.code
    own.mkdir(parents=True)
    (own / "report_sentences.yaml").write_text('motto: "小事不出网格、大事不出村、风险不外溢乡镇"\n', "utf-8")
    (tmp_path / "templates" / "report_sentences.yaml").write_text("committee: {村: 村委会}\n", "utf-8")
    templates = load_templates(town.places.township.code, data_dir=tmp_path)
    assert "坚持“小事不出网格、大事不出村、风险不外溢乡镇”" in render(f, templates).text
    assert templates["committee"] == {"村": "村委会", "社区": "居民委员会"}  # merged entry by entry
    other = load_templates("500101002", data_dir=tmp_path)  # another township keeps the seed's phrase
    assert other["motto"] == "小事不出网格、大事不出社区、风险不外溢乡镇"


def test_units_agree_and_a_dispute_is_not_named_twice(engine, town):
    refer = ("refer", {"target": "legal_aid", "receiving_body": "县法律援助中心", "reason": "需法律援助"})
    steps = [("assign", {"mediator_id": town["mediator"].id}), ("accept", {"rights_notified": True}),
             ("start_mediation", {"all_parties_consent": True}), refer]  # fmt: skip
    enter(engine, town, at(2023, 6, 1), steps, category="labour")
    enter(engine, town, at(2023, 7, 1), [*resolved_path(town, at(2023, 7, 3))[:3], agreement("2023-07-06")],
          category="labour")  # fmt: skip
    text = render(figures(engine, town.places.township.code)).text
    assert "引导1件纠纷的当事人申请法律援助" in text and "名" not in text
    assert "主要为劳动争议" in text and "劳动争议纠纷" not in text


def test_a_township_sentence_with_an_unknown_placeholder_is_a_clear_error(engine, town, tmp_path):
    enter(engine, town, at(2023, 6, 1), resolved_path(town, at(2023, 6, 3)))
    own = tmp_path / "templates" / town.places.township.code
    own.mkdir(parents=True)
    (own / "report_sentences.yaml").write_text('title: "{村名}{year}年工作情况"\n', "utf-8")
    templates = load_templates(town.places.township.code, data_dir=tmp_path)
    with pytest.raises(InvalidData) as raised:
        render(figures(engine, town.places.township.code), templates)
    assert "报告句子模板有误" in raised.value.errors[0]["message"]
    (own / "report_sentences.yaml").write_text("- 不是映射\n", "utf-8")
    with pytest.raises(InvalidData):
        load_templates(town.places.township.code, data_dir=tmp_path)
