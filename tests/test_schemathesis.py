"""Bad input at scale: schemathesis generates requests from the app's own OpenAPI schema (valid and
invalid ones) and sends them with a real token to the real app on a real database — SQLite and a live
PostgreSQL server. No response may be
a 5xx, use an undocumented status, or break its documented schema.

Bounded: ``MAX_EXAMPLES`` per operation and generation mode (a few minutes at most). Each operation runs
as its own Hypothesis test, so a failure names the operation and the shrunk request."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import schemathesis
from factories import PASSWORD, make_town, register
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from web.app import create_app

MAX_EXAMPLES = 40
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
RUN = {"requests": 0}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api(request, tmp_path_factory) -> Iterator[tuple[object, dict[str, str]]]:
    """The app on a live database of each back end: PostgreSQL refuses what SQLite stores (a NUL byte)."""
    from mediation_flow.store.db import make_engine
    from mediation_flow.store.migrate import upgrade

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('st')}/schemathesis.db"
    else:
        url = request.getfixturevalue("pg_cluster").create_database(f"st_{uuid.uuid4().hex[:12]}")
    engine = make_engine(url)
    upgrade(engine)
    town = make_town(engine)
    for _ in range(3):
        register(engine, town, "grid_worker")
    app = create_app(engine)
    with TestClient(app) as client:
        token = client.post("/api/v1/auth/token", data={"username": "supervisor", "password": PASSWORD})
        assert token.status_code == 200
    yield app, {"Authorization": f"Bearer {token.json()['access_token']}"}
    print(f"\nschemathesis: {RUN['requests']} generated requests")
    engine.dispose()


def _operations(app: object) -> list[object]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_api_never_fails_or_breaks_its_schema(api, mode):
    app, headers = api
    operations = _operations(app)
    assert len(operations) >= 10
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case: schemathesis.Case) -> None:
            RUN["requests"] += 1
            case.call_and_validate(headers={**headers, **(case.headers or {})}, checks=CHECKS)

        try:
            run()
        except Unsatisfiable:  # no parameters and no body: there is no invalid request to make
            assert mode == GenerationMode.NEGATIVE
