"""Closed vocabularies shared by the database, the workflow files and the templates. Their Chinese labels
live in the glossary (``display/glossary.yaml``), not here."""

from __future__ import annotations

from enum import StrEnum

from mediation_flow.display.labels import label


class Role(StrEnum):
    GRID_WORKER = "grid_worker"
    MEDIATOR = "mediator"
    SUPERVISOR = "supervisor"
    LIAISON = "liaison"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return label("roles", self)


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
