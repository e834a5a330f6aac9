"""One county of N townships for the county-scale benchmark (issue 15, point 5), on the bulk path.

The demo township (``demo.load_demo``) first, then ``townships - 1`` more under the same county, each with its
8 villages × 2 grids, a supervisor and two mediators, and ``per_township`` cases planned by ``demo.demo_plans``
and written by ``demo.write_plans`` — the engine's ``step`` in memory (``ledger.bulk``), one insert per table
per chunk — so every row is one the engine would write. The full size is 30 townships × ~33,000 cases
(≈ 1,000,000 cases, ≈ 8,000,000 events); ``python -m benchmarks.county_dataset URL TOWNSHIPS PER_TOWNSHIP``
builds any size into an empty migrated database. The demo's police station and tribunal serve the whole
county here (the referral paths of every township need a partner that serves them). Dates: the demo's,
settled history 2023–2025 plus open cases of the last 40 days (three years and a bit, not five).
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, insert, select, update

from mediation_flow.accounts.policy import Actor
from mediation_flow.accounts.users import actor_for, hash_password
from mediation_flow.demo import CHUNK, DemoTownship, demo_plans, load_demo, with_venues, write_plans
from mediation_flow.places.agencies import all_agencies
from mediation_flow.places.jurisdictions import Place, add_jurisdiction, get_by_code
from mediation_flow.store import clock
from mediation_flow.store.db import make_engine, write_transaction
from mediation_flow.store.migrate import upgrade
from mediation_flow.store.tables import AGENCIES, CASES, EVENTS, USERS
from mediation_flow.vocabulary import Role

PASSWORD = "county-bench-2026"
SHARED_AGENCIES = ("qinglong_police", "qinglong_tribunal")
AGENCY_USERS = ("paichusuo", "fating", "xinfang")


@dataclass(frozen=True)
class CountyBuilt:
    townships: list[Place]
    cases: int
    events: int
    seconds: float


def _township(conn, demo: DemoTownship, index: int) -> tuple[DemoTownship, dict[str, int]]:  # type: ignore[no-untyped-def]
    code = f"500101{index:03d}"
    township = add_jurisdiction(
        conn, code=code, name=f"第{index}镇", level="township", parent_id=demo.county.id, short_name=f"{index}镇"
    )
    villages, grids = [], []
    for v in range(1, 9):
        village = add_jurisdiction(conn, code=f"{code}{v:03d}", name=f"第{index}镇{v}村", level="village",
                                   parent_id=township.id)  # fmt: skip
        villages.append(village)
        for g in (1, 2):
            grids.append(add_jurisdiction(conn, code=f"{village.code}{g:03d}", name=f"{village.name}{g}网格",
                                          level="grid", parent_id=village.id))  # fmt: skip
    users = {}
    secret = hash_password(PASSWORD)
    for name, role in ((f"sifasuo{index}", Role.SUPERVISOR), (f"tiaojie{index}a", Role.MEDIATOR),
                       (f"tiaojie{index}b", Role.MEDIATOR)):  # fmt: skip
        users[name] = conn.execute(
            insert(USERS).values(
                username=name,
                display_name=name,
                role=role.value,
                jurisdiction_id=township.id,
                password_hash=secret,
                is_active=True,
                must_change_password=False,
            )
        ).inserted_primary_key[0]
    return DemoTownship(demo.county, township, villages, grids, demo.agencies), users


LOCAL_VENUES = {"qingfeng_teahouse": "village_room"}


def build(
    engine: Engine, townships: int, per_township: int, *, seed: int = 2026, now: datetime | None = None
) -> CountyBuilt:
    """The county into an empty migrated database; ``per_township`` cases in each township."""
    started = time.perf_counter()
    now = now or clock.utcnow()
    load_demo(engine, cases=per_township, now=now)
    with write_transaction(engine) as conn:  # the demo's 派出所 and 法庭 serve the whole county here
        county = get_by_code(conn, "500101")
        conn.execute(update(AGENCIES).where(AGENCIES.c.code.in_(SHARED_AGENCIES)).values(jurisdiction_id=county.id))
        conn.execute(update(USERS).where(USERS.c.username.in_(AGENCY_USERS)).values(jurisdiction_id=county.id))
    places: list[Place] = []
    for index in range(3, townships + 1):  # the demo itself has 青龙镇 (001) and 白马镇 (002)
        with write_transaction(engine) as conn:
            demo = _demo_township(conn)
            township, users = _township(conn, demo, index)
            people = _people(conn, index, users)
        supervisor = people["sifasuo"]
        places.append(township.township)
        rng = random.Random(seed + index)
        mediators = [users[f"tiaojie{index}a"], users[f"tiaojie{index}b"]]
        # 清风茶室 is 青龙镇's own venue: the other townships' cases are mediated in a 村调解室 (offered county-wide)
        plans = [with_venues(p, LOCAL_VENUES) for p in demo_plans(rng, township, mediators, per_township, now)]
        for start in range(0, len(plans), CHUNK):
            write_plans(engine, supervisor, plans[start : start + CHUNK], now, people)
        print(f"township {index}/{townships} written ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    with engine.connect() as conn:
        cases = int(conn.execute(select(func.count()).select_from(CASES)).scalar_one())
        events = int(conn.execute(select(func.count()).select_from(EVENTS)).scalar_one())
    return CountyBuilt(places, cases, events, time.perf_counter() - started)


def _people(conn, index: int, users: dict[str, int]) -> dict[str, Actor]:  # type: ignore[no-untyped-def]
    """Who acts in the plans (they name demo users): the partner agencies' own users, and this township's
    supervisor and mediators for the demo township's (its grid worker's registrations: the supervisor)."""
    ids = dict(conn.execute(select(USERS.c.username, USERS.c.id).where(USERS.c.username.in_(AGENCY_USERS))).all())
    ids |= {"sifasuo": users[f"sifasuo{index}"], "wangge": users[f"sifasuo{index}"],
            "tiaojie": users[f"tiaojie{index}a"], "tiaojie2": users[f"tiaojie{index}b"]}  # fmt: skip
    people = {name: actor_for(conn, user_id) for name, user_id in ids.items()}
    return {name: actor for name, actor in people.items() if actor is not None}


def _demo_township(conn) -> DemoTownship:  # type: ignore[no-untyped-def]
    """The demo's county, and its agencies, as ``load_demo`` left them."""
    county, township = get_by_code(conn, "500101"), get_by_code(conn, "500101001")
    return DemoTownship(county, township, [], [], {a.code: a for a in all_agencies(conn)})


if __name__ == "__main__":
    url, n_townships, n_per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    target = make_engine(url)
    upgrade(target)
    built = build(target, n_townships, n_per)
    print(f"{n_townships} townships, {built.cases:,} cases, {built.events:,} events in {built.seconds:.0f} s")
