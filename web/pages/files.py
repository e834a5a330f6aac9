"""Attachments of a case (upload, download) and its print-ready .docx printouts (``cases/printouts.py``)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from mediation_flow.cases.case_files import check_upload, open_attachment, upload_attachment
from mediation_flow.cases.printouts import printout as printout_docx
from mediation_flow.errors import InvalidData
from mediation_flow.store.reads import release_reads
from web.deps import CaseId, EngineDep
from web.pages.cases import page_data
from web.pages.common import PageActor, is_fragment, render
from web.session import verified_form

router = APIRouter(prefix="/cases/{case_id}")
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@router.post("/attachments", include_in_schema=False)  # its own body limit: web.input_guard
def upload(
    request: Request,
    engine: EngineDep,
    actor: PageActor,
    case_id: CaseId,
    form: Annotated[FormData, Depends(verified_form)],
) -> Response:
    check_upload(engine, actor, case_id)  # 404 outside the user's villages, then 403 for a role without it
    files = [f for f in form.getlist("file") if isinstance(f, UploadFile) and (f.filename or f.size)]
    kind = str(form.get("kind") or "")
    errors, stored = [], []
    if not files:
        errors.append("请选择要上传的文件")
    for upload_file in files:  # several photos at once: each its own attachment, each refusal named
        try:
            item = upload_attachment(
                engine, actor, case_id, upload_file.file, filename=upload_file.filename or "", kind=kind
            )
            stored.append(item.filename)
        except InvalidData as exc:
            named = f"{upload_file.filename}：" if len(files) > 1 else ""
            errors.append(named + "；".join(e["message"] for e in exc.errors))
    error = "；".join(errors)
    if not is_fragment(request) and not error:
        return RedirectResponse(f"/cases/{case_id}", status_code=303)
    data = page_data(engine, actor, case_id)
    context = {**data, "upload_error": error, "upload_ok": "、".join(stored), "oob": bool(stored)}
    status = 422 if error else 200
    if is_fragment(request):
        return render(request, "partials/attachments_result.html", context, status_code=status)
    return render(request, "case.html", {**context, "oob": False, "title": data["case"]["number"]}, status_code=status)


@router.get("/attachments/{attachment_id}", include_in_schema=False)
def download(engine: EngineDep, actor: PageActor, case_id: CaseId, attachment_id: str) -> Response:
    item, path = open_attachment(engine, actor, case_id, attachment_id)
    disposition = "inline" if item.media_type.startswith("image/") else "attachment"  # a PDF is saved, not shown
    headers = {
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(item.filename)}",
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    }
    release_reads()  # before the file is sent (store.reads)
    return FileResponse(path, media_type=item.media_type, headers=headers)


@router.get("/print/{form_name}.docx", include_in_schema=False)
def printout(engine: EngineDep, actor: PageActor, case_id: CaseId, form_name: str) -> Response:
    """A printout of the case (``printout_forms.FORMS``: registration, rights, refusal, record, agreement, visit,
    referral), filled into the township's template, ready to print and sign."""
    content, filename = printout_docx(engine, actor, case_id, form_name)
    headers = {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}", "Cache-Control": "no-store"}
    return Response(content, media_type=DOCX, headers=headers)
