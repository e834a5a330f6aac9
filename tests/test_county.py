"""The county view over the demo (青龙镇 and 白马镇 under 示例县), on SQLite and PostgreSQL: the county's user sees
both townships and the county's row, a township's user only their own; each township's numbers are its annual
report's (the 当前 ones a fresh count of its open cases), each number's list of cases has as many cases; the
columns sort both ways; the county's report carries a paragraph per township, on the page and in the .docx."""

from __future__ import annotations

import html
import io
import re
from datetime import UTC, date, datetime

import pytest
from docx import Document
from factories import intake
from fastapi.testclient import TestClient
from report_cases import at, escalated_and_confirmed
from sqlalchemy import Engine, select

from mediation_flow.accounts.policy import Actor
from mediation_flow.accounts.users import actor_for
from mediation_flow.cases.engine import apply_trigger
from mediation_flow.cases.intake import register_case
from mediation_flow.demo import demo_password, load_demo
from mediation_flow.errors import InvalidData, NotFound, PermissionDenied
from mediation_flow.stats.county import county_view
from mediation_flow.stats.county_report import county_figures, county_report, township_paragraph
from mediation_flow.stats.dashboard import clear_cache
from mediation_flow.stats.dashboard_current import current_case_ids, open_states
from mediation_flow.stats.drilldown import case_ids
from mediation_flow.stats.figures import compute_figures
from mediation_flow.stats.report_text import render
from mediation_flow.stats.scope import year_scope
from mediation_flow.stats.service import export
from mediation_flow.store.tables import CASES, JURISDICTIONS, USERS
from mediation_flow.vocabulary import Role
from web.app import create_app
from web.pages.common import nav_items

NOW = datetime(2026, 3, 10, 9, 15, tzinfo=UTC)
TODAY = date(2026, 3, 10)
YEAR = 2025


@pytest.fixture
def demo(engine: Engine) -> Engine:
    load_demo(engine, cases=120, now=NOW, chunk=60)
    clear_cache()
    return engine


def demo_actor(engine: Engine, username: str) -> Actor:
    with engine.connect() as conn:
        actor = actor_for(conn, conn.execute(select(USERS.c.id).where(USERS.c.username == username)).scalar_one())
    assert actor is not None
    return actor


def test_who_sees_which_township(demo: Engine) -> None:
    county = county_view(demo, demo_actor(demo, "xianju"), today=TODAY, year=YEAR)
    assert [r.name for r in county.rows] == ["青龙镇", "白马镇"]  # by caseload, the larger first
    assert county.total is not None and county.total.name == "示例县合计"
    assert county.total.values["taken_in"] == sum(r.values["taken_in"] for r in county.rows) > 0
    township = county_view(demo, demo_actor(demo, "sifasuo"), today=TODAY, year=YEAR)
    assert [r.name for r in township.rows] == ["青龙镇"] and township.total is None
    # 乡镇对比 is in the county's navigation, not a township's (who would compare one township)
    offered = {name: "/county" in dict(nav_items(demo_actor(demo, name))) for name in ("xianju", "sifasuo", "admin")}
    with demo.connect() as conn:  # a village's supervisor sees no township: refused, not an empty comparison
        path = conn.execute(select(JURISDICTIONS.c.path).where(JURISDICTIONS.c.code == "500101001001")).scalar_one()
    village = Actor(id=None, username="village", role=Role.SUPERVISOR, scope_path=path)
    with pytest.raises(PermissionDenied):
        county_view(demo, village, today=TODAY, year=YEAR)
    assert offered == {"xianju": True, "sifasuo": False, "admin": True}
    with pytest.raises(NotFound):
        county_report(demo, actor=demo_actor(demo, "sifasuo"), code="500101", year=YEAR)
    with pytest.raises(PermissionDenied):
        county_view(demo, demo_actor(demo, "baima"), today=TODAY)  # a mediator: no statistics
    with pytest.raises(InvalidData):
        county_view(demo, demo_actor(demo, "xianju"), today=TODAY, sort="nonsense")


