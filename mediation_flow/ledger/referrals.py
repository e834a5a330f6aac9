"""What a ledger row says beyond the base path, planned as the engine's steps: a case referred in by a partner
agency (三调对接: police station, court, petition office — its reference, the court's mode, the petition's
channel and situations 重复访 / 越级访 / 进京访 / 购票进京) and the result reported back to it; 一庭两所 joint
mediation; escalations to a level; judicial confirmation. Each reads its own columns of the row and adds its
errors there (``plan.plan_row`` calls them)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any, Protocol

from mediation_flow.store import clock
from mediation_flow.vocabulary import Level

KIND_WORKFLOW = {"police": "police_referral", "court": "court_referral", "petition": "petition_referral"}
COURT_MODES = {"委派调解": "delegated", "委派": "delegated", "委托调解": "entrusted", "委托": "entrusted"}
CHANNELS = {"来信": "letter", "来访": "visit", "来电": "phone", "网上信访": "online"}
SITUATIONS: dict[str, dict[str, Any]] = {
    "重复访": {"repeat": True},
    "越级访": {"level_skipping": True},
    "进京访": {"to_beijing": True},
    "购票进京": {"to_beijing": True, "to_beijing_detail": "ticket"},
    "到京": {"to_beijing": True, "to_beijing_detail": "arrived"},
}
LEVELS = {
    "村": Level.VILLAGE, "村（社区）": Level.VILLAGE, "社区": Level.VILLAGE, "乡镇": Level.TOWNSHIP,
    "乡镇（街道）": Level.TOWNSHIP, "街道": Level.TOWNSHIP, "县": Level.COUNTY, "县（区）": Level.COUNTY,
}  # fmt: skip
PLACE_LEVELS = {"grid": Level.GRID, "village": Level.VILLAGE, "township": Level.TOWNSHIP}
REPORTED = {"agreed": "agreed", "failed": "failed", "withdrawn": "withdrawn", "rejected": "not_accepted"}
_SPLIT = re.compile(r"[、,，;；\s]+")


class Row(Protocol):
    """A ledger row being read (``plan._Row``)."""

    record: dict[str, Any]

    def error(self, column: str, message: str) -> None: ...

    def text(self, column: str) -> str: ...

    def day(self, column: str, today: date) -> date | None: ...


Step = tuple[str, dict[str, Any], datetime]


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=clock.LOCAL_TZ)


def _code(value: str, items: Mapping[str, str]) -> str | None:
    return value if value in items else next((c for c, name in items.items() if name == value), None)


def referral(row: Row, reference: Mapping[str, Mapping[str, str]]) -> tuple[str, dict[str, Any]] | None:
    """(workflow, intake attributes) of a case referred in (移交单位 given); None for the township's own case."""
    if "移交单位" not in row.record:
        for column in ("来文编号", "委派方式", "信访形式", "信访情形", "结果反馈日期"):
            if column in row.record:
                row.error(column, "只有填写了移交单位的移入案件才填写此列")
        return None
    name = row.text("移交单位")
    kind = next((k for k in KIND_WORKFLOW if _code(name, reference.get(f"agency_{k}", {})) is not None), None)
    if kind is None:
        row.error("移交单位", f"不是派出所、人民法庭或信访部门：{name[:20]}")
        return None
    attributes: dict[str, Any] = {"agency": _code(name, reference[f"agency_{kind}"])}
    if "来文单位" in row.record:
        attributes["referring_body"] = row.text("来文单位")
    if "来文编号" not in row.record:
        row.error("来文编号", "移入案件须填写移交单位的文号、案号或信访件编号")
    attributes["reference_number"] = row.text("来文编号")
    if kind == "court":
        attributes["court_mode"] = _choice(row, "委派方式", COURT_MODES, required=True)
    if kind == "petition":
        attributes["channel"] = _choice(row, "信访形式", CHANNELS, required=True)
        for word in _SPLIT.split(row.text("信访情形")) if "信访情形" in row.record else []:
            if word not in SITUATIONS:
                row.error("信访情形", f"应为：{'、'.join(SITUATIONS)}（可填多项）")
                continue
            attributes.update(SITUATIONS[word])
    elif "信访形式" in row.record or "信访情形" in row.record:
        row.error("信访形式" if "信访形式" in row.record else "信访情形", "只有信访部门转办的案件填写")
    return KIND_WORKFLOW[kind], attributes


