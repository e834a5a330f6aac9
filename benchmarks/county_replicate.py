"""The county benchmark's townships copied in SQL from one built township (issue 15, point 5), PostgreSQL only.

``county_dataset.build`` writes every case through the bulk path (the engine's ``step`` in memory): about 9 ms of
client CPU per case, so the full county (30 townships × ~33,000 cases) would take hours. Here one township is
built that way, its kept year sums counted (``store.year_sums.refreshed``), and then every row of it is copied to
new townships under the same county with ``INSERT … SELECT``: the places (the township, its villages and grids:
new ids, codes and paths, the villages' and grids' names kept), the township's own users (supervisor, mediators,
grid worker: ``NAME_NNN``), the cases (ids offset; the case number under the new township's short name; place,
path, mediator and registrant mapped), the parties (an applicant's ID number and phone changed in two digits
per copy, the ID number's check digit recomputed, birth date and sex kept; so one person is not the same person
in every township), their ``party_key`` rows (the same values, village and path mapped), the events (actor,
recorder and an assignment's ``mediator_id`` mapped), the case number counters, and the derived tables copied
from the source's rows with the places mapped: ``case_count`` (kept by triggers), ``case_figure`` and
``place_figure`` (the kept year sums of migration 0019). The copy runs with ``session_replication_role =
replica`` (no per-row triggers: the derived tables are copied instead of re-counted; no foreign-key checks),
so each copy's counters equal its source's; tests/test_county_replicate.py checks them against a fresh count
and each copy's annual report against the source township's.

Not copied: the shared rows (the county, the partner agencies and their users, reference data: a copy's cases
name the source's venue codes, e.g. 青龙镇's 清风茶室, so that their figures are the source's), per-user activity
(sessions, sign-in attempts, access log, admin log, notices seen); the source must have no party links,
idempotency keys or handled notices (checked). The copies lie in the source's years (no shift in time).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Table, func, insert, select, text

from benchmarks.county_dataset import build
from mediation_flow.places.jurisdictions import add_jurisdiction, get_by_code
from mediation_flow.stats.dashboard_cases import contributions, rules_key
from mediation_flow.store.db import make_engine, write_transaction
from mediation_flow.store.migrate import upgrade
from mediation_flow.store.tables import (
    CASE_COUNTS,
    CASE_FIGURES,
    CASES,
    COUNTERS,
    EVENTS,
    FIGURE_QUEUE,
    FIGURE_STATE,
    INTAKE_KEYS,
    NOTICES_HANDLED,
    PARTIES,
    PARTY_KEYS,
    PARTY_LINKS,
    PLACE_FIGURES,
    USERS,
)
from mediation_flow.store.tables import JURISDICTIONS as JUR
from mediation_flow.store.unchanged import renew_stamps
from mediation_flow.store.year_sums import refreshed

# The ID number with its 15th–16th digits moved by the copy's number (the 17th, the sex, and the birth date kept),
# then its check digit (GB 11643) recomputed; anything else unchanged. The phone: its 4th–5th digits.
_FUNCTIONS = [
    r"""CREATE OR REPLACE FUNCTION pg_temp.mf_id(v text, k integer) RETURNS text AS $$
        SELECT CASE WHEN v ~ '^[0-9]{17}[0-9Xx]$' THEN b || substr('10X98765432',
            (SELECT sum(substr(b, i, 1)::integer * w[i]) FROM generate_subscripts(w, 1) AS i)::integer % 11 + 1, 1)
            ELSE v END
        FROM (SELECT substr(v, 1, 14) || lpad(((substr(v, 15, 2)::integer + k) % 100)::text, 2, '0')
                     || substr(v, 17, 1) AS b,
                     ARRAY[7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] AS w) AS s
        $$ LANGUAGE sql IMMUTABLE""",
    r"""CREATE OR REPLACE FUNCTION pg_temp.mf_phone(v text, k integer) RETURNS text AS $$
        SELECT CASE WHEN v ~ '^1[0-9]{10}$'
            THEN substr(v, 1, 3) || lpad(((substr(v, 4, 2)::integer + k) % 100)::text, 2, '0') || substr(v, 6)
            ELSE v END
        $$ LANGUAGE sql IMMUTABLE""",
]
_MAPS = [
    "CREATE TEMP TABLE IF NOT EXISTS rep_place (old_id integer PRIMARY KEY, new_id integer, old_path text UNIQUE,"
    " new_path text)",
    "CREATE TEMP TABLE IF NOT EXISTS rep_user (old_id integer PRIMARY KEY, new_id integer)",
    "CREATE TEMP TABLE IF NOT EXISTS rep_case (id integer PRIMARY KEY)",
]


@dataclass(frozen=True)
class Replicated:
    townships: list[str]  # the copies' codes
    cases: int  # cases copied in all
    events: int
    seconds: float


def _select_list(table: Table, alias: str, overrides: dict[str, str]) -> tuple[str, str]:
    """The table's every column, and the SELECT list copying them from ``alias`` with ``overrides``."""
    names = [c.name for c in table.columns]
    unknown = set(overrides) - set(names)
    if unknown:
        raise ValueError(f"{table.name} has no column {sorted(unknown)}")
    columns = ", ".join(f'"{n}"' for n in names)
    return columns, ", ".join(overrides.get(n, f'{alias}."{n}"') for n in names)


