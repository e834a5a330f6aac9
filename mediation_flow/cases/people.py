"""The same people again (关联纠纷): each party's normalised keys, stored beside the party when a case is
written, and the earlier cases of the jurisdiction whose parties share a key.

Keys: ``id`` a check-digit-valid ID number (or credit code), ``phone`` the number's digits, ``name`` the
name, which counts only within the same village. Matching and search read ``party_key`` by (kind, value),
never the raw party columns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, or_, select

from mediation_flow.accounts.personal_data import (
    PersonalDataError,
    normalize_id_number,
    validate_credit_code,
    validate_id_number,
    validate_phone,
)
from mediation_flow.places.jurisdictions import Place
from mediation_flow.store.db import write_transaction
from mediation_flow.store.fast import BulkInsert, dict_rows
from mediation_flow.store.tables import CASES, PARTIES, PARTY_KEYS
from mediation_flow.store.tables import JURISDICTIONS as JUR

#: How strong each kind of match is, strongest first, and how the page says it.
STRENGTH = {"id": "strong", "phone": "medium", "name": "weak"}
MATCH_LABELS = {"id": "身份证号相同", "phone": "手机号相同", "name": "同村同名"}
STRENGTH_LABELS = {"strong": "强", "medium": "较强", "weak": "弱"}
LOOKBACK = timedelta(days=730)  # 近两年
MAX_MATCHES = 200

_SPACES = re.compile(r"\s+")
_HALFWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_INSERT_KEY = BulkInsert(
    PARTY_KEYS, ("case_id", "party_id", "kind", "value", "village_id", "jurisdiction_path", "registered_at")
)


def name_key(name: str) -> str:
    """A name as matched: half-width, without spaces (``张 三`` and ``张三`` are one name)."""
    return _SPACES.sub("", name.translate(_HALFWIDTH))


def id_key(value: str, kind: str = "person") -> str | None:
    """A check-digit-valid ID number (credit code for an organisation), normalised; None when invalid."""
    try:
        return validate_id_number(value) if kind == "person" else validate_credit_code(value)
    except PersonalDataError:
        return None


def phone_key(value: str) -> str | None:
    """A phone's digits (``+86 138 1234 5678`` and ``13812345678`` are one key); None when not a phone."""
    try:
        return re.sub(r"[^0-9]", "", validate_phone(value))
    except PersonalDataError:
        return None


