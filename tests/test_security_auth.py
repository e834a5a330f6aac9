"""Authentication attacked: password guessing (per account, per address), stolen and expired tokens,
password change, and default passwords on a database that is not the demo."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from factories import PASSWORD
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner
from server_harness import free_port, wait_until_serving
from sqlalchemy import func, select

from mediation_flow.accounts.throttle import ACCOUNT_FAILURES, ADDRESS_FAILURES, WINDOW, TooManyAttempts, sign_in
from mediation_flow.errors import AuthenticationFailed
from mediation_flow.store import clock
from mediation_flow.store.db import make_engine
from mediation_flow.store.models import LoginAttempt, User
from web.app import create_app
from web.tokens import issue_token

TOKEN_URL = "/api/v1/auth/token"


@pytest.fixture
def client(engine, town):
    with TestClient(create_app(engine)) as c:
        yield c


def token_for(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post(TOKEN_URL, data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_account_locks_after_repeated_failures_even_for_the_right_password(client, engine):
    for _ in range(ACCOUNT_FAILURES):
        wrong = client.post(TOKEN_URL, data={"username": "mediator", "password": "guess-123"})
        assert wrong.status_code == 401
        assert wrong.json()["error"]["message"] == "用户名或密码错误"
    locked = client.post(TOKEN_URL, data={"username": "mediator", "password": PASSWORD})
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "too_many_attempts"
    assert "登录失败次数过多" in locked.json()["error"]["message"]
    assert 0 < int(locked.headers["Retry-After"]) <= WINDOW.total_seconds()
    # Another account from the same address is not locked by it.
    assert client.post(TOKEN_URL, data={"username": "supervisor", "password": PASSWORD}).status_code == 200
    with engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(LoginAttempt.__table__)).scalar()
    assert rows == ACCOUNT_FAILURES + 1  # the locked try never reached the password check


def test_lock_expires_after_the_window_and_success_resets_the_count(engine, town):
    now = clock.utcnow()
    for _ in range(ACCOUNT_FAILURES - 1):
        with pytest.raises(AuthenticationFailed):
            sign_in(engine, username="admin", password="nope-1234", address="10.0.0.1", now=now)
    sign_in(engine, username="admin", password=PASSWORD, address="10.0.0.1", now=now)
    for _ in range(ACCOUNT_FAILURES - 1):  # the success above reset the account's count
        with pytest.raises(AuthenticationFailed):
            sign_in(engine, username="admin", password="nope-1234", address="10.0.0.1", now=now)
    with pytest.raises(AuthenticationFailed):
        sign_in(engine, username="admin", password="nope-1234", address="10.0.0.1", now=now)
    with pytest.raises(TooManyAttempts):
        sign_in(engine, username="admin", password=PASSWORD, address="10.0.0.1", now=now + WINDOW / 2)
    actor = sign_in(engine, username="admin", password=PASSWORD, address="10.0.0.1", now=now + WINDOW)
    assert actor.username == "admin"


def test_an_address_spraying_many_usernames_is_locked(engine, town):
    now = clock.utcnow()
    for index in range(ADDRESS_FAILURES):
        with pytest.raises(AuthenticationFailed):
            sign_in(engine, username=f"nobody{index}", password="spray-2024", address="203.0.113.9", now=now)
    with pytest.raises(TooManyAttempts) as locked:
        sign_in(engine, username="supervisor", password=PASSWORD, address="203.0.113.9", now=now)
    assert "当前网络地址" in locked.value.message
    # The same account from another address still gets in.
    assert sign_in(engine, username="supervisor", password=PASSWORD, address="198.51.100.7", now=now).id


def test_tampered_forged_and_expired_tokens_are_refused(client, town, monkeypatch):
    good = token_for(client, "supervisor")
    assert client.get("/api/v1/cases", headers=good).status_code == 200
    raw = good["Authorization"].removeprefix("Bearer ")
    refused = [
        "Bearer " + raw[:-2] + ("AA" if not raw.endswith("AA") else "BB"),  # tampered signature
        "Bearer " + issue_token(town["admin"].id) + "x",
        "Bearer not-a-token",
        "Basic " + raw,
    ]
    for header in refused:
        response = client.get("/api/v1/cases", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.json()["error"]["code"] == "authentication_failed"
    old = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: old(self) - 9 * 3600)
    expired = issue_token(town["supervisor"].id)
    monkeypatch.undo()
    response = client.get("/api/v1/cases", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401
    assert "已过期" in response.json()["error"]["message"]


def test_password_change_ends_old_tokens_and_counts_wrong_guesses(client, engine):
    headers = token_for(client, "village_mediator")
    url = "/api/v1/account/password"
    weak = client.post(url, json={"current_password": PASSWORD, "new_password": "short"}, headers=headers)
    assert weak.status_code == 422
    assert weak.json()["error"]["errors"][0]["field"] == "password"
    same = client.post(url, json={"current_password": PASSWORD, "new_password": PASSWORD}, headers=headers)
    assert same.json()["error"]["errors"][0]["field"] == "new_password"
    wrong = client.post(url, json={"current_password": "wrong-pass-1", "new_password": "new-pass-99"}, headers=headers)
    assert wrong.status_code == 422
    assert wrong.json()["error"]["errors"] == [{"field": "current_password", "message": "当前密码不正确"}]
    ok = client.post(url, json={"current_password": PASSWORD, "new_password": "new-pass-99"}, headers=headers)
    assert ok.status_code == 200, ok.text
    assert client.get("/api/v1/account", headers=headers).status_code == 401  # the old token is dead
    assert client.post(TOKEN_URL, data={"username": "village_mediator", "password": PASSWORD}).status_code == 401
    fresh = token_for(client, "village_mediator", "new-pass-99")
    assert client.get("/api/v1/account", headers=fresh).json()["username"] == "village_mediator"
    for _ in range(ACCOUNT_FAILURES):  # guessing through the change form locks the account too
        client.post(url, json={"current_password": "guess-0000", "new_password": "new-pass-77"}, headers=fresh)
    assert client.post(TOKEN_URL, data={"username": "village_mediator", "password": "new-pass-99"}).status_code == 429


def _cli(data_dir: Path, *args: str, stdin: str = "", timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MEDIATION_FLOW_DATA_DIR": str(data_dir), "MEDIATION_FLOW_DATABASE_URL": ""}
    return subprocess.run(
        [sys.executable, "-m", "mediation_flow.cli", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _run_once(data_dir: Path) -> str:
    """`mediation-flow run` until it serves, then stop it; its output."""
    port = free_port()
    env = {**os.environ, "MEDIATION_FLOW_DATA_DIR": str(data_dir), "MEDIATION_FLOW_DATABASE_URL": ""}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mediation_flow.cli", "run", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until_serving(f"http://127.0.0.1:{port}", proc)
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0]
    return output


def _usernames(data_dir: Path) -> list[str]:
    engine = make_engine(f"sqlite:///{data_dir}/mediation_flow.db")
    with engine.connect() as conn:
        names = sorted(conn.execute(select(User.__table__.c.username)).scalars())
    engine.dispose()
    return names


def test_run_never_loads_demo_passwords_into_an_existing_database(tmp_path):
    assert _cli(tmp_path, "db", "upgrade").returncode == 0
    output = _run_once(tmp_path)  # a migrated database without users must not get the demo accounts
    assert "使用已有数据库" in output
    assert "请用 mediation-flow users add 添加" in output
    assert _usernames(tmp_path) == []
    added = _cli(tmp_path, "users", "add", "admin", "--role", "admin", stdin="admin-demo2023\n")
    assert added.returncode == 0, added.stderr
    output = _run_once(tmp_path)
    assert "警告：以下账号仍使用演示默认密码，请立即修改：admin" in output
    assert _usernames(tmp_path) == ["admin"]


def test_login_page_is_throttled_too(client):
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    for _ in range(ACCOUNT_FAILURES):
        wrong = client.post("/login", data={"username": "liaison", "password": "guess-1234", "csrf_token": token})
        assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
    locked = client.post("/login", data={"username": "liaison", "password": PASSWORD, "csrf_token": token})
    assert locked.status_code == 429 and "登录失败次数过多" in locked.text
    api = client.post(TOKEN_URL, data={"username": "liaison", "password": PASSWORD})  # one lock for both doors
    assert api.status_code == 429