def _copy(conn: Connection, table: Table, alias: str, overrides: dict[str, str], rest: str, **params: Any) -> int:
    columns, values = _select_list(table, alias, overrides)
    statement = f'INSERT INTO "{table.name}" ({columns}) SELECT {values} FROM "{table.name}" {alias} {rest}'
    return int(conn.execute(text(statement), params).rowcount)


def _span(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one())


def replicate(
    engine: Engine, indexes: Sequence[int], *, source: str = "500101001", verbose: bool = False
) -> Replicated:
    """Copy township ``source`` (its kept year sums counted: the figure queue empty) to township ``500101NNN``
    for each NNN in ``indexes`` (named 第N镇), one copy per transaction."""
    if engine.dialect.name != "postgresql":
        raise ValueError("county_replicate copies with PostgreSQL's SQL (jsonb, regular expressions, replica mode)")
    started = time.perf_counter()
    with engine.connect() as conn:
        township = get_by_code(conn, source)
        like = f"{township.path}%"
        if conn.execute(select(FIGURE_QUEUE.c.id).limit(1)).first() is not None:
            raise ValueError("the kept year sums are not counted yet (figure_queue is not empty): refresh them first")
        if not conn.execute(select(FIGURE_STATE.c.rules).where(FIGURE_STATE.c.id == 1)).scalar():
            raise ValueError("the kept year sums were never counted: refresh them first")
        source_cases = select(CASES.c.id).where(CASES.c.jurisdiction_path.like(like))
        kept = [(PARTY_LINKS, PARTY_LINKS.c.case_id), (PARTY_LINKS, PARTY_LINKS.c.other_case_id),
                (INTAKE_KEYS, INTAKE_KEYS.c.case_id), (NOTICES_HANDLED, NOTICES_HANDLED.c.case_id)]  # fmt: skip
        for table, column in kept:
            if conn.execute(select(column).where(column.in_(source_cases)).limit(1)).first() is not None:
                raise ValueError(f"the source township has {table.name} rows, which are not copied")
        spans = {t.name: _span(conn, t) for t in (CASES, PARTIES, PARTY_KEYS, EVENTS)}
        places = conn.execute(select(JUR).where(JUR.c.path.like(like)).order_by(func.length(JUR.c.path), JUR.c.id))
        places = list(places.mappings())
        users = list(conn.execute(select(USERS).where(USERS.c.jurisdiction_id.in_([p["id"] for p in places]),
                                                      USERS.c.agency_id.is_(None))).mappings())  # fmt: skip
    old_prefix = f"）{township.short_name or township.name}人调字"
    codes, cases, events = [], 0, 0
    for k, index in enumerate(indexes, start=1):
        with write_transaction(engine) as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            for statement in _FUNCTIONS + _MAPS:
                conn.execute(text(statement))
            conn.execute(text("TRUNCATE rep_place, rep_user, rep_case"))
            conn.execute(text("INSERT INTO rep_case SELECT id FROM dispute_case WHERE jurisdiction_path LIKE :like"),
                         {"like": like})  # fmt: skip
            code = f"{source[:6]}{index:03d}"
            mapped = _places(conn, places, code, index)
            _users(conn, users, mapped, index)
            conn.execute(text("ANALYZE rep_place, rep_user, rep_case"))  # temporary tables have no statistics
            got = _rows(conn, k, mapped[township.id][0], old_prefix, f"）{index}镇人调字", spans)
            # no trigger renewed the reference topic's stamp for the new places (store.unchanged.TOPICS): renewed
            # after them, as a trigger would have
            renew_stamps(conn)
            codes.append(code)
            cases += got[0]
            events += got[1]
        if verbose:
            print(f"township {code} copied ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
    with write_transaction(engine) as conn:
        for table in (JUR, USERS, CASES, PARTIES, PARTY_KEYS, EVENTS):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                              f"(SELECT max(id) FROM \"{table.name}\"))"))  # fmt: skip
    return Replicated(codes, cases, events, time.perf_counter() - started)


