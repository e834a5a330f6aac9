"""Benchmarks (``make bench`` = ``python -m benchmarks``). Kept out of ``make test``.

The test helpers (factories, the throwaway PostgreSQL cluster) live in ``tests/``; they are put on the
path here so every benchmark module can import them.
"""

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parents[1] / "tests")
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)
