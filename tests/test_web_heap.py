"""The worker's collector settings (web/heap.py): set while the app runs, undone when it stops."""

from __future__ import annotations

import gc
import weakref

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from web import heap
from web.app import create_app


def test_a_running_app_has_its_start_up_heap_frozen_and_a_higher_young_threshold(sqlite_engine: Engine) -> None:
    before_threshold, before_frozen = gc.get_threshold(), gc.get_freeze_count()
    with TestClient(create_app(sqlite_engine)) as client:
        assert client.get("/healthz").status_code == 200
        assert gc.get_freeze_count() > 50_000  # the modules, routes and caches the app was built with
        assert gc.get_threshold()[0] == heap.YOUNG_THRESHOLD
        assert gc.get_threshold()[1:] == before_threshold[1:]
    assert gc.get_threshold() == before_threshold
    assert gc.get_freeze_count() == before_frozen == 0


def test_what_was_frozen_at_start_is_collected_again_after_the_stop() -> None:
    """Frozen objects are never collected: without the unfreeze, a stopped app's cycles would stay in the tests."""

    class Cycle:
        def __init__(self) -> None:
            self.me = self

    cycle = Cycle()
    gone = weakref.ref(cycle)
    thresholds = heap.settle()  # freezes the cycle with the rest of the heap
    del cycle
    gc.collect()
    assert gone() is not None  # frozen: the collector does not see it
    heap.unsettle(thresholds)
    gc.collect()
    assert gone() is None
