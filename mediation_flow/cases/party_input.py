"""One party as registered: who they are (checked ID number or credit code, phone) and the details the official
forms ask for (性别, 民族, 出生日期 or 年龄, 住址). The intake parser's model (``intake.PartyIn``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mediation_flow.accounts.personal_data import (
    PersonalDataError,
    validate_credit_code,
    validate_id_number,
    validate_phone,
)
from mediation_flow.store import clock
from mediation_flow.textinput import Line
from mediation_flow.vocabulary import ETHNIC_GROUPS, Gender, PartyKind, PartyRole

EARLIEST_BIRTH = date(1900, 1, 1)


def blank_is_none(cls: type, value: Any) -> Any:
    """A form's empty field is no value (a validator, run before the field's own parsing)."""
    return None if value == "" else value


def ethnic_group(value: str) -> str:
    """A 民族 as the forms write it (``汉`` and ``汉族`` both give ``汉族``); ValueError if it is none of the 56."""
    name = value.strip()
    name = name if name.endswith("族") else f"{name}族"
    if name not in ETHNIC_GROUPS:
        raise ValueError("请从列表中选择民族")
    return name


class PartyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    role: PartyRole = PartyRole.APPLICANT
    kind: PartyKind = PartyKind.PERSON
    name: Line = Field(min_length=1, max_length=100)
    id_number: Line | None = Field(default=None, max_length=32)
    phone: Line | None = Field(default=None, max_length=32)
    address: Line | None = Field(default=None, max_length=200)
    gender: Gender | None = None
    ethnicity: Line | None = Field(default=None, max_length=16)
    birth_date: date | None = None
    age: int | None = Field(default=None, ge=0, le=150)

    _blank = field_validator("gender", "ethnicity", "birth_date", "age", mode="before")(blank_is_none)

    @field_validator("ethnicity")
    @classmethod
    def _ethnicity(cls, value: str | None) -> str | None:
        return ethnic_group(value) if value else None

    @field_validator("birth_date")
    @classmethod
    def _birth_date(cls, value: date | None) -> date | None:
        if value is not None and not EARLIEST_BIRTH <= value <= clock.local_date(clock.utcnow()):
            raise ValueError("出生日期须在1900年1月1日至今天之间")
        return value

    @model_validator(mode="after")
    def _identity(self) -> PartyIn:
        try:
            if self.id_number:
                self.id_number = (
                    validate_id_number(self.id_number)
                    if self.kind == PartyKind.PERSON
                    else validate_credit_code(self.id_number)
                )
            if self.phone:
                self.phone = validate_phone(self.phone)
        except PersonalDataError as exc:
            raise ValueError(exc.message) from None
        return self

    def row(self) -> dict[str, Any]:
        """The party's table row (its date a ``date``, as the column takes it on every back end)."""
        return {**self.model_dump(mode="json"), "birth_date": self.birth_date}
