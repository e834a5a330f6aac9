"""The case page offers no action its history guard would refuse: 调解成功结案 only after a 回访."""

from __future__ import annotations

from factories import drive, happy_path, register

from mediation_flow.cases.views import case_page


def test_close_resolved_is_offered_only_after_a_follow_up_visit(engine, town):
    case_id = register(engine, town, "grid_worker")
    result = drive(engine, case_id, town["mediator"], happy_path()[:5])  # up to 开始回访
    offered = [t.trigger for t in case_page(engine, town["mediator"], case_id).triggers]
    assert "record_visit" in offered and "close_resolved" not in offered
    drive(engine, case_id, town["mediator"], happy_path()[5:6], version=result.version)  # 记录回访
    offered = [t.trigger for t in case_page(engine, town["mediator"], case_id).triggers]
    assert "close_resolved" in offered
