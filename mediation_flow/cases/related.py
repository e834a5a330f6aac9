"""关联纠纷 as people see it: for each party of a case, the other cases of the user's jurisdiction within
two years whose parties share a key (``cases.people``), the strength of each match, and a supervisor's
confirm / dismiss decisions (``party_link``: rows only added, so the table is its own audit trail).

A dismissed link stays dismissed: it is listed apart and counts in no summary. The other cases' parties
are shown masked for every role (their full identity is on their own case page, where it is logged).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, or_, select

from mediation_flow.accounts.personal_data import mask_id_number, mask_phone, mask_text
from mediation_flow.accounts.policy import Actor, Permission, allows, require
from mediation_flow.cases.people import LOOKBACK, Match, Probe, find_matches, probes_for, village_id_of, village_ids
from mediation_flow.cases.queries import case_events, case_parties, get_case_row
from mediation_flow.errors import InvalidData, NotFound
from mediation_flow.places.jurisdictions import get_by_code, get_by_id
from mediation_flow.places.subtree import within
from mediation_flow.store import clock
from mediation_flow.store.db import write_transaction
from mediation_flow.store.reads import reads
from mediation_flow.store.tables import PARTIES, PARTY_LINKS

DECISIONS = {"confirmed": "已确认关联", "dismissed": "已排除（非同一人）"}
PETITION_SOURCE = "petition"  # 信访转办


@dataclass
class RelatedParty:
    name: str
    role: str
    summary: str  # 该当事人近两年涉及3起纠纷（其中1起信访转办）
    matches: list[Match]
    dismissed: list[Match]


@dataclass
class Related:
    case_id: int
    parties: list[RelatedParty]
    may_decide: bool
    risk_reasons: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len({m.case_id for p in self.parties for m in p.matches})


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def decisions(conn: Connection, case_id: int) -> dict[int, str]:
    """The newest decision on each link of ``case_id``: other case id → confirmed / dismissed."""
    query = (
        select(PARTY_LINKS.c.case_id, PARTY_LINKS.c.other_case_id, PARTY_LINKS.c.decision)
        .where(or_(PARTY_LINKS.c.case_id == case_id, PARTY_LINKS.c.other_case_id == case_id))
        .order_by(PARTY_LINKS.c.id)
    )
    found: dict[int, str] = {}
    for r in conn.execute(query):
        found[r.other_case_id if r.case_id == case_id else r.case_id] = r.decision
    return found


def summary(matches: list[Match]) -> str:
    if not matches:
        return "近两年未发现该当事人涉及其他纠纷"
    petitions = sum(1 for m in matches if m.source == PETITION_SOURCE)
    extra = f"（其中{petitions}起信访转办）" if petitions else ""
    return f"该当事人近两年涉及{len(matches)}起纠纷{extra}"


def _probes(conn: Connection, case_id: int, path: str) -> tuple[list[dict[str, Any]], list[Probe]]:
    parties = case_parties(conn, case_id)
    return parties, probes_for(parties, village_id_of(path, village_ids(conn)))


def _masked_identity(conn: Connection, actor: Actor, matches: list[Match]) -> None:
    """Each match's party name with the matched number masked (ID or phone), e.g. 张三（138****5678）, and its
    title as ``actor`` is shown it."""
    for m in matches:
        m.title = mask_text(m.title)
    wanted = {m.party_id for m in matches if m.kind != "name"}
    if not wanted:
        return
    rows = {r.id: r for r in conn.execute(select(PARTIES).where(PARTIES.c.id.in_(wanted)))}
    for m in matches:
        row = rows.get(m.party_id)
        if row is not None and m.kind != "name":
            shown = mask_id_number(row.id_number) if m.kind == "id" else mask_phone(row.phone)
            m.party_name = f"{m.party_name}（{shown}）" if shown else m.party_name


def related_in(conn: Connection, actor: Actor, case_id: int, *, now: datetime) -> Related:
    row = get_case_row(conn, actor, case_id)  # CaseNotFound outside the user's subtree
    parties, probes = _probes(conn, case_id, row["jurisdiction_path"])
    find_matches(conn, probes, scope_path=actor.scope_path, since=now - LOOKBACK, exclude_case=case_id)
    decided = decisions(conn, case_id)
    found = []
    for party, probe in zip(parties, probes, strict=True):
        for m in probe.matches:
            m.decision = decided.get(m.case_id, "")
        kept = [m for m in probe.matches if m.decision != "dismissed"]
        dismissed = [m for m in probe.matches if m.decision == "dismissed"]
        _masked_identity(conn, actor, kept + dismissed)
        found.append(RelatedParty(party["name"], party["role"], summary(kept), kept, dismissed))
    first = next(iter(case_events(conn, case_id)), None)
    reasons = list((first or {}).get("data", {}).get("risk_reasons", [])) if first else []
    return Related(case_id, found, allows(actor, Permission.DECIDE_LINKS), reasons)


def related_disputes(engine: Engine, actor: Actor, case_id: int) -> Related:
    """The case's related disputes as ``actor`` may see them."""
    with reads(engine) as conn:
        return related_in(conn, actor, case_id, now=clock.utcnow())