def _places(conn: Connection, places: list[Any], code: str, index: int) -> dict[int, tuple[int, str]]:
    """The source's places under the new township's code (the township 第N镇, its villages' and grids' names
    kept); ``{old id: (new id, new path)}``, also into ``rep_place``."""
    mapped: dict[int, tuple[int, str]] = {}
    rows = []
    for place in places:
        top = not mapped
        parent = place["parent_id"] if top else mapped[place["parent_id"]][0]
        made = add_jurisdiction(
            conn,
            code=code + place["code"][len(code) :],
            name=f"第{index}镇" if top else place["name"],
            level=place["level"],
            parent_id=parent,
            short_name=f"{index}镇" if top else place["short_name"],
        )
        mapped[place["id"]] = (made.id, made.path)
        rows.append({"old_id": place["id"], "new_id": made.id, "old_path": place["path"], "new_path": made.path})
    conn.execute(text("INSERT INTO rep_place VALUES (:old_id, :new_id, :old_path, :new_path)"), rows)
    return mapped


def _users(conn: Connection, users: list[Any], mapped: dict[int, tuple[int, str]], index: int) -> None:
    """The township's own users (not the partner agencies'): ``NAME_NNN``, same role, name and password."""
    rows = []
    for user in users:
        values = {k: v for k, v in user.items() if k != "id"}
        values |= {"username": f"{user['username']}_{index:03d}", "jurisdiction_id": mapped[user["jurisdiction_id"]][0]}
        new_id = conn.execute(insert(USERS).values(**values)).inserted_primary_key[0]
        rows.append({"old_id": user["id"], "new_id": new_id})
    if rows:
        conn.execute(text("INSERT INTO rep_user VALUES (:old_id, :new_id)"), rows)


