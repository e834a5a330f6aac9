"""Engine transitions/s over the base workflow's full path, side by side in one run with the physical
limit (raw ``sqlite3`` / ``psycopg`` doing the same writes, one transaction each, same durability) and
the textbook way (a new ``transitions.Machine`` per transition plus an ORM session).

Every contender moves its own freshly registered cases through ``happy_path()``; rounds interleave the
contenders so that machine noise hits them alike, and the table reports medians over the rounds.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
from factories import HAPPY_TRIGGERS, Town, happy_path, register
from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url
from sqlmodel import Session
from transitions import Machine

from benchmarks.common import Table, fmt_rate, median, pg_cluster, prepared_database, timed
from mediation_flow.cases.engine import apply_trigger
from mediation_flow.store import clock
from mediation_flow.store.models import Case, CaseEvent
from mediation_flow.workflow.registry import REGISTRY, CompiledWorkflow
from mediation_flow.workflow.rules import GUARDS, RuleContext

CASES, EVENTS = Case.__table__, CaseEvent.__table__
TRACKED = ("state", "clocks", "due_date", "venue", "mediator_id", "level")
STEPS = len(HAPPY_TRIGGERS)


@dataclass(frozen=True)
class Step:
    """What one transition of the path writes, captured from a real engine run."""

    trigger: str
    from_state: str
    to_state: str
    changes: dict[str, Any]  # column -> value (clocks as JSON text)
    event_data: str  # JSON text


def capture_plan(engine: Engine, town: Town) -> list[Step]:
    """Drive one case with the engine and record exactly what each step changed and logged."""
    case_id = register(engine, town, actor="mediator")
    plan: list[Step] = []
    version = 1
    for trigger, data in happy_path():
        with engine.connect() as conn:
            before = dict(conn.execute(select(CASES).where(CASES.c.id == case_id)).mappings().one())
        result = apply_trigger(
            engine, case_id=case_id, actor=town["mediator"], trigger=trigger, expected_version=version, data=dict(data)
        )
        version = result.version
        with engine.connect() as conn:
            after = dict(conn.execute(select(CASES).where(CASES.c.id == case_id)).mappings().one())
            event = conn.execute(select(EVENTS).where(EVENTS.c.case_id == case_id, EVENTS.c.seq == version)).one()
        changes = {c: after[c] for c in TRACKED if after[c] != before[c] or c in ("state", "clocks", "due_date")}
        changes["clocks"] = json.dumps(changes["clocks"], ensure_ascii=False, separators=(",", ":"))
        plan.append(Step(trigger, before["state"], after["state"], changes, json.dumps(event.data, ensure_ascii=False)))
    return plan


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def register_many(engine: Engine, town: Town, n: int) -> list[int]:
    return [register(engine, town, actor="mediator") for _ in range(n)]


# --- contenders -----------------------------------------------------------------------------------


def run_engine(engine: Engine, town: Town, case_ids: list[int]) -> None:
    actor, path = town["mediator"], happy_path()  # dated today (Beijing): once per run, outside the timed steps
    for case_id in case_ids:
        version = 1
        for trigger, data in path:
            version = apply_trigger(
                engine, case_id=case_id, actor=actor, trigger=trigger, expected_version=version, data=dict(data)
            ).version


def _update_sql(step: Step, param: str, jsonb: bool) -> str:
    sets = [f"{c} = {param}" + ("::jsonb" if jsonb and c == "clocks" else "") for c in step.changes]
    sets += [f"version = {param}", f"updated_at = {param}"]
    return f"UPDATE dispute_case SET {', '.join(sets)} WHERE id = {param} AND version = {param}"


INSERT_COLUMNS = "case_id, seq, trigger, from_state, to_state, actor_id, effective_at, recorded_at, note, data"


def run_raw_sqlite(path: str, synchronous: str, plan: list[Step], actor_id: int, case_ids: list[int]) -> None:
    """The limit: version-checked UPDATE + INSERT event, one IMMEDIATE transaction each, WAL."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in ("journal_mode=WAL", f"synchronous={synchronous}", "foreign_keys=ON"):
        conn.execute(f"PRAGMA {pragma}")
    updates = [_update_sql(s, "?", jsonb=False) for s in plan]
    insert_sql = f"INSERT INTO case_event ({INSERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    try:
        for case_id in case_ids:
            for version, (step, update_sql) in enumerate(zip(plan, updates, strict=True), start=1):
                now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
                conn.execute("BEGIN IMMEDIATE")
                params = [_iso(v) for v in step.changes.values()] + [version + 1, now, case_id, version]
                if conn.execute(update_sql, params).rowcount != 1:
                    conn.execute("ROLLBACK")
                    raise RuntimeError("stale version")
                conn.execute(
                    insert_sql,
                    (case_id, version + 1, step.trigger, step.from_state, step.to_state, actor_id, now, now, "",
                     step.event_data),
                )  # fmt: skip
                conn.execute("COMMIT")
    finally:
        conn.close()


