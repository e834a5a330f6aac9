"""One way to count and label days (issue 13, point 6): the queue, the case page and the notices say the same
number of the same days (工作日 or 自然日, said on screen) for the same deadline; a suspended case shows its
paused clock as 已中止 with the days used and left and where its due date lands on resume, and appears in
查看中止案件 (supervisor: the subtree; mediator: their own) with how long it has waited, the reason, the
expected resume date and a warning once that has passed. Both back ends, over HTTP."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from factories import Town, drive, register
from sqlalchemy import Engine
from test_web_pages import app, data_dir, signed_in  # noqa: F401  (fixtures)

from mediation_flow.cases.suspended import suspended_cases
from mediation_flow.cases.views import case_view
from mediation_flow.display.formats import cn_date, days_left
from mediation_flow.store import clock
from mediation_flow.workflow.deadlines import days_until
from mediation_flow.workflow.workdays import default_calendar


def ago(days: int) -> Any:
    return clock.utcnow() - timedelta(days=days)


def today() -> date:
    return clock.local_date(clock.utcnow())


def _row(html: str, case_id: int) -> str:
    """The table row of ``case_id`` on a list page."""
    return html.split(f'data-case="{case_id}"', 1)[1].split("</tr>", 1)[0]


def test_queue_case_page_and_notice_say_the_same_days_of_the_same_kind(
    signed_in: Any,  # noqa: F811
    town: Town,
    engine: Engine,
) -> None:
    supervisor = town["supervisor"]
    # 受理审查期限: 3 working days from registration, long past
    unaccepted = register(engine, town, "supervisor", title="冯一与陈二噪音纠纷", effective_at=ago(30))
    drive(engine, unaccepted, supervisor, [("assign", {"mediator_id": town["mediator"].id})])
    # 调解期限: 30 calendar days from the start of mediation, past
    mediating = register(engine, town, "supervisor", title="褚三与卫四借款纠纷", effective_at=ago(45))
    steps = [("assign", {"mediator_id": town["mediator"].id}), ("accept", {"rights_notified": True}),
             ("start_mediation", {"all_parties_consent": True})]  # fmt: skip
    drive(engine, mediating, supervisor, steps, moments=[ago(44), ago(44), ago(42)])
    page = signed_in("supervisor")
    queue_html, notices_html = page.get("/queue").text, page.get("/notices").text
    for case_id, clock_name, word in ((unaccepted, "acceptance", "个工作日"), (mediating, "mediation", "个自然日")):
        view = next(c for c in case_view(engine, supervisor, case_id, channel=None).clocks if c.name == clock_name)
        assert view.due is not None and view.status == "overdue"
        late = days_until(view.unit, view.due, today(), default_calendar())
        text = days_left(late, view.unit)
        assert text == f"已超期{-late}{word}"
        assert text in _row(queue_html, case_id), (clock_name, "queue")
        case_html = page.get(f"/cases/{case_id}").text
        assert f'<span data-days="{late}">{text}</span>' in case_html, (clock_name, "case page")
        notice = re.search(
            rf'id="notice-{case_id}-overdue-[^"]*">.*?<span class="badge overdue">(已[^<]*)</span>', notices_html, re.S
        )
        assert notice is not None and notice.group(1).startswith(f"{text}（"), (clock_name, "notice")
    assert "（工作日）" not in queue_html + page.get(f"/cases/{unaccepted}").text  # said once, in the count itself


def _suspend(engine: Engine, town: Town, title: str, mediator: str, data: dict[str, Any]) -> int:
    """Accepted (the mediation clock starts) 30 days ago, suspended 20 days ago with ``data``."""
    village = town.places.villages[0].code
    case_id = register(engine, town, "supervisor", title=title, effective_at=ago(32), jurisdiction_code=village)
    steps = [("assign", {"mediator_id": town[mediator].id}), ("accept", {"rights_notified": True}),
             ("start_mediation", {"all_parties_consent": True}), ("suspend", data)]  # fmt: skip
    drive(engine, case_id, town["supervisor"], steps, moments=[ago(31), ago(30), ago(30), ago(20)])
    return case_id


def test_suspended_cases_are_listed_with_their_wait_and_a_warning_past_the_expected_resume(
    signed_in: Any,  # noqa: F811
    town: Town,
    engine: Engine,
) -> None:
    expected = today() - timedelta(days=5)
    late = _suspend(engine, town, "蒋五与沈六宅基地纠纷", "mediator",
                    {"reason": "等待伤情鉴定", "expected_resume": expected.isoformat()})  # fmt: skip
    open_ended = _suspend(engine, town, "韩七与杨八合同纠纷", "mediator", {"reason": "等待价值评估"})
    others = _suspend(engine, town, "朱九与秦十邻里纠纷", "village_mediator", {"reason": "当事人外出务工"})

    found = suspended_cases(engine, town["supervisor"])
    assert [s.item.id for s in found.items] == [late, open_ended, others] and found.total == 3
    first = found.items[0]
    assert (first.waited, first.reason, first.expected_resume, first.past_resume) == (20, "等待伤情鉴定", expected, 5)
    assert found.past_resume == 1 and found.items[1].expected_resume is None and found.items[1].past_resume == 0
    paused = first.clocks[0]
    assert (paused.name, paused.status, paused.used, paused.remaining) == ("mediation", "paused", 10, 20)
    assert paused.resume_due == default_calendar().calendar_deadline(today(), 20)
    assert [s.item.id for s in suspended_cases(engine, town["mediator"]).items] == [late, open_ended]

    html = signed_in("supervisor").get("/suspended").text
    row = _row(html, late)
    assert "等待伤情鉴定" in row and "20个自然日" in row and cn_date(expected) in row
    assert "已过预计恢复日期5个自然日" in row and "调解期限：已用10个自然日，剩余20个自然日" in row
    assert "其中1件已过预计恢复日期" in html and "未填写" in _row(html, open_ended)
    mine = signed_in("mediator").get("/suspended").text
    assert f'data-case="{late}"' in mine and f'data-case="{others}"' not in mine
    assert '<a href="/suspended"' in mine  # in the navigation


def test_a_paused_clock_says_when_it_resumes_and_resuming_keeps_that_date(
    signed_in: Any,  # noqa: F811
    town: Town,
    engine: Engine,
) -> None:
    case_id = _suspend(engine, town, "蒋五与沈六宅基地纠纷", "mediator", {"reason": "等待伤情鉴定"})
    page = signed_in("supervisor")
    html = page.get(f"/cases/{case_id}").text
    promised = default_calendar().calendar_deadline(today(), 20)
    clocks = html.split('id="case-clocks"', 1)[1].split("</section>", 1)[0]
    assert 'data-status="paused">已中止' in clocks
    assert "已中止20个自然日；中止前已用10个自然日，剩余20个自然日" in clocks
    assert f"如今天恢复，截止{cn_date(promised)}" in clocks
    drive(engine, case_id, town["supervisor"], [("resume", {})], version=5)
    resumed = next(
        c for c in case_view(engine, town["supervisor"], case_id, channel=None).clocks if c.name == "mediation"
    )
    assert (resumed.status, resumed.due) != ("paused", None) and resumed.due == promised
