"""A burst of concurrent readers keeps its SQLite connections (``store.db.SQLITE_POOL_SIZE``): answers kept while
nothing is written are kept per SQLite connection (``store.unchanged``), so a connection closed after a burst and
opened again for the next would work every kept answer out again."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import text

from mediation_flow.store.db import SQLITE_POOL_SIZE, make_engine
from mediation_flow.store.migrate import upgrade
from mediation_flow.store.unchanged import KeptWhileUnchanged

AT_ONCE = 12  # more than SQLAlchemy's default pool of 5, fewer than a web worker's 40 threads


def test_a_second_burst_of_readers_finds_every_answer_kept(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'pool.db'}")
    upgrade(engine)
    kept: KeptWhileUnchanged[int] = KeptWhileUnchanged()
    worked_out: list[int] = []
    together = threading.Barrier(AT_ONCE)

    def view(_i: int) -> int:
        with engine.connect() as conn:

            def work_out() -> int:
                worked_out.append(1)
                return int(conn.execute(text("SELECT 1")).scalar_one())

            answer = kept.get(conn, "count", work_out)
            together.wait(timeout=30)  # every reader holds its connection at the same time
            return answer

    try:
        with ThreadPoolExecutor(AT_ONCE) as pool:
            assert list(pool.map(view, range(AT_ONCE))) == [1] * AT_ONCE
        assert len(worked_out) == AT_ONCE  # one per connection: a SQLite token compares within its connection
        assert engine.pool.checkedin() == AT_ONCE  # none closed on its return
        with ThreadPoolExecutor(AT_ONCE) as pool:
            assert list(pool.map(view, range(AT_ONCE))) == [1] * AT_ONCE
        assert len(worked_out) == AT_ONCE  # the second burst: every answer kept
        assert engine.pool.size() == SQLITE_POOL_SIZE
    finally:
        engine.dispose()