def _rows(
    conn: Connection, k: int, township_id: int, old_prefix: str, new_prefix: str, spans: dict[str, int]
) -> tuple[int, int]:
    """Every row of the source's cases, copy ``k`` (ids offset by ``k`` × the table's largest id at the start)."""
    oc, op, ok, oe = (k * spans[t.name] for t in (CASES, PARTIES, PARTY_KEYS, EVENTS))
    user = "COALESCE((SELECT u.new_id FROM rep_user u WHERE u.old_id = {}), {})".format
    cases = _copy(conn, CASES, "c", {
        "id": f"c.id + {oc}",
        "number": "replace(c.number, :old, :new)",
        "township_id": str(township_id),
        "jurisdiction_id": "p.new_id",
        "jurisdiction_path": "p.new_path",
        "mediator_id": user("c.mediator_id", "c.mediator_id"),
        "created_by": user("c.created_by", "c.created_by"),
    }, "JOIN rep_case r ON r.id = c.id JOIN rep_place p ON p.old_id = c.jurisdiction_id",
        old=old_prefix, new=new_prefix)  # fmt: skip
    _copy(conn, PARTIES, "t", {
        "id": f"t.id + {op}",
        "case_id": f"t.case_id + {oc}",
        "id_number": f"pg_temp.mf_id(t.id_number, {k})",
        "phone": f"pg_temp.mf_phone(t.phone, {k})",
    }, "JOIN rep_case r ON r.id = t.case_id")  # fmt: skip
    _copy(conn, PARTY_KEYS, "t", {
        "id": f"t.id + {ok}",
        "case_id": f"t.case_id + {oc}",
        "party_id": f"t.party_id + {op}",
        "value": f"CASE t.kind WHEN 'id' THEN pg_temp.mf_id(t.value, {k})"
                 f" WHEN 'phone' THEN pg_temp.mf_phone(t.value, {k}) ELSE t.value END",
        "village_id": "(SELECT p.new_id FROM rep_place p WHERE p.old_id = t.village_id)",
        "jurisdiction_path": "p.new_path",
    }, "JOIN rep_case r ON r.id = t.case_id JOIN rep_place p ON p.old_path = t.jurisdiction_path")  # fmt: skip
    assignee = "CASE WHEN jsonb_typeof(t.data->'mediator_id') = 'number' THEN (t.data->>'mediator_id')::integer END"
    events = _copy(conn, EVENTS, "t", {
        "id": f"t.id + {oe}",
        "case_id": f"t.case_id + {oc}",
        "actor_id": user("t.actor_id", "t.actor_id"),
        "recorded_by": user("t.recorded_by", "t.recorded_by"),
        "data": "CASE WHEN m.new_id IS NULL THEN t.data"
                " ELSE jsonb_set(t.data, '{mediator_id}', to_jsonb(m.new_id)) END",
    }, f"JOIN rep_case r ON r.id = t.case_id LEFT JOIN rep_user m ON m.old_id = {assignee}")  # fmt: skip
    _copy(conn, COUNTERS, "t", {"township_id": str(township_id)},
          "JOIN rep_place p ON p.old_id = t.township_id")  # fmt: skip
    _copy(conn, CASE_COUNTS, "t", {"jurisdiction_id": "p.new_id"}, "JOIN rep_place p ON p.old_id = t.jurisdiction_id")
    _copy(conn, CASE_FIGURES, "t", {"case_id": f"t.case_id + {oc}", "path": "p.new_path"},
          "JOIN rep_case r ON r.id = t.case_id JOIN rep_place p ON p.old_path = t.path")  # fmt: skip
    _copy(conn, PLACE_FIGURES, "t", {"path": "p.new_path"}, "JOIN rep_place p ON p.old_path = t.path")
    return cases, events


def build_replicated(engine: Engine, townships: int, demo_cases: int, *, verbose: bool = False) -> dict[str, float]:
    """The county into an empty migrated database: the demo (``demo_cases`` cases in 青龙镇 and 白马镇) on the bulk
    path, its year sums counted, then 青龙镇 copied to townships 3..``townships``; then VACUUM ANALYZE. The
    phases' seconds."""
    took: dict[str, float] = {}
    start = time.perf_counter()
    build(engine, 2, demo_cases)
    took["bulk path (青龙镇, 白马镇)"] = time.perf_counter() - start
    start = time.perf_counter()
    refreshed(engine, "/", 2025, contributions, rules_key())
    took["year sums counted"] = time.perf_counter() - start
    start = time.perf_counter()
    replicate(engine, range(3, townships + 1), verbose=verbose)
    took["copied in SQL"] = time.perf_counter() - start
    start = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    took["VACUUM ANALYZE"] = time.perf_counter() - start
    return took


if __name__ == "__main__":
    url, n_townships, n_demo = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    target = make_engine(url)
    upgrade(target)
    phases = build_replicated(target, n_townships, n_demo, verbose=True)
    with target.connect() as conn:
        sizes = {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in (CASES, EVENTS)}
        size = conn.execute(text("SELECT pg_size_pretty(pg_database_size(current_database()))")).scalar_one()
    print(" · ".join(f"{name} {s:.0f} s" for name, s in phases.items()))
    print(f"{n_townships} townships: {sizes['dispute_case']:,} cases, {sizes['case_event']:,} events, database {size}")
