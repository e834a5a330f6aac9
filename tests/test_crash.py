"""Durability attacked: ``kill -9`` the server (supervisor and both workers) in the middle of a load of
transitions, restart it, run ``mediation-flow check``, and verify every transition a client was told had
succeeded is in the events — then finish the work on the restarted server. On SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
import pytest
from factories import PASSWORD, happy_path, register
from server_harness import Server
from sqlalchemy import select

from mediation_flow.store.models import Case, CaseEvent

pytestmark = pytest.mark.slow
CASES = 24
WORKERS = 6
KILL_AFTER = 60  # acknowledged transitions before the kill


@dataclass
class Load:
    base_url: str
    headers: dict[str, str]
    acknowledged: list[tuple[int, int, str]] = field(default_factory=list)  # (case, seq, trigger) seen as 200
    lock: threading.Lock = field(default_factory=threading.Lock)
    enough: threading.Event = field(default_factory=threading.Event)
    failures: int = 0

    def drive(self, case_ids: list[int]) -> None:
        """Move each case along the happy path until done or the server goes away."""
        with httpx.Client(base_url=self.base_url, timeout=30) as client:
            try:
                versions = {
                    c: client.get(f"/api/v1/cases/{c}", headers=self.headers).json()["version"] for c in case_ids
                }
                while True:
                    open_cases = [c for c in case_ids if versions[c] <= len(happy_path())]
                    if not open_cases:
                        return
                    for case_id in open_cases:
                        trigger, data = happy_path()[versions[case_id] - 1]
                        response = client.post(
                            f"/api/v1/cases/{case_id}/transitions",
                            json={"trigger": trigger, "expected_version": versions[case_id], "data": data},
                            headers=self.headers,
                        )
                        assert response.status_code == 200, response.text
                        versions[case_id] = response.json()["version"]
                        with self.lock:
                            self.acknowledged.append((case_id, versions[case_id], trigger))
                            if len(self.acknowledged) >= KILL_AFTER:
                                self.enough.set()
            except httpx.TransportError:  # the server was killed under us: in-flight outcome unknown
                with self.lock:
                    self.failures += 1

    def version(self, client: httpx.Client, case_id: int) -> int:
        return int(client.get(f"/api/v1/cases/{case_id}", headers=self.headers).json()["version"])

    def run(self, case_ids: list[int]) -> None:
        shards = [case_ids[i::WORKERS] for i in range(WORKERS)]
        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(self.drive, shards))


def _token(base_url: str) -> dict[str, str]:
    response = httpx.post(f"{base_url}/api/v1/auth/token", data={"username": "mediator", "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _check_cli(server: Server) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mediation_flow.cli", "check"],
        env=server.env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_kill_9_mid_load_loses_no_acknowledged_transition(engine, town, db_url, tmp_path):
    case_ids = [register(engine, town, "grid_worker") for _ in range(CASES)]
    server = Server(db_url, tmp_path, workers=2).start()
    try:
        load = Load(server.base_url, _token(server.base_url))
        runner = threading.Thread(target=load.run, args=(case_ids,))
        runner.start()
        assert load.enough.wait(timeout=300), "the load never reached the kill point"
        server.kill9()
        runner.join(timeout=120)
        assert not runner.is_alive()
        acknowledged_before = list(load.acknowledged)
        assert len(acknowledged_before) >= KILL_AFTER
        assert load.failures >= 1  # the kill really hit clients in the middle of their work

        server.start()  # same database, fresh processes
        assert httpx.get(f"{server.base_url}/readyz").status_code == 200
        checked = _check_cli(server)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert f"checked {CASES} cases, 0 mismatches" in checked.stdout
        _assert_all_in_events(engine, acknowledged_before)

        finish = Load(server.base_url, _token(server.base_url))  # the restarted server finishes the work
        finish.run(case_ids)
        assert finish.failures == 0
    finally:
        server.stop()
    assert _check_cli(server).returncode == 0
    _assert_all_in_events(engine, acknowledged_before + finish.acknowledged)
    with engine.connect() as conn:
        states = set(conn.execute(select(Case.__table__.c.state).where(Case.__table__.c.id.in_(case_ids))).scalars())
    assert states == {"resolved"}
    print(
        f"\ncrash ({engine.dialect.name}): {len(acknowledged_before)} transitions acknowledged before kill -9 "
        f"{load.failures} clients cut mid-request, "
        f"{len(finish.acknowledged)} more after restart, "
        f"{CASES * len(happy_path()) - len(acknowledged_before) - len(finish.acknowledged)} committed unacknowledged; "
        "check exit 0"
    )


def _assert_all_in_events(engine, acknowledged: list[tuple[int, int, str]]) -> None:
    with engine.connect() as conn:
        events = {(e.case_id, e.seq): e.trigger for e in conn.execute(select(CaseEvent.__table__))}
    missing = [a for a in acknowledged if events.get((a[0], a[1])) != a[2]]
    assert not missing, f"acknowledged but not in the events: {missing[:5]}"
