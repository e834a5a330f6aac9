"""The ledger import's bulk path writes exactly what the engine writes: the same ledger is imported once by
``import_ledger`` and once row by row through ``register_case`` + ``apply_trigger`` (the reference, driven
here), into two fresh databases with the same township; every column of every written row must match."""

from __future__ import annotations

from datetime import timedelta

import pytest
from factories import CASE_TABLES as TABLES
from factories import assert_same_rows, dump, make_town
from sqlalchemy import Engine, func, select

from benchmarks.bench_ledger import ledger_csv, ledger_rows
from mediation_flow.cases.checks import check_all
from mediation_flow.cases.engine import apply_trigger
from mediation_flow.cases.intake import register_case
from mediation_flow.ledger import plan as ledger_import
from mediation_flow.ledger.bulk import IMPORTER_STEPS
from mediation_flow.ledger.plan import LedgerImportError, _Row, import_ledger, plan_row, read_table
from mediation_flow.places.reference import load_reference
from mediation_flow.store import clock
from mediation_flow.store.models import Case, User


def town_ledger(town, n: int, seed: int) -> bytes:
    codes = [v.code for v in town.places.villages[:3]] + [g.code for g in town.places.grids[:4]]
    rows = ledger_rows(n, seed=seed, codes=codes, mediators=["", "mediator"], years=(2023, 2024))
    return ledger_csv(rows)


def import_through_engine(engine: Engine, actor, content: bytes, now) -> list[int]:
    """The reference: each planned row registered and driven by the engine's public functions."""
    users = User.__table__
    with engine.connect() as conn:
        reference = load_reference(conn)
        mediators = dict(conn.execute(select(users.c.username, users.c.id).where(users.c.is_active.is_(True))).all())
    ids = []
    for number, record in read_table("ledger.csv", content):
        row = _Row(number, record)
        plan = plan_row(row, reference=reference, mediators=mediators, actor=actor, today=clock.local_date(now))
        assert plan is not None, row.errors
        case_id = register_case(engine, actor=actor, intake=plan.intake, effective_at=plan.registered, now=now)
        for version, (trigger, data, moment, note) in enumerate(plan.steps, start=1):
            acting = None if trigger in IMPORTER_STEPS else plan.acted_by  # the row's 调解员 acted, the importer typed
            apply_trigger(
                engine, case_id=case_id, actor=actor, trigger=trigger, expected_version=version, note=note,
                data=data, effective_at=moment, now=now, acting_for=acting,
            )  # fmt: skip
        ids.append(case_id)
    return ids


def test_bulk_import_writes_what_the_engine_writes(engine, twin, monkeypatch):
    monkeypatch.setattr(ledger_import, "CHUNK", 37)  # several chunks, one of them short
    ref_town, bulk_town = make_town(engine), make_town(twin)
    assert ref_town.actors == bulk_town.actors  # same ids on both sides
    now = clock.utcnow().replace(microsecond=123456)
    ledgers = [town_ledger(ref_town, 150, seed=1), town_ledger(ref_town, 60, seed=2)]
    for index, content in enumerate(ledgers):  # a second import continues the numbers and ids
        moment = now + timedelta(minutes=index)
        expected = import_through_engine(engine, ref_town["supervisor"], content, moment)
        result = import_ledger(twin, actor=bulk_town["supervisor"], filename="台账.csv", content=content, now=moment)
        assert result.case_ids == expected
    reference, bulk = dump(engine), dump(twin)
    assert_same_rows(bulk, reference)
    states = {c["state"] for c in bulk["dispute_case"]}
    assert {"resolved", "closed", "failed", "withdrawn", "rejected", "mediating", "accepted", "agreed"} <= states
    assert len(bulk["case_event"]) > 6 * len(bulk["dispute_case"])
    assert check_all(twin) == (210, [])
    assert check_all(engine) == (210, [])


def count(engine: Engine, table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar())


def test_a_bad_row_after_written_chunks_rolls_everything_back_and_later_rows_are_still_checked(engine, monkeypatch):
    monkeypatch.setattr(ledger_import, "CHUNK", 10)
    town = make_town(engine)
    codes = [town.places.villages[0].code]
    rows = ledger_rows(60, seed=3, codes=codes, mediators=[""], years=(2024,))
    original = [dict(r) for r in rows]
    rows[44]["所属辖区代码"] = "999999999"  # refused when registered (after four chunks were written)
    rows[50]["登记日期"] = "2024-02-30"  # refused when read
    rows[55]["调解员"] = "grid_worker"  # not a mediator
    with pytest.raises(LedgerImportError) as caught:
        import_ledger(engine, actor=town["supervisor"], filename="台账.csv", content=ledger_csv(rows))
    found = [(e["row"], e["column"]) for e in caught.value.errors]
    assert found == [(46, "所属辖区代码"), (52, "登记日期"), (57, "调解员")]
    assert "未导入任何数据" in caught.value.message
    assert [count(engine, t) for t in TABLES] == [0, 0, 0, 0]
    # Fixed, the same file imports whole, numbered from 1.
    result = import_ledger(engine, actor=town["supervisor"], filename="台账.csv", content=ledger_csv(original))
    assert result.count == 60
    with engine.connect() as conn:
        numbers = conn.execute(select(Case.__table__.c.seq).order_by(Case.__table__.c.id)).scalars().all()
    assert numbers == list(range(1, 61))
    assert check_all(engine) == (60, [])


def test_a_field_the_workflow_refuses_names_the_row(engine):
    """The assign step's ``user`` field is validated as the engine does: a mediator of another village is
    not a valid assignee for a case of this village."""
    town = make_town(engine)
    rows = ledger_rows(6, seed=4, codes=[town.places.villages[0].code], mediators=[""], years=(2024,))
    index = next(i for i, r in enumerate(rows) if r["调解结果"] != "不予受理")
    rows[index]["调解员"] = "other_village_mediator"
    with pytest.raises(LedgerImportError) as caught:
        import_ledger(engine, actor=town["supervisor"], filename="台账.csv", content=ledger_csv(rows))
    assert [(e["row"], e["column"]) for e in caught.value.errors] == [(index + 2, "调解员")]
    assert "不是本辖区的有效用户" in caught.value.errors[0]["message"]
    assert count(engine, Case.__table__) == 0
