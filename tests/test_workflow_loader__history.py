"""The referral files extend people_mediation. The files as they were written out in full at e98d0b6 (saved in
tests/fixtures/workflows_e98d0b6) are recorded versions in every database migrated since: they still load with
their hashes, and cases on them keep their version when issue 12 (三调对接) records new ones."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from mediation_flow.store.db import write_transaction
from mediation_flow.store.models import WorkflowVersion
from mediation_flow.workflow.registry import REGISTRY, content_hash, load_workflow_file, parse_workflow, workflows_dir

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
def test_the_old_files_still_load_with_their_hashes(name):
    """Issue 12 (三调对接) changed every workflow: cases recorded on the e98d0b6 versions keep them, so those
    definitions must still load under today's schema, with the hashes every database recorded."""
    old = yaml.safe_load((OLD / f"{name}.yaml").read_text("utf-8"))
    assert content_hash(old) == OLD_HASHES[name]
    spec = parse_workflow(old, path=f"<e98d0b6 {name}>")
    assert spec.agency_kind is None and spec.name == name
    loaded = load_workflow_file(workflows_dir() / f"{name}.yaml")
    assert "extends" not in loaded.definition and content_hash(loaded.definition) != OLD_HASHES[name]
    assert set(old["states"]) <= set(loaded.definition["states"])  # nothing a recorded case may be in is gone


@pytest.mark.parametrize("name", REFERRALS)
def test_referral_files_extend_the_base_and_stay_short(name):
    """An extending file lists only its changes: at most a third of the old written-out file, plus the steps
    issue 12 added to one workflow alone (the petition's 答复意见, 复查 and 复核, with their clocks)."""
    loaded = load_workflow_file(workflows_dir() / f"{name}.yaml")
    assert loaded.extends == "people_mediation"
    new_lines = len((workflows_dir() / f"{name}.yaml").read_text("utf-8").splitlines())
    old_lines = len((OLD / f"{name}.yaml").read_text("utf-8").splitlines())
    own_steps = {"petition_referral": 100}.get(name, 0)
    assert (new_lines - own_steps) * 3 <= old_lines, (new_lines, old_lines)


def test_a_database_that_recorded_the_old_files_keeps_its_versions(engine):
    """Migrated with today's files, then synced with the e98d0b6 ones (and back): each set keeps its own
    version, the old ones with their old hashes and definitions; syncing again records nothing new."""
    table = WorkflowVersion.__table__
    try:
        with write_transaction(engine) as conn:
            new = REGISTRY.sync(conn)
            old = REGISTRY.sync(conn, OLD)
            assert old == {name: new[name] + 1 for name in OLD_HASHES}
            assert REGISTRY.sync(conn) == new and REGISTRY.sync(conn, OLD) == old
            rows = conn.execute(select(table.c.name, table.c.version, table.c.content_hash, table.c.definition)).all()
    finally:
        with write_transaction(engine) as conn:
            REGISTRY.sync(conn)
    recorded = {r.name: r for r in rows if r.version == old[r.name]}
    assert {name: r.content_hash for name, r in recorded.items()} == OLD_HASHES
    for row in recorded.values():
        assert row.definition == yaml.safe_load((OLD / f"{row.name}.yaml").read_text("utf-8"))
