"""The supervisor dashboard on N cases (default 100,000, all in the supervisor's township): the core
``stats.dashboard.dashboard()`` the page calls, with the year's figures from the kept sums (``store.year_sums``:
per-case contributions summed per place, the changed cases counted again), next to the baseline kept here (the
year counted afresh by SQL aggregates at every count, as at commit 9b0f8ec): a first view with nothing kept in
the process (cold), a kept view, and a view right after one write; medians of interleaved runs, with the
machine's load. The database is built by ``dataset.build``; with ``MF_BENCH_CACHE=<dir>`` the SQLite file is kept
there and reused (the writes go to a copy of it). Run alone:
``python -m benchmarks.bench_dashboard [--cases N] [--runs R]``.
"""

from __future__ import annotations

import argparse
import math
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


def measure(engine: Engine, runs: int, quick_runs: int) -> dict[str, Any]:
    """Seconds, per view, of the baseline (the year counted afresh by SQL aggregates, as at 9b0f8ec) and of the
    kept sums, interleaved per run: *cold* = nothing kept in the process (a first view after a restart; the
    baseline counts the year, the kept sums are read), *kept* = the figures kept in the process, *after a write*
    = one transition, then the view as of the moment after it (the baseline counts the year again; the kept
    sums count the written case again and read). The write: a case in mediation reaches agreement, dated today;
    both views then show the year's 达成协议 one higher (checked). ``runs`` runs of everything, then
    ``quick_runs - runs`` more of the kept sums' views alone (for their p95)."""
    actor = _supervisor(engine)
    names = ["before_cold", "before_after", "cold", "kept", "after", "write"]
    samples: dict[str, list[float]] = {k: [] for k in names}
    with engine.connect() as conn:
        mediating = conn.execute(
            select(CASES.c.id, CASES.c.version)
            .where(CASES.c.state == "mediating")
            .order_by(CASES.c.id)
            .limit(quick_runs)
        ).all()
    assert len(mediating) == quick_runs, "the dataset has a case in mediation for every run"
    effective = datetime.combine(TODAY, datetime.min.time().replace(hour=10), tzinfo=clock.LOCAL_TZ)
    boards: dict[str, Any] = {}

    def view(name: str, **kw: Any) -> Any:
        with engine.connect() as conn:
            if name == "before":
                board = baseline.dashboard(conn, actor, today_is=TODAY, year=YEAR, **kw)
            else:
                board = dashboard(conn, actor, today=TODAY, year=YEAR, **kw)
        boards[name] = board
        return board

    def cold() -> None:
        clear_cache()
        view("new")

    def write(case_id: int, version: int) -> None:
        apply_trigger(
            engine, case_id=case_id, actor=actor, trigger="reach_agreement", expected_version=version,
            data=dict(AGREEMENT), effective_at=effective,
        )  # fmt: skip

    first_count = timed(cold)  # the kept sums' first count of every case (once per database and rules)
    view("before")  # warm-up: workflow versions, reference data, the database's pages
    for i, (case_id, version) in enumerate(mediating):
        full = i < runs
        if full:
            samples["before_cold"].append(timed(lambda: view("before")))
        samples["cold"].append(timed(cold))
        samples["kept"].append(timed(lambda: view("new")))
        before = boards["new"].resolved
        samples["write"].append(timed(lambda: write(case_id, version)))  # noqa: B023 - called at once
        moment = clock.utcnow()
        samples["after"].append(timed(lambda: view("new", as_of=moment)))  # noqa: B023
        assert boards["new"].resolved == before + 1
        if full:
            samples["before_after"].append(timed(lambda: view("before", as_of=moment)))  # noqa: B023
            assert boards["before"].resolved == boards["new"].resolved
            assert (boards["before"].taken_in, boards["before"].monthly) == (
                boards["new"].taken_in,
                boards["new"].monthly,
            )
    return {
        **{k: median(v) for k, v in samples.items()},
        "p95_after": p95(samples["after"]),
        "p95_cold": p95(samples["cold"]),
        "first_count": first_count,
        "taken_in": boards["new"].taken_in,
        "open": boards["new"].open_total,
    }


def p95(values: list[float]) -> float:
    """The 95th percentile by nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)] if ordered else float("nan")


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f}/{five:.1f}"


def run(quick: bool = False, n_cases: int | None = None, runs: int | None = None) -> list[Table]:
    n_cases = n_cases or (2_000 if quick else 100_000)
    runs = runs or (3 if quick else 5)
    quick_runs = max(runs, 10 if quick else 40)
    table = Table(
        title=f"Supervisor dashboard on {n_cases:,} cases in one township ({YEAR}, on {TODAY}): the year counted "
        f"afresh (before) and the kept sums (after); medians of {runs} runs, the kept sums' views of {quick_runs}",
        headers=["back end", "cases in the year", "before: cold (ms)", "after: cold (ms)", "cold after ÷ before",
                 "before: after a write (ms)", "after: after a write (ms)", "after a write: after ÷ before",
                 "after: kept (ms)", "after: p95 cold / after a write (ms)", "load 1/5 min"],
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
                result = measure(engine, runs, quick_runs)
                engine.dispose()
                ms = {k: result[k] * 1000 for k in result if k not in ("taken_in", "open")}
                table.rows.append([
                    name, f"{result['taken_in']:,}", f"{ms['before_cold']:.0f}", f"{ms['cold']:.1f}",
                    f"{ms['cold'] / ms['before_cold']:.4f}", f"{ms['before_after']:.0f}", f"{ms['after']:.1f}",
                    f"{ms['after'] / ms['before_after']:.4f}", f"{ms['kept']:.1f}",
                    f"{ms['p95_cold']:.1f} / {ms['p95_after']:.1f}", f"{load_before} → {_load()}",
                ])  # fmt: skip
                table.notes.append(
                    f"{name}: database {how}; the kept sums' first count of every case (once per database and "
                    f"rules) {ms['first_count'] / 1000:.1f} s; the write (one reach_agreement transition) "
                    f"{ms['write']:.1f} ms (median, not in the views' times)"
                )
    return [table]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for table in run(n_cases=args.cases, runs=args.runs):
        print(table.markdown())


if __name__ == "__main__":
    main()
