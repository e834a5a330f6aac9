"""Administration: the jurisdiction tree and the accounts (administrators only; every change logged)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, UploadFile
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from mediation_flow.accounts import management as accounts
from mediation_flow.accounts.admin_log import administer, inspect, recent_changes
from mediation_flow.accounts.policy import Actor
from mediation_flow.errors import InvalidData
from mediation_flow.places import changes
from mediation_flow.places import reference_changes as reference
from mediation_flow.places.importing import import_places
from mediation_flow.places.jurisdictions import all_places, get_by_code, get_by_id
from mediation_flow.vocabulary import Role
from web.api.schemas import ErrorResponse
from web.deps import ApiActor, EngineDep

router = APIRouter(prefix="/admin", tags=["admin"])
ERRORS: dict[int | str, dict[str, Any]] = {s: {"model": ErrorResponse} for s in (401, 403, 404, 409, 422)}
PlaceCode = Annotated[str, Path(min_length=1, max_length=32, description="辖区代码")]
Username = Annotated[str, Path(min_length=1, max_length=64, description="用户名")]
MAX_CSV = 8 * 1024 * 1024


class PlaceOut(BaseModel):
    code: str
    name: str
    level: str
    parent_code: str | None
    active: bool


class PlaceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=32, description="统计用区划代码；网格为村代码加1至4位")
    name: str = Field(min_length=1, max_length=64)
    parent_code: str | None = Field(default=None, max_length=32, description="上级代码；县级不填")


class PlaceChange(BaseModel):
    """Any of: a new name, a new parent (move), ``active`` false to retire or true to restore."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=64)
    parent_code: str | None = Field(default=None, min_length=1, max_length=32)
    active: bool | None = None


class AccountOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    jurisdiction_code: str | None
    jurisdiction_name: str | None
    is_active: bool
    must_change_password: bool


class AccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    display_name: str = Field(default="", max_length=64)
    role: Role
    jurisdiction_code: str | None = Field(default=None, max_length=32)
    agency_code: str | None = Field(
        default=None, max_length=32, description="派出所、人民法庭、信访部门账号所属的对接单位"
    )


class AccountCreated(BaseModel):
    account: AccountOut
    temporary_password: str = Field(description="只返回这一次；首次登录须修改")


class AccountChange(BaseModel):
    """Any of: ``active``; a new ``role`` (with ``jurisdiction_code``); a new ``display_name``."""

    model_config = ConfigDict(extra="forbid")

    active: bool | None = None
    role: Role | None = None
    jurisdiction_code: str | None = Field(default=None, max_length=32)
    display_name: str | None = Field(default=None, min_length=1, max_length=64)


class PasswordReset(BaseModel):
    temporary_password: str = Field(description="只返回这一次；下次登录须修改")


def _place_out(conn: Connection, code: str) -> PlaceOut:
    place = get_by_code(conn, code)
    parent = get_by_id(conn, place.parent_id).code if place.parent_id else None
    return PlaceOut(code=place.code, name=place.name, level=place.level, parent_code=parent, active=place.active)


def _places(conn: Connection) -> list[PlaceOut]:
    places = all_places(conn)
    codes = {p.id: p.code for p in places}
    return [
        PlaceOut(code=p.code, name=p.name, level=p.level, parent_code=codes.get(p.parent_id or 0), active=p.active)
        for p in places
    ]


@router.get("/places", response_model=list[PlaceOut], responses=ERRORS)
def list_places(engine: EngineDep, actor: ApiActor) -> list[PlaceOut]:
    """Every place, retired ones included, in tree order (brothers by code)."""
    return inspect(engine, actor, _places)


@router.post("/places", status_code=201, response_model=PlaceOut, responses=ERRORS)
def add_place(engine: EngineDep, actor: ApiActor, body: PlaceCreate) -> PlaceOut:
    def change(conn: Connection, a: Actor) -> PlaceOut:
        place = changes.add_place(conn, a, code=body.code, name=body.name, parent_code=body.parent_code)
        return _place_out(conn, place.code)

    return administer(engine, actor, change)


@router.patch("/places/{code}", response_model=PlaceOut, responses=ERRORS)
def change_place(engine: EngineDep, actor: ApiActor, code: PlaceCode, body: PlaceChange) -> PlaceOut:
    """Rename, move (a new parent of the right level), retire (``active: false``) or restore, in one step."""

    def change(conn: Connection, a: Actor) -> PlaceOut:
        if body.name is not None:
            changes.rename_place(conn, a, code=code, name=body.name)
        if body.parent_code is not None:
            changes.move_place(conn, a, code=code, parent_code=body.parent_code)
        if body.active is False:
            changes.retire_place(conn, a, code=code)
        elif body.active is True:
            changes.restore_place(conn, a, code=code)
        return _place_out(conn, code)

    return administer(engine, actor, change)


@router.post("/places/import", status_code=201, responses=ERRORS)
async def import_places_csv(engine: EngineDep, actor: ApiActor, file: UploadFile) -> dict[str, int]:
    """A CSV in the shape of 统计用区划代码 (code, name, parent code): all rows or none; 422 lists the rows."""
    content = await file.read(MAX_CSV + 1)
    if len(content) > MAX_CSV:
        raise InvalidData([{"field": "file", "message": "文件过大（上限8MB）"}])
    result = administer(engine, actor, lambda conn, a: import_places(conn, a, content))
    return {"added": result.added, "skipped": result.skipped}