def test_each_number_is_the_townships_report_and_lists_as_many_cases(demo: Engine) -> None:
    view = county_view(demo, demo_actor(demo, "xianju"), today=TODAY, year=YEAR)
    assert view.total is not None
    with demo.connect() as conn:
        paths = dict(conn.execute(select(JURISDICTIONS.c.code, JURISDICTIONS.c.path)).all())
        states = open_states(conn)
        for row in [*view.rows, view.total]:
            scope = year_scope(conn, code=row.code, year=YEAR, as_of=view.as_of)
            figures = compute_figures(conn, scope)
            v = figures.values
            assert (row.values["taken_in"], row.on_time, row.on_time_judged) == (
                v["taken_in"], v["on_time"], v["on_time_judged"])  # fmt: skip
            assert row.values["on_time_rate"] == v["on_time_rate"]
            assert (row.values["conversions"], row.values["repeat"]) == (v["conversions"], v["repeat_disputes"])
            for column in view.columns:
                number = row.values[column.key]
                if column.kind == "year":
                    key = column.figure_key
                    if column.figure_key is None:
                        assert number == v[column.figure], column
                    else:
                        assert number == figures.count(column.figure, key), column
                    if column.figure != "escalations":  # escalations count events; their list, the cases
                        assert len(case_ids(conn, scope, column.figure, key)) == number, column
                elif column.kind == "now":
                    listed = current_case_ids(conn, paths[row.code], column.figure, None, TODAY)
                    assert len(listed) == number, column
            rows = conn.execute(
                select(CASES.c.state, CASES.c.due_date).where(CASES.c.jurisdiction_path.like(paths[row.code] + "%"))
            ).all()
            open_rows = [r for r in rows if r.state in states]
            assert row.values["open"] == len(open_rows)
            assert row.values["overdue"] == sum(1 for r in open_rows if r.due_date is not None and r.due_date < TODAY)
            assert row.monthly == [r["count"] for r in figures.breakdowns["monthly_taken_in"]]


@pytest.mark.parametrize("descending", [True, False])
def test_every_column_sorts(demo: Engine, descending: bool) -> None:
    actor = demo_actor(demo, "xianju")
    for column in county_view(demo, actor, today=TODAY, year=YEAR).columns:
        view = county_view(demo, actor, today=TODAY, year=YEAR, sort=column.key, descending=descending)
        keys = [(r.values[column.key] is None, r.values[column.key] or 0) for r in view.rows]
        expected = sorted(keys, key=lambda k: (k[0], -k[1] if descending else k[1]))
        assert keys == expected, column.key


def test_the_county_report_has_a_paragraph_per_township(demo: Engine) -> None:
    report = county_report(demo, actor=demo_actor(demo, "xianju"), code="500101", year=YEAR)
    assert report.text.title.startswith("示例县2025年")
    assert [p[:4] for p in report.text.paragraphs[-2:]] == ["青龙镇：", "白马镇："]
    with demo.connect() as conn:
        township = compute_figures(
            conn, year_scope(conn, code="500101002", year=YEAR, as_of=report.figures.scope.as_of)
        )
    assert f"登记矛盾纠纷{township.values['taken_in']}件" in report.text.paragraphs[-1]
    texts = [p.text for p in Document(io.BytesIO(export(demo, report, "docx"))).paragraphs]
    assert report.text.paragraphs[-1] in texts and report.text.paragraphs[-2] in texts
    # each township names its own venue; the county's own text names none (a venue is a township's place)
    county_text, qinglong = report.text.paragraphs[0], report.text.paragraphs[-2]
    assert "结合“清风茶室”" in qinglong
    assert "清风茶室" not in county_text and "开展人民调解" in county_text


def test_the_county_counts_its_year_once_and_each_township_as_its_own_report(demo: Engine) -> None:
    """The county's report folds the county's year once and splits it by township: each township's figures (every
    value and breakdown) and paragraph are its own report's, a corrected case counted where and as it is recorded."""
    xianju = demo_actor(demo, "xianju")
    with demo.connect() as conn:
        baima = conn.execute(select(JURISDICTIONS.c.id).where(JURISDICTIONS.c.code == "500101002")).scalar_one()
        villages = conn.execute(
            select(JURISDICTIONS.c.code, JURISDICTIONS.c.path).where(JURISDICTIONS.c.parent_id == baima)
        ).all()
        moved = conn.execute(
            select(CASES.c.id, CASES.c.version, CASES.c.jurisdiction_path)
            .where(CASES.c.year == 2024, CASES.c.jurisdiction_path.like("/%/%/%/"))
            .where(CASES.c.jurisdiction_path.like(villages[0].path.rsplit("/", 2)[0] + "/%"))
            .order_by(CASES.c.id)
        ).first()
    assert moved is not None
    target = next(v for v in villages if not moved.jurisdiction_path.startswith(v.path))
    apply_trigger(
        demo, case_id=moved.id, actor=xianju, trigger="correct", expected_version=moved.version,
        data={"reason": "与纸质台账核对后更正", "what": "village", "value": target.code},
    )  # fmt: skip
    for grid, mediator in (("500101001001001", "tiaojie"), ("500101002001001", "baima")):
        add_escalated_joint_case_and_conversion(demo, xianju, grid, demo_actor(demo, mediator).id)
    seen: dict[str, int] = {}
    for year in (2023, 2024, 2025):
        report = county_report(demo, actor=xianju, code="500101", year=year)
        with demo.connect() as conn:
            scope = year_scope(conn, code="500101", year=year, as_of=report.figures.scope.as_of)
            county, townships = county_figures(conn, scope)
            assert county.to_dict() == report.figures.to_dict() == compute_figures(conn, scope).to_dict()
            assert [t.code for t, _ in townships] == ["500101001", "500101002"]
            for township, figures in townships:
                own = compute_figures(conn, year_scope(conn, code=township.code, year=year, as_of=scope.as_of))
                assert figures.to_dict() == own.to_dict(), (year, township.name)
                assert township_paragraph(township.name, render(own).paragraphs, year) in report.text.paragraphs
        values = [f.values for _, f in townships]
        figures = ("taken_in", "escalations", "resolved", "closed", "conversions", "joint_sessions", "confirmations")
        for figure in figures:
            assert county.values[figure] == sum(v[figure] for v in values), (year, figure)
            seen[figure] = seen.get(figure, 0) + county.values[figure]
        assert [r["count"] for r in county.breakdowns["by_village"]] == [v["taken_in"] for v in values]
        if year == 2024:  # the corrected case counted in its new village
            assert townships[1][1].count("by_village", target.code) > 0
        if year == YEAR:  # each township's escalation and conversion (the demo has none)
            assert [(v["escalations"], v["conversions"]) for v in values] == [(1, 1), (1, 1)]
    assert all(seen.values()), seen


