"""Drill-downs that show the number (issue 13): each case row carries its contribution (the amount, with the
sum under the list; the mediation limit and whether it was met), and a rate lists both of its sets."""

from __future__ import annotations

import html
import re

from report_cases import at, enter, resolved_path
from test_report_page import page_client
from test_report_text__honest import late

from mediation_flow.display.formats import money
from mediation_flow.stats.service import annual_report, figure_drill
from web.app import create_app


def test_the_amount_drill_down_lists_each_amount_and_their_sum(engine, town):
    big = enter(engine, town, at(2023, 3, 1), resolved_path(town, at(2023, 3, 5), amount="66000"))
    small = enter(engine, town, at(2023, 4, 1), resolved_path(town, at(2023, 4, 5), amount="1200.50"))
    report = annual_report(engine, actor=town["supervisor"], code=town.places.township.code, year=2023)
    drill = figure_drill(engine, report, "agreement_amount", None, limit=500, actor=town["supervisor"])
    (section,) = drill.sections
    assert drill.column == "协议金额"
    assert [(item.id, shown) for item, shown in section.rows] == [(big, "66,000.00元"), (small, "1,200.50元")]
    assert section.total_text == "67,200.50元" == money(report.figures.values["agreement_amount_fen"])


def test_a_rate_drill_down_shows_its_numerator_and_the_rest_of_its_denominator(engine, town):
    on_time = enter(engine, town, at(2023, 3, 1), resolved_path(town, at(2023, 3, 5)))
    steps, moments = late(town, at(2023, 5, 1))
    overdue = enter(engine, town, at(2023, 5, 1), steps, moments=moments)
    report = annual_report(engine, actor=town["supervisor"], code=town.places.township.code, year=2023)
    drill = figure_drill(engine, report, "on_time_rate", None, limit=500, actor=town["supervisor"])
    counted, rest = drill.sections
    assert counted.title == "计入分子：按期调结" and rest.title.startswith("分母中的其余案件：有调解期限的调解终结")
    assert [item.id for item, _ in counted.rows] == [on_time] and [item.id for item, _ in rest.rows] == [overdue]
    assert counted.rows[0][1].endswith("终结，按期")
    assert re.fullmatch(r"调解期限至2023年5月31日，2023年6月11日终结，超期11天", rest.rows[0][1]), rest.rows[0][1]
    success = figure_drill(engine, report, "success_rate", None, limit=500, actor=town["supervisor"])
    assert [len(s.rows) for s in success.sections] == [2, 0]
    assert success.sections[0].rows[0][1] == "达成协议（2023年3月5日）"

    client, _ = page_client(create_app(engine), "supervisor")
    page = client.get("/reports", params={"year": 2023, "jurisdiction": town.places.township.code})
    link = re.search(r'<tr data-figure="on_time_rate">.*?href="([^"]+)"', page.text, re.S).group(1)
    shown = html.unescape(client.get(html.unescape(link)).text)
    visible = re.sub(r"<[^>]+>", "", shown)
    assert "计入分子：按期调结（1件）" in visible and "有调解期限的调解终结，未计入分子（1件）" in visible
    assert "超期11天" in shown and f'href="/cases/{overdue}"' in shown and "<b data-total>2</b>" in shown


def test_the_page_shows_the_sum_under_the_amounts(engine, town):
    enter(engine, town, at(2023, 3, 1), resolved_path(town, at(2023, 3, 5), amount="66000"))
    client, _ = page_client(create_app(engine), "supervisor")
    params = {"year": 2023, "jurisdiction": town.places.township.code, "figure": "agreement_amount"}
    shown = client.get("/reports/cases", params=params).text
    assert "<td data-contribution>66,000.00元</td>" in shown and "<th data-sum>66,000.00元</th>" in shown
