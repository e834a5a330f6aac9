"""A referred-in case's reference (三调对接) as people read it: 来文单位, 来文编号, 承办人 and the rest of the
intake fields its workflow file declares (委派/委托, 适用程序, 承办法官, 信访形式 …), labelled and formatted.
The case page, the lists and the printouts all take it from here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mediation_flow.display.labels import label
from mediation_flow.workflow.fields import shown_value
from mediation_flow.workflow.schema import WorkflowSpec

BODY, NUMBER, HANDLER, AGENCY = "referring_body", "reference_number", "handler", "agency"
AGENCY_NAMES = "partner_agency"  # the reference kind naming every partner agency by code (places.agencies)


@dataclass
class ReferralFacts:
    body: str
    number: str
    handler: str  # 承办人 at the referring body once named; 承办法官 and 移交民警 are among the details
    details: list[tuple[str, str]] = field(default_factory=list)  # the other intake fields, labelled

    @property
    def line(self) -> str:
        """One line for a list: ``青龙派出所 青公调〔2026〕15号``."""
        return " ".join(x for x in (self.body, self.number) if x)

    def rows(self) -> list[tuple[str, str]]:
        """来文单位, 来文编号, 承办人 (when known), then the details: the rows of a form or a fact list."""
        heads = [(label("referral", k), v) for k, v in ((BODY, self.body), (NUMBER, self.number)) if v]
        if self.handler:
            heads.append((label("referral", "handler"), self.handler))
        return heads + self.details


def body_of(attributes: Mapping[str, Any], reference: Mapping[str, Mapping[str, str]]) -> str:
    """来文单位: the referring agency's name (picked from the list), else the name typed."""
    code = str(attributes.get(AGENCY) or "")
    return reference.get(AGENCY_NAMES, {}).get(code) or str(attributes.get(BODY) or code)


def referral_line(attributes: Mapping[str, Any] | None, reference: Mapping[str, Mapping[str, str]]) -> str:
    """来文单位 and 来文编号 of a case's intake attributes, for a list row ('' for a case not referred in)."""
    attributes = attributes or {}
    return " ".join(x for x in (body_of(attributes, reference), str(attributes.get(NUMBER) or "")) if x)


def referral_facts(
    spec: WorkflowSpec, attributes: Mapping[str, Any] | None, reference: dict[str, dict[str, str]]
) -> ReferralFacts | None:
    """The reference of a case registered under ``spec`` with these intake attributes; None when the
    workflow asks for no referring body (人民调解)."""
    fields = {f.name: f for f in spec.intake_fields}
    if BODY not in fields and AGENCY not in fields:
        return None
    attributes = attributes or {}
    details = [
        (f.label, shown_value(f, attributes[f.name], reference, {}))
        for f in spec.intake_fields
        if f.name not in (BODY, NUMBER, HANDLER, AGENCY) and attributes.get(f.name) not in (None, "", [])
    ]
    return ReferralFacts(
        body=body_of(attributes, reference),
        number=str(attributes.get(NUMBER) or ""),
        handler=str(attributes.get(HANDLER) or ""),
        details=details,
    )