@router.get("/accounts", response_model=list[AccountOut], responses=ERRORS)
def list_accounts(engine: EngineDep, actor: ApiActor, role: Role | None = None) -> list[AccountOut]:
    found = inspect(engine, actor, lambda conn: accounts.list_accounts(conn, actor, role=role.value if role else None))
    return [AccountOut(**vars(x)) for x in found]


@router.post("/accounts", status_code=201, response_model=AccountCreated, responses=ERRORS)
def add_account(engine: EngineDep, actor: ApiActor, body: AccountCreate) -> AccountCreated:
    """A new account with a one-time password (returned once; changed at the first sign-in)."""
    account, password = administer(
        engine,
        actor,
        lambda conn, a: accounts.create_account(
            conn,
            a,
            username=body.username,
            role=body.role,
            display_name=body.display_name,
            jurisdiction_code=body.jurisdiction_code,
            agency_code=body.agency_code,
        ),
    )
    return AccountCreated(account=AccountOut(**vars(account)), temporary_password=password or "")


@router.patch("/accounts/{username}", response_model=AccountOut, responses=ERRORS)
def change_account(engine: EngineDep, actor: ApiActor, username: Username, body: AccountChange) -> AccountOut:
    """Disable (its sessions and tokens stop at once) or re-enable; a new role and jurisdiction; a new name."""

    def change(conn: Connection, a: Actor) -> accounts.Account:
        account = accounts.get_account(conn, username)
        if body.role is not None:
            accounts.change_placement(
                conn, a, username=username, role=body.role, jurisdiction_code=body.jurisdiction_code
            )
        if body.display_name is not None:
            accounts.rename_account(conn, a, username=username, display_name=body.display_name)
        if body.active is not None:
            accounts.set_active(conn, a, username=username, active=body.active)
        return accounts.get_account(conn, account.username)

    return AccountOut(**vars(administer(engine, actor, change)))


@router.post("/accounts/{username}/reset-password", response_model=PasswordReset, responses=ERRORS)
def reset_password(engine: EngineDep, actor: ApiActor, username: Username) -> PasswordReset:
    """A one-time password (returned once): the account's sessions and tokens end; it must be changed at sign-in."""
    password = administer(engine, actor, lambda conn, a: accounts.reset_password(conn, a, username=username))
    return PasswordReset(temporary_password=password)


@router.get("/log", responses=ERRORS)
def change_log(engine: EngineDep, actor: ApiActor) -> list[dict[str, Any]]:
    """The newest 50 administrative changes."""
    return inspect(engine, actor, recent_changes)


class ItemOut(BaseModel):
    kind: str
    code: str
    label: str
    active: bool
    township_code: str | None = Field(description="所属乡镇（街道）代码；全县通用的为空")
    township_name: str = Field(description="所属乡镇（街道）名称；全县通用的为空")


class ItemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(min_length=1, max_length=32, description="venue | category | agency | referral_target")
    label: str = Field(min_length=1, max_length=64)
    code: str | None = Field(default=None, max_length=32, description="不填则自动生成")
    township_code: str | None = Field(
        default=None,
        max_length=32,
        description="调解场所、联合调解单位可只属于一个乡镇（街道）：填其代码；不填则全县通用"
        "（乡镇管理员不填时为本乡镇）",
    )


class ItemChange(BaseModel):
    """``label``: a new name (the old item is retired, a new one made: old cases keep their name); ``active``."""

    model_config = ConfigDict(extra="forbid")

    label: str | None = Field(default=None, min_length=1, max_length=64)
    active: bool | None = None


Kind = Annotated[str, Path(min_length=1, max_length=32)]
ItemCode = Annotated[str, Path(min_length=1, max_length=32)]


@router.get("/reference", response_model=list[ItemOut], responses=ERRORS)
def list_reference(
    engine: EngineDep,
    actor: ApiActor,
    township: Annotated[
        str | None, Query(max_length=32, description="乡镇（街道）代码：只列该乡镇可选的（全县通用的和本乡镇的）")
    ] = None,
) -> list[ItemOut]:
    """The editable reference data (venues, categories, agencies, referral targets), retired items too: the
    county's and those of the administrator's townships (a township's administrator: not another township's)."""
    items = inspect(engine, actor, lambda conn: reference.list_items(conn, actor=actor, township=township))
    return [ItemOut(**vars(i)) for i in items]


@router.post("/reference", status_code=201, response_model=ItemOut, responses=ERRORS)
def add_reference(engine: EngineDep, actor: ApiActor, body: ItemCreate) -> ItemOut:
    item = administer(
        engine,
        actor,
        lambda conn, a: reference.add_item(
            conn, a, kind=body.kind, label=body.label, code=body.code, township=body.township_code
        ),
    )
    return ItemOut(**vars(item))


@router.patch("/reference/{kind}/{code}", response_model=ItemOut, responses=ERRORS)
def change_reference(engine: EngineDep, actor: ApiActor, kind: Kind, code: ItemCode, body: ItemChange) -> ItemOut:
    """A new name answers with the new item (its new code); ``active`` retires or restores."""

    def change(conn: Connection, a: Actor) -> reference.Item:
        item = (
            reference.set_item_active(conn, a, kind=kind, code=code, active=body.active)
            if body.active is not None
            else None
        )
        if body.label is not None:
            item = reference.replace_item(conn, a, kind=kind, code=code, label=body.label)
        return item or reference.get_item(conn, kind, code)

    return ItemOut(**vars(administer(engine, actor, change)))
