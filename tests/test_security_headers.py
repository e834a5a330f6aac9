"""Web hardening attacked: headers on every route, request ids that cannot be forged into the log,
logs that never carry an ID number or a phone number, and health/readiness probes that tell the truth."""

from __future__ import annotations

import io
import json
import logging

import pytest
from factories import PASSWORD
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from starlette.routing import Route

from mediation_flow.store.db import make_engine
from mediation_flow.store.migrate import upgrade
from web.app import create_app
from web.middleware import JsonFormatter

HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


@pytest.fixture
def app(sqlite_engine):
    from factories import make_town

    make_town(sqlite_engine)
    return create_app(sqlite_engine)


def _get_paths(app) -> list[str]:
    paths = []
    for context in iter_route_contexts(app.routes):
        if isinstance(context.route, Route) and "GET" in (context.methods or ()):
            path = context.path.replace("{case_id}", "1").replace("{name}", "people_mediation")
            paths.append(path.replace("{region}", "state").replace("{trigger}", "accept"))
    return paths


def test_every_get_route_sends_the_security_headers_and_a_strict_csp(app):
    with TestClient(app, follow_redirects=False) as client:
        token = client.post("/api/v1/auth/token", data={"username": "supervisor", "password": PASSWORD})
        auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
        paths = [*_get_paths(app), "/no-such-page", "/api/v1/no-such-thing"]
        assert len(paths) > 5
        for path in paths:
            for headers in ({}, auth):
                response = client.get(path, headers=headers)
                assert response.status_code < 500, (path, response.status_code)
                for name, value in HEADERS.items():
                    assert response.headers.get(name) == value, (path, name)
                csp = response.headers["content-security-policy"]
                if path not in ("/docs", "/redoc"):
                    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
                    assert directives["script-src"] == "'self'", path
                    assert directives["object-src"] == "'none'"
                    assert directives["frame-ancestors"] == "'none'"
                    assert "unsafe-inline" not in directives["script-src"]
                    assert "unsafe-eval" not in csp
                assert len(response.headers["x-request-id"]) >= 16


def test_request_id_is_echoed_when_sane_and_replaced_when_hostile(app):
    with TestClient(app) as client:
        assert client.get("/healthz", headers={"X-Request-ID": "abc-123.x_y"}).headers["x-request-id"] == "abc-123.x_y"
        for hostile in ("a" * 65, "<script>alert(1)</script>", "id with spaces", '"}{"level":"critical'):
            rid = client.get("/healthz", headers={"X-Request-ID": hostile}).headers["x-request-id"]
            assert rid != hostile
            assert len(rid) == 32 and rid.isalnum()
        first = client.get("/healthz").headers["x-request-id"]
        assert first != client.get("/healthz").headers["x-request-id"]


def test_access_log_is_json_with_request_id_and_masks_personal_data(app):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("mediation_flow")
    logger.addHandler(handler)
    try:
        with TestClient(app) as client:
            client.get("/api/v1/cases?q=11010519491231002X&phone=13812345678", headers={"X-Request-ID": "req-42"})
            logging.getLogger("mediation_flow.web").warning("对方电话13812345678，身份证11010519491231002X")
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = [e for e in lines if e["logger"] == "mediation_flow.access"]
    assert access and access[-1]["request_id"] == "req-42"
    assert access[-1]["status"] == 401 and access[-1]["method"] == "GET"
    text = stream.getvalue()
    assert "11010519491231002X" not in text and "13812345678" not in text
    assert "1101**********002X" in text and "138****5678" in text
    assert {"ts", "level", "logger", "msg", "request_id"} <= set(lines[-1])


def test_healthz_and_readyz(app, tmp_path):
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "ready"
        app.state.engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
        down = client.get("/readyz")
        assert down.status_code == 503 and down.json()["database"] == "unreachable"
    behind = make_engine(f"sqlite:///{tmp_path}/old.db")
    upgrade(behind, revision="0001")
    with TestClient(create_app(behind)) as client:
        stale = client.get("/readyz")
        assert stale.status_code == 503
        assert stale.json()["migrations"].startswith("at 0001")
    behind.dispose()


def test_even_an_unexpected_500_carries_the_headers_and_a_request_id(app):
    def boom() -> None:
        raise RuntimeError("身份证11010519491231002X 出错")

    app.add_api_route("/api/v1/boom-for-test", boom)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/v1/boom-for-test", headers={"X-Request-ID": "crash-1"})
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "11010519491231002X" not in response.text
    assert response.headers["x-request-id"] == "crash-1"
    assert (
        response.headers["x-frame-options"] == "DENY"
        and "script-src 'self'" in response.headers["content-security-policy"]
    )
