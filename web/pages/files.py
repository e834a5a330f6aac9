"""Attachments of a case (upload, download) and the print-ready .docx of the 受理登记表 and 调解协议书."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from mediation_flow.accounts.audit import record_identity_view
from mediation_flow.accounts.policy import Actor, may_see_full_identity
from mediation_flow.cases import attachments
from mediation_flow.cases.engine import apply_trigger
from mediation_flow.cases.printouts import agreement_docx, registration_docx
from mediation_flow.cases.queries import case_parties, get_case_row
from mediation_flow.errors import DomainError, InvalidData, NotFound, PermissionDenied
from mediation_flow.store.config import get_settings
from mediation_flow.vocabulary import Role
from web.deps import CaseId, EngineDep
from web.pages.cases import page_data
from web.pages.common import PageActor, is_fragment, render
from web.session import verified_form

router = APIRouter(prefix="/cases/{case_id}")
UPLOADERS = (Role.GRID_WORKER, Role.MEDIATOR, Role.SUPERVISOR)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class UploadTooLarge(DomainError):
    code = "upload_too_large"
    status = 413


async def upload_form(request: Request) -> FormData:
    """Refuse an oversized body before it is read, then parse and CSRF-check the form."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > attachments.MAX_BYTES + 256 * 1024:
        raise UploadTooLarge(f"文件不能超过{attachments.MAX_BYTES // 1024 // 1024}MB")
    return await verified_form(request)


def _may_open(actor: Actor, item: attachments.Attachment) -> bool:
    return item.kind != "id_copy" or may_see_full_identity(actor)


def _record_upload(engine: Any, actor: Actor, case_id: int, item: attachments.Attachment) -> None:
    """The upload appears in the case's history as a note (the engine writes the event)."""
    text = f"上传附件（{item.kind_label}）：{item.filename}，{max(item.size // 1024, 1)} KB"
    for _ in range(3):
        with engine.connect() as conn:
            version = get_case_row(conn, actor, case_id)["version"]
        try:
            apply_trigger(
                engine, case_id=case_id, actor=actor, trigger="add_note", expected_version=version, data={"text": text}
            )
            return
        except DomainError as exc:
            if exc.code != "stale_version":
                return  # no add_note in this workflow or state: the file is kept all the same


@router.post("/attachments", include_in_schema=False)
def upload(
    request: Request,
    engine: EngineDep,
    actor: PageActor,
    case_id: CaseId,
    form: Annotated[FormData, Depends(upload_form)],
) -> Response:
    with engine.connect() as conn:
        get_case_row(conn, actor, case_id)  # 404 outside the user's villages
    if actor.role not in UPLOADERS:
        raise PermissionDenied("您的角色无权上传附件")
    upload_file = form.get("file")
    kind = str(form.get("kind") or "")
    error, stored = "", ""
    try:
        if not isinstance(upload_file, UploadFile):
            raise InvalidData([{"field": "file", "message": "请选择要上传的文件"}])
        item = attachments.save(
            get_settings().data_dir,
            case_id,
            upload_file.file,
            filename=upload_file.filename or "",
            kind=kind,
            uploaded_by=actor.id,
        )
        _record_upload(engine, actor, case_id, item)
        stored = item.filename
    except InvalidData as exc:
        error = "；".join(e["message"] for e in exc.errors)
    if not is_fragment(request) and not error:
        return RedirectResponse(f"/cases/{case_id}", status_code=303)
    data = page_data(engine, actor, case_id)
    context = {**data, "upload_error": error, "upload_ok": stored, "oob": not error}
    status = 422 if error else 200
    if is_fragment(request):
        return render(request, "partials/attachments_result.html", context, status_code=status)
    return render(request, "case.html", {**context, "oob": False, "title": data["case"]["number"]}, status_code=status)


@router.get("/attachments/{attachment_id}", include_in_schema=False)
def download(engine: EngineDep, actor: PageActor, case_id: CaseId, attachment_id: str) -> Response:
    with engine.connect() as conn:
        get_case_row(conn, actor, case_id)
    item, path = attachments.get(get_settings().data_dir, case_id, attachment_id)
    if not _may_open(actor, item):
        raise PermissionDenied("身份证明复印件仅调解员和司法所人员可以查看")
    headers = {
        "Content-Disposition": f"inline; filename*=UTF-8''{quote(item.filename)}",
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return FileResponse(path, media_type=item.media_type, headers=headers)


@router.get("/print/{form_name}.docx", include_in_schema=False)
def printout(engine: EngineDep, actor: PageActor, case_id: CaseId, form_name: str) -> Response:
    """受理登记表 (registration) or 调解协议书 (agreement), ready to print and sign."""
    full = may_see_full_identity(actor)
    with engine.connect() as conn:
        number = get_case_row(conn, actor, case_id)["number"]  # 404 outside the user's villages, first
        if form_name == "registration":
            content, title = registration_docx(conn, actor, case_id, full_identity=full), "受理登记表"
        elif form_name == "agreement":
            content, title = agreement_docx(conn, actor, case_id, full_identity=full), "调解协议书"
        else:
            raise NotFound("页面不存在")
        parties = case_parties(conn, case_id) if full else []
    record_identity_view(engine, actor=actor, case_id=case_id, parties=parties, channel=f"print:{form_name}")
    headers = {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(f'{title}{number}.docx')}"}
    return Response(content, media_type=DOCX, headers=headers)
