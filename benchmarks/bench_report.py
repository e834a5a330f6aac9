"""The annual report of one township-year inside a county of N cases (default 1,000,000, ~6M events),
on SQLite and PostgreSQL: the whole report (every figure, plus the text) next to one hand-written SQL query
for three headline counts and to the 18-count headline statement, their ratio, and the peak Python memory
(tracemalloc) of one report. Medians of interleaved runs. The databases can be kept between runs
(``--cache DIR`` or ``MF_BENCH_CACHE``; see ``report_cache``). Run:
``python -m benchmarks.bench_report --shapes 1000000x30,1000000x300 --cache /tmp/mf-bench-cache``."""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from benchmarks.common import Table, median, pg_cluster, timed
from benchmarks.report_cache import (
    CACHE_ENV,
    Dataset,
    cache_dir,
    open_dataset,
    persistent_pg,
    pg_dataset,
    sqlite_dataset,
)
from mediation_flow.stats.figures import compute_figures, headline
from mediation_flow.stats.report_text import render
from mediation_flow.stats.scope import year_scope
from mediation_flow.store.db import make_engine

YEAR = 2023
HAND_SQL = """
SELECT count(DISTINCT CASE WHEN e.trigger = 'register' THEN e.case_id END) AS taken_in,
       count(DISTINCT CASE WHEN e.trigger = 'start_mediation' THEN e.case_id END) AS mediated,
       count(DISTINCT CASE WHEN e.trigger = 'reach_agreement' THEN e.case_id END) AS resolved
FROM case_event e JOIN dispute_case c ON c.id = e.case_id
WHERE c.jurisdiction_path >= :lo AND c.jurisdiction_path < :hi
  AND e.effective_at >= :start AND e.effective_at < :end AND e.recorded_at <= :as_of
"""


def _report(engine: Engine, code: str) -> dict[str, Any]:
    with engine.connect() as conn:
        figures = compute_figures(conn, year_scope(conn, code=code, year=YEAR))
    render(figures)
    return figures.values


def _hand(engine: Engine, code: str) -> dict[str, Any]:
    with engine.connect() as conn:
        scope = year_scope(conn, code=code, year=YEAR)
        params = {"lo": scope.place.path, "hi": scope.path_upper, "as_of": scope.as_of}
        if engine.dialect.name == "sqlite":  # stored as naive UTC text
            params |= {k: v.strftime("%Y-%m-%d %H:%M:%S.%f") for k, v in
                       (("start", scope.start_utc), ("end", scope.end_utc), ("as_of", scope.as_of))}  # fmt: skip
        else:
            params |= {"start": scope.start_utc, "end": scope.end_utc}
        return dict(conn.execute(text(HAND_SQL), params).one()._mapping)


def _headline18(engine: Engine, code: str) -> dict[str, Any]:
    with engine.connect() as conn:
        return headline(conn, year_scope(conn, code=code, year=YEAR))


def measure(engine: Engine, code: str, runs: int) -> dict[str, Any]:
    """Medians of ``runs`` interleaved report / hand-query runs (after one warm-up each), peak memory of one report."""
    values = _report(engine, code)
    hand = _hand(engine, code)
    _headline18(engine, code)
    assert (hand["taken_in"], hand["mediated"], hand["resolved"]) == (
        values["taken_in"], values["mediated"], values["resolved"]
    ), (hand, values)  # fmt: skip
    report, hand_s, head = [], [], []
    for _ in range(runs):  # interleaved, so that a burst of load on the shared machine hits all three alike
        report.append(timed(lambda: _report(engine, code)))
        hand_s.append(timed(lambda: _hand(engine, code)))
        head.append(timed(lambda: _headline18(engine, code)))
    tracemalloc.start()
    _report(engine, code)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"values": values, "report_s": median(report), "hand_s": median(hand_s), "headline_s": median(head),
            "peak_mb": peak / 2**20}  # fmt: skip


TARGET_S = {"sqlite": 2.0, "postgresql": 1.0}


def bench_dataset(name: str, dataset: Dataset, n_cases: int, townships: int, runs: int) -> tuple[list[str], list[str]]:
    result = measure(dataset.engine, dataset.code, runs)
    dataset.engine.dispose()
    v = result["values"]
    ratio = result["report_s"] / result["hand_s"]
    ms = result["report_s"] * 1000
    row = [name, f"{n_cases:,}", str(townships), f"{dataset.n_events:,}", f"{v['taken_in']:,}", f"{ms:.0f}",
           f"{result['hand_s'] * 1000:.0f}", f"{ratio:.2f}", f"{result['headline_s'] * 1000:.0f}",
           f"{result['peak_mb']:.1f}"]  # fmt: skip
    built = "reused from the cache" if dataset.reused else "built"
    notes = [
        f"{name} {n_cases:,}/{townships}: {built} ({n_events_rate(dataset)}); targets: report < {TARGET_S[name]:.0f} s"
        f" {'met' if ms < TARGET_S[name] * 1000 else 'MISSED'} ({ms:.0f} ms), ≤ 1.5× the hand-written query"
        f" {'met' if ratio <= 1.5 else 'MISSED'} ({ratio:.2f}×)"
    ]
    return row, notes


