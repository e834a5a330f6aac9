"""The case page, its regions as htmx fragments, and firing a trigger from an inline form."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from mediation_flow.accounts.policy import Actor
from mediation_flow.cases.engine import apply_trigger
from mediation_flow.cases.forms import TriggerForm, trigger_form
from mediation_flow.cases.offers import may_take
from mediation_flow.cases.views import case_page as case_page_view
from mediation_flow.cases.views import revealed_parties
from mediation_flow.errors import DomainError, GuardFailed, InvalidData, NotFound, StaleVersion, TriggerNotAllowed
from mediation_flow.store import clock
from mediation_flow.workflow.schema import FieldSpec
from web.deps import CaseId, EngineDep
from web.pages.common import PageActor, is_fragment, render, typed_fields
from web.session import verified_form

router = APIRouter(prefix="/cases/{case_id}")
REGIONS = {
    "state": "partials/case_state.html",
    "facts": "partials/case_facts.html",
    "actions": "partials/case_actions.html",
    "clocks": "partials/case_clocks.html",
    "timeline": "partials/case_timeline.html",
    "parties": "partials/case_parties.html",  # masked, as on the page (收起 after 查看完整信息)
}


def page_data(engine: Any, actor: Actor, case_id: int) -> dict[str, Any]:
    """The case page's context (CaseNotFound outside the user's villages): the core's page view, with the
    timeline where the templates look for the events."""
    view = case_page_view(engine, actor, case_id)
    return {**vars(view), "view": view, "events": view.timeline}


def _form(engine: Any, actor: Actor, data: dict[str, Any], trigger: str, **kwargs: Any) -> TriggerForm:
    return trigger_form(engine, actor, data["view"], trigger, **kwargs)


@router.get("", include_in_schema=False)
def case_page(request: Request, engine: EngineDep, actor: PageActor, case_id: CaseId) -> Response:
    data = page_data(engine, actor, case_id)
    if request.query_params.get("new") == "1":
        data |= {
            "flash": f"已登记，案号{data['case']['number']}",
            "flash_kind": "ok",
            "draft_clear": f"register.{actor.id}",
        }
    if is_fragment(request):
        return render(request, "partials/case_body.html", data)
    return render(request, "case.html", {**data, "title": data["case"]["number"]})


@router.get("/part/{region}", include_in_schema=False)
def case_region(request: Request, engine: EngineDep, actor: PageActor, case_id: CaseId, region: str) -> Response:
    if region not in REGIONS:
        raise NotFound("页面不存在")
    data = page_data(engine, actor, case_id)
    if is_fragment(request):
        return render(request, REGIONS[region], data)
    return render(request, "case.html", {**data, "title": data["case"]["number"]})


@router.get("/parties/full", include_in_schema=False)
def parties_in_full(request: Request, engine: EngineDep, actor: PageActor, case_id: CaseId) -> Response:
    """查看完整信息: the parties' card in full (mediators and supervisors; the core refuses other roles and logs
    the view before it is answered). Never kept by a browser or the service worker (a fragment, no-store)."""
    parties = revealed_parties(engine, actor, case_id)
    headers = {"Cache-Control": "no-store"}
    if is_fragment(request):
        context = {"case": {"id": case_id}, "parties": parties, "revealed": True}
        return render(request, "partials/case_parties.html", context, headers=headers)
    data = page_data(engine, actor, case_id)  # without script: the page, its card in full
    context = {**data, "parties": parties, "revealed": True, "title": data["case"]["number"]}
    return render(request, "case.html", context, headers=headers)


@router.get("/do/{trigger}", include_in_schema=False)
def open_trigger_form(request: Request, engine: EngineDep, actor: PageActor, case_id: CaseId, trigger: str) -> Response:
    data = page_data(engine, actor, case_id)
    form = _form(engine, actor, data, trigger)
    if is_fragment(request):
        return render(request, "partials/trigger_form.html", {**data, "form": form})
    return render(request, "case.html", {**data, "form": form, "title": form.label})


def _recorded(form: FormData) -> tuple[datetime | None, int | None]:
    """补录 and 代录 from the form: when it happened (Beijing time when typed without offset) and who acted."""
    raw, acted_by = str(form.get("effective_at") or "").strip()[:40], str(form.get("acted_by") or "").strip()
    try:
        effective_at = clock.parse_user_moment(raw) if raw else None
    except ValueError as exc:
        raise InvalidData([{"field": "effective_at", "message": str(exc)}]) from None
    if acted_by and not (acted_by.isdigit() and len(acted_by) <= 9):
        raise InvalidData([{"field": "acted_by", "message": "请从列表中选择经办人"}])
    return effective_at, int(acted_by) if acted_by else None


def _kept_text(specs: list[FieldSpec], form: FormData, note: str) -> list[tuple[str, str]]:
    """(label, text) of what was typed into the form's text fields and the note, to copy from after a refusal."""
    typed = [(f.label, str(form.get(f.name) or "").strip()) for f in specs if f.type in ("text", "longtext")]
    kept = [(name, text) for name, text in typed if text]
    return [*kept, ("备注", note)] if note.strip() else kept