def add_escalated_joint_case_and_conversion(engine: Engine, actor: Actor, grid: str, mediator: int) -> None:
    """In ``grid``, 2025: a case mediated with the police station (一庭两所: 青龙's own station, named; 白马 has none
    in the demo, its 司法所 joins), escalated, agreed, confirmed by the court and closed; and a case that turned
    into a criminal one (矛盾纠纷转化)."""
    qinglong = {"joint_agencies": ["police_station"], "joint_police": "qinglong_police"}
    joint = qinglong if grid.startswith("500101001") else {"joint_agencies": ["justice_station"]}
    steps = escalated_and_confirmed(mediator, 2025, **joint)
    conversion = ("mark_conversion", {"type": "criminal", "occurred_on": "2025-06-15", "detail": "持刀伤人"})
    for trail in (steps, [conversion]):
        case_id = register_case(
            engine, actor=actor, intake=intake(jurisdiction_code=grid), effective_at=at(2025, 5, 10), now=NOW
        )
        for day, (trigger, data) in enumerate(trail, start=11):
            with engine.connect() as conn:
                version = conn.execute(select(CASES.c.version).where(CASES.c.id == case_id)).scalar_one()
            apply_trigger(
                engine, case_id=case_id, actor=actor, trigger=trigger, expected_version=version, data=data,
                effective_at=at(2025, 5, day), now=NOW,
            )  # fmt: skip


def test_the_view_is_kept_while_nothing_is_written_and_follows_a_write(demo: Engine) -> None:
    """Asked again with nothing written, the same view comes back (the page renders its body once for it); after
    a registration in 白马镇 the view is worked out again, its 当前 numbers a fresh count's (issue 15)."""
    xianju = demo_actor(demo, "xianju")
    county_view(demo, xianju, today=TODAY, year=YEAR, sort="open")  # its first count writes the kept tallies
    first = county_view(demo, xianju, today=TODAY, year=YEAR, sort="open")
    assert county_view(demo, xianju, today=TODAY, year=YEAR, sort="open") is first
    assert county_view(demo, xianju, today=TODAY, year=YEAR, sort="overdue") is not first  # another sort's own
    baima = next(r for r in first.rows if r.name == "白马镇")
    register_case(demo, actor=xianju, intake=intake(jurisdiction_code="500101002001001"), now=NOW)
    again = county_view(demo, xianju, today=TODAY, year=YEAR, sort="open")
    assert again is not first
    assert next(r for r in again.rows if r.name == "白马镇").values["open"] == baima.values["open"] + 1
    assert again.total is not None and first.total is not None
    assert again.total.values["open"] == first.total.values["open"] + 1


