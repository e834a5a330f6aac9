"""What each printout's template is filled with: the case as the actor may see it, in Chinese, every value
formatted by ``display.formats`` (dates ``2023年10月9日``, money ``1,200.50元``), free text masked as the
policy says (``views.free_text_as_shown``).

Fields every template may use: 编号, 案件名称, 纠纷类型, 案件来源, 登记日期, 所属辖区, 处理层级, 风险等级,
涉及人数, 涉及金额, 登记人, 调解员, 纠纷简要情况, 调解委员会, 落款日期, 当事人姓名, 申请人姓名, 来文情况 (rows of
项目 and 内容), 当事人 (each with 身份, 姓名, 性别出生, 证件号码, 联系电话, 住址, 简况, 联系). Each form adds its own
(see the functions below). Signature lines are never filled: they are signed by hand.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection

from mediation_flow.cases.queries import case_workflow, user_names
from mediation_flow.cases.referral_facts import AGENCY_NAMES, referral_facts
from mediation_flow.cases.views import PartyView, latest_data, letter_kind
from mediation_flow.display import labels
from mediation_flow.display.formats import BLANK_DATE, cn_date, cn_numeral, money
from mediation_flow.places.jurisdictions import get_by_id, township_of
from mediation_flow.places.reference import reference_labels
from mediation_flow.workflow.fields import parse_money_fen, shown_value
from mediation_flow.workflow.schema import FieldSpec

TICKED, UNTICKED = "☑", "□"
BLANK_REASON = "　" * 12  # room to write a reason by hand


def day(value: date | datetime | str | None) -> str:
    """A date on a form; a blank to be filled in by hand when there is none."""
    return cn_date(value, blank=BLANK_DATE)


def _party(p: PartyView) -> dict[str, str]:
    phone = f"联系电话{p.phone}" if p.phone else ""
    address = f"住{p.address}" if p.address else ""
    details = [p.sex_birth, f"证件号码{p.id_number}" if p.id_number else "", phone, address]
    contact = "，".join(x for x in (phone, address) if x)
    return {
        "身份": p.role_label,
        "姓名": p.name,
        "性别出生": p.sex_birth,
        "证件号码": p.id_number or "",
        "联系电话": p.phone or "",
        "住址": p.address or "",
        "简况": "，".join(x for x in (p.name, *details) if x),
        "联系": f"，{contact}" if contact else "",
    }


def base(conn: Connection, row: dict[str, Any], parties: list[PartyView]) -> dict[str, Any]:
    """The fields every template may use (``row`` already as shown to the actor)."""
    reference = reference_labels(conn)
    names = user_names(conn, {i for i in (row["mediator_id"], row["created_by"]) if i})
    place = get_by_id(conn, row["jurisdiction_id"])
    township = township_of(conn, place)
    referral = referral_facts(case_workflow(conn, row).spec, row["attributes"], reference)
    return {
        "编号": row["number"],
        "案件名称": row["title"],
        "纠纷类型": reference.get("category", {}).get(row["category"], row["category"]),
        "案件来源": reference.get("source", {}).get(row["source"], row["source"]),
        "登记日期": day(row["registered_at"]),
        "所属辖区": place.name,
        "处理层级": labels.label("levels", row["level"]),
        "风险等级": reference.get("risk_grade", {}).get(row["risk_grade"], row["risk_grade"]),
        "涉及人数": f"{row['people_involved']}人",
        "涉及金额": money(row["amount_fen"]),
        "登记人": names.get(row["created_by"] or 0, ""),
        "调解员": names.get(row["mediator_id"] or 0, ""),
        "纠纷简要情况": row["summary"] or "",
        "调解委员会": f"{township.name if township else ''}人民调解委员会",
        "落款日期": BLANK_DATE,
        "当事人": [_party(p) for p in parties],
        "当事人姓名": "、".join(p.name for p in parties),
        "申请人姓名": "、".join(p.name for p in parties if p.role == "applicant") or "、".join(p.name for p in parties),
        "来文情况": [{"项目": k, "内容": v} for k, v in (referral.rows() if referral else [])],
    }


def _shown(conn: Connection, row: dict[str, Any], event: dict[str, Any]) -> dict[str, str]:
    """An event's data as the timeline shows it (choice labels, Chinese dates, money), by field name."""
    specs: dict[str, FieldSpec] = {}
    for t in case_workflow(conn, row).spec.transitions:
        if t.trigger == event["trigger"]:
            specs.update({f.name: f for f in t.fields})
    reference = reference_labels(conn)
    data = event["data"] or {}
    return {k: shown_value(specs.get(k), v, reference, {}) for k, v in data.items() if v not in (None, "", [])}


def _of(events: list[dict[str, Any]], trigger: str) -> list[dict[str, Any]]:
    return [e for e in events if e["trigger"] == trigger]


