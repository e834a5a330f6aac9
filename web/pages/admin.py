"""管理: the administrator's page — the jurisdiction tree, the accounts, the latest changes — and its forms.

Every form posts here, calls one core function (``places.changes``, ``places.importing``,
``accounts.management``) through ``administer`` (one transaction with its change-log line), and answers with
the page again: a notice on success (a one-time password shown once, never stored), the error and what was
typed on failure (422 / 409)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import Connection
from starlette.datastructures import FormData, UploadFile

from mediation_flow.accounts import management as accounts
from mediation_flow.accounts.admin_log import administer
from mediation_flow.accounts.admin_views import admin_overview
from mediation_flow.accounts.policy import Actor
from mediation_flow.errors import DomainError, InvalidData
from mediation_flow.places import changes
from mediation_flow.places import reference_changes as reference
from mediation_flow.places.importing import import_places
from mediation_flow.vocabulary import Role
from web.deps import EngineDep
from web.pages.common import PageActor, render
from web.session import verified_form

router = APIRouter()
Form = Annotated[FormData, Depends(verified_form)]
MAX_CSV = 8 * 1024 * 1024


def _text(form: FormData, name: str, limit: int = 64) -> str:
    return str(form.get(name) or "").strip()[:limit]


def _page(
    request: Request,
    engine: Any,
    actor: Actor,
    *,
    notice: str = "",
    secret: str = "",
    error: DomainError | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    context = {
        "title": "管理",
        "view": admin_overview(engine, actor),
        "notice": notice,
        "secret": secret,
        "error": error.message if error else "",
        "errors": getattr(error, "errors", []) if error else [],
        "values": values or {},
    }
    status = error.status if error else 200
    return render(request, "admin.html", context, status_code=status, headers={"HX-Push-Url": "/admin"})


def _act(
    request: Request,
    engine: Any,
    actor: Actor,
    change: Callable[[Connection, Actor], Any],
    notice: Callable[[Any], str],
    values: dict[str, str] | None = None,
) -> Response:
    try:
        result = administer(engine, actor, change)
    except DomainError as exc:
        return _page(request, engine, actor, error=exc, values=values)
    secret = result if isinstance(result, str) else result[1] if isinstance(result, tuple) else ""
    return _page(request, engine, actor, notice=notice(result), secret=secret or "")


@router.get("/admin", include_in_schema=False)
def admin_page(request: Request, engine: EngineDep, actor: PageActor) -> Response:
    return _page(request, engine, actor)


@router.post("/admin/places", include_in_schema=False)
def add_place(request: Request, engine: EngineDep, actor: PageActor, form: Form) -> Response:
    values = {k: _text(form, k, 64) for k in ("code", "name", "parent_code")}
    return _act(
        request,
        engine,
        actor,
        lambda conn, a: changes.add_place(
            conn, a, code=values["code"], name=values["name"], parent_code=values["parent_code"] or None
        ),
        lambda place: f"已添加{place.name}（{place.code}）",
        values,
    )


@router.post("/admin/places/import", include_in_schema=False)
async def import_csv(request: Request, engine: EngineDep, actor: PageActor, form: Form) -> Response:
    upload = form.get("file")
    content = await upload.read(MAX_CSV + 1) if isinstance(upload, UploadFile) else b""
    if not content or len(content) > MAX_CSV:
        error = InvalidData([{"field": "file", "message": "请选择不超过8MB的CSV文件"}])
        return _page(request, engine, actor, error=error)
    return _act(
        request,
        engine,
        actor,
        lambda conn, a: import_places(conn, a, content),
        lambda r: f"已导入{r.added}个辖区（{r.skipped}个已存在，跳过）",
    )


@router.post("/admin/places/{code}", include_in_schema=False)
def change_place(request: Request, engine: EngineDep, actor: PageActor, code: str, form: Form) -> Response:
    action = _text(form, "action", 16)
    name, parent = _text(form, "name"), _text(form, "parent_code", 32)

    def done(what: str) -> Callable[[Any], str]:
        return lambda place: f"{place.name}（{place.code}）{what}"

    steps: dict[str, tuple[Callable[[Connection, Actor], Any], Callable[[Any], str]]] = {
        # the place's name is the new one now: 辖区（代码）已更名为新名, not 新名（代码）已更名为新名
        "rename": (
            lambda conn, a: changes.rename_place(conn, a, code=code, name=name),
            lambda place: f"辖区（{place.code}）已更名为{place.name}",
        ),
        "move": (lambda conn, a: changes.move_place(conn, a, code=code, parent_code=parent), done("已移动")),
        "retire": (lambda conn, a: changes.retire_place(conn, a, code=code), done("已撤销")),
        "restore": (lambda conn, a: changes.restore_place(conn, a, code=code), done("已恢复")),
    }
    if action not in steps:
        return _page(request, engine, actor, error=InvalidData([{"field": "action", "message": "未知的操作"}]))
    change, message = steps[action]
    return _act(request, engine, actor, change, message)


@router.post("/admin/accounts", include_in_schema=False)
def add_account(request: Request, engine: EngineDep, actor: PageActor, form: Form) -> Response:
    values = {k: _text(form, k) for k in ("username", "display_name", "role", "jurisdiction_code", "agency_code")}
    if values["role"] not in {r.value for r in Role}:
        return _page(
            request, engine, actor, values=values, error=InvalidData([{"field": "role", "message": "请选择角色"}])
        )
    return _act(
        request,
        engine,
        actor,
        lambda conn, a: accounts.create_account(
            conn,
            a,
            username=values["username"],
            role=Role(values["role"]),
            display_name=values["display_name"],
            jurisdiction_code=values["jurisdiction_code"] or None,
            agency_code=values["agency_code"] or None,
        ),
        lambda r: f"已添加账号{r[0].username}，临时密码只显示这一次，首次登录须修改：",
        values,
    )


@router.post("/admin/accounts/{username}", include_in_schema=False)
def change_account(request: Request, engine: EngineDep, actor: PageActor, username: str, form: Form) -> Response:
    action, role, place = _text(form, "action", 16), _text(form, "role", 16), _text(form, "jurisdiction_code", 32)
    steps: dict[str, tuple[Callable[[Connection, Actor], Any], str]] = {
        "disable": (lambda conn, a: accounts.set_active(conn, a, username=username, active=False), "已停用"),
        "enable": (lambda conn, a: accounts.set_active(conn, a, username=username, active=True), "已启用"),
        "reset": (
            lambda conn, a: accounts.reset_password(conn, a, username=username),
            "的密码已重置，临时密码只显示这一次，下次登录须修改：",
        ),
    }
    if role in {r.value for r in Role}:
        steps["placement"] = (
            lambda conn, a: accounts.change_placement(
                conn, a, username=username, role=Role(role), jurisdiction_code=place or None
            ),
            "的角色和辖区已修改",
        )
    if action not in steps:
        return _page(request, engine, actor, error=InvalidData([{"field": "action", "message": "未知的操作或角色"}]))
    change, done = steps[action]
    return _act(request, engine, actor, change, lambda _: f"{username}{done}")


@router.post("/admin/reference", include_in_schema=False)
def add_reference(request: Request, engine: EngineDep, actor: PageActor, form: Form) -> Response:
    kind, label, township = _text(form, "kind", 32), _text(form, "label"), _text(form, "township", 32)
    return _act(
        request,
        engine,
        actor,
        lambda conn, a: reference.add_item(conn, a, kind=kind, label=label, township=township or None),
        lambda item: f"已添加{item.label}" + (f"（{item.township_name}）" if item.township_name else "（全县通用）"),
        {"kind": kind, "label": label, "township": township},
    )


@router.post("/admin/reference/{kind}/{code}", include_in_schema=False)
def change_reference(
    request: Request, engine: EngineDep, actor: PageActor, kind: str, code: str, form: Form
) -> Response:
    action, label = _text(form, "action", 16), _text(form, "label")
    steps: dict[str, tuple[Callable[[Connection, Actor], Any], str]] = {
        "rename": (
            lambda conn, a: reference.replace_item(conn, a, kind=kind, code=code, label=label),
            "（旧案件仍显示原名称）",
        ),
        "retire": (lambda conn, a: reference.set_item_active(conn, a, kind=kind, code=code, active=False), "已停用"),
        "restore": (lambda conn, a: reference.set_item_active(conn, a, kind=kind, code=code, active=True), "已恢复"),
    }
    if action not in steps:
        return _page(request, engine, actor, error=InvalidData([{"field": "action", "message": "未知的操作"}]))
    change, done = steps[action]
    return _act(request, engine, actor, change, lambda item: f"{item.label}{done}")
