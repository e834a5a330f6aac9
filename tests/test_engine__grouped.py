"""Transitions committed in groups on a SQLite file (``store.group_commit.in_group``, issue 15): while another
connection holds the file's write lock, transitions of many threads queue behind one leader and are committed
together, each in its own savepoint: every one answered only after the commit, each with its own answer or
error; a stale version or a refused guard leaves the group's other transitions written and its own case
untouched; a later step of one group sees the earlier ones. Every case's state equals the replay of its events."""

from __future__ import annotations

import sqlite3
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from factories import Town, make_town, register
from sqlalchemy import Engine, select

from mediation_flow.cases.checks import check_all
from mediation_flow.cases.engine import TransitionResult, apply_trigger
from mediation_flow.errors import GuardFailed, StaleVersion
from mediation_flow.store import group_commit
from mediation_flow.store.db import make_engine
from mediation_flow.store.migrate import upgrade
from mediation_flow.store.tables import CASES, EVENTS
from mediation_flow.store.writer_lock import NestedWrite

ACCEPT = ("accept", {"rights_notified": True})


@pytest.fixture
def sqlite_town(tmp_path: Path) -> tuple[Engine, Town]:
    engine = make_engine(f"sqlite:///{tmp_path / 'grouped.db'}")
    upgrade(engine)
    return engine, make_town(engine)


class _FileLocked:
    """Another connection holding the file's write lock, so that transitions queue behind the first."""

    def __init__(self, engine: Engine) -> None:
        self.raw = sqlite3.connect(str(engine.url.database), isolation_level=None)

    def __enter__(self) -> _FileLocked:
        self.raw.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, *exc: object) -> None:
        self.raw.execute("COMMIT")
        self.raw.close()


def _queued(engine: Engine, n: int) -> None:
    group = group_commit.group_for(engine, "work")
    deadline = time.monotonic() + 20
    while len(group.pending) < n:
        assert time.monotonic() < deadline, "the transitions did not queue"
        time.sleep(0.01)


def _fire(engine: Engine, town: Town, case_id: int, version: int, trigger: tuple[str, dict[str, Any]]) -> Any:
    name, data = trigger
    return apply_trigger(
        engine, case_id=case_id, actor=town["supervisor"], trigger=name, expected_version=version, data=data
    )


def _state(engine: Engine, case_id: int) -> tuple[str, int, int]:
    with engine.connect() as conn:
        state, version = conn.execute(select(CASES.c.state, CASES.c.version).where(CASES.c.id == case_id)).one()
        events = conn.execute(select(EVENTS.c.seq).where(EVENTS.c.case_id == case_id)).all()
    return state, version, len(events)


def test_queued_transitions_commit_together_each_with_its_own_answer(sqlite_town: tuple[Engine, Town]) -> None:
    engine, town = sqlite_town
    cases = [register(engine, town) for _ in range(8)]
    stale, refused = cases[5], cases[6]
    group = group_commit.group_for(engine, "work")
    commits = group.commits
    with ThreadPoolExecutor(8) as pool:
        with _FileLocked(engine):
            first = pool.submit(_fire, engine, town, cases[0], 1, ACCEPT)  # leads, and waits for the file
            time.sleep(0.3)
            futures: dict[int, Future[Any]] = {}
            for case_id in cases[1:]:
                version = 7 if case_id == stale else 1
                trigger = ("accept", {"rights_notified": False}) if case_id == refused else ACCEPT
                futures[case_id] = pool.submit(_fire, engine, town, case_id, version, trigger)
            _queued(engine, 7)
            assert not first.done() and not any(f.done() for f in futures.values())  # nothing answered yet
        futures[cases[0]] = first
        answers = {case_id: f.exception() or f.result() for case_id, f in futures.items()}
    assert group.commits - commits == 2  # the leader's own, then the seven queued behind it together
    assert isinstance(answers[stale], StaleVersion)
    assert isinstance(answers[refused], GuardFailed)
    for case_id in cases:
        if case_id in (stale, refused):
            assert _state(engine, case_id) == ("registered", 1, 1)  # untouched: its savepoint rolled back
        else:
            answer = answers[case_id]
            assert isinstance(answer, TransitionResult) and answer.version == 2
            assert _state(engine, case_id) == ("accepted", 2, 2)
    assert check_all(engine)[1] == []


