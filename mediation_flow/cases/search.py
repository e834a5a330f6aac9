"""What the search box's text means (the ``q`` of ``GET /api/v1/cases`` and of ``/cases``).

- an ID number or a phone (spaces, full-width digits, ``+86`` allowed): the cases of parties with that key;
- a case number, whole (（2023）某某人调字第023号) or as year and sequence (2023-023), or its sequence alone
  (``023``: case 23 of any year, not every case of 2023);
- a four-digit year alone (``2023``): that year's cases, or case 2023;
- other text: the cases of parties of that name (spaces and full-width forms aside) if anyone has it,
  else the cases whose title contains it.

Party matches read ``party_key`` (normalised keys, indexed), never the raw ID or phone columns.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, and_, false, or_, select

from mediation_flow.cases.people import name_key, search_keys
from mediation_flow.store.clock import LOCAL_TZ
from mediation_flow.store.tables import CASES, PARTY_KEYS

MAX_QUERY = 50
_HALFWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_NUMBER = re.compile(r"[(（]?((?:19|20)\d{2})[)）]?\D*?第?0*(\d{1,6})号?")
_YEAR_SEQ = re.compile(r"((?:19|20)\d{2})[-/.\s]+0*(\d{1,6})")
_SEQ = re.compile(r"0*(\d{1,6})")
_YEAR = re.compile(r"(?:19|20)\d{2}")


def _cases_with_key(kind: str, value: str) -> Any:
    return CASES.c.id.in_(select(PARTY_KEYS.c.case_id).where(PARTY_KEYS.c.kind == kind, PARTY_KEYS.c.value == value))


def _number_condition(text: str) -> Any | None:
    """The case-number reading of ``text`` (half-width, no spaces), if it has one."""
    if _YEAR.fullmatch(text):
        return or_(CASES.c.year == int(text), CASES.c.seq == int(text))
    if _SEQ.fullmatch(text):
        return CASES.c.seq == int(text)
    found = _YEAR_SEQ.fullmatch(text) or (_NUMBER.fullmatch(text) if "第" in text else None)
    if found:
        return and_(CASES.c.year == int(found.group(1)), CASES.c.seq == int(found.group(2)))
    return None


def _reading(conn: Connection, text: str) -> tuple[str, Any]:
    """What a non-empty search entry is: ("keys", condition) for an ID number or phone, ("number",
    condition) for a case number, ("name", key) for some party's name, else ("title", text)."""
    compact = re.sub(r"\s+", "", text.translate(_HALFWIDTH))
    keys = search_keys(text)
    conditions = [_cases_with_key(kind, value) for kind, value in keys if kind in ("id", "phone")]
    if conditions:
        return "keys", or_(*conditions)  # a whole ID number or phone means a person, nothing else
    number = _number_condition(compact)
    if number is not None:
        return "number", number
    name = name_key(text)[:100]
    known = select(PARTY_KEYS.c.id).where(PARTY_KEYS.c.kind == "name", PARTY_KEYS.c.value == name).limit(1)
    if conn.execute(known).first() is not None:
        return "name", name
    return "title", text


def q_condition(conn: Connection, q: str) -> Any:
    """The SQL condition on cases for a search-box entry (``false()`` for an empty one). Text that is some
    party's name finds that party's cases by the key index; other text looks in titles (a scan)."""
    text = q.strip()[:MAX_QUERY]
    if not text:
        return false()
    kind, found = _reading(conn, text)
    if kind == "name":
        return _cases_with_key("name", found)
    return CASES.c.title.like(f"%{found}%") if kind == "title" else found


def searched_name(conn: Connection, q: str | None) -> str | None:
    """The name key ``q`` searches for when it is read as a party's name (``q_condition``'s reading), else
    None: the people search's count and page can then come from the key rows alone (``cases.queries.name_page``)."""
    text = (q or "").strip()[:MAX_QUERY]
    if not text:
        return None
    kind, found = _reading(conn, text)
    return str(found) if kind == "name" else None


def registered_between(start: date | None, end: date | None, column: Any = CASES.c.registered_at) -> list[Any]:
    """Conditions for cases registered on local days ``start`` to ``end`` (both included, either open), on
    the case's ``registered_at`` or a copy of it (``party_key``'s)."""
    found = []
    if start is not None and start > date.min:  # the calendar's first or last day bounds nothing (and has no UTC
        found.append(column >= _local_start(start))  # start of its own: 0001-01-01 00:00 here is 0000-12-31 in UTC)
    if end is not None and end < date.max:
        found.append(column < _local_start(end + timedelta(days=1)))
    return found


def _local_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=LOCAL_TZ).astimezone(UTC)
