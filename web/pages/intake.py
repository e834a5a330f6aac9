"""登记纠纷: the phone-first intake form. Errors come back inline (422) with everything typed kept."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from mediation_flow.accounts.personal_data import (
    PersonalDataError,
    validate_credit_code,
    validate_id_number,
    validate_phone,
)
from mediation_flow.accounts.policy import Actor, Permission
from mediation_flow.cases.forms import registration_options
from mediation_flow.cases.intake import register_case
from mediation_flow.cases.intake_once import HEADER, Registered, register_once
from mediation_flow.cases.intake_paths import IntakePath, intake_path
from mediation_flow.cases.outbox import outbox_seal, synced_answer
from mediation_flow.cases.risk import hint_labels
from mediation_flow.cases.schemas import user_moment
from mediation_flow.errors import InvalidData
from mediation_flow.vocabulary import ETHNIC_GROUPS, Gender, PartyKind, PartyRole
from web.deps import EngineDep
from web.pages.common import PageActor, is_fragment, render, require, typed_fields
from web.session import csrf_token, verified_form

router = APIRouter()
PARTY_FIELDS = ("role", "kind", "name", "phone", "id_number", "address", "gender", "ethnicity", "birth_date", "age")
DETAILS = ("name", "phone", "id_number", "address", "gender", "ethnicity", "birth_date", "age")  # typed, not defaults
PARTY_KEY = re.compile(r"^parties\.(\d{1,2})\.(\w+)$")
MAX_PARTIES = 20
SCALARS = (
    "title", "category", "source", "summary", "people_involved", "amount", "jurisdiction_code", "incident_place",
    "occurred_at", "venue",
)  # fmt: skip
ATTRIBUTE = "a."  # the inputs of the workflow's intake fields are named a.<field> (never a scalar's name)


def _choices() -> dict[str, dict[str, str]]:
    return {
        "party_roles": {r.value: r.label for r in PartyRole},
        "party_kinds": {k.value: k.label for k in PartyKind},
        "hints": hint_labels(),
        "genders": {g.value: g.label for g in Gender},
        "ethnic_groups": ETHNIC_GROUPS,
    }


def _render_form(
    request: Request,
    engine: Any,
    actor: Actor,
    values: dict[str, Any],
    parties: list[dict[str, str]],
    *,
    errors: list[dict[str, str]] | None = None,
    status: int = 200,
    from_server: bool = False,
    attributes: dict[str, Any] | None = None,
) -> Response:
    options = registration_options(engine, actor)
    by_field = {e["field"]: e["message"] for e in errors or []}
    path = intake_path(engine, actor, values.get("source"), values=attributes, errors=by_field)
    known = set(SCALARS) | {"risk_hints", "workflow"} | {f"parties.{i}" for i in range(len(parties))}
    known |= {f.spec.name for f in path.fields}
    known |= {f"parties.{i}.{f}" for i in range(len(parties)) for f in PARTY_FIELDS}
    context = {
        "title": path.heading,
        "values": values,
        "parties": parties,
        "errors": by_field,
        "other_errors": [m for f, m in by_field.items() if f not in known],
        "reference": options.reference,
        "from_server": from_server,
        "place": options.place,
        "places": options.places,
        "places_by_township": options.by_township,
        "intake": path,
        **_choices(),
    }
    return render(request, "register.html", context, status_code=status)


@router.get("/register", include_in_schema=False)
def register_page(
    request: Request,
    engine: EngineDep,
    actor: PageActor,
    parties: Annotated[int, Query(ge=2, le=MAX_PARTIES)] = 2,
    source: Annotated[str, Query(max_length=32)] = "initiative",
) -> Response:
    """The empty form; ``parties`` rows and the fields of ``source``'s path (the local draft asks for what it
    holds)."""
    blank = [{"role": "applicant"}, {"role": "respondent"}] + [{"role": "third_party"}] * (parties - 2)
    return _render_form(request, engine, actor, {"source": source, "risk_hints": []}, blank)


@router.get("/register/path", include_in_schema=False)
def register_path(
    request: Request, engine: EngineDep, actor: PageActor, source: Annotated[str, Query(max_length=32)] = ""
) -> Response:
    """The intake fields of the path ``source`` starts (swapped in when 案件来源 changes)."""
    path = intake_path(engine, actor, source)
    if not is_fragment(request):
        return RedirectResponse(f"/register?{urlencode({'source': path.source})}", status_code=303)
    return render(request, "partials/register_path.html", {"intake": path, "errors": {}})


def parse_form(form: FormData, *, trim: bool = True) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The scalar values and the party rows as typed (strings); empty trailing rows dropped if ``trim``."""
    values: dict[str, Any] = {k: str(form.get(k) or "").strip() for k in SCALARS}
    values["risk_hints"] = [str(h) for h in form.getlist("risk_hints")][:10]
    rows: dict[int, dict[str, str]] = {}
    for key in form:
        match = PARTY_KEY.match(key)
        if match and int(match.group(1)) < MAX_PARTIES and match.group(2) in PARTY_FIELDS:
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = str(form.get(key) or "").strip()
    parties = [rows[i] for i in sorted(rows)]
    while trim and len(parties) > 1 and not any(parties[-1].get(f) for f in DETAILS):
        parties.pop()
    return values, parties