def party_keys(party: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (kind, value) keys of one party row."""
    keys = []
    if party.get("id_number"):
        found = id_key(party["id_number"], party.get("kind") or "person")
        if found:
            keys.append(("id", found))
    if party.get("phone"):
        found = phone_key(party["phone"])
        if found:
            keys.append(("phone", found))
    if party.get("name"):
        keys.append(("name", name_key(party["name"])[:100]))
    return keys


def village_ids(conn: Connection) -> dict[str, int]:
    """Path of every village → its id."""
    return {r.path: r.id for r in conn.execute(select(JUR.c.path, JUR.c.id).where(JUR.c.level == "village"))}


def village_id_of(path: str, villages: Mapping[str, int]) -> int | None:
    parts = path.strip("/").split("/")
    for depth in range(len(parts), 0, -1):
        found = villages.get("/" + "/".join(parts[:depth]) + "/")
        if found is not None:
            return found
    return None


def backfill_party_keys(engine: Engine, *, batch: int = 1000) -> tuple[int, int]:
    """Write the keys of cases stored before migration 0012 (no ``party_key`` row yet): (cases, keys) written.
    Batches of ``batch`` cases, each in its own transaction, walking the ids upwards: safe to stop and run
    again (a case that has keys is skipped), and it ends even for cases whose parties give no key."""
    has_keys = select(PARTY_KEYS.c.case_id).where(PARTY_KEYS.c.case_id == CASES.c.id).exists()
    last, cases, keys = 0, 0, 0
    while True:
        with write_transaction(engine) as conn:
            query = select(CASES.c.id).where(CASES.c.id > last, ~has_keys).order_by(CASES.c.id).limit(batch)
            ids = list(conn.execute(query).scalars())
            if not ids:
                return cases, keys
            keys += write_party_keys(conn, ids)
        cases, last = cases + len(ids), ids[-1]


def party_key_rows(party: Mapping[str, Any], village_id: int | None) -> list[dict[str, Any]]:
    """The ``party_key`` rows of one party: its row (``id``, ``case_id``, ``kind``, ``name``, ``id_number``,
    ``phone``) with its case's ``jurisdiction_path`` and ``registered_at``; ``village_id`` that path's village."""
    return [
        {
            "case_id": party["case_id"],
            "party_id": party["id"],
            "kind": kind,
            "value": value,
            "village_id": village_id,
            "jurisdiction_path": party["jurisdiction_path"],
            "registered_at": party["registered_at"],
        }
        for kind, value in party_keys(party)
    ]


def write_party_keys(conn: Connection, case_ids: Sequence[int]) -> int:
    """Store the keys of the parties of ``case_ids`` (just written, in the caller's transaction)."""
    villages = village_ids(conn) if case_ids else {}
    written = 0
    for start in range(0, len(case_ids), 500):
        rows = []
        query = (
            select(PARTIES, CASES.c.jurisdiction_path, CASES.c.registered_at)
            .select_from(PARTIES.join(CASES, CASES.c.id == PARTIES.c.case_id))
            .where(PARTIES.c.case_id.in_(list(case_ids[start : start + 500])))
        )
        for party in dict_rows(conn.execute(query)):
            rows += party_key_rows(party, village_id_of(party["jurisdiction_path"], villages))
        if rows:
            _INSERT_KEY.run(conn, rows)
        written += len(rows)
    return written


@dataclass
class Match:
    """An earlier case sharing a key with one of our parties: the strongest kind of match found."""

    case_id: int
    number: str
    title: str
    state: str
    source: str
    registered_at: datetime
    kind: str  # id / phone / name
    party_name: str = ""
    party_id: int = 0
    decision: str = ""  # confirmed / dismissed / '' (suggested)

    @property
    def strength(self) -> str:
        return STRENGTH[self.kind]

    @property
    def label(self) -> str:
        return f"{MATCH_LABELS[self.kind]}（关联度{STRENGTH_LABELS[self.strength]}）"


@dataclass
class Probe:
    """One party to look for: its keys and the village of its case."""

    name: str
    keys: list[tuple[str, str]]
    village_id: int | None
    matches: list[Match] = field(default_factory=list)


def _match_statement() -> Any:
    """Every key of a set of parties in one statement (built once; the values are bound per call): the
    (kind, value, village_id) index drives it, a name read in its village only; the subtree is checked on
    the key row's own copy of the case's path."""
    kind, value = PARTY_KEYS.c.kind, PARTY_KEYS.c.value
    return (
        select(
            kind,
            value,
            PARTY_KEYS.c.case_id,
            PARTY_KEYS.c.party_id,
            PARTIES.c.name,
            CASES.c.number,
            CASES.c.title,
            CASES.c.state,
            CASES.c.source,
            CASES.c.registered_at,
        )
        .select_from(
            PARTY_KEYS.join(CASES, CASES.c.id == PARTY_KEYS.c.case_id).join(
                PARTIES, PARTIES.c.id == PARTY_KEYS.c.party_id
            )
        )
        .where(
            or_(
                and_(kind == "id", value.in_(bindparam("ids", expanding=True))),
                and_(kind == "phone", value.in_(bindparam("phones", expanding=True))),
                and_(
                    kind == "name",
                    value.in_(bindparam("names", expanding=True)),
                    PARTY_KEYS.c.village_id == bindparam("village"),
                ),
            ),
            PARTY_KEYS.c.registered_at >= bindparam("since"),
            PARTY_KEYS.c.registered_at <= bindparam("until"),
            PARTY_KEYS.c.case_id != bindparam("exclude"),
            PARTY_KEYS.c.jurisdiction_path.like(bindparam("scope")),  # paths are digits and slashes
        )
        .order_by(PARTY_KEYS.c.registered_at.desc())
        .limit(MAX_MATCHES)
    )


_MATCHES = _match_statement()
_FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


def find_matches(
    conn: Connection,
    probes: Iterable[Probe],
    *,
    scope_path: str | None,
    since: datetime,
    until: datetime | None = None,
    exclude_case: int | None = None,
) -> list[Probe]:
    """Fill each probe's ``matches``: cases registered from ``since`` (to ``until``) in the subtree at
    ``scope_path`` (None: everywhere) whose parties share a key, one entry per case with its strongest match
    (a name counts within the probe's village only). One query per village among the probes."""
    probes = list(probes)
    order = list(STRENGTH)
    for village in {p.village_id for p in probes}:
        group = [p for p in probes if p.village_id == village]
        wanted = {k: sorted({v for p in group for kind, v in p.keys if kind == k}) for k in STRENGTH}
        params = {
            "ids": wanted["id"],
            "phones": wanted["phone"],
            "names": wanted["name"] if village is not None else [],
            "village": village or 0,
            "since": since,
            "until": until or _FAR_FUTURE,
            "exclude": exclude_case or 0,
            "scope": (scope_path or "/") + "%",
        }
        rows = conn.execute(_MATCHES, params).all() if any(wanted.values()) else []
        for probe in group:
            keys = set(probe.keys)
            best: dict[int, Match] = {}
            for r in rows:
                if (r.kind, r.value) not in keys:
                    continue
                seen = best.get(r.case_id)
                if seen is None or order.index(r.kind) < order.index(seen.kind):
                    best[r.case_id] = Match(
                        r.case_id, r.number, r.title, r.state, r.source, r.registered_at, r.kind, r.name, r.party_id
                    )
            probe.matches = sorted(best.values(), key=lambda m: m.registered_at, reverse=True)
    return probes


def probes_for(parties: Iterable[Mapping[str, Any]], village_id: int | None) -> list[Probe]:
    return [Probe(p.get("name") or "", party_keys(p), village_id) for p in parties]


def search_keys(text: str) -> list[tuple[str, str]]:
    """What a search box entry can be as a party key: an ID number, a phone, a name (normalised)."""
    found = []
    cleaned = normalize_id_number(text)
    if len(cleaned) == 18:
        number = id_key(cleaned)
        if number:
            found.append(("id", number))
    phone = phone_key(text)
    if phone:
        found.append(("phone", phone))
    name = name_key(text)
    if name and not any(ch.isdigit() for ch in name):
        found.append(("name", name[:100]))
    return found


def repeat_count(
    conn: Connection, parties: Iterable[Mapping[str, Any]], *, place: Place, township: Place, moment: datetime
) -> int:
    """How many earlier cases of the township (two years up to ``moment``) share a party with ``parties``:
    the risk rule's count (a number, not the cases, so the whole township counts whoever registers)."""
    village = village_id_of(place.path, village_ids(conn))
    found = find_matches(
        conn,
        probes_for(parties, village),
        scope_path=township.path,
        since=moment - LOOKBACK,
        until=moment,
    )
    return len({m.case_id for probe in found for m in probe.matches})


@dataclass
class RepeatCounter:
    """``repeat_count`` for a bulk import, whose earlier cases are partly still in memory: the database's
    cases plus the drafts counted before (each added after it is counted), so a batch counts as the same
    registrations made one by one would."""

    conn: Connection
    held: list[tuple[int, str, str, int | None, str, datetime]] = field(default_factory=list)
    drafts: int = 0

    def count(self, parties: Iterable[Mapping[str, Any]], *, place: Place, township: Place, moment: datetime) -> int:
        """The import's connection while it is open; a snapshot kept after it (a test) reads on its own."""
        if not self.conn.closed:
            return self._count(self.conn, list(parties), place, township, moment)
        with self.conn.engine.connect() as conn:
            return self._count(conn, list(parties), place, township, moment)

    def _count(
        self, conn: Connection, parties: list[Mapping[str, Any]], place: Place, township: Place, moment: datetime
    ) -> int:
        village = village_id_of(place.path, village_ids(conn))
        probes = probes_for(parties, village)
        found = find_matches(conn, probes, scope_path=township.path, since=moment - LOOKBACK, until=moment)
        cases: set[Any] = {m.case_id for probe in found for m in probe.matches}
        keys = {(k, v, village if k == "name" else None) for probe in probes for k, v in probe.keys}
        keys = {key for key in keys if key[0] != "name" or village is not None}  # a bare name says nothing
        since = moment - LOOKBACK
        for draft, kind, value, held_village, path, at in self.held:
            if since <= at <= moment and path.startswith(township.path) and (kind, value, held_village) in keys:
                cases.add(("draft", draft))
        self.drafts += 1
        self.held += [(self.drafts, kind, value, v, place.path, moment) for kind, value, v in keys]
        return len(cases)
