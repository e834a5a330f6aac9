"""The grid worker hears back (issue 16): a notice when a dispute they registered is accepted, assigned,
resolved and closed (and not for what they did themselves); notices are marked handled one by one, and
neither opening the inbox nor marking all read marks them handled. The header's count still equals the inbox's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from factories import Town, drive, happy_path, register
from sqlalchemy import Engine

from mediation_flow.cases.notices import mark_all_seen, mark_handled, notices, open_inbox, unread_count
from mediation_flow.errors import NotFound
from mediation_flow.store import clock


def _registered_and_handled(engine: Engine, town: Town) -> int:
    case_id = register(engine, town, "grid_worker", title="网格员登记的纠纷")
    steps = [happy_path()[0], ("assign", {"mediator_id": town["mediator"].id}), *happy_path()[1:]]
    drive(engine, case_id, town["supervisor"], steps)
    return case_id


def test_the_grid_worker_hears_back_on_their_own_disputes(engine: Engine, town: Town) -> None:
    case_id = _registered_and_handled(engine, town)
    register(engine, town, "supervisor", title="别人登记的纠纷")  # not theirs: no news of it
    with engine.connect() as conn:
        found = notices(conn, town["grid_worker"], now=clock.utcnow())
        count = unread_count(conn, town["grid_worker"], now=clock.utcnow())
    mine = [(n.kind, n.text) for n in found if n.case_id == case_id]
    assert sorted(mine) == sorted(
        [
            ("accept", "您登记的纠纷已受理"),
            ("assign", "您登记的纠纷已指派调解员"),
            ("close_resolved", "您登记的纠纷已调解成功并结案"),
        ]
    )
    assert count == sum(1 for n in found if n.unread) == len(found)
    with engine.connect() as conn:  # the mediator who was assigned hears of the assignment once, as before
        kinds = [n.kind for n in notices(conn, town["mediator"], now=clock.utcnow()) if n.case_id == case_id]
    assert kinds.count("assign") == 1


def test_notices_are_marked_handled_one_by_one(engine: Engine, town: Town) -> None:
    _registered_and_handled(engine, town)
    worker = town["grid_worker"]
    items = open_inbox(engine, worker)
    assert len(items) == 3 and not any(n.handled for n in items)
    accepted = next(n for n in items if n.kind == "accept")
    done = mark_handled(engine, worker, case_id=accepted.case_id, kind="accept", at=accepted.at)
    assert done.handled
    mark_handled(engine, worker, case_id=accepted.case_id, kind="accept", at=accepted.at)  # twice: still one
    again = open_inbox(engine, worker)
    assert [n.kind for n in again if n.handled] == ["accept"]
    assert all(n.unread for n in again)  # opening the inbox marks nothing, neither read nor handled
    mark_all_seen(engine, worker)  # 全部标为已读: nothing new any more, but two still to handle
    seen = open_inbox(engine, worker)
    assert not any(n.unread for n in seen)
    assert sorted(n.kind for n in seen if not n.handled) == ["assign", "close_resolved"]
    with pytest.raises(NotFound):
        mark_handled(engine, worker, case_id=accepted.case_id, kind="accept", at=accepted.at + timedelta(seconds=1))
    with pytest.raises(NotFound):  # another user's notice is not theirs to mark
        mark_handled(engine, town["other_grid_worker"], case_id=accepted.case_id, kind="accept", at=accepted.at)
