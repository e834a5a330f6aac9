"""The addresses behind the figures' numbers (a number to the cases it counts), built here rather than in a Jinja
macro: the dashboard has over a hundred, and a macro call with ``urlencode`` per link was a sixth of its render
(issue 15). The same query strings as the macros wrote (``urlencode`` quotes as Jinja's filter does)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from mediation_flow.accounts.policy import Actor, compares_townships


def figure_cases_url(board: Any, figure: str, key: object = None) -> str:
    """A year figure to the report's drill-down, as of the moment it was counted to (so the list is the number's)."""
    return _figure_url(board.year, board.place_code, board.as_of, figure, None if key is None else str(key))


@lru_cache(maxsize=4096)  # a board's links repeat on every view until its figures are counted again
def _figure_url(year: int, code: str, as_of: datetime, figure: str, key: str | None) -> str:
    query = {"year": year, "jurisdiction": code, "figure": figure, "as_of": as_of.isoformat()}
    url = "/reports/cases?" + urlencode(query)
    return url if key is None else url + "&" + urlencode({"key": key})


def open_cases_url(code: str, figure: str, key: object = None, county_view: Any = None) -> str:
    """A 当前 figure to the open cases it counts (``county_view``: the county view it is shown in, to go back to)."""
    url = "/dashboard/cases?" + urlencode({"jurisdiction": code, "figure": figure})
    if key is not None:
        url += "&" + urlencode({"key": key})
    return url + "&" + from_county(county_view) if county_view is not None else url


def from_county(view: Any) -> str:
    """The query that leads a list opened from the county view back to it, its county and year."""
    return urlencode({"from": "county", "county": view.county.code, "year": view.year})


def back_to_county(query: Mapping[str, str], actor: Actor) -> tuple[str, str] | None:
    """Where a list's 返回 leads when it was opened from the county view (?from=county&county=…&year=…), named as
    that page is titled for ``actor`` (a township's user sees their own township's 主要数字 there)."""
    if query.get("from") != "county":
        return None
    kept = {k: query[k] for k in ("county", "year") if re.fullmatch(r"[0-9]{1,12}", query.get(k, ""))}
    label = "返回乡镇对比" if compares_townships(actor) else "返回本乡镇主要数字"
    return "/county" + ("?" + urlencode(kept) if kept else ""), label
