"""未填写: the group of a breakdown's cases whose field was left empty, so that every breakdown sums to its
total (the 124 cases mediated are 40 at a named venue and 84 未填写, not 40 of 124 silently)."""

from __future__ import annotations

from typing import Any

from mediation_flow.display.labels import label

# Breakdowns whose groups must add up to a figure: the cases with the field empty are a group of their own.
COMPLETE = {"by_source": "taken_in", "by_category": "taken_in", "by_venue": "mediated",
            "resolved_by_level": "resolved", "referral_out": "referral_out"}  # fmt: skip
UNSET = "_unset"  # the key of that group (no reference code starts with '_')


def add_unset(rows: list[dict[str, Any]], missing: int) -> None:
    """Fold an empty-text group into the 未填写 row, and add that row for the ``missing`` counted cases in no
    group (those whose field is empty or blank: counted by ``figures.tally_of``)."""
    for row in [r for r in rows if r["key"] == ""]:
        rows.remove(row)
    if missing:
        rows.append({"key": UNSET, "label": label("breakdown_groups", "unset"), "count": missing})