def _choice(row: Row, column: str, choices: Mapping[str, str], *, required: bool) -> str | None:
    if column not in row.record:
        if required:
            row.error(column, f"应为：{'、'.join(choices)}")
        return None
    found = choices.get(row.text(column))
    if found is None:
        row.error(column, f"应为：{'、'.join(choices)}")
    return found


def report_back(row: Row, outcome: str, workflow: str, today: date) -> Step | None:
    """The result reported back to the referring agency (结果反馈日期), which a referred-in case needs to close."""
    day = row.day("结果反馈日期", today)
    if day is None:
        return None
    data: dict[str, Any] = {"result": REPORTED.get(outcome, "agreed"), "reported_on": day.isoformat(),
                            "content": row.text("原因说明") or "调解结果详见原台账"}  # fmt: skip
    if workflow == "petition_referral":
        data["completion_report"] = "详见原台账"
    return ("report_back", data, at(day, 16))


def joint(row: Row, reference: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """一庭两所: who joined the mediation (联合调解单位) as ``start_mediation``'s joint fields: a kind of agency
    (人民法庭, 派出所, 司法所 …) in the list, the township's own court and police station by name."""
    if "联合调解单位" not in row.record:
        return {}
    found: dict[str, Any] = {}
    for word in _SPLIT.split(row.text("联合调解单位")):
        generic = _code(word, reference.get("agency", {}))
        court, police = _code(word, reference.get("agency_court", {})), _code(word, reference.get("agency_police", {}))
        if generic is not None:
            found.setdefault("joint_agencies", []).append(generic)
        elif (court or police) and ("joint_court" if court else "joint_police") not in found:
            found["joint_court" if court else "joint_police"] = court or police
        else:
            row.error("联合调解单位", f"不是已登记的合作单位，或同类单位填了两个：{word[:20]}")
    return found


def escalations(row: Row, place_level: str | None, today: date, before: date | None) -> list[Step]:
    """提级: one ``escalate`` per level from the place's level up to 提级至, on 提级日期 (before mediation ends)."""
    if "提级至" not in row.record and "提级日期" not in row.record:
        return []
    target = LEVELS.get(row.text("提级至"))
    day = row.day("提级日期", today)
    if target is None:
        row.error("提级至", "应为：村（社区）、乡镇（街道）或县（区）")
    if day is None and "提级日期" not in row.record:
        row.error("提级日期", "填写提级至时须填写提级日期")
    start = PLACE_LEVELS.get(place_level or "")
    if target is None or day is None or start is None:
        return []
    order = list(reversed(Level))  # lowest first
    if order.index(target) <= order.index(start):
        row.error("提级至", f"案件已在{start.label}级，提级须到更高一级")
        return []
    if before is not None and day > before:
        row.error("提级日期", "须在调解结束之前")
    count = order.index(target) - order.index(start)
    return [("escalate", {"reason": "详见原台账"}, at(day, 11, i)) for i in range(count)]


def confirmation(row: Row, today: date) -> list[Step]:
    """司法确认: applied (申请司法确认日期, 受理法院) and granted (司法确认日期, 裁定书文号)."""
    columns = ("申请司法确认日期", "受理法院", "司法确认日期", "裁定书文号")
    if not any(c in row.record for c in columns):
        return []
    for column in columns:
        if column not in row.record:
            row.error(column, "填写司法确认时，申请日期、受理法院、确认日期和裁定书文号都须填写")
    applied, granted = row.day("申请司法确认日期", today), row.day("司法确认日期", today)
    if applied is None or granted is None:
        return []
    if granted < applied:
        row.error("司法确认日期", "不能早于申请司法确认日期")
    return [
        ("apply_confirmation", {"court": row.text("受理法院"), "applied_on": applied.isoformat()}, at(applied, 16, 10)),
        ("confirmation_granted", {"ruling_number": row.text("裁定书文号"), "ruled_on": granted.isoformat()},
         at(granted, 16, 20)),
    ]  # fmt: skip


def merged(
    moves: list[Step],
    extra: list[Step],
    reported: Step | None,
    joint: dict[str, Any],
) -> list[Step]:
    """The base path with the row's further steps in time order (ties keep the base path first); a judicial
    confirmation leads into the follow-up itself, so the base path's 开始回访 goes."""
    if any(trigger == "confirmation_granted" for trigger, _, _ in extra):
        moves = [m for m in moves if m[0] != "start_follow_up"]
    if joint:
        moves = [(t, {**d, **joint}, m) if t == "start_mediation" else (t, d, m) for t, d, m in moves]
    added = [*extra, *([reported] if reported else [])]
    return sorted([*moves, *added], key=lambda step: step[2])