def psycopg_conninfo(url: str) -> dict[str, Any]:
    parsed = make_url(url)
    info: dict[str, Any] = {"dbname": parsed.database, "user": parsed.username}
    info.update({k: v for k, v in parsed.query.items() if k in ("host", "port")})
    if parsed.host:
        info["host"] = parsed.host
    if parsed.port:
        info["port"] = parsed.port
    return info


def run_raw_psycopg(url: str, plan: list[Step], actor_id: int, case_ids: list[int]) -> None:
    """The same writes through psycopg 3 (server-side prepared after a few runs), one transaction each."""
    updates = [_update_sql(s, "%s", jsonb=True) for s in plan]
    insert_sql = f"INSERT INTO case_event ({INSERT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb)"
    with psycopg.connect(**psycopg_conninfo(url)) as conn:
        for case_id in case_ids:
            for version, (step, update_sql) in enumerate(zip(plan, updates, strict=True), start=1):
                now = datetime.now(UTC)
                with conn.transaction(), conn.cursor() as cur:
                    cur.execute(update_sql, [*step.changes.values(), version + 1, now, case_id, version])
                    if cur.rowcount != 1:
                        raise RuntimeError("stale version")
                    cur.execute(
                        insert_sql,
                        (case_id, version + 1, step.trigger, step.from_state, step.to_state, actor_id, now, now, "",
                         step.event_data),
                    )  # fmt: skip


class _Holder:
    """The textbook model object the per-request Machine decorates."""

    def __init__(self, state: str) -> None:
        self.state = state


def _textbook_conditions(names: list[str]) -> list[Callable[[Any], bool]]:
    return [lambda event, rule=GUARDS[name]: rule(event.kwargs["ctx"]) is None for name in names]


def textbook_config(workflow: CompiledWorkflow) -> tuple[list[str], list[dict[str, Any]]]:
    """States and transitions as one would hand them to ``Machine(...)`` from the same workflow file."""
    states = list(workflow.spec.states)
    transitions = [
        {"trigger": t.trigger, "source": "*" if t.source == "*" else t.sources, "dest": t.dest,
         "conditions": _textbook_conditions(t.guards)}
        for t in workflow.spec.transitions
    ]  # fmt: skip
    return states, transitions


