"""One read connection per page request (``store.reads``, issue 15), on SQLite and PostgreSQL: a page signs in on
one checkout and reads with its header on one more, never two at once; the header's count is the one read on its
own; a read after a write in the same request sees the write; a small pool serves concurrent pages and writes
without waiting out its timeout and gets every connection back; an idle pooled connection the server closed is
replaced at checkout (without the pre-ping's round trip); on PostgreSQL a read block opens no transaction (no BEGIN,
no ROLLBACK) and the next writer on the same pooled connection still writes all or nothing."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from factories import PASSWORD, Town, drive, make_town, register
from fastapi import Response
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.exc import DBAPIError
from test_web_pages import Browser, data_dir  # noqa: F401 - each test its own data folder (autouse)

from mediation_flow.cases.notices import header_unread
from mediation_flow.store.db import SERVER_LOG, make_engine, write_transaction
from mediation_flow.store.fast import driver_transaction
from mediation_flow.store.migrate import upgrade
from mediation_flow.store.reads import (
    begin_request,
    end_request,
    in_transaction,
    reads,
    release_reads,
    share_reads,
    single_read,
)
from mediation_flow.store.tables import CASES
from mediation_flow.store.unchanged import data_token
from web.app import create_app
from web.deps import EngineDep
from web.pages.common import PageActor


class Checkouts:
    """Pool checkouts of an engine, and the most connections checked out at once."""

    def __init__(self, engine: Engine) -> None:
        self.lock = threading.Lock()
        self.count = self.now = self.most = 0
        event.listen(engine, "checkout", self._out)
        event.listen(engine, "checkin", self._in)

    def _out(self, *_args: Any) -> None:
        with self.lock:
            self.count += 1
            self.now += 1
            self.most = max(self.most, self.now)

    def _in(self, *_args: Any) -> None:
        with self.lock:
            self.now -= 1

    def reset(self) -> None:
        with self.lock:
            self.count, self.most = 0, self.now


def _unread_shown(html: str) -> int:
    marker = 'data-unread="'
    start = html.index(marker) + len(marker)
    return int(html[start : html.index('"', start)])


def test_a_page_signs_in_on_one_checkout_and_reads_with_its_header_on_one_more(engine: Engine, town: Town) -> None:
    case_id = register(engine, town, "supervisor")
    browser = Browser(create_app(engine))
    assert browser.login("supervisor").status_code == 303
    checkouts = Checkouts(engine)
    pages = [f"/cases/{case_id}", "/queue", "/notices", "/cases", "/dashboard", f"/cases/{case_id}/do/add_note"]
    for url in pages:
        browser.get(url)  # warm: the dashboard's first view counts its kept figures (writes)
        checkouts.reset()
        response = browser.get(url)
        assert response.status_code == 200, url
        assert 'data-unread="' in response.text, url  # a full page, with its header
        # the sign-in check, then the page and its header on one connection, never two at a time
        assert (checkouts.count, checkouts.most) == (2, 1), url
        assert checkouts.now == 0, url
    checkouts.reset()
    missing = browser.get("/cases/99999999")  # an error page has the header too, on the same connection
    assert missing.status_code == 404 and 'data-unread="' in missing.text
    assert (checkouts.count, checkouts.most, checkouts.now) == (2, 1, 0)
    checkouts.reset()
    printout = browser.get(f"/cases/{case_id}/print/registration.docx")  # no render: the middleware gives it back
    assert printout.status_code == 200 and printout.content[:2] == b"PK"
    assert (checkouts.most, checkouts.now) == (1, 0)  # its access-log row is written on a checkout of its own


def test_the_api_keeps_a_connection_per_read_and_returns_each(engine: Engine, town: Town) -> None:
    case_id = register(engine, town, "supervisor")
    client = TestClient(create_app(engine))
    token = client.post("/api/v1/auth/token", data={"username": "supervisor", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    checkouts = Checkouts(engine)
    for url in (f"/api/v1/cases/{case_id}", "/api/v1/queues/overdue"):
        checkouts.reset()
        assert client.get(url, headers=headers).status_code == 200, url
        assert checkouts.most == 1 and checkouts.now == 0, url


def test_the_header_shows_the_count_read_on_its_own(engine: Engine, town: Town) -> None:
    app = create_app(engine)
    for role in ("supervisor", "mediator", "grid_worker", "admin"):
        browser = Browser(app)
        assert browser.login(role).status_code == 303
        home = browser.client.get("/", follow_redirects=True)
        assert _unread_shown(home.text) == header_unread(engine, town[role]), role
    case_id = register(engine, town, "grid_worker", title="新登记的纠纷")
    browser = Browser(app)
    assert browser.login("mediator").status_code == 303
    before = _unread_shown(browser.get("/cases").text)
    drive(engine, case_id, town["supervisor"], [("assign", {"mediator_id": town["mediator"].id})])  # news for them
    after = _unread_shown(browser.get("/cases").text)
    assert after == header_unread(engine, town["mediator"]) and after == before + 1


def _count(engine: Engine) -> int:
    with reads(engine) as conn:
        return int(conn.execute(select(func.count()).select_from(CASES)).scalar_one())


def test_a_read_after_a_write_in_the_same_request_sees_the_write(engine: Engine, town: Town) -> None:
    request, token = begin_request()
    try:
        share_reads()
        first = _count(engine)
        held = request.connection
        assert held is not None and _count(engine) == first and request.connection is held  # one connection
        register(engine, town)  # the write path's own transaction
        assert _count(engine) == first + 1  # SQLite: not the snapshot of the first read
        with reads(engine) as conn:  # a write inside a read block (as the dashboard's kept sums)
            inside = conn.execute(select(func.count()).select_from(CASES)).scalar_one()
            register(engine, town)
            assert conn.execute(text("select 1")).scalar_one() == 1  # the block keeps its connection
        assert inside == first + 1
        assert _count(engine) == first + 2
        release_reads()
        assert not request.held()
    finally:
        request.release()
        end_request(token)


def test_a_failed_statement_does_not_fail_the_requests_next_read(engine: Engine, town: Town) -> None:
    request, token = begin_request()
    try:
        share_reads()
        before = _count(engine)
        with pytest.raises(DBAPIError), reads(engine) as conn:
            conn.execute(text("select * from no_such_table"))
        assert not request.held()
        assert _count(engine) == before
    finally:
        request.release()
        end_request(token)


@pytest.fixture
def small_pool(db_url: str) -> Iterator[Engine]:
    """Two pooled connections, no overflow, a 10 s wait at most: a request that held one while waiting for another
    would run into the timeout under the concurrent load below."""
    engine = make_engine(db_url, pool_size=1, max_overflow=1, pool_timeout=10)
    upgrade(engine)
    yield engine
    engine.dispose()


def test_a_small_pool_serves_concurrent_pages_and_writes_and_gets_every_connection_back(small_pool: Engine) -> None:
    town = make_town(small_pool)
    app = create_app(small_pool)
    case_ids = [register(small_pool, town, "supervisor", title=f"第{i}号") for i in range(4)]
    browsers = []
    for _ in case_ids:
        browser = Browser(app)
        assert browser.login("supervisor").status_code == 303
        browsers.append(browser)

    def work(index: int) -> list[int]:
        browser, case_id = browsers[index], case_ids[index]
        statuses = []
        for version in range(1, 4):
            statuses.append(browser.get(f"/cases/{case_id}").status_code)
            page = browser.get(f"/cases/{case_id}/do/add_note", **{"HX-Request": "true"})
            statuses.append(page.status_code)
            note = {"expected_version": str(version), "text": f"第{version}次记录"}
            done = browser.post(f"/cases/{case_id}/do/add_note", note, htmx=True)
            statuses.append(done.status_code)
            assert f"第{version}次记录" in done.text  # the fresh case read after the write shows it
            statuses.append(browser.get("/queue").status_code)
            statuses.append(browser.get("/notices").status_code)
        return statuses

    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(work, range(len(case_ids))))
    assert all(status == 200 for statuses in results for status in statuses), results
    assert time.monotonic() - started < 60
    assert small_pool.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_an_idle_pooled_connection_the_server_closed_is_replaced_at_checkout(pg_engine: Engine) -> None:
    engine = pg_engine
    first, second = engine.connect(), engine.connect()  # two connections in the pool
    pid = first.execute(text("select pg_backend_pid()")).scalar_one()
    first.close()
    assert second.execute(text("select pg_terminate_backend(:p)"), {"p": pid}).scalar_one()
    for _ in range(100):
        second.commit()  # pg_stat_activity is read once per transaction
        if not second.execute(text("select count(*) from pg_stat_activity where pid = :p"), {"p": pid}).scalar():
            break
        time.sleep(0.05)
    second.close()
    time.sleep(0.1)
    for _ in range(3):  # whichever pooled connection comes out first, every read succeeds
        with engine.connect() as conn:
            assert conn.execute(text("select pg_backend_pid()")).scalar_one() != pid


def test_a_read_block_on_postgresql_opens_no_transaction_and_its_connection_writes_whole_afterwards(
    pg_engine: Engine,
) -> None:
    """Seen from the server: between two statements of a read block the backend is ``idle``, not ``idle in
    transaction`` (no BEGIN was sent, so no ROLLBACK is owed). Back in the pool, the same connection is in
    transactions again: a write that fails half-way leaves nothing."""
    engine, town = pg_engine, make_town(pg_engine)
    register(engine, town)
    watching = make_engine(engine.url.render_as_string(hide_password=False))  # a pool of its own
    with watching.connect() as watcher:
        watcher.execution_options(isolation_level="AUTOCOMMIT")
        with reads(engine) as conn:
            pid = conn.execute(text("select pg_backend_pid()")).scalar_one()
            conn.execute(select(func.count()).select_from(CASES)).scalar_one()
            state = watcher.execute(text("select state from pg_stat_activity where pid = :p"), {"p": pid}).scalar()
        assert state == "idle"
    watching.dispose()
    case_id = register(engine, town)
    with pytest.raises(DBAPIError), write_transaction(engine) as conn:
        assert conn.execute(text("select pg_backend_pid()")).scalar_one() == pid  # the pool's last one back
        conn.execute(CASES.update().where(CASES.c.id == case_id).values(version=CASES.c.version + 100))
        conn.execute(text("select 1 / 0"))
    with engine.connect() as conn:
        assert conn.execute(select(CASES.c.version).where(CASES.c.id == case_id)).scalar_one() < 100


def test_what_needs_a_transaction_on_a_read_connection_gets_one_and_the_server_warnings_are_heard(
    pg_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """``SET LOCAL`` holds inside ``in_transaction`` until its end, a server-side cursor streams there, and the
    connection is in autocommit again after; outside it the server ignores ``SET LOCAL`` with a WARNING, which the
    engine logs (the net of conftest's ``no_postgresql_warning``)."""
    register(pg_engine, make_town(pg_engine))
    with reads(pg_engine) as conn:
        with in_transaction(conn):
            conn.exec_driver_sql("SET LOCAL jit = off")
            assert conn.exec_driver_sql("SHOW jit").scalar_one() == "off"
            streamed = conn.execute(select(CASES.c.id), execution_options={"yield_per": 1}).all()
        assert len(streamed) == 1
        assert conn.exec_driver_sql("SHOW jit").scalar_one() == "on"
        assert conn.connection.dbapi_connection.autocommit
        with caplog.at_level(logging.WARNING, logger=SERVER_LOG.name):
            conn.exec_driver_sql("SET LOCAL jit = off")
    assert [r.getMessage() for r in caplog.records] == ["PostgreSQL: SET LOCAL can only be used in transaction blocks"]
    for handler in SERVER_LOG.handlers:  # heard as it should be: not this test's failure
        getattr(handler, "messages", []).clear()


def test_a_request_reads_the_data_token_once_with_its_sign_in_and_a_new_one_after_a_write(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: every kept answer of a request (a page's and its header's count, an API list's, the reference book)
    takes the token (or stamp) read in the sign-in check's own statement, so the list and the overdue queue of the
    API are ONE statement each;
    a write in the request forgets it, so what is kept after the write is kept under a token read after it."""
    engine, town = pg_engine, make_town(pg_engine)
    case_id = register(engine, town, "supervisor")
    app = create_app(engine)
    browser = Browser(app)
    assert browser.login("supervisor").status_code == 303
    api = TestClient(app)
    token = api.post("/api/v1/auth/token", data={"username": "supervisor", "password": PASSWORD}).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    sent: list[str] = []
    execute = psycopg.Cursor.execute

    def counted(cursor: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(str(query))
        return execute(cursor, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", counted)
    urls = ["/queue", "/dashboard", f"/cases/{case_id}", "/api/v1/cases?state=registered", "/api/v1/queues/overdue"]
    for url in [*urls, f"/api/v1/cases/{case_id}"]:
        get = api.get if url.startswith("/api/") else browser.get
        kwargs = {"headers": headers} if url.startswith("/api/") else {}
        get(url, **kwargs)
        for _ in range(3):  # a commit elsewhere in the cluster (autovacuum) ends kept answers: a few tries
            sent.clear()
            assert get(url, **kwargs).status_code == 200, url
            if url not in urls[3:] or len(sent) == 1:
                break
        tokens = [sql for sql in sent if "pg_current_snapshot" in sql]
        assert len(tokens) == 1 and "user_session" in tokens[0], (url, sent)
        assert not any("change_stamp" in sql for sql in sent[1:]), (url, sent)  # the reference stamp came with it
        if url in urls[3:]:
            assert len(sent) == 1, (url, sent)
    request, reset = begin_request()
    try:
        share_reads()
        with reads(engine) as conn:
            first = data_token(conn)
            assert data_token(conn) is first
        register(engine, town)
        with reads(engine) as conn:
            after = data_token(conn)
        assert after != first
        with single_read(engine) as conn:  # another read connection of the request: the same token
            assert data_token(conn) is after
        with write_transaction(engine) as conn:  # a write transaction's token is its own, with its id
            conn.execute(CASES.update().where(CASES.c.id == case_id).values(version=CASES.c.version))
            assert data_token(conn)[1][1] is not None
    finally:
        request.release()
        end_request(reset)


def test_the_engine_reads_and_writes_at_read_committed_whatever_the_servers_default(pg_engine: Engine) -> None:
    """What the read connections' autocommit and the write path's version checks rest on (store.db)."""
    url = pg_engine.url.render_as_string(hide_password=False)
    with pg_engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.exec_driver_sql(
            f"ALTER DATABASE {pg_engine.url.database} SET default_transaction_isolation = 'serializable'"
        )
    engine = make_engine(url)
    try:
        with write_transaction(engine) as conn:
            assert conn.exec_driver_sql("SHOW transaction_isolation").scalar_one() == "read committed"
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW transaction_isolation").scalar_one() == "read committed"
        with driver_transaction(engine) as tx:  # the kept writer connection of the engine's step
            tx.cursor.execute("SHOW transaction_isolation")
            assert tx.cursor.fetchone()[0] == "read committed"
    finally:
        engine.dispose()


def test_a_page_that_does_not_render_or_fails_gives_its_connection_back(engine: Engine, town: Town) -> None:
    """A page route that answers without ``render`` (a file, JSON) or fails after reading: the middleware returns
    the shared connection when the answer starts, or when the request ends."""
    app = create_app(engine)

    @app.get("/test/plain")
    def plain(engine: EngineDep, actor: PageActor) -> Response:
        return Response(str(header_unread(engine, actor)), media_type="text/plain")

    @app.get("/test/fails")
    def fails(engine: EngineDep, actor: PageActor) -> Response:
        header_unread(engine, actor)
        raise RuntimeError("after a read")

    browser = Browser(app)
    browser.client = TestClient(app, follow_redirects=False, raise_server_exceptions=False, cookies=None)
    browser.csrf = browser.client.get("/login").text.split('name="csrf-token" content="')[1].split('"')[0]
    assert browser.login("supervisor").status_code == 303
    checkouts = Checkouts(engine)
    answer = browser.get("/test/plain")
    assert answer.status_code == 200 and int(answer.text) == header_unread(engine, town["supervisor"])
    assert checkouts.now == 0
    checkouts.reset()
    assert browser.get("/test/fails").status_code == 500
    assert (checkouts.count, checkouts.most, checkouts.now) == (2, 1, 0)
