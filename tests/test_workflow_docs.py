"""docs/workflows_resolved.md shows every workflow as the engine runs it (resolved), and is kept in step."""

from __future__ import annotations

from pathlib import Path

from mediation_flow.workflow.docs import resolved_markdown
from mediation_flow.workflow.registry import load_workflow_file, workflows_dir

DOCS = Path(__file__).resolve().parent.parent / "docs" / "workflows_resolved.md"


def test_resolved_docs_match_the_workflow_files():
    assert DOCS.read_text("utf-8") == resolved_markdown(workflows_dir()), (
        "regenerate: python -m mediation_flow.workflow.docs > docs/workflows_resolved.md"
    )


def test_resolved_docs_show_what_the_extending_file_only_inherits():
    text = resolved_markdown(workflows_dir())
    police = text[text.index("(`police_referral`)") :]
    police = police[: police.index("\n## ")] if "\n## " in police else police
    assert "extends `people_mediation`" in police
    spec = load_workflow_file(workflows_dir() / "police_referral.yaml").spec
    # reach_agreement is not written in police_referral.yaml, yet its diagram edge and row are shown
    written = (workflows_dir() / "police_referral.yaml").read_text("utf-8")
    assert "reach_agreement" not in written.split("\ntransitions:")[1]
    assert "mediating --> agreed : 达成调解协议" in police
    assert "| 达成调解协议 | `reach_agreement` |" in police
    for t in spec.transitions:
        assert f"`{t.trigger}`" in police


def test_resolved_docs_say_when_a_field_is_required_in_words():
    """A field required only sometimes (``required_when``) says when in the labels' words, a ticked box of a
    multichoice (一庭两所) as 勾选, not as ``name=code``."""
    text = resolved_markdown(workflows_dir())
    assert "`joint_court`（*联合调解单位（一庭两所）勾选“人民法庭”时）" in text
    assert "`joint_police`（*联合调解单位（一庭两所）勾选“派出所”时）" in text
    assert "`performance`（*协议形式为“书面协议（调解协议书）”时）" in text
    assert "=tribunal" not in text and "form=written" not in text
