"""The header's unread count (``unread_count``, no notices built) equals the inbox's own count of unread notices
(``notices`` marked unread) for every role, read state, moment and length of the inbox."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from factories import Town, drive, register
from sqlalchemy import Engine

from mediation_flow.cases.notices import mark_seen, notices, unread_count
from mediation_flow.store import clock
from mediation_flow.store.db import write_transaction

ROLES = ("mediator", "supervisor", "village_mediator", "admin", "grid_worker", "other_village_mediator")


def _history(engine: Engine, town: Town, start: datetime) -> None:
    """Cases registered day after day (due soon, overdue, not yet due), assigned and escalated, some back-dated."""
    for day in range(12):
        at = start + timedelta(days=day, hours=day % 3)
        for _twin in range(day % 3):  # cases due the same day: the count goes per due date
            register(engine, town, "supervisor", title=f"第{day}号纠纷（同日）", effective_at=at)
        case_id = register(engine, town, "supervisor", title=f"第{day}号纠纷", effective_at=at)
        if day % 2:
            steps = [("assign", {"mediator_id": town["mediator"].id})]
            drive(engine, case_id, town["supervisor"], steps, moments=[at])
        if day % 3 == 0:
            steps = [("escalate", {"reason": "矛盾激化"})]
            drive(engine, case_id, town["supervisor"], steps, version=2 if day % 2 else 1, moments=[at])
    fresh = register(engine, town, "supervisor", title="今日纠纷")  # news newer than every due notice
    drive(engine, fresh, town["supervisor"], [("assign", {"mediator_id": town["mediator"].id})])


def test_unread_count_equals_the_inbox_over_varied_notice_states(engine: Engine, town: Town) -> None:
    now = clock.utcnow()
    _history(engine, town, now - timedelta(days=14))
    midnights = [  # exactly the moment some case became due soon or overdue: read, not unread
        datetime.combine(clock.local_date(now) - timedelta(days=d), time(), tzinfo=clock.LOCAL_TZ) for d in (0, 2, 5)
    ]
    seen_states = [None, now - timedelta(days=30), now - timedelta(days=9), now - timedelta(days=4), now, *midnights]
    counts: set[int] = set()
    compared = 0
    for seen in seen_states:
        for role in ROLES:
            actor = town[role]
            if seen is not None:
                with write_transaction(engine) as conn:
                    mark_seen(conn, actor.id, seen)
            with engine.connect() as conn:
                for moment in (now, now + timedelta(days=2), now + timedelta(days=9)):
                    for limit in (1, 2, 3, 5, 8, 100):
                        inbox = notices(conn, actor, now=moment, limit=limit)
                        expected = sum(1 for n in inbox if n.unread)
                        assert unread_count(conn, actor, now=moment, limit=limit) == expected, (
                            role,
                            seen,
                            moment,
                            limit,
                        )
                        counts.add(expected)
                        compared += 1
    assert compared == len(seen_states) * len(ROLES) * 3 * 6
    assert len(counts) >= 5 and 0 in counts  # the states above really vary the count (else this test proves little)
