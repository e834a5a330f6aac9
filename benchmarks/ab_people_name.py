"""Before and after for the people search by name (issue 16, migration 0018), on ``bench_people``'s kept
data set: the same names searched, interleaved, through

- before: ``queries.cases_page`` (the count and page over the cases that ``list_cases`` ran for every
  search until 0018) on a copy of the data set with 0017's index, at revision 0017;
- after: ``queries.list_cases`` (for a name: ``name_page``, from the key rows) on the data set.

Each name is searched both ways, the order alternating, and the two answers (the page's case ids and the
total) must be equal. Wall time and the thread's CPU time, median and p95, for the township's supervisor
and for a village's mediator. Then ``bench_people``'s other rows the same way (the same draws on both).
Not part of ``make bench``; run:
``python -m benchmarks.ab_people_name --cache DIR --cases N [--backend sqlite|postgresql] [--runs R]``.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, make_url

from benchmarks.bench_people import TODAY, _spaced, build, p95
from benchmarks.people_dataset import dataset
from benchmarks.report_cache import cache_dir, persistent_pg
from mediation_flow.accounts.policy import Actor
from mediation_flow.cases.people import repeat_count
from mediation_flow.cases.queries import CaseFilters, cases_page, list_cases
from mediation_flow.cases.related import related_in
from mediation_flow.store.db import make_engine

BEFORE_DDL = [  # migration 0018's downgrade, by hand (a kept copy is not migrated)
    "DROP INDEX ix_party_key_lookup",
    "CREATE INDEX ix_party_key_lookup ON party_key (kind, value, village_id, registered_at)",
    "UPDATE alembic_version SET version_num = '0017'",
]


def _before_copy(engine: Engine) -> Engine:
    """A copy of the data set at revision 0017 (0018's index dropped), opened without migrating it."""
    url = make_url(engine.url.render_as_string(hide_password=False))
    if url.get_backend_name() == "sqlite":
        target = Path(f"{url.database}.before-0018")
        if not target.exists():
            with engine.connect() as conn:  # everything in the main file before it is copied
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            engine.dispose()
            shutil.copyfile(str(url.database), target)
        copy = make_engine(f"sqlite:///{target}")
    else:
        name = f"{url.database}_before"
        engine.dispose()
        admin = make_engine(url.set(database="postgres").render_as_string(hide_password=False))
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            exists = conn.exec_driver_sql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'").first()
            if not exists:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{url.database}"')
        admin.dispose()
        copy = make_engine(url.set(database=name).render_as_string(hide_password=False))
    with copy.begin() as conn:
        at = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        if at != "0017":
            for statement in BEFORE_DDL:
                conn.exec_driver_sql(statement)
            conn.exec_driver_sql("ANALYZE party_key")
    return copy


def _timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.thread_time()
    answer = fn()
    return time.perf_counter() - wall, time.thread_time() - cpu, answer


def _figures(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:.1f} / {p95(samples) * 1000:.1f}"


def _searches(old: Connection, new: Connection, actor: Actor) -> dict[str, Callable[[str], Any]]:
    return {
        "before": lambda name: cases_page(
            old, actor, CaseFilters(q=name), today=TODAY, page=1, page_size=30, sort="-registered"
        ),
        "after": lambda name: list_cases(new, actor, CaseFilters(q=name), today=TODAY, page_size=30),
    }


def compare(after: Engine, before: Engine, town: Any, people: list[dict[str, str]], runs: int) -> list[str]:
    """Markdown rows: who searched, before and after (wall and CPU, median | p95), and how many answers differed."""
    rows = []
    for who in ("supervisor", "village_mediator"):
        actor, rng = town[who], random.Random(7)
        times: dict[str, list[float]] = {"before": [], "after": [], "before_cpu": [], "after_cpu": []}
        differ, found = 0, []
        with after.connect() as new, before.connect() as old:
            ways = _searches(old, new, actor)
            for search in ways.values():
                search(people[0]["name"])  # warm
            for run in range(runs):
                name = rng.choice(people)["name"]
                answers = {}
                for way in ("before", "after") if run % 2 == 0 else ("after", "before"):
                    wall, cpu, (page, total) = _timed(partial(ways[way], name))
                    times[way].append(wall)
                    times[f"{way}_cpu"].append(cpu)
                    answers[way] = ([r["id"] for r in page], total)
                differ += answers["before"] != answers["after"]
                found.append(answers["after"][1])
        rows.append(
            f"| {who} ({actor.scope_path}) | {_figures(times['before'])} | {_figures(times['after'])} | "
            f"{_figures(times['before_cpu'])} | {_figures(times['after_cpu'])} | "
            f"{statistics.median(found):.0f} / {max(found)} | {differ} |"
        )
    return rows


def _operations(conn: Connection, town: Any, old: bool) -> dict[str, Callable[[Any], Any]]:
    """bench_people's other rows, for one draw: matching a registration, ID and phone search (before: read
    from the cases, as every search was), the related-disputes panel."""
    actor, moment = town["supervisor"], datetime(TODAY.year, TODAY.month, TODAY.day, 3, tzinfo=UTC)
    place, township = town.places.grids[0], town.places.township

    def search(q: str) -> Any:
        if old:
            return cases_page(conn, actor, CaseFilters(q=q), today=TODAY, page=1, page_size=30, sort="-registered")
        return list_cases(conn, actor, CaseFilters(q=q), today=TODAY, page_size=30)

    return {
        "matching on registration (2 parties)": lambda d: repeat_count(
            conn, [d["who"], d["new"]], place=place, township=township, moment=moment
        ),
        "search: ID number": lambda d: search(d["who"]["id_number"]),
        "search: phone (+86, spaced)": lambda d: search(_spaced(d["who"]["phone"])),
        "case page: related-disputes panel": lambda d: related_in(conn, actor, d["case"], now=moment),
    }


def compare_others(after: Engine, before: Engine, town: Any, people: list[dict[str, str]], runs: int) -> list[str]:
    """Markdown rows for the other operations, before (0017's index) and after (0018's), interleaved."""
    rng = random.Random(11)
    with after.connect() as conn:
        n_cases = conn.exec_driver_sql("SELECT max(id) FROM dispute_case").scalar_one()
    draws = [
        {
            "who": rng.choice(people),
            "new": {"name": "新当事人", "phone": f"139{rng.randrange(10**8):08d}"},
            "case": rng.randrange(1, n_cases + 1),
        }
        for _ in range(runs)
    ]
    rows = []
    with after.connect() as new, before.connect() as old:
        ways = {"before": _operations(old, town, True), "after": _operations(new, town, False)}
        for name in ways["after"]:
            times: dict[str, list[float]] = {"before": [], "after": []}
            for way in ways.values():
                way[name](draws[0])  # warm
            for run, draw in enumerate(draws):
                for way in ("before", "after") if run % 2 == 0 else ("after", "before"):
                    times[way].append(_timed(partial(ways[way][name], draw))[0])
            rows.append(f"| {name} | {_figures(times['before'])} | {_figures(times['after'])} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, required=True)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--cache", default=None)
    args = parser.parse_args()
    kept = cache_dir(args.cache)
    if kept is None:
        parser.error("a cache directory (--cache or MF_BENCH_CACHE) holding the data set is needed")
    sqlite_file = kept / f"people-{args.cases}.db"
    header = [
        "| searched by | before wall ms (median / p95) | after wall | before CPU | after CPU | cases found "
        "(median / max) | answers differing |",
        "|---|---|---|---|---|---|---|",
    ]

    def measure(url: str, copy_from: Path | None) -> None:
        engine, town, people, how = dataset(url, args.cases, build, copy_from)
        before = _before_copy(engine)
        load = os.getloadavg()
        rows = compare(engine, before, town, people, args.runs)
        others = compare_others(engine, before, town, people, args.runs)
        after_load = os.getloadavg()
        print(f"{args.backend}, {args.cases:,} cases ({how}), {args.runs} names each")
        print("\n".join(header + rows))
        print("\n| the other rows (supervisor) | before wall ms (median / p95) | after wall |\n|---|---|---|")
        print("\n".join(others))
        print(f"load 1/5/15 min: {' / '.join(f'{x:.2f}' for x in load)} before, ", end="")
        print(f"{' / '.join(f'{x:.2f}' for x in after_load)} after")
        before.dispose()
        engine.dispose()

    if args.backend == "sqlite":
        measure(f"sqlite:///{sqlite_file}", None)
    else:
        with persistent_pg(kept) as admin:
            url = admin.replace("/postgres?", f"/mf_people_{args.cases}?")
            measure(url, sqlite_file if sqlite_file.exists() else None)


if __name__ == "__main__":
    main()
