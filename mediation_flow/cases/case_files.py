"""A case's files as a user may handle them: upload (recorded in the case's history) and download, each
only for a case the user may see and as the policy allows (an ID copy is personal data in full)."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from sqlalchemy import Engine

from mediation_flow.accounts.audit import record_access
from mediation_flow.accounts.policy import Actor, Permission, may_open_attachment, require
from mediation_flow.cases import attachments
from mediation_flow.cases.engine import apply_trigger
from mediation_flow.cases.queries import visible_case
from mediation_flow.errors import DomainError, PermissionDenied
from mediation_flow.store.config import get_settings


def _record_upload(engine: Engine, actor: Actor, case_id: int, item: attachments.Attachment) -> None:
    """The upload appears in the case's history as a note (the engine writes the event)."""
    text = f"上传附件（{item.kind_label}）：{item.filename}，{max(item.size // 1024, 1)} KB"
    for _ in range(3):
        version = visible_case(engine, actor, case_id)["version"]
        try:
            apply_trigger(
                engine, case_id=case_id, actor=actor, trigger="add_note", expected_version=version, data={"text": text}
            )
            return
        except DomainError as exc:
            if exc.code != "stale_version":
                return  # no add_note in this workflow or state: the file is kept all the same


def check_upload(engine: Engine, actor: Actor, case_id: int) -> None:
    """CaseNotFound outside the user's subtree (first, so a hidden case stays hidden), then the role."""
    visible_case(engine, actor, case_id)
    require(actor, Permission.UPLOAD_ATTACHMENT)


def upload_attachment(
    engine: Engine, actor: Actor, case_id: int, stream: BinaryIO, *, filename: str, kind: str
) -> attachments.Attachment:
    """Keep the file (InvalidData for a wrong type, size or kind) and note it in the case's history."""
    check_upload(engine, actor, case_id)
    item = attachments.save(
        get_settings().data_dir, case_id, stream, filename=filename, kind=kind, uploaded_by=actor.id
    )
    _record_upload(engine, actor, case_id, item)
    return item


def open_attachment(
    engine: Engine, actor: Actor, case_id: int, attachment_id: str
) -> tuple[attachments.Attachment, Path]:
    """The attachment and its file, for a case the user may see and a kind the policy lets them open."""
    visible_case(engine, actor, case_id)
    item, path = attachments.get(get_settings().data_dir, case_id, attachment_id)
    if not may_open_attachment(actor, item.kind):
        raise PermissionDenied("身份证明复印件仅调解员和司法所人员可以查看")
    if item.kind == "id_copy":  # a copy of an identity document is personal data in full: logged like a view
        record_access(engine, actor=actor, case_id=case_id, channel=f"attachment:{item.id[:8]}", detail=item.kind_label)
    return item, path
