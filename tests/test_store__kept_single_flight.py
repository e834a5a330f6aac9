"""Kept answers (store.unchanged.KeptWhileUnchanged) are worked out once when many threads miss them at once:
after a write every client of a kept page misses it together. The data token is fixed here (what it reads is
tested in test_store__request_reads.py and the kept pages' tests), so that the threads share one answer."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from mediation_flow.store import unchanged
from mediation_flow.store.unchanged import KeptWhileUnchanged


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The data's version, as every connection reads it now."""
    version = [1]
    monkeypatch.setattr(unchanged, "data_token", lambda _conn: ("database", version[0]))
    return version


def test_threads_missing_the_same_answer_work_it_out_once(token: list[int]) -> None:
    kept: KeptWhileUnchanged[int] = KeptWhileUnchanged(size=8)
    calls: list[int] = []

    def work_out() -> int:
        calls.append(1)
        time.sleep(0.3)  # long enough that all eight have missed it meanwhile
        return 42

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _i: kept.get(None, "page", work_out), range(8)))  # type: ignore[arg-type]
    assert answers == [42] * 8 and len(calls) == 1
    token[0] = 2  # a write: the next miss works it out again
    assert kept.get(None, "page", work_out) == 42 and len(calls) == 2  # type: ignore[arg-type]


def test_when_the_first_fails_the_others_work_it_out_themselves(token: list[int]) -> None:
    kept: KeptWhileUnchanged[int] = KeptWhileUnchanged(size=8)
    first = threading.Event()

    def work_out() -> int:
        if not first.is_set():
            first.set()
            time.sleep(0.3)
            raise RuntimeError("the first one failed")
        return 7

    def ask(_i: int) -> Any:
        try:
            return kept.get(None, "page", work_out)  # type: ignore[arg-type]
        except RuntimeError as failed:
            return str(failed)

    with ThreadPoolExecutor(4) as pool:
        answers = sorted(map(str, pool.map(ask, range(4))))
    assert answers == ["7", "7", "7", "the first one failed"]