def registration(conn: Connection, row: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    """受理意见 ticked as the case was decided (受理 / 不予受理 and its reason), 告知 ticked when recorded."""
    accepted, refused = _of(events, "accept"), _of(events, "reject")
    decided = (accepted or refused)[-1:] if accepted or refused else []
    return {
        "受理框": TICKED if accepted else UNTICKED,
        "不予受理框": TICKED if refused and not accepted else UNTICKED,
        "不予受理理由": (refused[-1]["data"] or {}).get("reason", "") if refused and not accepted else BLANK_REASON,
        "告知框": TICKED if any((e["data"] or {}).get("rights_notified") for e in accepted) else UNTICKED,
        "落款日期": day(decided[0]["effective_at"] if decided else None),
    }


def rights(conn: Connection, row: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    accepted = _of(events, "accept")
    return {"落款日期": day(accepted[-1]["effective_at"] if accepted else None)}


def refusal(conn: Connection, row: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    refused = _of(events, "reject")[-1]
    return {"不予受理理由": (refused["data"] or {}).get("reason", ""), "落款日期": day(refused["effective_at"])}


def _each(
    conn: Connection,
    row: dict[str, Any],
    events: list[dict[str, Any]],
    trigger: str,
    fields: dict[str, tuple[str, str]],
) -> list[dict[str, str]]:
    """One entry per ``trigger`` event in order, numbered 第一次, 第二次 …; ``fields``: template key → (field name,
    what to print when the field was left empty)."""
    entries = []
    for n, event in enumerate(_of(events, trigger), start=1):
        shown = _shown(conn, row, event)
        entries.append({"次数": f"第{cn_numeral(n)}次", **{k: shown.get(f, empty) for k, (f, empty) in fields.items()}})
    return entries


def session_record(conn: Connection, row: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    """笔录: one per recorded session, in order."""
    fields = {
        "调解日期": ("session_date", BLANK_DATE),
        "调解地点": ("location", ""),
        "参加人员": ("participants", ""),
        "调解情况": ("content", ""),
    }
    return {"笔录": _each(conn, row, events, "record_session", fields)}


def agreement(conn: Connection, row: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    """From the latest 达成调解协议; dated on the signing date typed (blank when there is none)."""
    data = latest_data(events, "reach_agreement")
    deadline = f"于{day(data['performance_deadline'])}前履行完毕" if data.get("performance_deadline") else ""
    return {
        "纠纷事实": data.get("facts", ""),
        "协议内容": data.get("terms", ""),
        "履行方式": "，".join(x for x in (data.get("performance", ""), deadline) if x),
        "协议金额": money(parse_money_fen(data["amount"])) if data.get("amount") else "",
        "协议形式": labels.label("agreement_forms", data.get("form")),
        "落款日期": day(data.get("signed_on")),
    }


def follow_up(conn: Connection, row: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    """回访: one per recorded visit, in order; dated on the latest visit."""
    fields = {
        "回访日期": ("visited_on", BLANK_DATE),
        "履行情况": ("performed", ""),
        "满意度": ("satisfaction", ""),
        "另行起诉": ("lawsuit_followed", "否"),
        "隐患情况": ("hidden_risk", "无"),
        "采取措施": ("action_taken", ""),
    }
    visits = _each(conn, row, events, "record_visit", fields)
    signed = latest_data(events, "reach_agreement").get("signed_on")
    return {"回访": visits, "协议日期": cn_date(signed) if signed else "", "落款日期": visits[-1]["回访日期"]}


def _due(row: dict[str, Any], clock_name: str) -> str:
    clock = (row["clocks"] or {}).get(clock_name) or {}
    return day(clock["due"]) if clock.get("due") else ""


def referral(conn: Connection, row: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    """纠纷移送函 (转办单 to a 信访 office) of the latest 转出: to whom, why, the deadlines to sign and answer."""
    refer = _of(events, "refer")[-1]
    data = refer["data"] or {}
    reference = reference_labels(conn)
    target = reference.get("referral_target", {}).get(data.get("target", ""), "")
    agency = reference.get(AGENCY_NAMES, {}).get(str(data.get("agency") or ""), "")
    kind = letter_kind(events)
    receipt, feedback = _due(row, "handoff_receipt"), _due(row, "referral_feedback")
    asks = [f"请于{receipt}前签收" if receipt else "", f"于{feedback}前将办理结果反馈我委" if feedback else ""]
    asked = "，".join(x for x in asks if x)
    return {
        "函名": kind,
        "移送": kind[:2],
        "收函单位": agency or data.get("receiving_body") or target,
        "转往": target,
        "转出理由": data.get("reason", ""),
        "转出日期": day(refer["effective_at"]),
        "办理要求": f"，{asked}" if asked else "",
        "落款日期": day(refer["effective_at"]),
    }
