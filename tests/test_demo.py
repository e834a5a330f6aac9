"""The demo generator writes through the ledger import's bulk path; its rows must be exactly those the engine
writes when the same plans (same seed, same moment) are registered and driven case by case through
``register_case`` + ``apply_trigger`` — on SQLite and PostgreSQL, across several chunks and every workflow."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from factories import assert_same_rows, dump
from sqlalchemy import Engine

from mediation_flow.accounts.users import actor_for
from mediation_flow.cases.checks import check_all
from mediation_flow.cases.engine import apply_trigger
from mediation_flow.cases.intake import register_case
from mediation_flow.demo import add_demo_users, build_second_township, build_township, demo_plans, load_demo
from mediation_flow.store.db import write_transaction

NOW = datetime(2026, 3, 10, 9, 15, 30, 123456, tzinfo=UTC)
SEED, CASES = 7, 90


def demo_through_engine(engine: Engine) -> None:
    """The reference: the demo's plans registered and driven one call at a time by the engine."""
    with write_transaction(engine) as conn:
        township = build_township(conn)
        build_second_township(conn, township)
        ids = add_demo_users(conn)
        people = {name: actor_for(conn, user_id) for name, user_id in ids.items()}
    supervisor = people["sifasuo"]
    assert supervisor is not None
    for plan in demo_plans(random.Random(SEED), township, [ids["tiaojie"], ids["tiaojie2"], ids["baima"]], CASES, NOW):
        by = people.get(plan.registered_by or "") or supervisor
        case_id = register_case(engine, actor=by, intake=plan.intake, effective_at=plan.registered, now=NOW)
        for version, (trigger, data, moment, note) in enumerate(plan.steps, start=1):
            who = people.get(plan.actor_of(version - 1) or "") or supervisor
            apply_trigger(
                engine, case_id=case_id, actor=who, trigger=trigger, expected_version=version,
                note=note, data=data, effective_at=moment, now=NOW,
            )  # fmt: skip


def test_demo_writes_what_the_engine_writes(engine, twin):
    demo_through_engine(engine)
    load_demo(twin, seed=SEED, cases=CASES, now=NOW, chunk=25)  # four transactions, the last one short
    reference, bulk = dump(engine), dump(twin)
    assert_same_rows(bulk, reference)
    workflows = {c["workflow_name"] for c in bulk["dispute_case"]}
    assert workflows == {"people_mediation", "police_referral", "petition_referral", "court_referral"}
    states = {c["state"] for c in bulk["dispute_case"]}
    assert {"resolved", "closed", "withdrawn", "rejected", "mediating", "registered", "suspended"} <= states
    assert check_all(twin) == (CASES, [])
    # 三调对接: every handoff state on every path (out to, and in from, each kind of agency)
    inbound = {"police_referral", "petition_referral", "court_referral"}
    seen = {(c["workflow_name"] in inbound, c["agency_id"], c["handoff"]) for c in bulk["dispute_case"] if c["handoff"]}
    assert len(seen) == 3 * 2 * 4, sorted(seen, key=str)


def test_the_demo_loads_in_the_utc_evening_when_beijing_is_a_day_ahead(twin):
    """From 16:00 to 24:00 UTC Beijing is on the next day: the steps' dates are the township's calendar days, or
    a session "on" the UTC day would lie before the case's Beijing registration day and be refused (a fresh
    ``make run`` failed so every evening, UTC)."""
    evening = datetime(2026, 3, 10, 23, 55, tzinfo=UTC)
    load_demo(twin, seed=2023, cases=150, now=evening)
    assert check_all(twin) == (150, [])
