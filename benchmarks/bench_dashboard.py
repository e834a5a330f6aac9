"""The supervisor dashboard on N cases (default 100,000, all in the supervisor's township): the core
``stats.dashboard.dashboard()`` the page calls, counted afresh (cold: the year's events by the report's rules read
into case sets), answered from its kept sets (warm: nothing written since the last view, one ``max(id)`` read), and
after one write (one transition, then the view: the new events folded into the kept sets), next to the old
implementation kept here as the baseline (every case of the subtree loaded into Python and counted there),
medians of interleaved runs, with the machine's load. The database is built by ``dataset.build``; with
``MF_BENCH_CACHE=<dir>`` the SQLite file is kept there and reused (the writes go to a copy of it). Run alone:
``python -m benchmarks.bench_dashboard [--cases N] [--runs R]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

from factories import Town
from sqlalchemy import Engine, select, text

from benchmarks import baseline_dashboard as baseline
from benchmarks.common import Table, median, pg_cluster, prepared_database, timed
from benchmarks.dataset import build
from benchmarks.report_cache import CACHE_ENV
from mediation_flow.accounts.policy import Actor
from mediation_flow.cases.engine import apply_trigger
from mediation_flow.stats.dashboard import clear_cache, dashboard
from mediation_flow.store import clock
from mediation_flow.store.db import make_engine
from mediation_flow.store.migrate import upgrade
from mediation_flow.store.models import Case, CaseEvent, Jurisdiction, User

CASES, EVENTS, JUR, USERS = Case.__table__, CaseEvent.__table__, Jurisdiction.__table__, User.__table__
TODAY = date(2024, 12, 2)
YEAR = 2024
MARKER = "CREATE TABLE IF NOT EXISTS bench_dashboard (n_cases INTEGER)"
AGREEMENT = {
    "form": "written", "facts": "双方因琐事发生争执。", "terms": "一方赔偿损失并致歉。",
    "performance": "十日内当面履行", "amount": "1000", "signed_on": TODAY.isoformat(),
}  # fmt: skip


def _supervisor(engine: Engine) -> Actor:
    from mediation_flow.accounts.users import actor_for

    with engine.connect() as conn:
        user_id = conn.execute(select(USERS.c.id).where(USERS.c.username == "supervisor")).scalar_one()
        actor = actor_for(conn, user_id)
    assert actor is not None
    return actor


def _database(url: str, n_cases: int, *, reuse: bool) -> tuple[Engine, str]:
    """The measured database: reused when ``reuse`` and it holds ``n_cases`` already, else built now."""
    if reuse:
        engine = make_engine(url)
        upgrade(engine)
        with engine.connect() as conn:
            try:
                found = conn.execute(text("SELECT n_cases FROM bench_dashboard")).scalar()
            except Exception:  # not built yet
                found = None
        if found == n_cases:
            return engine, "reused"
        engine.dispose()
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    engine, town = prepared_database(url, synchronous="OFF") if url.startswith("sqlite") else prepared_database(url)
    seconds = timed(lambda: _build(engine, town, n_cases))
    return engine, f"built in {seconds:.0f} s"


def _build(engine: Engine, town: Town, n_cases: int) -> None:
    build(engine, town, n_cases, today=TODAY)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
        conn.execute(text(MARKER))
        conn.execute(text("DELETE FROM bench_dashboard"))
        conn.execute(text("INSERT INTO bench_dashboard VALUES (:n)"), {"n": n_cases})


def measure(engine: Engine, runs: int) -> dict[str, Any]:
    """Medians (seconds) of the old dashboard (issue 11's fold: counted afresh, from its kept sets, after one
    write folded in) and the new one (issue 15: SQL aggregates counted afresh, kept for a minute, and counted
    as of the moment right after a write), interleaved per run. The write: a case in mediation reaches
    agreement, dated today; both dashboards then show the year's 达成协议 one higher (checked)."""
    actor = _supervisor(engine)
    names = ["old_cold", "old_warm", "old_after", "new_cold", "new_kept", "new_after", "write"]
    samples: dict[str, list[float]] = {k: [] for k in names}
    with engine.connect() as conn:
        mediating = conn.execute(
            select(CASES.c.id, CASES.c.version).where(CASES.c.state == "mediating").order_by(CASES.c.id).limit(runs)
        ).all()
    assert len(mediating) == runs, "the dataset has a case in mediation for every run"
    effective = datetime.combine(TODAY, datetime.min.time().replace(hour=10), tzinfo=clock.LOCAL_TZ)
    boards: dict[str, Any] = {}

    def view(name: str, code: Any, **kw: Any) -> Any:
        with engine.connect() as conn:
            board = code(conn, actor, today=TODAY, year=YEAR, **kw)
        boards[name] = board
        return board

    def old_cold() -> None:
        baseline.clear_cache()
        view("old", baseline.dashboard)

    def new_cold() -> None:
        clear_cache()
        view("new", dashboard)

    def write(case_id: int, version: int) -> None:
        apply_trigger(
            engine, case_id=case_id, actor=actor, trigger="reach_agreement", expected_version=version,
            data=dict(AGREEMENT), effective_at=effective,
        )  # fmt: skip

    new_cold(), old_cold()  # warm-up: workflow versions, reference data, the database's pages
    for case_id, version in mediating:
        samples["old_cold"].append(timed(old_cold))
        samples["new_cold"].append(timed(new_cold))
        samples["old_warm"].append(timed(lambda: view("old", baseline.dashboard)))
        samples["new_kept"].append(timed(lambda: view("new", dashboard)))
        before = boards["old"].resolved, boards["new"].resolved
        samples["write"].append(timed(lambda: write(case_id, version)))  # noqa: B023 - called at once
        samples["old_after"].append(timed(lambda: view("old", baseline.dashboard)))
        moment = clock.utcnow()
        samples["new_after"].append(timed(lambda: view("new", dashboard, as_of=moment)))  # noqa: B023
        assert (boards["old"].resolved, boards["new"].resolved) == (before[0] + 1, before[1] + 1)
        assert boards["old"].resolved == boards["new"].resolved
    return {
        **{k: median(v) for k, v in samples.items()},
        "taken_in": boards["new"].taken_in,
        "open": boards["new"].open_total,
    }


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f}/{five:.1f}"