def decide_link(
    engine: Engine, actor: Actor, case_id: int, other_case_id: int, decision: str, *, note: str = ""
) -> Related:
    """A supervisor confirms or dismisses a suggested link; recorded with who and when. The case itself is
    not changed (its state, risk grade and events stay), so no step is fired."""
    with reads(engine) as conn:
        get_case_row(conn, actor, case_id)  # a case outside the user's area: not found, as everywhere
    require(actor, Permission.DECIDE_LINKS)
    if decision not in DECISIONS:
        raise InvalidData([{"field": "decision", "message": "请选择“确认关联”或“排除”"}])
    now = clock.utcnow()
    with write_transaction(engine) as conn:
        current = related_in(conn, actor, case_id, now=now)
        suggested = {m.case_id for p in current.parties for m in p.matches + p.dismissed}
        if other_case_id not in suggested:
            raise InvalidData([{"field": "other_case_id", "message": "该案件不在本案的关联纠纷中"}])
        low, high = _pair(case_id, other_case_id)
        conn.execute(
            insert(PARTY_LINKS).values(
                case_id=low, other_case_id=high, decision=decision, actor_id=actor.id, at=now, note=note[:200]
            )
        )
        return related_in(conn, actor, case_id, now=now)


def related_for_intake(
    engine: Engine, actor: Actor, parties: list[dict[str, Any]], *, jurisdiction_code: str | None = None
) -> list[RelatedParty]:
    """关联纠纷 while a dispute is being registered: the parties as typed (invalid numbers are no keys)
    against the cases of the user's jurisdiction in the last two years; names count in the intake's village."""
    require(actor, Permission.REGISTER)
    now = clock.utcnow()
    with reads(engine) as conn:
        path = _intake_path(conn, actor, jurisdiction_code)
        typed = [p for p in parties if p.get("name") or p.get("phone") or p.get("id_number")]
        probes = probes_for(typed, village_id_of(path, village_ids(conn)) if path else None)
        find_matches(conn, probes, scope_path=actor.scope_path, since=now - LOOKBACK)
        found = []
        for party, probe in zip(typed, probes, strict=True):
            _masked_identity(conn, actor, probe.matches)
            found.append(
                RelatedParty(
                    party.get("name") or "", party.get("role") or "", summary(probe.matches), probe.matches, []
                )
            )
    return [p for p in found if p.matches]


def _intake_path(conn: Connection, actor: Actor, code: str | None) -> str | None:
    """The path of the place being registered at: the chosen one if the user may register there, else theirs."""
    if code:
        try:
            place = get_by_code(conn, code)
        except NotFound:
            return None
        return place.path if within(place.path, actor.scope_path) else None
    return get_by_id(conn, actor.jurisdiction_id).path if actor.jurisdiction_id else None