def test_a_later_step_of_a_group_sees_the_earlier_ones(sqlite_town: tuple[Engine, Town]) -> None:
    engine, town = sqlite_town
    case_id = register(engine, town)
    other = register(engine, town)
    with ThreadPoolExecutor(3) as pool, _FileLocked(engine):
        lead = pool.submit(_fire, engine, town, other, 1, ACCEPT)
        time.sleep(0.3)
        once = pool.submit(_fire, engine, town, case_id, 1, ACCEPT)
        _queued(engine, 1)
        twice = pool.submit(_fire, engine, town, case_id, 1, ACCEPT)  # the same version, in the same group
        _queued(engine, 2)
    assert lead.result().version == 2
    answers = [once.exception() or once.result(), twice.exception() or twice.result()]
    assert isinstance(answers[0], TransitionResult) and answers[0].version == 2
    assert isinstance(answers[1], StaleVersion)  # it saw the first one's write
    assert _state(engine, case_id) == ("accepted", 2, 2)


def test_a_group_whose_commit_fails_tells_every_caller_and_writes_nothing(sqlite_town: tuple[Engine, Town]) -> None:
    engine, town = sqlite_town
    cases = [register(engine, town) for _ in range(3)]
    failed = threading.Event()

    def fail_at_the_end(_tx: Any) -> None:
        failed.set()
        raise KeyboardInterrupt  # not an Exception: it is not one caller's error, it ends the group's transaction

    with ThreadPoolExecutor(4) as pool, _FileLocked(engine):
        lead = pool.submit(_fire, engine, town, cases[0], 1, ACCEPT)
        time.sleep(0.3)
        queued = [pool.submit(_fire, engine, town, c, 1, ACCEPT) for c in cases[1:]]
        _queued(engine, 2)
        breaking = pool.submit(group_commit.in_group, engine, fail_at_the_end)
        _queued(engine, 3)
    assert lead.result().version == 2
    for future in [*queued, breaking]:
        assert isinstance(future.exception(), KeyboardInterrupt)
    assert failed.is_set()
    for case_id in cases[1:]:
        assert _state(engine, case_id) == ("registered", 1, 1)


def test_work_that_wrote_then_failed_is_rolled_back_alone(sqlite_town: tuple[Engine, Town]) -> None:
    engine, town = sqlite_town
    cases = [register(engine, town) for _ in range(3)]

    def write_then_fail(tx: Any) -> None:
        tx.cursor.execute("UPDATE dispute_case SET version = version + 40 WHERE id = ?", (cases[1],))
        raise ValueError("this caller's own failure, after a write")

    with ThreadPoolExecutor(4) as pool, _FileLocked(engine):
        lead = pool.submit(_fire, engine, town, cases[0], 1, ACCEPT)
        time.sleep(0.3)
        failing = pool.submit(group_commit.in_group, engine, write_then_fail)
        _queued(engine, 1)
        after = pool.submit(_fire, engine, town, cases[2], 1, ACCEPT)
        _queued(engine, 2)
    assert lead.result().version == 2
    assert isinstance(failing.exception(), ValueError)
    assert after.result().version == 2
    assert _state(engine, cases[1]) == ("registered", 1, 1)  # its write undone with its savepoint
    assert _state(engine, cases[2]) == ("accepted", 2, 2)


def test_a_grouped_write_inside_the_groups_own_transaction_fails_at_once(sqlite_town: tuple[Engine, Town]) -> None:
    engine, town = sqlite_town
    case_id = register(engine, town)

    def nested(_tx: Any) -> Any:  # a transition fired from inside another one's work: it would wait for itself
        return _fire(engine, town, case_id, 1, ACCEPT)

    with pytest.raises(NestedWrite):
        group_commit.in_group(engine, nested)
    assert _state(engine, case_id) == ("registered", 1, 1)
    assert _fire(engine, town, case_id, 1, ACCEPT).version == 2  # the group is free again


def test_work_alone_that_wrote_then_failed_writes_nothing(sqlite_town: tuple[Engine, Town]) -> None:
    """A group of one runs without a savepoint: its error rolls back the whole transaction."""
    engine, town = sqlite_town
    case_id = register(engine, town)

    def write_then_fail(tx: Any) -> None:
        tx.cursor.execute("UPDATE dispute_case SET version = version + 40 WHERE id = ?", (case_id,))
        raise ValueError("alone, after a write")

    with pytest.raises(ValueError):
        group_commit.in_group(engine, write_then_fail)
    assert _state(engine, case_id) == ("registered", 1, 1)
    assert _fire(engine, town, case_id, 1, ACCEPT).version == 2
