"""Closed vocabularies shared by the database, the workflow files and the templates. Their Chinese labels
live in the glossary (``display/glossary.yaml``), not here."""

from __future__ import annotations

from enum import StrEnum

from mediation_flow.display.labels import label


class Role(StrEnum):
    GRID_WORKER = "grid_worker"
    MEDIATOR = "mediator"
    SUPERVISOR = "supervisor"
    POLICE_LIAISON = "police_liaison"
    COURT_LIAISON = "court_liaison"
    PETITION_LIAISON = "petition_liaison"
    CLERK = "clerk"  # 录入员: enters the paper ledger after the fact, naming who acted
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return label("roles", self)

    @property
    def agency_kind(self) -> AgencyKind | None:
        """The kind of partner agency a user of this role belongs to (None: not an agency role)."""
        return AGENCY_ROLES.get(self)


class AgencyKind(StrEnum):
    """The partner agencies of 三调对接: the police station, the (people's) court, the petition office."""

    POLICE = "police"
    COURT = "court"
    PETITION = "petition"

    @property
    def label(self) -> str:
        return label("agency_kinds", self)


#: The three agency roles and the agency kind each belongs to (users of these roles carry ``agency_id``).
AGENCY_ROLES: dict[Role, AgencyKind] = {
    Role.POLICE_LIAISON: AgencyKind.POLICE,
    Role.COURT_LIAISON: AgencyKind.COURT,
    Role.PETITION_LIAISON: AgencyKind.PETITION,
}


class Handoff(StrEnum):
    """Where a case's handoff with its partner agency stands (either direction)."""

    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    ANSWERED = "answered"
    RETURNED = "returned"

    @property
    def label(self) -> str:
        return label("handoff", self)


class Level(StrEnum):
    """Jurisdiction levels, lowest last; a case's handling level is one of the lower four."""

    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"
    GRID = "grid"

    @property
    def label(self) -> str:
        return label("levels", self)

    def up(self) -> Level | None:
        """The next level up (grid → village → township → county), None at the county."""
        order = [Level.GRID, Level.VILLAGE, Level.TOWNSHIP, Level.COUNTY]
        index = order.index(self)
        return order[index + 1] if index + 1 < len(order) else None


class PartyRole(StrEnum):
    APPLICANT = "applicant"
    RESPONDENT = "respondent"
    THIRD_PARTY = "third_party"
    AGENT = "agent"

    @property
    def label(self) -> str:
        return label("party_roles", self)


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"

    @property
    def label(self) -> str:
        return label("genders", self)


#: 民族: the 56 ethnic groups (GB/T 3304), stored by name as the forms write them.
ETHNIC_GROUPS: tuple[str, ...] = tuple(
    f"{name}族"
    for name in (
        "汉",
        "蒙古",
        "回",
        "藏",
        "维吾尔",
        "苗",
        "彝",
        "壮",
        "布依",
        "朝鲜",
        "满",
        "侗",
        "瑶",
        "白",
        "土家",
        "哈尼",
        "哈萨克",
        "傣",
        "黎",
        "傈僳",
        "佤",
        "畲",
        "高山",
        "拉祜",
        "水",
        "东乡",
        "纳西",
        "景颇",
        "柯尔克孜",
        "土",
        "达斡尔",
        "仫佬",
        "羌",
        "布朗",
        "撒拉",
        "毛南",
        "仡佬",
        "锡伯",
        "阿昌",
        "普米",
        "塔吉克",
        "怒",
        "乌孜别克",
        "俄罗斯",
        "鄂温克",
        "德昂",
        "保安",
        "裕固",
        "京",
        "塔塔尔",
        "独龙",
        "鄂伦春",
        "赫哲",
        "门巴",
        "珞巴",
        "基诺",
    )
)


class PartyKind(StrEnum):
    PERSON = "person"
    ORGANISATION = "organisation"

    @property
    def label(self) -> str:
        return label("party_kinds", self)