def run(quick: bool = False, n_cases: int | None = None, runs: int | None = None) -> list[Table]:
    n_cases = n_cases or (2_000 if quick else 100_000)
    runs = runs or (3 if quick else 7)
    table = Table(
        title=f"Supervisor dashboard on {n_cases:,} cases in one township ({YEAR}, on {TODAY}), medians of {runs} runs",
        headers=["back end", "cases in the year", "open cases", "old fold: counted (ms)", "old: kept (ms)",
                 "old: after a write (ms)", "new SQL: counted (ms)", "new: kept (ms)", "new: after a write (ms)",
                 "counted new ÷ old", "kept new ÷ old", "load 1/5 min"],
    )  # fmt: skip
    cache = os.environ.get(CACHE_ENV, "").strip()
    with tempfile.TemporaryDirectory(prefix="mf-bench-dashboard-") as workdir:
        folder = Path(cache) if cache and not quick else Path(workdir)
        folder.mkdir(parents=True, exist_ok=True)
        targets: list[tuple[str, str, bool]] = [("SQLite", f"sqlite:///{folder}/dashboard-{n_cases}.db", bool(cache))]
        with pg_cluster() as cluster:
            if cluster is not None and os.environ.get("MF_BENCH_SQLITE_ONLY") != "1":
                targets.append(("PostgreSQL", cluster.create_database("bench_dashboard"), False))
            for name, url, reuse in targets:
                load_before = _load()
                engine, how = _database(url, n_cases, reuse=reuse and not quick)
                if reuse and not quick:  # the runs write: to a copy, so that the kept database stays as built
                    engine.dispose()
                    copy = Path(workdir) / Path(url.removeprefix("sqlite:///")).name
                    shutil.copyfile(url.removeprefix("sqlite:///"), copy)
                    engine = make_engine(f"sqlite:///{copy}")
                    upgrade(engine)
                result = measure(engine, runs)
                engine.dispose()
                ms = {k: result[k] * 1000 for k in result if k not in ("taken_in", "open")}
                table.rows.append([
                    name, f"{result['taken_in']:,}", f"{result['open']:,}", f"{ms['old_cold']:.0f}",
                    f"{ms['old_warm']:.1f}", f"{ms['old_after']:.1f}", f"{ms['new_cold']:.0f}", f"{ms['new_kept']:.1f}",
                    f"{ms['new_after']:.0f}", f"{ms['new_cold'] / ms['old_cold']:.2f}",
                    f"{ms['new_kept'] / ms['old_warm']:.2f}", f"{load_before} → {_load()}",
                ])  # fmt: skip
                table.notes.append(
                    f"{name}: database {how}; the write (one reach_agreement transition) {ms['write']:.1f} ms "
                    "(median, not in the views' times)"
                )
    return [table]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    for table in run(n_cases=args.cases, runs=args.runs):
        print(table.markdown())


if __name__ == "__main__":
    main()
