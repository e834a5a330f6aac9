"""Count fsync/fdatasync and writes per request from ``probe_tails.sh strace``'s trace: between each
endpoint's ``/mf-probe/<name>/begin`` and ``/end`` markers, split into the request thread (the one that
made the markers) and every other thread (the checkpoint thread, the log writer)."""

from __future__ import annotations

import re
import sys
from collections import Counter

LINE = re.compile(r"^(\d+)\s+(\w+)\((.*)")


def main(trace: str, err: str) -> None:
    with open(err) as found_err:
        log = found_err.read()
    sizes = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+) n=(\d+)", log, re.M)}
    names = {m.group(2): m.group(1) for m in re.finditer(r"^tid (\S+) (\d+)", log, re.M)}
    current, main_tid = None, None
    counts: dict[str, Counter[str]] = {}
    with open(trace) as lines:
        traced = list(lines)
    for line in traced:
        found = LINE.match(line)
        if not found:
            continue
        tid, call, args = found.groups()
        if call == "access" and "/mf-probe/" in args:
            name, what = args.split("/mf-probe/")[1].split('"')[0].split("/")
            current, main_tid = (name, tid) if what == "begin" else (None, main_tid)
            counts.setdefault(name, Counter())
            continue
        if current is None or call == "access":
            continue
        where = "request" if tid == main_tid else names.get(tid, "other")
        kind = "fsync" if call in ("fsync", "fdatasync") else "write"
        if kind == "write" and args.startswith("2,"):
            kind = "stderr write"
        counts[current][f"{where} {kind}"] += 1
    for name, counter in counts.items():
        n = sizes.get(name, 1)
        shown = ", ".join(f"{k} {v / n:.3f}" for k, v in sorted(counter.items()))
        print(f"{name} (n={n}) per request: {shown}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
