"""Partner agencies of 三调对接: the police stations, (people's) courts and petition offices a township works
with. Each serves the jurisdiction subtree of its ``jurisdiction_id`` and has its own reference-number format.

Workflow fields name an agency by code (``choices: agency_police`` / ``agency_court`` / ``agency_petition`` /
``partner_agency``): ``choice_kinds`` gives those lists as reference data, so forms and validation treat
them as any other choice; the rules check the rest (the kind, the area served, the reference pattern).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from mediation_flow.errors import Conflict, InvalidData, NotFound
from mediation_flow.places.jurisdictions import get_by_code
from mediation_flow.places.subtree import within
from mediation_flow.store.fast import Executor, Prepared
from mediation_flow.store.reads import reads
from mediation_flow.store.tables import AGENCIES
from mediation_flow.store.tables import JURISDICTIONS as JUR
from mediation_flow.vocabulary import AgencyKind

#: The reference-data kinds the agency table answers: every active agency, and those of one kind.
ALL_KINDS = "partner_agency"
KIND_CHOICES = {f"agency_{kind.value}": kind for kind in AgencyKind}
CHOICE_KINDS = (ALL_KINDS, *KIND_CHOICES)


@dataclass(frozen=True)
class Agency:
    id: int
    code: str
    name: str
    kind: str
    jurisdiction_id: int
    jurisdiction_path: str
    reference_pattern: str
    reference_example: str
    active: bool

    def serves(self, path: str) -> bool:
        """Whether a case at jurisdiction ``path`` lies in the area this agency serves."""
        return within(path, self.jurisdiction_path)

    def reference_problem(self, number: str) -> str | None:
        """None when ``number`` has this agency's format, else the Chinese sentence saying what it should be."""
        if not self.reference_pattern or _compiled(self.reference_pattern).fullmatch(number.strip()):
            return None
        example = f"，如“{self.reference_example}”" if self.reference_example else ""
        return f"编号格式不符合{self.name}的来文编号格式{example}"


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


_SELECT = select(
    AGENCIES.c.id,
    AGENCIES.c.code,
    AGENCIES.c.name,
    AGENCIES.c.kind,
    AGENCIES.c.jurisdiction_id,
    JUR.c.path,
    AGENCIES.c.reference_pattern,
    AGENCIES.c.reference_example,
    AGENCIES.c.active,
).select_from(AGENCIES.join(JUR, JUR.c.id == AGENCIES.c.jurisdiction_id))
_ALL = Prepared(_SELECT.order_by(AGENCIES.c.id))


def _agency(row: Any) -> Agency:
    return Agency(
        row["id"], row["code"], row["name"], row["kind"], row["jurisdiction_id"], row["path"],
        row["reference_pattern"], row["reference_example"], bool(row["active"]),
    )  # fmt: skip


def all_agencies(conn: Executor) -> list[Agency]:
    """Every agency, active or not, in the order they were added."""
    return [_agency(row) for row in _ALL.rows(conn, {})]


class AgencyBook:
    """The agencies read once (a request, an import, a step): by code and by id."""

    def __init__(self, agencies: list[Agency]) -> None:
        self.by_code = {a.code: a for a in agencies}
        self.by_id = {a.id: a for a in agencies}

    @classmethod
    def read(cls, conn: Executor) -> AgencyBook:
        return cls(all_agencies(conn))

    def get(self, code: str) -> Agency | None:
        return self.by_code.get(code)

    def choices(self, kind: str, *, retired: bool = False) -> dict[str, str]:
        """Active agencies (and the retired ones too, with ``retired``: what an old record shows) as a
        reference-data kind (``partner_agency`` or ``agency_<kind>``): code → name."""
        wanted = KIND_CHOICES.get(kind)
        return {
            a.code: a.name
            for a in self.by_code.values()
            if (a.active or retired) and (wanted is None or a.kind == wanted)
        }


class AgencyLookup:
    """An agency by code, the table read on the first question only (most steps ask none)."""

    __slots__ = ("_book", "_conn")

    def __init__(self, conn: Executor) -> None:
        self._conn = conn
        self._book: AgencyBook | None = None

    def __call__(self, code: str) -> Agency | None:
        if self._book is None:
            self._book = AgencyBook.read(self._conn)
        return self._book.get(code)


def agencies_serving(conn: Executor, path: str, kind: AgencyKind | str | None = None) -> list[Agency]:
    """Active agencies whose area contains the jurisdiction at ``path`` (of one kind, if given)."""
    return [a for a in all_agencies(conn) if a.active and a.serves(path) and (kind is None or a.kind == str(kind))]


def get_agency(conn: Executor, code: str) -> Agency:
    found = AgencyBook.read(conn).get(code)
    if found is None:
        raise NotFound(f"对接单位不存在：{code[:32]}", code=code[:32])
    return found


def get_agency_by_id(conn: Executor, agency_id: int) -> Agency | None:
    return AgencyBook.read(conn).by_id.get(agency_id)


def check_reference(agency: Agency, number: str) -> None:
    """InvalidData on ``reference_number`` unless ``number`` has the agency's format."""
    problem = agency.reference_problem(number)
    if problem:
        raise InvalidData([{"field": "reference_number", "message": problem}])


def add_agency(
    conn: Connection,
    *,
    code: str,
    name: str,
    kind: AgencyKind,
    jurisdiction_code: str,
    reference_pattern: str = "",
    reference_example: str = "",
) -> Agency:
    """A new partner agency serving the subtree of ``jurisdiction_code`` (a county or a township)."""
    if reference_pattern:
        try:
            re.compile(reference_pattern)
        except re.error:
            raise InvalidData([{"field": "reference_pattern", "message": "编号格式（正则表达式）无效"}]) from None
        if reference_example and not _compiled(reference_pattern).fullmatch(reference_example):
            raise InvalidData([{"field": "reference_example", "message": "编号示例不符合编号格式"}])
    if conn.execute(select(AGENCIES.c.id).where(AGENCIES.c.code == code)).first():
        raise Conflict(f"对接单位代码已存在：{code}")
    place = get_by_code(conn, jurisdiction_code)
    conn.execute(
        insert(AGENCIES).values(
            code=code, name=name, kind=kind.value, jurisdiction_id=place.id,
            reference_pattern=reference_pattern, reference_example=reference_example, active=True,
        )
    )  # fmt: skip
    return get_agency(conn, code)


def agency_options(
    engine: Engine, *, jurisdiction_code: str | None, kind: AgencyKind | None, scope_path: str | None
) -> list[dict[str, str]]:
    """The active agencies serving a place (by code; default: the user's own area ``scope_path``), of one kind
    if given: what a registration or a referral offers to pick from."""
    with reads(engine) as conn:
        path = scope_path or "/"
        if jurisdiction_code:
            try:
                path = get_by_code(conn, jurisdiction_code).path
            except NotFound:
                raise InvalidData([{"field": "jurisdiction", "message": "辖区不存在"}]) from None
        found = agencies_serving(conn, path, kind)
    return [
        {
            "code": a.code,
            "name": a.name,
            "kind": a.kind,
            "kind_label": AgencyKind(a.kind).label,
            "reference_example": a.reference_example,
        }
        for a in found
    ]
