"""The demo's second township (白马镇) beside 青龙镇 under the county, so that the county's comparison of its
townships compares something; the demo users ``xianju`` (县司法局) and ``baima`` (its mediator) go with it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update

from mediation_flow.places.jurisdictions import add_jurisdiction
from mediation_flow.store.tables import REFERENCE_ITEMS as ITEMS

if TYPE_CHECKING:
    from mediation_flow.demo import DemoTownship

SECOND_TOWNSHIP = ("500101002", "白马镇", "白马", ["白马村", "黄桷村", "石龙村"])
#: Each township's own venues (调解场所): 清风茶室 is 青龙镇's (the packaged reference data has it), 白马镇 has these.
FIRST_VENUES = ("qingfeng_teahouse",)
SECOND_VENUES = {"baima_hall": "白马议事厅", "huangjue_tree": "黄桷树下说事点"}
#: What a 青龙镇 venue becomes when the demo moves a case to 白马镇.
SECOND_VENUE_FOR = {"qingfeng_teahouse": "baima_hall"}


def build_second_township(conn: Any, township: DemoTownship) -> None:
    """白马镇 beside 青龙镇 under the county (for the county's comparison), with its villages and grids."""
    code, name, short, villages = SECOND_TOWNSHIP
    second = add_jurisdiction(conn, code=code, name=name, level="township", parent_id=township.county.id,
                              short_name=short)  # fmt: skip
    _township_venues(conn, township.township.id, second.id)
    for v_index, village_name in enumerate(villages, start=1):
        village = add_jurisdiction(
            conn, code=f"{code}{v_index:03d}", name=village_name, level="village", parent_id=second.id
        )
        for g_index in (1, 2):
            township.second_grids.append(
                add_jurisdiction(
                    conn,
                    code=f"{village.code}{g_index:03d}",
                    level="grid",
                    parent_id=village.id,
                    name=f"{village_name}第{'一二'[g_index - 1]}网格",
                )
            )


def _township_venues(conn: Any, first_id: int, second_id: int) -> None:
    """青龙镇's tea house becomes 青龙镇's own; 白马镇 gets venues of its own: neither is offered the other's."""
    conn.execute(
        update(ITEMS).where(ITEMS.c.kind == "venue", ITEMS.c.code.in_(FIRST_VENUES)).values(jurisdiction_id=first_id)
    )
    last = conn.execute(select(func.coalesce(func.max(ITEMS.c.ordinal), 0)).where(ITEMS.c.kind == "venue")).scalar()
    rows = [
        {"kind": "venue", "code": code, "label": label, "ordinal": int(last or 0) + n, "active": True,
         "jurisdiction_id": second_id}
        for n, (code, label) in enumerate(SECOND_VENUES.items(), start=1)
    ]  # fmt: skip
    conn.execute(insert(ITEMS), rows)
