"""The backfill of ``party_key`` for cases stored before migration 0012 (issue 16): the core function on both
back ends, and the ``mediation-flow db backfill-party-keys`` command as an operator runs it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from factories import Town, register
from sqlalchemy import Engine, delete, func, select

from mediation_flow.cases.people import backfill_party_keys
from mediation_flow.store.db import write_transaction
from mediation_flow.store.tables import PARTY_KEYS


def keys_of(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        columns = (PARTY_KEYS.c.case_id, PARTY_KEYS.c.party_id, PARTY_KEYS.c.kind, PARTY_KEYS.c.value)
        return sorted(tuple(r) for r in conn.execute(select(*columns, PARTY_KEYS.c.village_id)))


def test_backfill_writes_the_keys_registration_writes_and_only_once(engine: Engine, town: Town) -> None:
    ids = [register(engine, town, title=f"纠纷{i}") for i in range(5)]
    written = keys_of(engine)
    assert {k[0] for k in written} == set(ids)
    with write_transaction(engine) as conn:  # three cases as they were before migration 0012
        conn.execute(delete(PARTY_KEYS).where(PARTY_KEYS.c.case_id.in_(ids[1:4])))
    assert backfill_party_keys(engine, batch=2) == (3, sum(1 for k in written if k[0] in ids[1:4]))
    assert keys_of(engine) == written
    assert backfill_party_keys(engine) == (0, 0)  # run again: nothing to do
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(PARTY_KEYS)).scalar_one() == len(written)


def test_the_backfill_command_on_a_demo_database(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MEDIATION_FLOW_")}
    env = {**clean, "MEDIATION_FLOW_DATA_DIR": str(tmp_path / "var")}
    cli = [sys.executable, "-m", "mediation_flow.cli"]
    for args in (["db", "upgrade"], ["demo", "--cases", "8"]):
        assert subprocess.run([*cli, *args], env=env, capture_output=True, timeout=300).returncode == 0
    with sqlite3.connect(tmp_path / "var" / "mediation_flow.db") as db:
        before = db.execute("SELECT count(*), count(DISTINCT case_id) FROM party_key").fetchone()
        db.execute("DELETE FROM party_key")
    done = subprocess.run([*cli, "db", "backfill-party-keys"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    cases = int(
        sqlite3.connect(tmp_path / "var" / "mediation_flow.db")
        .execute("SELECT count(*) FROM dispute_case")
        .fetchone()[0]
    )
    assert f"已补写 {cases} 件案件的当事人检索键 {before[0]} 条" in done.stdout
    with sqlite3.connect(tmp_path / "var" / "mediation_flow.db") as db:
        assert db.execute("SELECT count(*), count(DISTINCT case_id) FROM party_key").fetchone() == before
    again = subprocess.run([*cli, "db", "backfill-party-keys"], env=env, capture_output=True, text=True, timeout=300)
    assert "已补写 0 件案件的当事人检索键 0 条" in again.stdout
