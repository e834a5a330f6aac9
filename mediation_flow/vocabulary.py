"""Closed vocabularies shared by the database, the workflow files and the templates."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    GRID_WORKER = "grid_worker"
    MEDIATOR = "mediator"
    SUPERVISOR = "supervisor"
    LIAISON = "liaison"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.GRID_WORKER: "网格员",
    Role.MEDIATOR: "人民调解员",
    Role.SUPERVISOR: "司法所/综治中心",
    Role.LIAISON: "对接单位联络员",
    Role.ADMIN: "管理员",
}


class Level(StrEnum):
    """Jurisdiction levels, lowest last; a case's handling level is one of the lower four."""

    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"
    GRID = "grid"

    @property
    def label(self) -> str:
        return LEVEL_LABELS[self]

    def up(self) -> Level | None:
        """The next level up (grid → village → township → county), None at the county."""
        order = [Level.GRID, Level.VILLAGE, Level.TOWNSHIP, Level.COUNTY]
        index = order.index(self)
        return order[index + 1] if index + 1 < len(order) else None


LEVEL_LABELS = {Level.COUNTY: "县", Level.TOWNSHIP: "乡镇", Level.VILLAGE: "村", Level.GRID: "网格"}


class PartyRole(StrEnum):
    APPLICANT = "applicant"
    RESPONDENT = "respondent"
    THIRD_PARTY = "third_party"
    AGENT = "agent"

    @property
    def label(self) -> str:
        return {"applicant": "申请人", "respondent": "被申请人", "third_party": "第三人", "agent": "代理人"}[self.value]


class PartyKind(StrEnum):
    PERSON = "person"
    ORGANISATION = "organisation"

    @property
    def label(self) -> str:
        return {"person": "自然人", "organisation": "法人或其他组织"}[self.value]
