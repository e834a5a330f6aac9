"""The referral files now extend people_mediation; their resolved definitions are the files as they were
written out in full at e98d0b6 (saved in tests/fixtures/workflows_e98d0b6), so every recorded version
keeps its hash and no case changes version."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from mediation_flow.store.db import write_transaction
from mediation_flow.store.models import WorkflowVersion
from mediation_flow.workflow.registry import REGISTRY, content_hash, load_workflow_file, workflows_dir

OLD = Path(__file__).resolve().parent / "fixtures" / "workflows_e98d0b6"
# content_hash of each file at e98d0b6, as recorded in every database migrated since.
OLD_HASHES = {
    "people_mediation": "f6aa779c259e07d4fb3e5c785ff08b06217ded14cf4a9b56fd252660876642ea",
    "police_referral": "c3a5ed00205accfece1a9e17b8568269fd260b906c95c38a84d3eb7c3265d5b4",
    "petition_referral": "a34126196b411c72b82ec0ed0435dd0087ccc11bdc788973bcad0976d71b2e43",
    "court_referral": "1a9a727e7181a6c28f5e29fec9e4bb6d02f798ee5110519f142e7b582ff4f61c",
}
REFERRALS = ("police_referral", "petition_referral", "court_referral")


@pytest.mark.parametrize("name", sorted(OLD_HASHES))
def test_resolved_definition_is_the_old_file(name):
    old = yaml.safe_load((OLD / f"{name}.yaml").read_text("utf-8"))
    loaded = load_workflow_file(workflows_dir() / f"{name}.yaml")
    assert loaded.definition == old
    # the order a page lists states, clocks and transitions in is kept too
    assert list(loaded.definition["states"]) == list(old["states"])
    assert list(loaded.definition["clocks"]) == list(old["clocks"])
    assert content_hash(old) == OLD_HASHES[name]
    assert content_hash(loaded.definition) == OLD_HASHES[name]
    assert "extends" not in loaded.definition


@pytest.mark.parametrize("name", REFERRALS)
def test_referral_files_extend_the_base_and_are_a_third_of_their_old_length(name):
    loaded = load_workflow_file(workflows_dir() / f"{name}.yaml")
    assert loaded.extends == "people_mediation"
    new_lines = len((workflows_dir() / f"{name}.yaml").read_text("utf-8").splitlines())
    old_lines = len((OLD / f"{name}.yaml").read_text("utf-8").splitlines())
    assert new_lines * 3 <= old_lines, (new_lines, old_lines)


def test_a_database_that_recorded_the_old_files_keeps_its_versions(engine):
    """Migrated with the new files, then synced with the old ones (and back): one version each, old hashes."""
    table = WorkflowVersion.__table__
    try:
        with write_transaction(engine) as conn:
            assert REGISTRY.sync(conn, OLD) == dict.fromkeys(OLD_HASHES, 1)
            assert REGISTRY.sync(conn) == dict.fromkeys(OLD_HASHES, 1)
            rows = conn.execute(select(table.c.name, table.c.version, table.c.content_hash, table.c.definition)).all()
    finally:
        with write_transaction(engine) as conn:
            REGISTRY.sync(conn)
    assert {r.name: (r.version, r.content_hash) for r in rows} == {n: (1, h) for n, h in OLD_HASHES.items()}
    for row in rows:
        assert row.definition == yaml.safe_load((OLD / f"{row.name}.yaml").read_text("utf-8"))