def demo_client(engine: Engine, username: str) -> TestClient:
    client = TestClient(create_app(engine), follow_redirects=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token is not None
    form = {"username": username, "password": demo_password(username), "csrf_token": token.group(1)}
    assert client.post("/login", data=form).status_code == 303
    return client


def test_the_reports_category_chart_shows_every_category(demo: Engine) -> None:
    """The 纠纷类型 chart has a bar per category with cases (a case of each of the demo's 10 added), adding up to
    受理（登记）: it used to show the largest 8 only."""
    xianju = demo_actor(demo, "xianju")
    for category in ("consumer", "contract", "damages", "forest_land", "housing_homestead", "labour",
                     "land_contract", "marriage_family", "neighbourhood", "traffic"):  # fmt: skip
        case = intake(jurisdiction_code="500101001001001", category=category)
        register_case(demo, actor=xianju, intake=case, effective_at=at(YEAR, 6, 1), now=NOW)
    client = demo_client(demo, "xianju")
    page = html.unescape(client.get("/reports", params={"year": YEAR, "jurisdiction": "500101"}).text)
    chart = page[page.index('aria-label="纠纷类型"') :]
    chart = chart[: chart.index("</svg>")]
    bars = [int(n) for n in re.findall(r'<rect class="bar"[^>]*><title>[^<：]+：(\d+)</title>', chart)]
    with demo.connect() as conn:
        figures = compute_figures(conn, year_scope(conn, code="500101", year=YEAR))
    categories = [r for r in figures.breakdowns["by_category"] if r["count"]]
    assert len(bars) == len(categories) > 8
    assert sum(bars) == figures.values["taken_in"]
    months = page[page.index('<svg class="chart months"') :]
    months = months[: months.index("</svg>")]  # each month's 达成协议 has its number beside its bar, as 登记 has
    agreed = [int(n) for n in re.findall(r'<text class="alt-n"[^>]*>(\d+)</text>', months)]
    assert sum(agreed) == sum(r["count"] for r in figures.breakdowns["monthly_resolved"]) > 0


def test_the_lists_behind_the_county_view_say_what_they_hold_and_lead_back(demo: Engine) -> None:
    """Each number's list is explained by its own figure (not the 办理中 one for all) and its 返回 leads to the county
    view it came from; the county's report groups by township under a township heading."""
    client = demo_client(demo, "xianju")
    page = html.unescape(client.get("/county", params={"year": YEAR}).text)
    row = page[page.index('data-township="500101001"') :]
    meanings = {}
    for column in ("open", "overdue", "in_mediation", "taken_in"):
        link = re.search(rf'<td data-col="{column}"><a href="([^"]+)"', row)
        assert link is not None, column
        listed = html.unescape(client.get(link.group(1)).text)
        back = re.search(r'<a href="([^"]+)" data-back>← ([^<]+)</a>', listed)
        assert back is not None and back.group(2) == "返回乡镇对比", column
        assert back.group(1) == f"/county?county=500101&year={YEAR}", column  # the county and year it came from
        meaning = re.search(r"<p class=\"(?:muted|hint)\"[^>]*>((?:截至|统计口径)[^<]+)</p>", listed)
        assert meaning is not None, column
        meanings[column] = meaning.group(1)
    assert len(set(meanings.values())) == len(meanings)
    assert "期限已过" in meanings["overdue"] and "“调解中”" in meanings["in_mediation"]
    report = html.unescape(client.get("/reports", params={"year": YEAR, "jurisdiction": "500101"}).text)
    assert "按乡镇（街道）" in report and "按村（社区）" not in report
    assert "<h1>示例县各乡镇（街道）对比</h1>" in page and "data-own-only" not in page
    for key in ({"figure": "state", "key": "resolved"}, {"figure": "level", "key": "zzz"}):  # not open / no level
        refused = client.get("/dashboard/cases", params={"jurisdiction": "500101001", **key})
        assert refused.status_code == 422 and key["key"] not in refused.text
    own = html.unescape(demo_client(demo, "sifasuo").get("/county", params={"year": YEAR}).text)
    assert "<h1>青龙镇主要数字</h1>" in own and "data-own-only" in own  # a township's user compares nothing
    link = re.search(r'<td data-col="open"><a href="([^"]+)"', own)
    assert link is not None  # and their lists lead back to the page as it is titled for them
    listed = html.unescape(demo_client(demo, "sifasuo").get(html.unescape(link.group(1))).text)
    assert f'<a href="/county?county=500101&year={YEAR}" data-back>← 返回本乡镇主要数字</a>' in listed


def test_the_county_dashboard_groups_its_cases_by_township(demo: Engine) -> None:
    """The dashboard's by-place chart is headed as the report's breakdown is at the same level (one wording:
    definitions.yaml's at_level), not by a second list of level names."""
    page = html.unescape(demo_client(demo, "xianju").get("/dashboard", params={"year": YEAR}).text)
    assert "<h3>按乡镇（街道）（登记）</h3>" in page and "按村（社区）（登记）" not in page
    page = html.unescape(demo_client(demo, "sifasuo").get("/dashboard", params={"year": YEAR}).text)
    assert "<h3>按村（社区）（登记）</h3>" in page
