"""Server memory: resident set size of a one-worker ``mediation-flow serve`` after 1,000 transitions
and after 100,000 (nothing may grow per case or per transition).

Transitions are real ``POST /api/v1/cases/{id}/transitions`` (``record_session``) spread over many
cases (a few each), from 8 concurrent clients; RSS is read from ``/proc/<pid>/status`` at checkpoints.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from server_harness import Server

from benchmarks.common import Table, prepared_database
from benchmarks.dataset import build
from benchmarks.loadgen import api_token, record_sessions, run_load

CLIENTS = 8
PER_CASE = 4  # transitions each case receives over the whole run
TARGET_FLAT = 0.05  # issue 15: RSS after 100,000 transitions within 5% of RSS after 10,000


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def run(quick: bool = False, transitions: int | None = None) -> list[Table]:
    total = transitions or (300 if quick else 100_000)
    first = min(1_000, total // 3)
    checkpoints = sorted({first, *(c for c in (10_000, 30_000, 60_000) if c < total), total})
    table = Table(
        title=f"Server RSS over {total:,} transitions (1 uvicorn worker, SQLite FULL, {CLIENTS} clients)",
        headers=["transitions", "RSS MiB", "vs first checkpoint", "req/s in segment"],
    )
    with tempfile.TemporaryDirectory(prefix="mf-bench-memory-") as workdir:
        url = f"sqlite:///{workdir}/memory.db"
        engine, town = prepared_database(url)
        built = build(engine, town, max(total // PER_CASE, CLIENTS), mix={"mediating": 1})
        engine.dispose()
        with Server(url, Path(workdir), workers=1) as server:
            assert server.proc is not None
            headers = api_token(server.base_url, "mediator")
            fire = record_sessions(built.mediating, version=4, stride=CLIENTS)
            done = 0
            baseline = None
            at: dict[int, int] = {}
            for checkpoint in checkpoints:
                result = run_load(
                    server.base_url,
                    fire,
                    concurrency=CLIENTS,
                    duration=86_400,
                    headers=headers,
                    total=checkpoint - done,
                )
                if result.errors:
                    raise RuntimeError(f"transition failed: {result.first_error}")
                print(f"bench_memory: {checkpoint:,} transitions, RSS {rss_kib(server.proc.pid) / 1024:.1f} MiB, "
                      f"{result.throughput:,.0f} req/s in segment", file=sys.stderr, flush=True)  # fmt: skip
                done = checkpoint
                rss = rss_kib(server.proc.pid)
                at[checkpoint] = rss
                baseline = baseline or rss
                table.rows.append(
                    [
                        f"{checkpoint:,}",
                        f"{rss / 1024:.1f}",
                        f"{(rss - baseline) / 1024:+.1f} MiB",
                        f"{result.throughput:,.0f}",
                    ]
                )
            growth = (rss - baseline) / 1024
    per_k = growth / max((total - first) / 1000, 1)
    table.notes.append(
        f"RSS after {total:,} transitions minus after {first:,}: {growth:+.1f} MiB ({per_k * 1024:+.1f} KiB per 1,000 "
        "transitions); the warm-up request and the first checkpoint absorb import-time and cache growth."
    )
    if 10_000 in at and total > 10_000:
        share = (at[total] - at[10_000]) / at[10_000]
        verdict = "met" if abs(share) <= TARGET_FLAT else "MISSED"
        table.notes.append(
            f"RSS after {total:,} transitions vs after 10,000: {share:+.1%} "
            f"(target within {TARGET_FLAT:.0%}: {verdict})."
        )
    return [table]
