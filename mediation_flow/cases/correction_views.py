"""How corrections (更正) read on the case's timeline: the correction with what it was and what it is now, and
the corrected step itself keeping its original time or amount, marked with the corrected one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from mediation_flow.display.formats import cn_datetime, money
from mediation_flow.display.labels import label
from mediation_flow.store.tables import JURISDICTIONS
from mediation_flow.workflow.correction_rules import CORRECT, DERIVED, PARTY_FIELDS
from mediation_flow.workflow.fields import parse_money_fen


@dataclass(frozen=True)
class Shown:
    """What the timeline needs besides the event: labels of triggers, categories, places and parties."""

    trigger_label: Mapping[str, str]
    what_labels: Mapping[str, str]
    categories: Mapping[str, str]
    places: Mapping[str, str]  # jurisdiction code → name
    parties: Mapping[int, str]  # party id → name as shown


def corrected_steps(events: list[dict[str, Any]]) -> dict[int, dict[str, str]]:
    """seq of a corrected step → what its latest corrections made of it ({'time': …, 'amount': …}, as shown)."""
    marks: dict[int, dict[str, str]] = {}
    for event in events:
        data = event["data"] or {}
        if event["trigger"] != CORRECT or not data.get("event"):
            continue
        if data.get("what") == "event_time":
            marks.setdefault(int(data["event"]), {})["time"] = cn_datetime(datetime.fromisoformat(data["value"]))
        elif data.get("what") == "agreement_amount":
            marks.setdefault(int(data["event"]), {})["amount"] = _money(data.get("value"))
    return marks


def place_codes(events: list[dict[str, Any]]) -> set[str]:
    """The jurisdiction codes the case's corrections name (to look their names up)."""
    return {
        str(v)
        for e in events
        if e["trigger"] == CORRECT and (e["data"] or {}).get("what") == "village"
        for v in (e["data"].get("was"), e["data"].get("value"))
        if v
    }


def place_names(conn: Connection, events: list[dict[str, Any]]) -> dict[str, str]:
    codes = place_codes(events)
    if not codes:
        return {}
    query = select(JURISDICTIONS.c.code, JURISDICTIONS.c.name).where(JURISDICTIONS.c.code.in_(codes))
    return {code: name for code, name in conn.execute(query)}


def details(event: dict[str, Any], events: list[dict[str, Any]], shown: Shown) -> list[tuple[str, str]]:
    """A correction's lines: what, which party or step, was, now, reason (and the count it changed)."""
    data = event["data"] or {}
    what = str(data.get("what") or "")
    items = [(label("correction", "what"), shown.what_labels.get(what, what))]
    if what in PARTY_FIELDS and data.get("party"):
        items.append((label("correction", "party"), shown.parties.get(int(data["party"]), "")))
    if data.get("event"):
        target = next((e for e in events if e["seq"] == int(data["event"])), None)
        if target is not None:
            name = shown.trigger_label.get(target["trigger"], target["trigger"])
            items.append((label("correction", "event"), f"{name}（{cn_datetime(target['effective_at'])}）"))
    items.append((label("correction", "was"), _value(what, data.get("was"), shown) or "（空）"))
    items.append((label("correction", "value"), _value(what, data.get("value"), shown)))
    if data.get("repeat_disputes"):
        before, after = data["repeat_disputes"]
        items.append((label("correction", "repeat_disputes"), f"{before} → {after}"))
    if data.get("derived"):  # named only: the party's card shows the values, masked as the policy says
        names = [label("correction", k) for k in DERIVED if k in data["derived"]]
        items.append((label("correction", "derived"), "、".join(names)))
    items.append((label("correction", "reason"), str(data.get("reason") or "")))
    return items


def _money(value: Any) -> str:
    return money(parse_money_fen(value)) if value not in (None, "") else ""


def _value(what: str, value: Any, shown: Shown) -> str:
    if value in (None, ""):
        return ""
    if what == "category":
        return shown.categories.get(str(value), str(value))
    if what == "village":
        return shown.places.get(str(value), str(value))
    if what in ("amount", "agreement_amount"):
        return _money(value)
    if what == "event_time":
        return cn_datetime(datetime.fromisoformat(str(value)))
    return str(value)
