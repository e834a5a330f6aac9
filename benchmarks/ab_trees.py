"""Two (or more) source trees served in turn on one 100,000-case SQLite file, alternated round by round, so that
the machine's noise hits them alike: ``mediation-flow serve --workers 2`` of each tree, wrk at 8 clients on
bench_http's endpoints, p95, req/s, the server's CPU per request and the busiest worker's share per cell, then
the medians over the rounds.

    python -m benchmarks.ab_trees ROUNDS TREE_A TREE_B [...]   (ONLY=label,label picks endpoints by substring)

A tree is a directory holding a checkout (``git worktree add DIR COMMIT``); its server runs with it first on
``PYTHONPATH``. The data set is built once into ``MF_AB_DIR`` (default ``/tmp/mf-ab``) and reused; the POST cells
move its cases on, as bench_http's do.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from pathlib import Path

from server_harness import Server

from benchmarks import bench_http
from benchmarks.common import prepared_database
from benchmarks.dataset import build
from mediation_flow.stats.dashboard import count_kept_figures

CLIENTS = 8
SECONDS = 5.0
N_CASES = 100_000


def _data_set(folder: Path) -> tuple[str, dict[str, object]]:
    folder.mkdir(parents=True, exist_ok=True)
    database, meta = folder / "http.db", folder / "http.json"
    url = f"sqlite:///{database}"
    if not meta.exists():
        engine, town = prepared_database(url)
        built = build(engine, town, N_CASES)
        count_kept_figures(engine)
        engine.dispose()
        meta.write_text(json.dumps({"mediating": built.mediating, "village": town.places.villages[0].code}))
    return url, json.loads(meta.read_text())


def main(rounds: int, trees: list[str]) -> None:
    url, meta = _data_set(Path(os.environ.get("MF_AB_DIR", "/tmp/mf-ab")))
    wanted = [w for w in os.environ.get("ONLY", "").split(",") if w]
    labels = [label for label in bench_http._plans(N_CASES, "") if not wanted or any(w in label for w in wanted)]
    seen: dict[tuple[str, str], list[tuple[float, float, float, float]]] = {}
    for round_ in range(rounds):
        for tree in trees:
            os.chdir(tree)
            os.environ["PYTHONPATH"] = tree
            work = Path(os.environ.get("MF_AB_DIR", "/tmp/mf-ab")) / f"run-{Path(tree).name}"
            work.mkdir(exist_ok=True)
            with Server(url, work, workers=2) as server:
                driver = bench_http._Driver(server, url, N_CASES, meta["mediating"], meta["village"])  # type: ignore[arg-type]
                plan = driver._plan(bench_http.DASHBOARD, driver._credential("page"))
                bench_http.warm_up(server.base_url, "/dashboard", plan.headers)
                for label in labels:
                    result, cpu_ms, _, busiest = driver.run(label, CLIENTS, SECONDS)
                    seen.setdefault((tree, label), []).append(
                        (result.percentile(95), result.throughput, cpu_ms, busiest)
                    )
                    print(
                        f"r{round_} {Path(tree).name} {label}: p95 {result.percentile(95):.1f} ms, "
                        f"{result.throughput:,.0f} req/s, CPU {cpu_ms:.2f} ms/req, busiest {busiest:.0%}, "
                        f"errors {result.errors}, load {os.getloadavg()[0]:.2f}",
                        flush=True,
                    )
    print(f"\nmedians over {rounds} rounds: p95 ms (max) · req/s · CPU ms/req · busiest worker")
    for label in labels:
        for tree in trees:
            cells = seen[(tree, label)]
            p95 = [c[0] for c in cells]
            print(
                f"{label} · {Path(tree).name}: {statistics.median(p95):.1f} ({max(p95):.1f}) · "
                f"{statistics.median(c[1] for c in cells):,.0f} · {statistics.median(c[2] for c in cells):.2f} · "
                f"{statistics.median(c[3] for c in cells):.0%}"
            )


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2:])
