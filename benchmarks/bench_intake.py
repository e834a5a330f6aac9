"""Intake at scale: demo-like disputes registered one by one through ``register_case`` (validation,
gap-free number, case row, parties, first event — one transaction each), and the whole demo generator
(``load_demo``: registration plus back-dated transitions through the engine's rules on the ledger import's
bulk path, 5,000 cases per transaction), as cases per second; by default the demo has 1,000,000 cases.
"""

from __future__ import annotations

import os
import random
import tempfile
from datetime import date
from typing import Any

from sqlalchemy import func, select

from benchmarks.common import Table, fmt_rate, median, migrated_database, prepared_database, timed
from mediation_flow.accounts.personal_data import make_id_number
from mediation_flow.cases.intake import register_case
from mediation_flow.demo import TITLES, load_demo
from mediation_flow.store.models import CaseEvent

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["建国", "秀英", "志强", "桂兰", "海燕", "国华", "明", "芳", "伟", "静"]
SOURCES = ["initiative", "application", "police", "court", "petition", "department"]


def applicant(name: str, rng: random.Random, born: date) -> dict[str, Any]:
    phone = f"13{rng.randrange(10**9):09d}"
    return {
        "role": "applicant",
        "name": name,
        "phone": phone,
        "id_number": make_id_number("500101", born, 1 + rng.randrange(998)),
    }


def intakes(n: int, seed: int, grid_codes: list[str]) -> list[dict[str, Any]]:
    """``n`` varied intakes as a grid worker or the 司法所 would type them (names, ID numbers, phones)."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        a = rng.choice(SURNAMES) + rng.choice(GIVEN)
        b = rng.choice(SURNAMES) + rng.choice(GIVEN)
        category = rng.choice(list(TITLES))
        born = date(1950 + rng.randrange(50), 1 + rng.randrange(12), 1 + rng.randrange(28))
        rows.append(
            {
                "title": TITLES[category].format(a=a, b=b),
                "category": category,
                "source": rng.choice(SOURCES),
                "summary": f"{a}与{b}发生争执，经网格员排查发现并上报。",
                "people_involved": rng.choice([2, 2, 3, 5]),
                "amount": rng.choice([None, "2000", "8000.50", "30000"]),
                "jurisdiction_code": rng.choice(grid_codes),
                "parties": [
                    {
                        "role": "applicant",
                        "name": a,
                        "phone": f"13{rng.randrange(10**9):09d}",
                        "id_number": make_id_number("500101", born, 1 + rng.randrange(998)),
                    },
                    {"role": "respondent", "name": b},
                ],
            }
        )
    return rows


def demo_size(quick: bool) -> int:
    """Cases of the demo-generation row: the issue's 1,000,000 (about 15 minutes on 2 cores), or
    ``MF_BENCH_DEMO_CASES`` for a shorter run (the table says which)."""
    return 5 if quick else int(os.environ.get("MF_BENCH_DEMO_CASES", "1000000"))


def run(quick: bool = False) -> list[Table]:
    rounds, n_register, n_demo = (1, 5, demo_size(quick)) if quick else (3, 1_000, demo_size(quick))
    table = Table(
        title=f"Intake at scale (SQLite; median of {rounds} rounds)",
        headers=["what", "synchronous", "per round", "cases/s", "transitions/s", "range (cases/s)"],
    )
    with tempfile.TemporaryDirectory(prefix="mf-bench-intake-") as workdir:
        for sync in ("FULL", "NORMAL"):
            engine, town = prepared_database(f"sqlite:///{workdir}/intake_{sync}.db", synchronous=sync)
            codes = [g.code for g in town.places.grids]
            rates = []
            for index in range(rounds):
                batch = intakes(n_register, seed=index, grid_codes=codes)
                actor = town["supervisor"]
                seconds = timed(
                    lambda batch=batch, actor=actor, e=engine: [register_case(e, actor=actor, intake=i) for i in batch]
                )
                rates.append(n_register / seconds)
            table.rows.append(["register_case", sync, f"{n_register:,}", fmt_rate(median(rates)), "-", _range(rates)])
            engine.dispose()
        # load_demo's fixed part (township, six users with Argon2 hashes — slow on purpose) is timed alone
        # and taken off, so the rate is that of the cases and their histories.
        fixed = median([timed(lambda i=i: load_demo(migrated_database(f"sqlite:///{workdir}/fixed_{i}.db"), cases=0))
                        for i in range(rounds)])  # fmt: skip
        demo_rates, moves = [], []
        for index in range(1 if n_demo >= 100_000 else rounds):  # one round of a large demo is long enough
            engine = migrated_database(f"sqlite:///{workdir}/demo_{index}.db")
            seconds = timed(lambda engine=engine: load_demo(engine, cases=n_demo)) - fixed
            with engine.connect() as conn:
                events = conn.execute(select(func.count()).select_from(CaseEvent.__table__)).scalar_one()
            demo_rates.append(n_demo / seconds if seconds > 0 else float("nan"))  # nan: lost in the noise
            moves.append((events - n_demo) / seconds if seconds > 0 else float("nan"))
            engine.dispose()
        table.rows.append(
            ["load_demo (bulk path: register + history)", "FULL", f"{n_demo:,}", fmt_rate(median(demo_rates)),
             fmt_rate(median(moves)), _range(demo_rates)]
        )  # fmt: skip
    table.notes.append(
        "register_case is one case per transaction; the 100,000-row ledger import (target ≥ 5,000 rows/s) is "
        "measured by bench_ledger, which writes a whole file in one transaction."
    )
    return [table]


def _range(values: list[float]) -> str:
    return f"{fmt_rate(min(values))}–{fmt_rate(max(values))}"