def run_textbook(engine: Engine, town: Town, plan: list[Step], case_ids: list[int]) -> None:
    """A new Machine per transition, and an ORM session that gets the case, updates it, adds an event."""
    actor = town["mediator"]
    with engine.connect() as conn:
        states, transitions = textbook_config(REGISTRY.current(conn, "people_mediation"))
    path = happy_path()
    for case_id in case_ids:
        for step, (trigger, data) in zip(plan, path, strict=True):
            with Session(engine) as session:
                case = session.get(Case, case_id)
                assert case is not None
                holder = _Holder(case.state)
                Machine(
                    model=holder, states=states, transitions=transitions, initial=case.state,
                    auto_transitions=False, send_event=True,
                )  # fmt: skip
                now = clock.utcnow()
                ctx = RuleContext(
                    case=case.model_dump(), data=dict(data), actor_id=actor.id, actor_role=actor.role.value,
                    effective_at=now, effective_date=clock.local_date(now),
                    count_events=lambda _t: 1, last_event_data=lambda _t: None,
                )  # fmt: skip
                if not getattr(holder, trigger)(ctx=ctx):
                    raise RuntimeError(f"textbook guard refused {trigger}")
                version = case.version
                case.state = holder.state
                case.version = version + 1
                case.clocks = json.loads(step.changes["clocks"])
                case.due_date = step.changes["due_date"]
                for column in ("venue", "mediator_id", "level"):
                    if column in step.changes:
                        setattr(case, column, step.changes[column])
                case.updated_at = now
                session.add(
                    CaseEvent(
                        case_id=case_id, seq=version + 1, trigger=trigger, from_state=step.from_state,
                        to_state=holder.state, actor_id=actor.id, effective_at=now, recorded_at=now, note="",
                        data=json.loads(step.event_data),
                    )
                )  # fmt: skip
                session.commit()


# --- the benchmark --------------------------------------------------------------------------------


def _rate(seconds: float, cases: int) -> float:
    return cases * STEPS / seconds if seconds > 0 else float("inf")


def _sqlite_rows(workdir: Path, rounds: int, n_cases: int, n_textbook: int) -> tuple[list[list[str]], list[str]]:
    rows: list[list[str]] = []
    notes: list[str] = []
    for sync in ("FULL", "NORMAL"):
        path = workdir / f"engine_{sync.lower()}.db"
        engine, town = prepared_database(f"sqlite:///{path}", synchronous=sync)
        plan = capture_plan(engine, town)
        contenders: dict[str, Callable[[list[int]], None]] = {
            "engine": lambda ids, e=engine, t=town: run_engine(e, t, ids),
            "raw sqlite3": lambda ids, p=str(path), s=sync, pl=plan, t=town: run_raw_sqlite(
                p, s, pl, t["mediator"].id, ids
            ),
            "textbook": lambda ids, e=engine, t=town, pl=plan: run_textbook(e, t, pl, ids),
        }
        for warm in contenders.values():  # compile statements, fill caches: a server is warm too
            warm(register_many(engine, town, 2))
        samples: dict[str, list[float]] = {name: [] for name in contenders}
        cpu: dict[str, list[float]] = {name: [] for name in contenders}
        for index in range(rounds):
            order = list(contenders)[index % 3 :] + list(contenders)[: index % 3]
            for name in order:
                n = n_textbook if name == "textbook" else n_cases
                ids = register_many(engine, town, n)
                run_it = contenders[name]
                cpu_start = time.process_time()
                samples[name].append(_rate(timed(lambda ids=ids, fn=run_it: fn(ids)), n))
                cpu[name].append(_rate(time.process_time() - cpu_start, n))
        engine.dispose()
        rows += _rows(f"SQLite {sync}", samples, "raw sqlite3", cpu)
        ratio = _paired(samples["raw sqlite3"], samples["engine"])
        faster = _paired(samples["engine"], samples["textbook"])
        cpu_ratio = _paired(cpu["raw sqlite3"], cpu["engine"])
        cpu_faster = _paired(cpu["engine"], cpu["textbook"])
        limit = 2 if sync == "FULL" else 5
        notes.append(
            f"SQLite {sync}: engine takes {ratio:.2f}× raw sqlite3's time per transition (target ≤ {limit}×: "
            f"{'met' if ratio <= limit else 'MISSED'}); engine is {faster:.1f}× faster than the textbook way "
            f"(target ≥ 10×: {'met' if faster >= 10 else 'MISSED'}). In CPU time (this process, immune to "
            f"other load; leaves out fsync waits): {cpu_ratio:.2f}× raw, {cpu_faster:.1f}× faster than textbook."
        )
    return rows, notes


