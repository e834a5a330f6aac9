"""三调对接 in the demo: the township's partner agencies, and open cases in every handoff state on every path
(out to, and in from, the 派出所, the 人民法庭 and the 信访局), driven by the agencies' own users."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mediation_flow.places.agencies import Agency, add_agency
from mediation_flow.vocabulary import AgencyKind

# The township's partner agencies, the area each serves and its reference-number format.
DEMO_AGENCIES: list[tuple[str, str, AgencyKind, str, str, str]] = [
    (
        "qinglong_police",
        "青龙派出所",
        AgencyKind.POLICE,
        "500101001",
        r"青公调〔\d{4}〕\d{1,4}号",
        "青公调〔2026〕15号",
    ),
    (
        "qinglong_tribunal",
        "青龙人民法庭",
        AgencyKind.COURT,
        "500101001",
        r"（\d{4}）[\u4e00-\u9fff]\d{4}民(诉前调|初|特)\d{1,5}号",  # （年份）省简称+法院代码+类型字+序号
        "（2026）示0101民诉前调15号",
    ),
    (
        "county_petition",
        "示例县信访局",
        AgencyKind.PETITION,
        "500101",
        r"\S*信\S*\d{4}\S*",  # the offices' own numbering varies: 信 and the year
        "县信转〔2026〕45号",
    ),
]


def build_agencies(conn: Any) -> dict[str, Agency]:
    """The demo's partner agencies (the township's 派出所 and 人民法庭, the county's 信访局), by code."""
    return {
        code: add_agency(
            conn,
            code=code,
            name=name,
            kind=kind,
            jurisdiction_code=place,
            reference_pattern=pattern,
            reference_example=example,
        )
        for code, name, kind, place, pattern, example in DEMO_AGENCIES
    }


# (agency kind, direction, handoff state), among the open cases of a demo of SHOWCASE_FROM cases or more. Out:
# the township refers to the agency, whose user signs for it, answers or returns it. In: the agency's user
# registers the case (a new one: only the 司法所 may back-date); the township accepts, reports back or rejects.
HANDOFF_SHOWCASE: list[tuple[str, str, str]] = [
    (kind, direction, state)
    for kind in ("police", "court", "petition")
    for direction in ("out", "in")
    for state in ("sent", "acknowledged", "answered", "returned")
]
SHOWCASE_FROM = 80
AGENCY_USERS = {"police": ("paichusuo", "赵勇"), "court": ("fating", "周丽"), "petition": ("xinfang", "孙伟")}
_AGENCY_OF = {"police": "qinglong_police", "court": "qinglong_tribunal", "petition": "county_petition"}
_IN_TARGET = {"sent": "registered", "acknowledged": "mediating", "answered": "resolved", "returned": "rejected"}
_FEEDBACK = {
    "police": ("mediated", "青公(治)调字〔{year}〕8号", "经治安调解，双方达成协议。"),
    "court": ("court_mediated", "（{year}）示0101民初56号", "经法院调解，双方达成调解协议，已出具民事调解书。"),
    "petition": ("replied", "县信复〔{year}〕12号", "已出具信访事项处理意见书并答复信访人。"),
}


@dataclass
class Showcase:
    """How the demo builds one showcase case: its target state and source, then ``extra`` steps (trigger,
    data, the demo user firing it), registered at ``registered`` by ``registered_by`` (None: the 司法所)."""

    target: str
    source: str
    registered: datetime
    registered_by: str | None = None
    extra: list[tuple[str, dict[str, Any], str | None]] = field(default_factory=list)


def showcase_case(case: tuple[str, str, str], registered: datetime, now: datetime) -> Showcase:
    kind, direction, state = case
    user, handler = AGENCY_USERS[kind]
    if direction == "in":
        new = state == "sent"
        return Showcase(_IN_TARGET[state], kind, now if new else registered, user if new else None)
    refer = {"target": kind, "agency": _AGENCY_OF[kind], "reason": "纠纷涉及对接单位职责，移送办理。"}
    extra: list[tuple[str, dict[str, Any], str | None]] = [("refer", refer, None)]
    if state in ("acknowledged", "answered"):
        extra.append(("acknowledge", {"handler": handler}, user))
    if state == "answered":
        result, document, content = _FEEDBACK[kind]
        feedback = {"result": result, "document_number": document.format(year=registered.year), "content": content}
        extra.append(("agency_feedback", {**feedback, "decided_on": ""}, user))
    if state == "returned":
        extra.append(("return_referral", {"reason": "该纠纷不属于本单位职责范围，退回原移送单位。"}, user))
    return Showcase("accepted", "initiative", registered, extra=extra)
