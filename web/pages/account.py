"""我的账号: who I am, and changing my own password (required first, after a temporary password)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from mediation_flow.accounts import sessions
from mediation_flow.accounts.policy import Actor
from mediation_flow.errors import DomainError, InvalidData
from web.deps import EngineDep, client_address
from web.pages.common import PageActor, render
from web.session import session_token, sign_in, verified_form

router = APIRouter()


def _page(
    request: Request,
    actor: Actor,
    *,
    done: bool = False,
    errors: dict[str, str] | None = None,
    message: str = "",
    status: int = 200,
) -> Response:
    context = {
        "title": "我的账号",
        "place": sessions.place_name_of(request.app.state.engine, actor),
        "done": done,
        "errors": errors or {},
        "message": message,
    }
    return render(request, "account.html", context, status_code=status)


@router.get("/account", include_in_schema=False)
def account_page(request: Request, actor: PageActor, changed: bool = False) -> Response:
    return _page(request, actor, done=changed)


@router.post("/account/password", include_in_schema=False)
def change_password(
    request: Request, engine: EngineDep, actor: PageActor, form: Annotated[FormData, Depends(verified_form)]
) -> Response:
    current = str(form.get("current_password") or "")[:256]
    new, again = str(form.get("new_password") or "")[:256], str(form.get("new_password_again") or "")[:256]
    try:
        if not current:  # not a wrong password: nothing for the throttle to count
            raise InvalidData([{"field": "current_password", "message": "请输入当前密码"}])
        if new != again:
            raise InvalidData([{"field": "new_password_again", "message": "两次输入的新密码不一致"}])
        sessions.change_own_password(engine, actor, address=client_address(request), current=current, new=new)
    except InvalidData as exc:
        # the strength rule names the password it judged "password": here that is the new one
        errors = {("new_password" if e["field"] == "password" else e["field"]): e["message"] for e in exc.errors}
        return _page(request, actor, errors=errors, status=422)
    except DomainError as exc:  # too many wrong current passwords: the throttle's answer
        return _page(request, actor, message=exc.message, status=exc.status)
    fresh = sessions.active_actor(engine, actor.id) if actor.id is not None else None
    if fresh is None:
        return RedirectResponse("/login", status_code=303)
    assert fresh.id is not None
    sessions.end_session(engine, session_token(request))  # the old session ends; this browser gets a new one
    sign_in(request, fresh, sessions.current_stamp(engine, fresh.id), sessions.start_session(engine, fresh.id))
    return RedirectResponse("/account?changed=true", status_code=303)
