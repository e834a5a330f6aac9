"""The dashboard page's board is kept while nothing is written (``store.unchanged``, issue 15) and never stale:
after a write it equals a board worked out afresh; with nothing written a view runs no statement but the data
token; and it is worked out again once its year figures are a minute old (``as_of`` + ``KEEP_SECONDS``), so the
year figures' own recount behind the page still happens. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

from factories import Town, drive, register
from sqlalchemy import Engine, event

from mediation_flow.stats.dashboard import KEEP_SECONDS, Dashboard, dashboard, dashboard_of
from mediation_flow.store import clock


class Statements:
    """The statements an engine runs, but the data token's (SQLite reads it on the driver, unseen here)."""

    def __init__(self, engine: Engine) -> None:
        self.seen: list[str] = []
        event.listen(engine, "before_cursor_execute", self._note)

    def _note(self, _conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        if "pg_current_snapshot" not in statement:
            self.seen.append(statement)


def _fresh(engine: Engine, town: Town, moment: list[datetime]) -> Dashboard:
    with engine.connect() as conn:
        return dashboard(conn, town["supervisor"], today=clock.local_date(moment[0]))


def _shown(engine: Engine, town: Town, moment: list[datetime]) -> Dashboard:
    return dashboard_of(engine, town["supervisor"], today=clock.local_date(moment[0]))


def _kept_view(engine: Engine, town: Town, moment: list[datetime]) -> tuple[Dashboard, list[str]]:
    """A view, then the next one and the statements it ran. On PostgreSQL the data token is the cluster's: a commit
    in any database (another test's count behind its page) ends the kept answers, so a few tries are allowed."""
    statements = Statements(engine)
    for _ in range(5):
        board = _shown(engine, town, moment)
        statements.seen.clear()
        if _shown(engine, town, moment) is board:
            break
    return board, statements.seen


def test_the_kept_board_follows_every_write(engine: Engine, town: Town, moment: list[datetime]) -> None:
    first = _shown(engine, town, moment)
    assert first == _fresh(engine, town, moment)

    case_id = register(engine, town, "grid_worker", title="新登记的纠纷")
    registered = _shown(engine, town, moment)
    assert registered.open_total == first.open_total + 1
    assert registered == _fresh(engine, town, moment)

    drive(engine, case_id, town["supervisor"], [("accept", {"rights_notified": True})])
    accepted = _shown(engine, town, moment)
    assert accepted.by_state != registered.by_state  # the case moved from 待受理 to 已受理
    assert accepted == _fresh(engine, town, moment)
    assert _shown(engine, town, moment) == accepted


def test_a_view_with_nothing_written_runs_no_statement(engine: Engine, town: Town, moment: list[datetime]) -> None:
    register(engine, town, "grid_worker", title="新登记的纠纷")
    _shown(engine, town, moment)  # counts the year's figures, and keeping their sums is a write
    board, statements = _kept_view(engine, town, moment)
    assert _shown(engine, town, moment) is board
    assert statements == []


def test_the_board_is_worked_out_again_when_its_year_figures_are_a_minute_old(
    engine: Engine, town: Town, moment: list[datetime]
) -> None:
    register(engine, town, "grid_worker", title="新登记的纠纷")
    _shown(engine, town, moment)
    board = _shown(engine, town, moment)
    moment[0] = board.as_of + timedelta(seconds=KEEP_SECONDS - 1)
    board, statements = _kept_view(engine, town, moment)
    assert statements == []
    moment[0] = board.as_of + timedelta(seconds=KEEP_SECONDS + 1)
    seen = Statements(engine)
    again = _shown(engine, town, moment)
    assert seen.seen  # the view reached the year figures (which count again behind it past the minute)
    assert again == _fresh(engine, town, moment)


def test_another_day_is_another_board(engine: Engine, town: Town, moment: list[datetime]) -> None:
    register(engine, town, "grid_worker", title="新登记的纠纷")
    today = _shown(engine, town, moment)
    moment[0] += timedelta(days=1)
    tomorrow = _shown(engine, town, moment)
    assert tomorrow.today == today.today + timedelta(days=1)
    assert tomorrow == _fresh(engine, town, moment)