def intake_payload(
    values: dict[str, Any], parties: list[dict[str, str]], path: IntakePath, attributes: dict[str, Any]
) -> dict[str, Any]:
    """What the API would send: the scalars, the parties, and the path's workflow with its intake fields."""
    payload: dict[str, Any] = {k: v for k, v in values.items() if v not in ("", None)}
    payload["risk_hints"] = values["risk_hints"]
    payload["parties"] = [{k: v for k, v in p.items() if v} for p in parties]
    payload["workflow"] = path.workflow
    payload["attributes"] = attributes
    return payload


def refine_party_errors(errors: list[dict[str, str]], parties: list[dict[str, str]]) -> list[dict[str, str]]:
    """A party's identity error names the party (``parties.0``); point it at the field that is wrong."""
    refined = []
    for error in errors:
        match = re.fullmatch(r"parties\.(\d+)", error["field"])
        row = parties[int(match.group(1))] if match and int(match.group(1)) < len(parties) else None
        if row is None:
            refined.append(error)
            continue
        index = match.group(1) if match else ""
        found = []
        is_person = row.get("kind", "person") == PartyKind.PERSON.value
        checks = [("id_number", validate_id_number if is_person else validate_credit_code), ("phone", validate_phone)]
        for name, check in checks:
            if row.get(name):
                try:
                    check(row[name])
                except PersonalDataError as exc:
                    found.append({"field": f"parties.{index}.{name}", "message": exc.message})
        refined.extend(found or [error])
    return refined


def _register(request: Request, engine: Any, actor: Actor, payload: dict[str, Any], recorded: str) -> Registered:
    """The form's registration; once per ``Idempotency-Key`` when the page's script sends one (from the phone's
    outbox, with ``recorded``: when the grid worker pressed 提交登记, which is the registration time)."""
    key = request.headers.get(HEADER)
    if key is None:
        return Registered(register_case(engine, actor=actor, intake=payload), False)
    try:
        moment = user_moment(recorded)
    except ValueError as exc:
        raise InvalidData([{"field": "effective_at", "message": str(exc)}]) from None
    return register_once(engine, actor=actor, key=key, intake=payload, effective_at=moment)


@router.post("/register", include_in_schema=False)
def register_submit(
    request: Request, engine: EngineDep, actor: PageActor, form: Annotated[FormData, Depends(verified_form)]
) -> Response:
    adding, removing = form.get("add_party") is not None, str(form.get("remove_party") or "")
    values, parties = parse_form(form, trim=not (adding or removing))
    path = intake_path(engine, actor, values["source"])
    values["source"] = path.source or values["source"]  # a partner agency registers under its own path only
    attributes = typed_fields(form, path.fields, prefix=ATTRIBUTE)
    recorded = str(form.get("effective_at") or "")
    if adding or removing or form.get("switch_path") is not None:
        if adding and len(parties) < MAX_PARTIES:
            parties.append({"role": "third_party"})
        if removing.isdigit() and int(removing) < len(parties) and len(parties) > 1:
            del parties[int(removing)]
        return _render_form(request, engine, actor, values, parties, from_server=True, attributes=attributes)
    outbox = "application/json" in request.headers.get("accept", "")
    try:
        done = _register(request, engine, actor, intake_payload(values, parties, path, attributes), recorded)
    except InvalidData as exc:
        errors = refine_party_errors(exc.errors, parties)
        if outbox:
            return JSONResponse({"errors": errors}, status_code=422)
        return _render_form(
            request, engine, actor, values, parties, errors=errors, status=422, from_server=True, attributes=attributes
        )
    if outbox:  # the phone's outbox: what it shows in the pending list and on the home page
        return JSONResponse(synced_answer(engine, actor, done), status_code=200 if done.replayed else 201)
    return RedirectResponse(f"/cases/{done.case_id}?new=1", status_code=303)


@router.get("/register/outbox-key", include_in_schema=False)
def outbox_key(request: Request, actor: PageActor) -> Response:
    """The signed-in user's outbox key, owner tag and this session's CSRF token (the outbox sends with it);
    never cached, never shown."""
    require(actor, Permission.REGISTER)
    answer = {**outbox_seal(actor), "csrf": csrf_token(request)}
    return JSONResponse(answer, headers={"Cache-Control": "no-store"})
