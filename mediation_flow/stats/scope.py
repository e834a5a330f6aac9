"""What a report covers: a jurisdiction subtree, a local-date period [start, end), as of a moment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import Connection, and_

from mediation_flow.display.formats import date_range
from mediation_flow.errors import InvalidData
from mediation_flow.places.jurisdictions import Place, ancestors, get_by_code
from mediation_flow.places.subtree import in_subtree, path_upper
from mediation_flow.store import clock
from mediation_flow.store.tables import CASES, EVENTS


@dataclass(frozen=True)
class Scope:
    place: Place
    start: date
    end: date
    as_of: datetime
    township_name: str = ""
    dialect: str = "sqlite"
    county_name: str = ""  # the county of the place (the place itself for a county)
    village_name: str = ""  # the village of a village or grid report ('' above the village level)
    township_code: str = ""  # whose report templates apply ('' for a county)
    own_only: bool = False  # only the cases registered at the place itself, not those below it (kept_figures)

    @property
    def start_utc(self) -> datetime:
        return datetime.combine(self.start, time(), tzinfo=clock.LOCAL_TZ).astimezone(UTC)

    @property
    def end_utc(self) -> datetime:
        return datetime.combine(self.end, time(), tzinfo=clock.LOCAL_TZ).astimezone(UTC)

    @property
    def path_upper(self) -> str:
        """The smallest string above every path in the subtree ('/' + 1 is '0')."""
        return path_upper(self.place.path)

    @property
    def year(self) -> int:
        return self.start.year

    @property
    def period_text(self) -> str:
        """The period as every page and document writes it: ``2025年1月1日至2025年12月31日``."""
        return date_range(self.start, self.end)

    def in_subtree(self, cases: Any = CASES) -> Any:
        """The case lies in the place's subtree (``places.subtree``: a range on SQLite, LIKE elsewhere), or at the
        place itself when ``own_only``."""
        if self.own_only:
            return cases.c.jurisdiction_path == self.place.path
        return in_subtree(cases.c.jurisdiction_path, self.place.path)

    def in_scope(self, events: Any = EVENTS, cases: Any = CASES) -> Any:
        """An event effective in the period (and recorded by as_of) of a case in the subtree."""
        return and_(self.in_period(events), self.in_subtree(cases))

    def in_period(self, events: Any = EVENTS) -> Any:
        return and_(
            events.c.effective_at >= self.start_utc,
            events.c.effective_at < self.end_utc,
            events.c.recorded_at <= self.as_of,
        )

    def describe(self) -> dict[str, Any]:
        return {
            "jurisdiction": {"code": self.place.code, "name": self.place.name, "level": self.place.level},
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "as_of": self.as_of.isoformat(),
        }


def year_scope(conn: Connection, *, code: str, year: int, as_of: datetime | None = None) -> Scope:
    """The scope of the annual report of jurisdiction ``code`` for ``year``, as of ``as_of`` (default now)."""
    if not 2000 <= year <= 2100:
        raise InvalidData([{"field": "year", "message": "年份应在2000至2100之间"}])
    place = get_by_code(conn, code)
    moment = clock.ensure_aware(as_of).astimezone(UTC) if as_of else clock.utcnow()
    line = {p.level: p for p in ancestors(conn, place)}  # the place and those above it, by level
    township, county, village = line.get("township"), line.get("county"), line.get("village")
    return Scope(
        place=place,
        start=date(year, 1, 1),
        end=date(year + 1, 1, 1),
        as_of=moment,
        township_name=township.name if township else place.name,
        dialect=conn.dialect.name,
        county_name=county.name if county else "",
        village_name=village.name if village else "",
        township_code=township.code if township else "",
    )
