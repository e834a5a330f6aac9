"""The benchmarks' wrk driver against the real server: GETs round-robin, and transition POSTs that follow each
case's version from the responses (no stale 409s), with the percent sign of a body kept literal."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from server_harness import Server
from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import prepared_database  # noqa: E402
from benchmarks.dataset import build  # noqa: E402
from benchmarks.loadgen import api_token  # noqa: E402
from benchmarks.wrk import INSTALL_HINT, Plan, run_wrk, script, wrk_path  # noqa: E402
from mediation_flow.store import clock  # noqa: E402
from mediation_flow.store.models import Case, CaseEvent  # noqa: E402

pytestmark = pytest.mark.slow
CASES, EVENTS = Case.__table__, CaseEvent.__table__


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    if wrk_path() is None:
        if os.environ.get("CI") == "true":
            pytest.fail(INSTALL_HINT + " (.ci/run installs it)")
        pytest.skip(INSTALL_HINT)
    workdir = tmp_path_factory.mktemp("wrk")
    url = f"sqlite:///{workdir}/wrk.db"
    engine, town = prepared_database(url)
    built = build(engine, town, 120)
    with Server(url, workdir, workers=1) as server:
        yield server, engine, built
    engine.dispose()


def _versions(engine, ids: list[int]) -> dict[int, int]:
    with engine.connect() as conn:
        return dict(conn.execute(select(CASES.c.id, CASES.c.version).where(CASES.c.id.in_(ids))).all())


def test_post_plan_follows_versions_and_writes_every_answered_transition(served):
    server, engine, built = served
    before = _versions(engine, built.mediating[:8])  # few cases: going round them more than once needs little speed
    # today (Beijing time): a session may be neither in the future nor before its case began (issue 13)
    body = {"session_date": clock.local_date(clock.utcnow()).isoformat(), "content": "双方各让 50% 的差额"}
    plan = Plan(
        method="POST",
        paths=[f"/api/v1/cases/{i}/transitions" for i in before],
        headers=api_token(server.base_url, "mediator"),
        versions=before,
        body={"trigger": "record_session", "expected_version": 0, "data": body},
    )
    result = run_wrk(server.base_url, plan, concurrency=4, duration=1)
    assert result.requests > len(before)  # it went round the cases more than once, versions followed
    assert result.errors == 0, result.first_error
    assert result.p50 <= result.p95 <= result.p99
    after = _versions(engine, built.mediating)
    written = sum(after[i] - before[i] for i in before)
    assert written >= result.requests  # every answered POST was a transition (requests still in flight may add)
    with engine.connect() as conn:
        contents = conn.execute(select(EVENTS.c.data).where(EVENTS.c.trigger == "record_session").limit(2000)).all()
    assert any(row.data.get("content") == body["content"] for row in contents)


def test_get_plan_counts_errors_and_keeps_the_first(served):
    server, _, _ = served
    ok = run_wrk(server.base_url, Plan(paths=["/healthz", "/readyz"]), concurrency=2, duration=1)
    assert ok.requests > 0 and ok.errors == 0 and ok.throughput > 0 and ok.cpu_seconds >= 0
    denied = run_wrk(server.base_url, Plan(paths=["/api/v1/cases/1"]), concurrency=1, duration=1)
    assert denied.errors == denied.requests > 0
    assert denied.first_error.startswith("401 ")


def test_script_needs_a_versioned_body_for_posts():
    with pytest.raises(ValueError, match="expected_version"):
        script(Plan(method="POST", paths=["/x"], versions={1: 1}, body={"trigger": "t"}))
