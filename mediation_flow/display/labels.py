"""The labels glossary (``glossary.yaml``): the Chinese word for every code a person may see.

``label(kind, code)`` is the one lookup; an unknown code comes back as it is, so a typo shows up on the page
instead of failing it (a test checks that every code in use has a label)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import Enum
from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import Any

import yaml


@lru_cache(maxsize=1)
def glossary() -> Mapping[str, Any]:
    """The whole glossary, read once; mappings are read-only."""
    text = resources.files("mediation_flow.display").joinpath("glossary.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return MappingProxyType(
        {
            kind: MappingProxyType({str(k): str(v) for k, v in value.items()})
            if isinstance(value, dict)
            else tuple(value)
            for kind, value in data.items()
        }
    )


def labels(kind: str) -> Mapping[str, str]:
    """The code → label mapping of one kind (``roles``, ``levels``, ``fields``, …)."""
    value = glossary()[kind]
    if not isinstance(value, Mapping):
        raise TypeError(f"glossary entry {kind!r} is a list, not a mapping")
    return value


def label(kind: str, code: str | int | Enum | None, default: str | None = None) -> str:
    """The label of ``code``; ``default`` (or the code itself) when the glossary has none; '' for None."""
    if code is None or code == "":
        return ""
    key = str(code.value if isinstance(code, Enum) else code)
    found = labels(kind).get(key)
    if found is not None:
        return found
    return key if default is None else default


def office_label(role: str | Enum, scope_path: str | None, agency_name: str = "") -> str:
    """Whom a user works for, shown beside their name: the role's label, except for a supervisor whose
    jurisdiction is the top of the tree (``/<id>/``: the county), who is 县司法局, and a partner agency's user,
    who works for their agency (赵勇（青龙派出所）, not the role's 派出所（警调） in a second bracket)."""
    if agency_name:
        return agency_name
    code = role.value if isinstance(role, Enum) else role
    if code == "supervisor" and scope_path is not None and scope_path.count("/") == 2:
        return label("offices", "county_supervisor")
    return label("roles", role)


def field_label(name: str) -> str:
    """A case, party or request field's label, e.g. ``title`` → 案件名称."""
    return label("fields", name)


def ledger_columns() -> list[str]:
    """The headers of the case ledger export, in order."""
    return list(glossary()["ledger_columns"])


CODE_NAME = re.compile(r"[A-Za-z_]{2,}")


def without_codes(text: str) -> str:
    """A definition without the internal names it cites for the developer ('（register 事件）',
    '（effective_at）'): in each bracket the parts naming one are dropped, an emptied bracket with them."""

    def keep(match: re.Match[str]) -> str:
        parts = [p for p in re.split("[，,]", match.group(1)) if not CODE_NAME.search(p)]
        return f"（{'，'.join(parts)}）" if parts else ""

    return re.sub(r"（([^（）]*)）", keep, text)
