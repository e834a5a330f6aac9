"""The server worker's garbage collector, set for a long-lived process (issue 15: the pages' tails).

Measured (``benchmarks/results/2026-12-03-gc-and-kept-pages.md``): with CPython's defaults, a worker serving /queue to
8 clients ran a full (generation 2) collection about once a second, each taking 140-200 ms with the GIL held, so
every request in flight in that process waited for it. /queue's p95 was ~100 ms although a view costs ~4.5 ms
of CPU. There are two reasons:

- A full collection walks every container object of the process, about 220,000: the modules, the routes,
  SQLAlchemy's and the templates' caches, and the kept answers.
- It comes often. The objects of the requests in flight survive the young collections and are counted as
  long-lived, although they die a moment later.

When the worker starts (the app's lifespan), everything created so far is collected once and then frozen, so
a collection never walks it again. The young generation's threshold goes from 700 to 7,000 allocations, so
fewer collections catch in-flight requests' objects midway. At shutdown both are undone, so a process that
starts and stops apps (the tests) keeps collecting what those apps leave behind.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 7_000  # CPython's default is 700


def settle() -> tuple[int, int, int]:
    """Freeze what the worker has built so far and raise the young threshold; returns the thresholds to restore."""
    before = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, before[1], before[2])
    return before


def unsettle(thresholds: tuple[int, int, int]) -> None:
    """Undo :func:`settle` (the app stops)."""
    gc.unfreeze()
    gc.set_threshold(*thresholds)
