"""The annual report of one township-year inside a county of N cases (default 1,000,000, ~6M events),
on SQLite and PostgreSQL: the whole report (every figure by SQL aggregation, plus the text) next to one
hand-written SQL query for the headline figures, with peak Python memory (tracemalloc) and the
process's peak RSS. Run: ``python -m benchmarks.bench_report --cases 100000 [--backend sqlite]``."""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
import tracemalloc
from typing import Any

from sqlalchemy import Engine, text

from benchmarks.common import Table, median, pg_cluster, prepared_database, timed
from benchmarks.report_dataset import build_cases, build_county
from mediation_flow.stats.figures import compute_figures
from mediation_flow.stats.report_text import render
from mediation_flow.stats.scope import year_scope

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


def measure(engine: Engine, code: str, runs: int) -> dict[str, Any]:
    """Medians of ``runs`` report and hand-query runs (after one warm-up each), peak memory of one report."""
    values = _report(engine, code)
    hand = _hand(engine, code)
    assert (hand["taken_in"], hand["mediated"], hand["resolved"]) == (
        values["taken_in"], values["mediated"], values["resolved"]
    ), (hand, values)  # fmt: skip
    report_s = median([timed(lambda: _report(engine, code)) for _ in range(runs)])
    hand_s = median([timed(lambda: _hand(engine, code)) for _ in range(runs)])
    tracemalloc.start()
    _report(engine, code)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"values": values, "report_s": report_s, "hand_s": hand_s, "peak_mb": peak / 2**20}


def bench_backend(name: str, url: str, n_cases: int, townships: int, runs: int) -> tuple[list[str], list[str]]:
    engine, town = prepared_database(url, synchronous="OFF") if name == "sqlite" else prepared_database(url)
    county = build_county(engine, town, townships)
    started = time.perf_counter()
    n_events = build_cases(engine, county, n_cases)
    build_s = time.perf_counter() - started
    if name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    code = county.townships[1].code
    result = measure(engine, code, runs)
    engine.dispose()
    v = result["values"]
    row = [name, f"{n_cases:,}", f"{n_events:,}", f"{v['taken_in']:,}", f"{result['report_s'] * 1000:.0f}",
           f"{result['hand_s'] * 1000:.0f}", f"{result['peak_mb']:.1f}"]  # fmt: skip
    note = (
        f"{name}: built {n_cases:,} cases / {n_events:,} events in {build_s:.0f} s ({n_events / build_s:,.0f} events/s)"
    )
    return row, [note]


def run(quick: bool = False, n_cases: int | None = None, townships: int = 30, runs: int = 5,
        backends: tuple[str, ...] = ("sqlite", "postgresql")) -> list[Table]:  # fmt: skip
    # In the `make bench` suite 100,000 (minutes); the script's own default is the full 1,000,000 (`main`).
    n_cases = n_cases or (20_000 if quick else 100_000)
    table = Table(
        title=f"Annual report, one township-year ({YEAR}) in a county of {n_cases:,} cases / {townships} townships"
        f" / 5 years, median of {runs} runs",
        headers=["back end", "cases", "events", "township-year taken in", "full report (ms)",
                 "hand-written headline SQL (ms)", "peak Python memory of one report (MB)"],
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="mf-bench-report-") as workdir:
        if "sqlite" in backends:
            row, notes = bench_backend("sqlite", f"sqlite:///{workdir}/report.db", n_cases, townships, runs)
            table.rows.append(row)
            table.notes += notes
        if "postgresql" in backends:
            with pg_cluster() as cluster:
                if cluster is not None:
                    url = cluster.create_database("mf_bench_report")
                    row, notes = bench_backend("postgresql", url, n_cases, townships, runs)
                    table.rows.append(row)
                    table.notes += notes
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    table.notes.append(f"peak RSS of the whole benchmark process (building included): {rss:.0f} MB")
    sqlite_ms = next((float(r[4]) for r in table.rows if r[0] == "sqlite"), None)
    if sqlite_ms is not None:
        table.notes.append(
            f"target under 2 s on SQLite for one township-year: {sqlite_ms:.0f} ms — "
            f"{'met' if sqlite_ms < 2000 else 'MISSED'}"
        )
    return [table]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--townships", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    for table in run(n_cases=args.cases, townships=args.townships, runs=args.runs, backends=backends):
        print(table.markdown(), flush=True)


if __name__ == "__main__":
    main()
