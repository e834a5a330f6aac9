"""Races through the web layer: a real ``mediation-flow serve --workers 2`` on loopback, many clients firing
the same transition at the same cases at the same moment, and many clients registering cases at once —
on SQLite and on PostgreSQL. No lost update, no duplicate event, no duplicate or skipped case number."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from factories import PASSWORD, happy_path, intake, register
from server_harness import Server
from sqlalchemy import select

from mediation_flow.accounts.throttle import ACCOUNT_FAILURES
from mediation_flow.cases.checks import check_all
from mediation_flow.store.models import Case, CaseEvent

pytestmark = pytest.mark.slow
CLIENTS = 8
CASES = 6
MEDIATORS = ["mediator", "supervisor", "village_mediator"]


def tokens(base_url: str, usernames: list[str]) -> dict[str, dict[str, str]]:
    found = {}
    for name in set(usernames):
        response = httpx.post(f"{base_url}/api/v1/auth/token", data={"username": name, "password": PASSWORD})
        assert response.status_code == 200, response.text
        found[name] = {"Authorization": f"Bearer {response.json()['access_token']}"}
    return found


def _race_one_step(
    client: httpx.Client, headers: dict[str, str], case_id: int, step: int, barrier: threading.Barrier
) -> tuple[int, int, int]:
    """Read the case, wait for every other client, then fire the step's trigger at the version read."""
    version = client.get(f"/api/v1/cases/{case_id}", headers=headers).json()["version"]
    trigger, data = happy_path()[step]
    barrier.wait(timeout=60)
    response = client.post(
        f"/api/v1/cases/{case_id}/transitions",
        json={"trigger": trigger, "expected_version": version, "data": data, "note": f"client step {step}"},
        headers=headers,
    )
    if response.status_code == 422:  # a guard about this user (e.g. 请先指派调解员) refused it before the winner
        assert response.json()["error"]["code"] == "guard_failed", response.text
    return case_id, response.status_code, response.json().get("version", version) if response.is_success else version


def test_conflicting_transitions_from_many_clients(engine, town, db_url, tmp_path):
    case_ids = [register(engine, town, "grid_worker") for _ in range(CASES)]
    with Server(db_url, tmp_path, workers=2) as server:
        auth = tokens(server.base_url, MEDIATORS)
        statuses: Counter[int] = Counter()
        winners: list[tuple[int, int, int]] = []  # (case, step, version the winner saw after)
        clients = [httpx.Client(base_url=server.base_url, timeout=60) for _ in range(CLIENTS)]
        try:
            with ThreadPoolExecutor(CLIENTS) as pool:
                for step in range(len(happy_path())):
                    for case_id in case_ids:
                        barrier = threading.Barrier(CLIENTS)
                        results = list(
                            pool.map(
                                lambda i, c=case_id, b=barrier, s=step: _race_one_step(
                                    clients[i], auth[MEDIATORS[i % len(MEDIATORS)]], c, s, b
                                ),
                                range(CLIENTS),
                            )
                        )
                        codes = Counter(code for _, code, _ in results)
                        statuses.update(codes)
                        assert codes[200] == 1, (case_id, step, codes)  # exactly one winner per race
                        assert set(codes) <= {200, 409, 422}, (case_id, step, codes)
                        winners += [(case_id, step, v) for _, code, v in results if code == 200]
        finally:
            for c in clients:
                c.close()
    with engine.connect() as conn:
        events = list(conn.execute(select(CaseEvent.__table__).where(CaseEvent.__table__.c.case_id.in_(case_ids))))
        cases = {r.id: r for r in conn.execute(select(Case.__table__).where(Case.__table__.c.id.in_(case_ids)))}
    per_case = Counter(e.case_id for e in events)
    assert all(per_case[c] == 1 + len(happy_path()) for c in case_ids)  # no lost, no duplicate event
    assert len({(e.case_id, e.seq) for e in events}) == len(events)
    assert all(cases[c].state == "resolved" and cases[c].version == 1 + len(happy_path()) for c in case_ids)
    for case_id, step, version in winners:  # every success a client saw is in the events
        assert version == step + 2
        assert any(e.case_id == case_id and e.seq == version and e.trigger == happy_path()[step][0] for e in events)
    assert check_all(engine)[1] == []
    print(
        f"\nweb race ({engine.dialect.name}): {sum(statuses.values())} transition requests, {statuses[200]} won, "
        f"{statuses[409]} conflicts answered 409 stale_version, "
        f"{statuses[422]} refused by a guard"
    )


def _register_many(base_url: str, headers: dict[str, str], count: int, barrier: threading.Barrier) -> list[Any]:
    with httpx.Client(base_url=base_url, timeout=60) as client:
        barrier.wait(timeout=60)
        return [client.post("/api/v1/cases", json=intake(title=f"并发登记{i}"), headers=headers) for i in range(count)]


def test_concurrent_registration_gives_gap_free_unique_numbers(engine, town, db_url, tmp_path):
    with Server(db_url, tmp_path, workers=2) as server:
        auth = tokens(server.base_url, ["grid_worker", "mediator", "supervisor"])
        barrier = threading.Barrier(CLIENTS)
        names = ["grid_worker", "mediator", "supervisor"]
        with ThreadPoolExecutor(CLIENTS) as pool:
            batches = list(
                pool.map(lambda i: _register_many(server.base_url, auth[names[i % 3]], 5, barrier), range(CLIENTS))
            )
        _guess_passwords_through_both_workers(server.base_url)
    responses = [r for batch in batches for r in batch]
    assert [r.status_code for r in responses] == [201] * len(responses), [r.text for r in responses][:3]
    numbers = [r.json()["number"] for r in responses]
    assert len(set(numbers)) == len(numbers) == CLIENTS * 5
    with engine.connect() as conn:
        rows = list(conn.execute(select(Case.__table__.c.township_id, Case.__table__.c.year, Case.__table__.c.seq)))
    by_counter: dict[tuple[int, int], list[int]] = {}
    for township, year, seq in rows:
        by_counter.setdefault((township, year), []).append(seq)
    for seqs in by_counter.values():
        assert sorted(seqs) == list(range(1, len(seqs) + 1))  # gap-free and unique per township and year


def _guess_passwords_through_both_workers(base_url: str) -> None:
    """Password guesses spread over both workers at once still lock the account: the count is in the DB."""
    barrier = threading.Barrier(CLIENTS)

    def guess(i: int) -> int:
        with httpx.Client(base_url=base_url, timeout=60) as client:
            barrier.wait(timeout=60)
            form = {"username": "liaison", "password": f"guess-{i}-pw"}
            return client.post("/api/v1/auth/token", data=form).status_code

    with ThreadPoolExecutor(CLIENTS) as pool:
        codes = list(pool.map(guess, range(CLIENTS)))
    assert set(codes) <= {401, 429} and codes.count(401) >= ACCOUNT_FAILURES
    right = httpx.post(f"{base_url}/api/v1/auth/token", data={"username": "liaison", "password": PASSWORD})
    assert right.status_code == 429 and "登录失败次数过多" in right.json()["error"]["message"]