def _paired(fast: list[float], slow: list[float]) -> float:
    """Median over rounds of rate(fast) / rate(slow) — i.e. how many times slow's time per transition is."""
    return median([f / s for f, s in zip(fast, slow, strict=True)])


def _rows(
    backend: str, samples: dict[str, list[float]], raw: str, cpu: dict[str, list[float]] | None = None
) -> list[list[str]]:
    """One row per contender: medians, time per transition (wall and CPU), time relative to raw."""
    rows = []
    for name, values in samples.items():
        cpu_us = f"{1e6 / median(cpu[name]):,.0f}" if cpu else "-"
        rows.append(
            [backend, name, fmt_rate(median(values)), f"{1e6 / median(values):,.0f}", cpu_us,
             f"{_paired(samples[raw], values):.2f}×", _spread(values)]
        )  # fmt: skip
    return rows


def _spread(values: list[float]) -> str:
    return f"{fmt_rate(min(values))}–{fmt_rate(max(values))} (n={len(values)})"


def _pg_rows(rounds: int, n_cases: int) -> tuple[list[list[str]], list[str]]:
    with pg_cluster() as cluster:
        if cluster is None:
            return [], ["PostgreSQL rows skipped: no PostgreSQL server binaries on this machine."]
        url = cluster.create_database("bench_engine")
        engine, town = prepared_database(url)
        plan = capture_plan(engine, town)
        with engine.connect() as conn:
            server = conn.exec_driver_sql("SHOW server_version").scalar()
        contenders: dict[str, Callable[[list[int]], None]] = {
            "engine": lambda ids: run_engine(engine, town, ids),
            "raw psycopg": lambda ids: run_raw_psycopg(url, plan, town["mediator"].id, ids),
        }
        for warm in contenders.values():
            warm(register_many(engine, town, 2))
        samples: dict[str, list[float]] = {name: [] for name in contenders}
        for index in range(rounds):
            order = list(contenders) if index % 2 == 0 else list(reversed(contenders))
            for name in order:
                ids = register_many(engine, town, n_cases)
                run_it = contenders[name]
                samples[name].append(_rate(timed(lambda ids=ids, fn=run_it: fn(ids)), n_cases))
        engine.dispose()
    rows = _rows(f"PostgreSQL {server.split()[0]}", samples, "raw psycopg")
    ratio = _paired(samples["raw psycopg"], samples["engine"])
    note = f"PostgreSQL: engine takes {ratio:.2f}× raw psycopg's time per transition (target ≤ 2×: " + (
        "met)." if ratio <= 2 else "MISSED)."
    )
    return rows, [note]


def run(quick: bool = False) -> list[Table]:
    """Rounds × contenders; ``quick`` is the smoke-test size (a handful of transitions)."""
    rounds, n_cases, n_textbook = (1, 2, 1) if quick else (7, 120, 30)
    table = Table(
        title=f"Engine transitions/s, full base-workflow path ({STEPS} transitions per case), median of {rounds}",
        headers=[
            "back end",
            "contender",
            "transitions/s",
            "µs/transition",
            "CPU µs/transition",
            "time ÷ raw",
            "range (transitions/s)",
        ],
    )
    with tempfile.TemporaryDirectory(prefix="mf-bench-engine-") as workdir:
        rows, notes = _sqlite_rows(Path(workdir), rounds, n_cases, n_textbook)
    table.rows += rows
    table.notes += notes
    rows, notes = _pg_rows(rounds, n_cases)
    table.rows += rows
    table.notes += notes
    table.notes.append(
        "Ratios are medians over rounds of the ratio within each round (contenders run back to back). "
        "raw = version-checked UPDATE + INSERT of the same values the engine wrote, one transaction each; "
        "textbook = new transitions.Machine per transition + SQLModel Session get/update/add event/commit. "
        "With synchronous=FULL every contender waits for the same fsync per commit, which bounds how far apart "
        "they can be; NORMAL shows the CPU cost of each way."
    )
    return [table]
