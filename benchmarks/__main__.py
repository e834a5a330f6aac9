"""``python -m benchmarks`` (``make bench``): run every ``benchmarks/bench_*.py``, print one table each,
and write them all to ``benchmarks/results/<date>.md`` with the machine and the versions.

A benchmark module exposes ``run(quick: bool = False)`` returning a list of ``Table`` (or markdown
strings). ``--quick`` is the smoke size; ``--only engine,http`` picks modules by their suffix.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
import traceback
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import benchmarks
from benchmarks.common import Table, machine_info

RESULTS = Path(__file__).resolve().parent / "results"
ORDER = ["engine", "http", "memory", "intake", "queue", "report"]


def discover() -> list[str]:
    """Module suffixes of every bench_*.py present, in a sensible order (engine first)."""
    names = [
        m.name.removeprefix("bench_") for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_")
    ]
    return sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))


def run_one(name: str, quick: bool) -> tuple[list[str], float]:
    """Markdown blocks of one benchmark and its wall time; a failure becomes a block saying so."""
    start = time.perf_counter()
    try:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        produced: Any = module.run(quick=quick)
        items = produced if isinstance(produced, list) else [produced]
        blocks = [item.markdown() if isinstance(item, Table) else str(item) for item in items]
    except Exception:
        blocks = [f"### bench_{name}: FAILED\n\n```\n{traceback.format_exc()}```\n"]
    return blocks, time.perf_counter() - start


def header(info: dict[str, str], started: datetime) -> str:
    lines = [f"# Benchmarks {started:%Y-%m-%d %H:%M}", ""]
    lines.append(f"- machine: {info.pop('cores')} cores, {info.pop('cpu')}, Linux {info.pop('kernel')}")
    lines.append("- versions: " + ", ".join(f"{k} {v}" for k, v in info.items()))
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke run), figures meaningless")
    parser.add_argument("--only", default="", help="comma-separated benchmark names, e.g. engine,http")
    parser.add_argument("--output", type=Path, default=None, help="results file (default results/<date>.md)")
    args = parser.parse_args(argv)
    available = discover()
    wanted = [n.strip() for n in args.only.split(",") if n.strip()] or available
    unknown = sorted(set(wanted) - set(available))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available)}")
    started = datetime.now()
    sections = [header(machine_info(), started)]
    print(sections[0], flush=True)
    failed = False
    for name in wanted:
        print(f"running bench_{name} …", file=sys.stderr, flush=True)
        blocks, seconds = run_one(name, args.quick)
        failed = failed or any("FAILED" in b.splitlines()[0] for b in blocks)
        for block in blocks:
            print(block, flush=True)
        sections += blocks
        sections.append(f"_bench_{name}: {seconds:.0f} s{' (quick)' if args.quick else ''}_\n")
    output = args.output or RESULTS / f"{started:%Y-%m-%d}{'-quick' if args.quick else ''}.md"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("\n".join(sections), encoding="utf-8")
    print(f"written to {output}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
