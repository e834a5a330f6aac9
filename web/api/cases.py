"""Cases: intake, list, detail and transitions."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, WithJsonSchema

from mediation_flow.accounts.policy import Actor
from mediation_flow.cases.corrections import CORRECT
from mediation_flow.cases.engine import apply_trigger
from mediation_flow.cases.intake import register_case
from mediation_flow.cases.intake_once import register_once
from mediation_flow.cases.lists import case_rows
from mediation_flow.cases.queries import CaseFilters
from mediation_flow.cases.queries import case_assignees as assignees
from mediation_flow.cases.schemas import (
    CaseCreate,
    CaseRead,
    CorrectionCreate,
    TransitionCreate,
    transition_body_schema,
)
from mediation_flow.cases.views import case_view
from mediation_flow.workflow.fields import INT_LIMIT
from web.api.schemas import CasePage, ErrorResponse
from web.deps import ApiActor, CaseId, EngineDep

router = APIRouter(prefix="/cases", tags=["cases"])
# The transition body as the workflow files declare it, one branch per trigger (the core validates ``data``).
TransitionBody = Annotated[TransitionCreate, WithJsonSchema(transition_body_schema())]
ERRORS: dict[int | str, dict[str, Any]] = {status: {"model": ErrorResponse} for status in (401, 403, 404, 409, 422)}


def case_detail(engine: Any, actor: Actor, case_id: int, *, full: bool = False) -> dict[str, Any]:
    """The case as ``actor`` may see it: parties masked for everyone (no access-log row); ``full``: asked for
    in full (mediators and supervisors; logged under 'api'; 403 for other roles)."""
    return case_view(engine, actor, case_id, channel="api" if full else None).as_api()


@router.post(
    "",
    status_code=201,
    response_model=CaseRead,
    responses=ERRORS,
    description=(
        "Register a dispute. With an ``Idempotency-Key`` header (a UUID the client made, e.g. for a registration "
        "kept in a phone's outbox) the key is accepted once per user: sending it again answers with the same "
        "case (201, ``Idempotent-Replayed: true``) and creates nothing; the same key with a different body is "
        "refused (422 ``idempotency_key_reused``). With a key, ``effective_at`` may be the time recorded on the "
        "phone, up to the outbox's age (``outbox_max_days``) in the past. The answer shows the parties masked "
        "(the client has them; ``GET /api/v1/cases/{case_id}?identity=full`` shows them in full, logged)."
    ),
)
def create_case(
    engine: EngineDep,
    actor: ApiActor,
    payload: CaseCreate,
    response: Response,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=300)] = None,
) -> JSONResponse | dict[str, Any]:
    if idempotency_key is None:
        case_id = register_case(engine, actor=actor, intake=payload.intake(), effective_at=payload.effective_at)
        return case_detail(engine, actor, case_id)
    body = payload.model_dump(mode="json", exclude={"effective_at"})
    done = register_once(engine, actor=actor, key=idempotency_key, intake=body, effective_at=payload.effective_at)
    if done.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return case_detail(engine, actor, done.case_id)


@router.get("", response_model=CasePage, responses=ERRORS)
async def search_cases(
    engine: EngineDep,
    actor: ApiActor,
    state: Annotated[list[str] | None, Query(max_length=20)] = None,
    village: Annotated[str | None, Query(max_length=32)] = None,
    grid: Annotated[str | None, Query(max_length=32)] = None,
    category: Annotated[str | None, Query(max_length=32)] = None,
    source: Annotated[str | None, Query(max_length=32)] = None,
    risk_grade: Annotated[str | None, Query(max_length=16)] = None,
    level: Annotated[str | None, Query(max_length=16)] = None,
    overdue: bool | None = None,
    mediator_id: Annotated[int | None, Query(ge=1, le=INT_LIMIT)] = None,
    registered_from: Annotated[date | None, Query(description="登记日期起（含）")] = None,
    registered_to: Annotated[date | None, Query(description="登记日期止（含）")] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=50,
            description=(
                "当事人姓名、手机号或身份证号（空格、全角数字、+86 均可），案号（全号或序号，如 023），或名称中的文字"
            ),
        ),
    ] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    filters = CaseFilters(
        state=state or [],
        village=village,
        grid=grid,
        category=category,
        source=source,
        risk_grade=risk_grade,
        level=level,
        overdue=overdue,
        mediator_id=mediator_id,
        registered_from=registered_from,
        registered_to=registered_to,
        q=q,
    )
    return await run_in_threadpool(_search, engine, actor, filters, page, page_size)


def _search(engine: Any, actor: Actor, filters: CaseFilters, page: int, page_size: int) -> dict[str, Any]:
    items, total = case_rows(engine, actor, filters, page=page, page_size=page_size)
    return {"items": items, "total": total, "page": page, "page_size": page_size}


# The hot read and write routes are ``async`` and run their database work in ONE thread-pool call: a plain
# ``def`` route also sends its response validation to the pool, one more hop (and GIL hand-over) per request.
IDENTITY = (
    "``masked`` (default): every party's ID number, phone and address masked for every role, and ID and phone "
    "numbers typed into the case's free text masked too; nothing is logged. ``full``: parties and free text as "
    "registered, for mediators and supervisors only (other roles: 403 ``permission_denied``); each such view is "
    "written to the case's access log before the answer (once per user and case every 10 minutes)."
)


@router.get(
    "/{case_id}",
    response_model=CaseRead,
    responses=ERRORS,
    description=(
        "The case, its parties, clocks, events and the steps this user may take. Personal data follows 最小必要 "
        "(PIPL): masked unless ``identity=full`` is asked for. The answer is never cached (``Cache-Control: "
        "no-store``)."
    ),
)
async def read_case(
    engine: EngineDep,
    actor: ApiActor,
    case_id: CaseId,
    response: Response,
    identity: Annotated[Literal["masked", "full"], Query(description=IDENTITY)] = "masked",
) -> dict[str, Any]:
    response.headers["Cache-Control"] = "no-store"
    return await run_in_threadpool(case_detail, engine, actor, case_id, full=identity == "full")


@router.post(
    "/{case_id}/transitions",
    response_model=CaseRead,
    responses=ERRORS,
    description=(
        "Fire a trigger on the case (``expected_version`` guards against a concurrent change). The answer is the "
        "case after the transition with its parties' ID numbers and phones **masked** for every role: the client "
        "already has them, and full identity is shown (and written to the access log) only by "
        "``GET /api/v1/cases/{case_id}?identity=full``."
    ),
)
async def fire_transition(engine: EngineDep, actor: ApiActor, case_id: CaseId, body: TransitionBody) -> dict[str, Any]:
    return await run_in_threadpool(_fire, engine, actor, case_id, body)


def _fire(engine: Any, actor: Actor, case_id: int, body: TransitionCreate) -> dict[str, Any]:
    apply_trigger(
        engine,
        case_id=case_id,
        actor=actor,
        trigger=body.trigger,
        expected_version=body.expected_version,
        note=body.note,
        data=body.data,
        effective_at=body.effective_at,
        acting_for=body.acted_by,
    )
    return case_detail(engine, actor, case_id)  # data minimisation: no full identity, no log


@router.post("/{case_id}/corrections", response_model=CaseRead, responses=ERRORS)
def correct_case(engine: EngineDep, actor: ApiActor, case_id: CaseId, body: CorrectionCreate) -> dict[str, Any]:
    """更正 (supervisors): the ``correct`` step of the case's workflow, through the engine like any step. The
    answer is the case after it, parties masked (as after a transition)."""
    apply_trigger(
        engine,
        case_id=case_id,
        actor=actor,
        trigger=CORRECT,
        expected_version=body.expected_version,
        data=body.data(),
    )
    return case_detail(engine, actor, case_id)


class Assignee(BaseModel):
    id: int = Field(description="assign 的 user 字段填这个 id")
    display_name: str
    role: str


@router.get("/{case_id}/assignees", response_model=list[Assignee], responses=ERRORS)
def case_assignees(engine: EngineDep, actor: ApiActor, case_id: CaseId) -> list[dict[str, Any]]:
    """Who this case may be assigned to (分派): active mediators and supervisors whose jurisdiction covers it,
    by name; ``assign``'s ``user`` field takes one of these ids."""
    return assignees(engine, actor, case_id)
