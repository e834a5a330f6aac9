"""更正 of a case pinned to a workflow version written before 更正 existed (the e98d0b6 files, recorded in every
database migrated since): the registry compiles every version with the newest definition's ``correct``
(``workflow.record_steps``), so the supervisor corrects it over the API and on the page like any other case, and
replay and ``check`` stay exact (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from factories import Town, drive, register
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from test_corrections__web import _token
from test_web_pages import app, data_dir, signed_in, version_of  # noqa: F401 - the page fixtures

from mediation_flow.cases.checks import check_all
from mediation_flow.store.db import write_transaction
from mediation_flow.store.tables import CASES, EVENTS, WORKFLOW_VERSIONS
from mediation_flow.workflow.registry import REGISTRY, WorkflowFileError, parse_workflow, workflows_dir

OLD = Path(__file__).resolve().parent / "fixtures" / "workflows_e98d0b6"


@pytest.fixture
def old_case(engine: Engine, town: Town) -> Iterator[int]:
    """A case registered (and accepted) while the e98d0b6 files were the current ones; today's files are current
    again when the test runs."""
    try:
        with write_transaction(engine) as conn:
            old = REGISTRY.sync(conn, OLD)["people_mediation"]
        case_id = register(engine, town)
        drive(engine, case_id, town["supervisor"], [("assign", {"mediator_id": town["mediator"].id})])
        drive(engine, case_id, town["mediator"], [("accept", {"rights_notified": True})], version=2)
    finally:
        with write_transaction(engine) as conn:
            REGISTRY.sync(conn)
    with engine.connect() as conn:
        pinned = conn.execute(select(CASES.c.workflow_version).where(CASES.c.id == case_id)).scalar()
        definition = conn.execute(
            select(WORKFLOW_VERSIONS.c.definition).where(
                WORKFLOW_VERSIONS.c.name == "people_mediation", WORKFLOW_VERSIONS.c.version == pinned
            )
        ).scalar()
    assert pinned == old
    assert "correct" not in {t["trigger"] for t in definition["transitions"]}  # as recorded: no 更正
    yield case_id


def test_the_api_corrects_a_case_of_an_old_version(app: Any, town: Town, engine: Engine, old_case: int) -> None:  # noqa: F811
    client = TestClient(app)
    url = f"/api/v1/cases/{old_case}/corrections"
    body = {"expected_version": 3, "what": "title", "value": "张三与李四通道纠纷", "reason": "与纸质台账核对"}
    assert client.post(url, json=body, headers=_token(client, "mediator")).status_code == 403
    supervisor = _token(client, "supervisor")
    done = client.post(url, json=body, headers=supervisor)
    assert done.status_code == 200, done.text
    assert (done.json()["version"], done.json()["title"]) == (4, "张三与李四通道纠纷")
    assign = {"expected_version": 4, "what": "event_time", "event": 2, "value": "2000-01-01", "reason": "时间记错"}
    refused = client.post(url, json=assign, headers=supervisor)
    assert refused.status_code == 422 and "不能早于前一步的办理时间" in refused.json()["error"]["message"]
    with engine.connect() as conn:
        events = conn.execute(select(EVENTS.c.seq, EVENTS.c.trigger).where(EVENTS.c.case_id == old_case)).all()
    assert [tuple(e) for e in events] == [(1, "register"), (2, "assign"), (3, "accept"), (4, "correct")]
    assert check_all(engine)[1] == []  # replay over the old version, the correction included


def test_the_page_corrects_a_case_of_an_old_version(signed_in: Any, engine: Engine, old_case: int) -> None:  # noqa: F811
    supervisor = signed_in("supervisor")
    assert 'data-trigger="correct"' in supervisor.get(f"/cases/{old_case}").text
    form = supervisor.get(f"/cases/{old_case}/do/correct", **{"HX-Request": "true"})
    assert form.status_code == 200 and "更正理由" in form.text
    done = supervisor.post(
        f"/cases/{old_case}/do/correct",
        {"expected_version": "3", "what": "category", "value": "婚姻家庭", "reason": "核对台账"},
        htmx=True,
    )
    assert done.status_code == 200 and "已完成：更正" in done.text, done.text[:300]
    page = supervisor.get(f"/cases/{old_case}").text
    assert "原为" in page and "婚姻家庭" in page and "核对台账" in page
    assert version_of(engine, old_case) == 4
    assert check_all(engine)[1] == []


def test_a_file_whose_correction_would_move_the_case_is_refused() -> None:
    """Replay stays exact only because 更正 keeps the state and leaves every state: a file saying otherwise is
    refused at load, naming the transition."""
    raw = yaml.safe_load((workflows_dir() / "people_mediation.yaml").read_text("utf-8"))
    (correct,) = (t for t in raw["transitions"] if t["trigger"] == "correct")
    correct["dest"] = "closed"
    with pytest.raises(WorkflowFileError) as refused:
        parse_workflow(raw, path="people_mediation.yaml")
    assert "source '*' and dest null" in str(refused.value) and refused.value.field.startswith("transitions.")