# A step done: the page scrolls to the case's new state, the next steps' buttons under it (the forms' own
# ``show:#action-form:top`` keeps a refusal's message in view; after a long form on a phone it left the state
# and the buttons out of sight above the answer).
LAND_ON_STATE = {"HX-Reswap": "innerHTML show:#case-state:top"}
NOTE = "note"  # the step form's 备注 (the event's note), unless the step has a field of that name


def _specs(data: dict[str, Any], trigger: str) -> list[FieldSpec]:
    """The fields the workflow gives ``trigger`` (of its first transition), offered now or not."""
    return next((t.fields for t in data["view"].workflow.spec.transitions_for(trigger)), [])


def _version(form: FormData) -> int:
    raw = str(form.get("expected_version") or "")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        raise InvalidData([{"field": "expected_version", "message": "页面缺少案件版本，请刷新后重试"}])
    return int(raw)


@router.post("/do/{trigger}", include_in_schema=False)
def fire_trigger(
    request: Request,
    engine: EngineDep,
    actor: PageActor,
    case_id: CaseId,
    trigger: str,
    form: Annotated[FormData, Depends(verified_form)],
) -> Response:
    data = page_data(engine, actor, case_id)
    # a step whose own field is named note (签收说明) has no 备注 of its own: the one input is the field's
    note = "" if any(s.name == NOTE for s in _specs(data, trigger)) else str(form.get(NOTE) or "")[:2000]
    try:
        blank = _form(engine, actor, data, trigger)
    except TriggerNotAllowed as exc:  # not offered now: the case moved on, or a guard now refuses it whatever is typed
        kept = _kept_text(_specs(data, trigger), form, note)
        if may_take(actor, data["view"].workflow, trigger) and str(data["case"]["version"]) != str(
            form.get("expected_version")
        ):  # a step of theirs the case moved away from while they typed
            message = f"案件已被他人更新，{exc.message}。您填写的内容未保存。"
            return _respond(request, data | {"kept": kept}, None, status=409, message=message, kind="warn", oob=True)
        return _respond(request, data | {"kept": kept}, None, status=exc.status, message=exc.message, kind="error",
                        oob=True)  # fmt: skip
    values = typed_fields(form, blank.fields)
    try:
        effective_at, acting_for = _recorded(form)
        apply_trigger(
            engine,
            case_id=case_id,
            actor=actor,
            trigger=trigger,
            expected_version=_version(form),
            note=note,
            data=values,
            effective_at=effective_at,
            acting_for=acting_for,
        )
    except (InvalidData, GuardFailed) as exc:
        errors = (
            exc.errors
            if isinstance(exc, InvalidData)
            else [{"field": "", "message": m} for m in exc.details.get("reasons", [exc.message])]
        )
        typed = {k: form.getlist(k) if len(form.getlist(k)) > 1 else form.get(k) for k in form}
        failed = _form(engine, actor, data, trigger, values=typed, errors=errors, note=note)
        return _respond(request, data, failed, status=422, message=exc.message, kind="error")
    except StaleVersion:
        fresh = page_data(engine, actor, case_id)
        typed = {k: form.getlist(k) if len(form.getlist(k)) > 1 else form.get(k) for k in form}
        again, kept = None, []
        if any(o.trigger == trigger for o in fresh["triggers"]):
            again = _form(engine, actor, fresh, trigger, values=typed, note=note)
        else:  # the step is no longer offered: what was typed is shown to copy from
            kept = _kept_text(_specs(fresh, trigger), form, note)
        message = "案件已被他人更新。下面已显示最新情况，请核对后再提交。"
        return _respond(request, fresh | {"kept": kept}, again, status=409, message=message, kind="warn", oob=True)
    except DomainError as exc:
        if exc.status == 404:
            raise
        fresh = page_data(engine, actor, case_id)
        kept = _kept_text(_specs(fresh, trigger), form, note)  # the state moved on: what was typed is kept
        return _respond(request, fresh | {"kept": kept}, None, status=exc.status, message=exc.message, kind="error",
                        oob=True)  # fmt: skip
    fresh = page_data(engine, actor, case_id)
    if not is_fragment(request):
        return RedirectResponse(f"/cases/{case_id}", status_code=303)
    return _respond(
        request, fresh, None, status=200, message=f"已完成：{blank.label}", kind="ok", oob=True, headers=LAND_ON_STATE
    )


def _respond(
    request: Request,
    data: dict[str, Any],
    form: TriggerForm | None,
    *,
    status: int,
    message: str,
    kind: str,
    oob: bool = False,
    headers: dict[str, str] | None = None,
) -> Response:
    context = {**data, "form": form, "flash": message, "flash_kind": kind, "oob": oob}
    if is_fragment(request):
        return render(request, "partials/trigger_result.html", context, status_code=status, headers=headers)
    return render(request, "case.html", {**context, "oob": False, "title": data["case"]["number"]}, status_code=status)
