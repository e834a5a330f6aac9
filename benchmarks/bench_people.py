"""The same people again and the search that finds them (issue 16), on a large township: matching a new
registration's parties (``people.repeat_count``, what registration runs in its transaction), the people
search (``list_cases`` with ``q`` = an ID number, a spaced phone, a name: the page of 30 and its count,
as ``GET /api/v1/cases`` runs it) and the case page's related-disputes panel (``related.related_in``).

Baseline: the same person lookups as scans of the raw party columns (what matching would cost without the
stored normalised keys: ``party.phone``/``party.id_number`` have no index and are stored as typed), so the
ratio says what the keys buy. The target is p95 under 50 ms.

The data is written in one bulk load (``common.bulk_load``: indexes built after it), cases with two parties
each and their keys as ``write_party_keys`` makes them (its ``party_key_rows``), no events: these reads never
touch events. People recur across cases: one party in five is somebody seen before.

Run alone: ``python -m benchmarks.bench_people --cases N [--backend sqlite|postgresql] [--cache DIR]``
(``MF_BENCH_CACHE``: the data sets kept between runs, PostgreSQL's copied from SQLite's; ``people_dataset``).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from benchmarks.common import Table, bulk_load, pg_cluster, timed
from benchmarks.people_dataset import dataset
from benchmarks.report_cache import cache_dir, persistent_pg
from mediation_flow.accounts.personal_data import make_id_number
from mediation_flow.cases.people import party_key_rows, repeat_count, village_id_of, village_ids
from mediation_flow.cases.queries import CaseFilters, list_cases
from mediation_flow.cases.related import related_in
from mediation_flow.store.fast import BulkInsert
from mediation_flow.store.tables import CASES, PARTIES, PARTY_KEYS
from mediation_flow.workflow.registry import REGISTRY

TODAY = date(2024, 12, 2)
FIRST_DAY = TODAY - timedelta(days=3 * 365)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国红梅玉兰志强春花海燕"
BATCH = 20_000
BACKENDS = ("sqlite", "postgresql")
EMPTY: dict[str, Any] = {}  # every case's clocks and attributes: one object, so its JSON is made once per batch
CASE_COLUMNS = (
    "id", "number", "township_id", "year", "seq", "title", "category", "source", "risk_grade", "jurisdiction_id",
    "jurisdiction_path", "level", "summary", "people_involved", "workflow_name", "workflow_version", "state",
    "version", "clocks", "attributes", "registered_at", "created_at", "updated_at", "created_by",
)  # fmt: skip
_CASES = BulkInsert(CASES, CASE_COLUMNS)
_PARTIES = BulkInsert(PARTIES, ("id", "case_id", "role", "kind", "name", "id_number", "phone", "address"))
_KEYS = BulkInsert(
    PARTY_KEYS, ("case_id", "party_id", "kind", "value", "village_id", "jurisdiction_path", "registered_at")
)


def person(rng: random.Random, index: int) -> dict[str, str]:
    """Person ``index``: their own valid ID number and mobile (unique up to 25,000,000 people), a name
    (names repeat, as they do)."""
    birth = date(1940, 1, 1) + timedelta(days=index % 25_000)
    return {
        "name": rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if index % 3 else ""),
        "id_number": make_id_number("500101", birth, (index // 25_000) % 1000),
        "phone": f"13{index % 10}{index:08d}"[-11:],
    }


def build(engine: Engine, town: Any, n_cases: int, seed: int = 16) -> list[dict[str, str]]:
    """Insert ``n_cases`` cases with two parties each and their keys (``party_key_rows``, what
    ``write_party_keys`` stores) in one bulk load; returns the people written, each once."""
    rng = random.Random(seed)
    places = town.places.grids + town.places.villages
    with engine.connect() as conn:
        spec = REGISTRY.current(conn, "people_mediation")
        villages = village_ids(conn)
    span = (TODAY - FIRST_DAY).days
    people: list[dict[str, str]] = []
    cases: list[dict[str, Any]] = []
    parties: list[dict[str, Any]] = []
    keys: list[dict[str, Any]] = []
    seqs: dict[int, int] = {}
    with bulk_load(engine, ("dispute_case", "party", "party_key")) as conn:
        for case_id in range(1, n_cases + 1):
            day = FIRST_DAY + timedelta(days=rng.randrange(span))
            place = rng.choice(places)
            seq = seqs[day.year] = seqs.get(day.year, 0) + 1
            moment = datetime(day.year, day.month, day.day, 2, tzinfo=UTC)
            cases.append(
                {
                    "id": case_id, "number": f"（{day.year}）青龙人调字第{seq:03d}号", "year": day.year, "seq": seq,
                    "township_id": town.places.township.id, "title": f"纠纷{case_id}", "category": "neighbourhood",
                    "source": "petition" if case_id % 9 == 0 else "initiative", "risk_grade": "blue",
                    "jurisdiction_id": place.id, "jurisdiction_path": place.path, "level": place.level,
                    "summary": "基准测试", "people_involved": 2, "workflow_name": spec.name,
                    "workflow_version": spec.version, "state": "registered", "version": 1, "clocks": EMPTY,
                    "attributes": EMPTY, "registered_at": moment, "created_at": moment, "updated_at": moment,
                    "created_by": town["supervisor"].id,
                }
            )  # fmt: skip
            village = village_id_of(place.path, villages)
            for role in ("applicant", "respondent"):
                # one party in five is somebody seen before (a repeat); the rest are new people
                if people and rng.random() < 0.2:
                    who = people[rng.randrange(len(people))]
                else:
                    who = person(rng, len(people))
                    people.append(who)
                party_id = (case_id - 1) * 2 + 1 + (role != "applicant")
                row = {"id": party_id, "case_id": case_id, "role": role, "kind": "person", "address": None, **who}
                parties.append(row)
                keys += party_key_rows(row | {"jurisdiction_path": place.path, "registered_at": moment}, village)
            if len(cases) >= BATCH:
                _flush(conn, cases, parties, keys)
        _flush(conn, cases, parties, keys)
    return people


def _flush(conn: Any, cases: list[Any], parties: list[Any], keys: list[Any]) -> None:
    _CASES.run(conn, cases)
    _PARTIES.run(conn, parties)
    _KEYS.run(conn, keys)
    cases.clear()
    parties.clear()
    keys.clear()


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) >= 2 else samples[0]


def _spaced(phone: str) -> str:
    return f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}"


def measure(engine: Engine, town: Any, people: list[dict[str, str]], runs: int, seed: int = 3) -> list[list[str]]:
    rng = random.Random(seed)
    actor = town["supervisor"]
    with engine.connect() as conn:
        township = town.places.township
        place = town.places.grids[0]
        n_cases = conn.execute(select(func.count()).select_from(CASES)).scalar_one()
        moment = datetime(TODAY.year, TODAY.month, TODAY.day, 3, tzinfo=UTC)

        def registration() -> None:
            parties = [rng.choice(people), {"name": "新当事人", "phone": f"139{rng.randrange(10**8):08d}"}]
            repeat_count(conn, parties, place=place, township=township, moment=moment)

        def search(kind: str) -> Any:
            who = rng.choice(people)
            q = {"id": who["id_number"], "phone": _spaced(who["phone"]), "name": who["name"]}[kind]
            return lambda: list_cases(conn, actor, CaseFilters(q=q), today=TODAY, page_size=30)

        def scan(kind: str) -> Any:
            who = rng.choice(people)
            column = PARTIES.c.id_number if kind == "id" else PARTIES.c.phone
            value = who["id_number"] if kind == "id" else who["phone"]
            query = select(PARTIES.c.case_id).where(func.replace(column, " ", "") == value)
            return lambda: conn.execute(query).all()

        def panel() -> None:
            related_in(conn, actor, rng.randrange(1, n_cases + 1), now=moment)

        rows = []
        baselines = {"id": _samples(lambda: scan("id")(), max(3, runs // 20)), "phone": None}
        baselines["phone"] = _samples(lambda: scan("phone")(), max(3, runs // 20))
        for name, fn, base in (
            ("matching on registration (2 parties)", registration, None),
            ("search: ID number", lambda: search("id")(), baselines["id"]),
            ("search: phone (+86, spaced)", lambda: search("phone")(), baselines["phone"]),
            ("search: name", lambda: search("name")(), None),
            ("case page: related-disputes panel", panel, None),
        ):
            samples = _samples(fn, runs)
            ratio = f"{p95(base) / p95(samples):,.0f}× faster ({p95(base) * 1000:,.0f} ms)" if base else "-"
            rows.append([name, f"{statistics.median(samples) * 1000:.1f}", f"{p95(samples) * 1000:.1f}", ratio])
    return rows


def _samples(fn: Any, runs: int) -> list[float]:
    fn()  # warm
    return [timed(fn) for _ in range(runs)]


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} / {five:.1f}"


def measure_on(url: str, label: str, n_cases: int, runs: int, copy_from: Path | None = None) -> Table:
    """Build the data set in the database at ``url`` (migrated here; or reuse or copy a kept one:
    ``people_dataset``), measure, and say what was met."""
    table = Table(
        title=f"The same people again and the people search on {n_cases:,} cases ({label}), {runs} runs each",
        headers=["operation", "median (ms)", "p95 (ms)", "vs scanning raw party columns (p95)"],
    )
    load = _load()
    engine, town, people, how = dataset(url, n_cases, build, copy_from)
    table.notes.append(f"{how} (load average 1/5 min {load} before, {_load()} after)")
    load = _load()
    table.rows = measure(engine, town, people, runs)
    table.notes.append(f"measured at load average {load} before, {_load()} after")
    engine.dispose()
    worst = max(float(r[2]) for r in table.rows)
    table.notes.append(f"target: p95 under 50 ms — worst p95 {worst:.1f} ms: {'met' if worst < 50 else 'MISSED'}.")
    return table


def run(
    quick: bool = False,
    n_cases: int | None = None,
    runs: int = 200,
    backends: tuple[str, ...] = BACKENDS,
    cache: str | None = None,
) -> list[Table]:
    """SQLite (synchronous OFF for the build only), then PostgreSQL where it is installed (a throwaway
    cluster; ``MF_BENCH_SQLITE_ONLY=1`` skips it). With a cache directory (``cache`` or ``MF_BENCH_CACHE``)
    the data sets are kept there and reused (``people_dataset``)."""
    n_cases = n_cases or (2_000 if quick else 1_000_000)
    runs = 20 if quick else runs
    kept = None if quick else cache_dir(cache)
    tables = []
    with tempfile.TemporaryDirectory(prefix="mf-bench-people-") as workdir:
        folder = kept or Path(workdir)
        folder.mkdir(parents=True, exist_ok=True)
        sqlite_file = folder / f"people-{n_cases}.db"
        if "sqlite" in backends:
            tables.append(measure_on(f"sqlite:///{sqlite_file}", "SQLite", n_cases, runs))
        if "postgresql" in backends and os.environ.get("MF_BENCH_SQLITE_ONLY") != "1":
            source = sqlite_file if kept and sqlite_file.exists() else None
            if kept:
                with persistent_pg(kept) as admin:
                    url = admin.replace("/postgres?", f"/mf_people_{n_cases}?")
                    tables.append(measure_on(url, "PostgreSQL", n_cases, runs, source))
            else:
                with pg_cluster() as cluster:
                    if cluster is not None:
                        url = cluster.create_database("bench_people")
                        tables.append(measure_on(url, "PostgreSQL", n_cases, runs))
    return tables


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=None)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--backend", choices=BACKENDS, action="append", help="default: both")
    parser.add_argument("--cache", default=None, help="keep the data sets in this directory (MF_BENCH_CACHE)")
    args = parser.parse_args()
    backends = tuple(args.backend or BACKENDS)
    for t in run(n_cases=args.cases, runs=args.runs, backends=backends, cache=args.cache):
        print(t.markdown())
