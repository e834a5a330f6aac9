"""Idempotency keys are forgotten after a window (issue 16): 30 days by default (``intake_key_days``), never
less than the outbox's age plus a day. Within the window a replay answers with its case and creates nothing;
a new claim forgets older keys of every user; a replay of a forgotten key with the time recorded on the phone
is refused as too old, so it makes no second case either — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from factories import intake
from sqlalchemy import func, select

from mediation_flow.cases.intake_once import key_window, register_once
from mediation_flow.errors import InvalidData
from mediation_flow.store import clock
from mediation_flow.store.config import get_settings
from mediation_flow.store.tables import CASES, INTAKE_KEYS


def kept_keys(engine):
    with engine.connect() as conn:
        return sorted(conn.execute(select(INTAKE_KEYS.c.key)).scalars())


def case_count(engine):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(CASES)).scalar_one()


def test_keys_are_kept_for_the_window_and_forgotten_after_it(engine, town):
    start = clock.utcnow() - timedelta(days=60)
    recorded = start - timedelta(hours=2)  # the time on the phone, before its first sync
    worker, other = town["grid_worker"], town["mediator"]

    def send(actor, key, at, body=None, effective_at=recorded):
        data = body or intake(title=f"离线登记{key}")
        return register_once(engine, actor=actor, key=key, intake=data, effective_at=effective_at, now=at)

    first = send(worker, "phone-1", start)
    send(other, "desk-1", start, effective_at=None)
    assert not first.replayed and key_window() == timedelta(days=30)
    almost = start + timedelta(days=30) - timedelta(seconds=1)
    send(worker, "phone-2", almost, effective_at=almost - timedelta(hours=1))  # a claim forgets nothing yet
    again = send(worker, "phone-1", almost)  # within the window: the same case, nothing new
    assert (again.case_id, again.replayed) == (first.case_id, True)
    assert kept_keys(engine) == ["desk-1", "phone-1", "phone-2"] and case_count(engine) == 3

    later = start + timedelta(days=31)
    send(worker, "phone-3", later, effective_at=later - timedelta(hours=1))  # forgets every user's old keys
    assert kept_keys(engine) == ["phone-2", "phone-3"]
    with pytest.raises(InvalidData) as refused:  # the forgotten key's entry is older than the outbox allows
        send(worker, "phone-1", later)
    assert "离线登记保存超过7天" in refused.value.errors[0]["message"]
    assert case_count(engine) == 4 and kept_keys(engine) == ["phone-2", "phone-3"]


def test_the_window_outlasts_the_outbox(monkeypatch):
    monkeypatch.setenv("MEDIATION_FLOW_INTAKE_KEY_DAYS", "3")
    monkeypatch.setenv("MEDIATION_FLOW_OUTBOX_MAX_DAYS", "10")
    get_settings.cache_clear()
    try:
        assert key_window() == timedelta(days=11)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