def n_events_rate(dataset: Dataset) -> str:
    return f"{dataset.n_events:,} events in {dataset.build_s:.0f} s, {dataset.n_events / dataset.build_s:,.0f} events/s"


def run(quick: bool = False, n_cases: int | None = None, townships: int = 30, runs: int = 5,
        backends: tuple[str, ...] = ("sqlite", "postgresql"), shapes: list[tuple[int, int]] | None = None,
        cache: str | None = None) -> list[Table]:  # fmt: skip
    # In the `make bench` suite: 1,000,000 cases (dense and sparse township-years) when a cache keeps the
    # databases (MF_BENCH_CACHE; ~30 min to build each once), else 100,000 (minutes); the script's own
    # default is the full 1,000,000 (`main`).
    directory = cache_dir(cache)
    if shapes is None and directory and not quick and n_cases is None:
        shapes = [(1_000_000, 30), (1_000_000, 300)]
    shapes = shapes or [(n_cases or (20_000 if quick else 100_000), townships)]
    load_before = os.getloadavg()
    table = Table(
        title=f"Annual report, one township-year ({YEAR}), median of {runs} interleaved runs",
        headers=["back end", "cases", "townships", "events", "township-year taken in", "full report (ms)",
                 "hand-written SQL, 3 counts (ms)", "report ÷ hand", "18-count headline SQL (ms)",
                 "peak Python memory of one report (MB)"],
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="mf-bench-report-") as workdir:
        for n, t in shapes:
            if "sqlite" in backends:
                if directory:
                    dataset = sqlite_dataset(directory, n, t)
                else:
                    dataset = open_dataset(f"sqlite:///{workdir}/report-{n}-{t}.db", n, t, fresh=True)
                row, notes = bench_dataset("sqlite", dataset, n, t, runs)
                table.rows.append(row)
                table.notes += notes
        if "postgresql" in backends:
            for n, t in shapes:
                with _pg_server(directory) as admin_url:
                    if admin_url is None:
                        break
                    row, notes = bench_dataset("postgresql", _pg_dataset(admin_url, directory, n, t), n, t, runs)
                    table.rows.append(row)
                    table.notes += notes
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    table.notes.append(f"peak RSS of the whole benchmark process (building included when built): {rss:.0f} MB")
    load_after = os.getloadavg()
    table.notes.append(
        "load average (1/5/15 min) before: " + "/".join(f"{x:.1f}" for x in load_before)
        + ", after: " + "/".join(f"{x:.1f}" for x in load_after) + f" on {os.cpu_count()} cores"
    )  # fmt: skip
    table.notes.append(HAND_NOTE)
    return [table]


HAND_NOTE = (
    "hand-written SQL = one statement with three COUNT(DISTINCT case_id) (taken in, mediated, resolved) over the"
    " township-year's events joined to their cases — three of the report's ~40 figures, so the ratio is a"
    " strict one; 18-count headline SQL = the 18 case counts of the headline in one statement"
    " (figures.headline, what the dashboard shows); the full report adds the breakdowns, the per-case picks"
    " (last agreement, last visit, level at agreement, days to close), the conversions and the text"
)


@contextmanager
def _pg_server(directory: Path | None) -> Iterator[str | None]:
    if directory:
        with persistent_pg(directory) as url:
            yield url
        return
    with pg_cluster() as cluster:
        yield cluster.url() if cluster is not None else None


def _pg_dataset(admin_url: str, directory: Path | None, n: int, t: int) -> Dataset:
    if directory:
        return pg_dataset(admin_url, n, t)
    name = f"mf_bench_report_{n}_{t}"
    admin = make_engine(admin_url)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return open_dataset(admin_url.replace("/postgres?", f"/{name}?"), n, t, fresh=True)


def _shape(text_value: str) -> tuple[int, int]:
    cases, _, townships = text_value.partition("x")
    return int(cases), int(townships)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--townships", type=int, default=30)
    parser.add_argument("--shapes", default="", help="comma-separated CASESxTOWNSHIPS, e.g. 1000000x30,1000000x300")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--cache", default=None, help=f"keep the databases here between runs (or ${CACHE_ENV})")
    args = parser.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    shapes = [_shape(s) for s in args.shapes.split(",") if s] or [(args.cases, args.townships)]
    for table in run(runs=args.runs, backends=backends, shapes=shapes, cache=args.cache):
        print(table.markdown(), flush=True)


if __name__ == "__main__":
    main()
