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


class PartyKind(StrEnum):
    PERSON = "person"
    ORGANISATION = "organisation"

    @property
    def label(self) -> str:
        return label("party_kinds", self)
