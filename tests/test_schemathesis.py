"""Bad input at scale: schemathesis reads the OpenAPI schema a live server publishes (``mediation-flow serve
--workers 2``, as the README's production set-up runs it) and sends it generated requests, valid and invalid
ones, over HTTP with a real token — on SQLite and on a live PostgreSQL server (which refuses what SQLite
stores, a NUL byte). No response may be a 5xx, use an undocumented status, or break its documented schema.

Bounded: ``MAX_EXAMPLES`` per operation and generation mode (a few minutes at most). Each operation runs
as its own Hypothesis test, so a failure names the operation and the shrunk request."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from factories import PASSWORD, make_town, register
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from server_harness import Server

MAX_EXAMPLES = 40
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
RUN = {"requests": 0}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api(request, tmp_path_factory) -> Iterator[tuple[Server, dict[str, str]]]:
    """A live server (two workers) on a database of each back end, and a supervisor's token."""
    from mediation_flow.store.db import make_engine
    from mediation_flow.store.migrate import upgrade

    folder = tmp_path_factory.mktemp("st")
    RUN["requests"] = 0
    if request.param == "sqlite":
        url = f"sqlite:///{folder}/schemathesis.db"
    else:
        url = request.getfixturevalue("pg_cluster").create_database(f"st_{uuid.uuid4().hex[:12]}")
    engine = make_engine(url)
    upgrade(engine)
    town = make_town(engine)
    for _ in range(3):
        register(engine, town, "grid_worker")
    with Server(url, folder, workers=2) as server:
        token = httpx.post(
            f"{server.base_url}/api/v1/auth/token", data={"username": "supervisor", "password": PASSWORD}
        )
        assert token.status_code == 200, token.text
        yield server, {"Authorization": f"Bearer {token.json()['access_token']}"}
    print(f"\nschemathesis ({request.param}, live server): {RUN['requests']} generated requests")
    engine.dispose()


def _operations(server: Server) -> list[object]:
    schema = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_api_never_fails_or_breaks_its_schema(api, mode):
    server, headers = api
    operations = _operations(server)
    assert len(operations) >= 10
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case: schemathesis.Case) -> None:
            RUN["requests"] += 1
            case.call_and_validate(base_url=server.base_url, headers={**headers, **(case.headers or {})}, checks=CHECKS)

        try:
            run()
        except Unsatisfiable:  # no parameters and no body: there is no invalid request to make
            assert mode == GenerationMode.NEGATIVE
