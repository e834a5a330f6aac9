"""The demo's second township (白马镇) beside 青龙镇 under the county, so that the county's comparison of its
townships compares something; the demo users ``xianju`` (县司法局) and ``baima`` (its mediator) go with it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mediation_flow.places.jurisdictions import add_jurisdiction

if TYPE_CHECKING:
    from mediation_flow.demo import DemoTownship

SECOND_TOWNSHIP = ("500101002", "白马镇", "白马", ["白马村", "黄桷村", "石龙村"])


def build_second_township(conn: Any, township: DemoTownship) -> None:
    """白马镇 beside 青龙镇 under the county (for the county's comparison), with its villages and grids."""
    code, name, short, villages = SECOND_TOWNSHIP
    second = add_jurisdiction(conn, code=code, name=name, level="township", parent_id=township.county.id,
                              short_name=short)  # fmt: skip
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
