"""Workflow inheritance: a file saying ``extends: <base>`` is the base workflow with named changes.

The result is an ordinary workflow definition (a plain dict, as if the whole file had been written
out); it is what the loader validates, hashes, stores as a version and draws. The vocabulary, in
full (``docs/workflows.md`` shows it with examples):

- ``name`` (required), ``title``, ``description``, ``legal_basis``, ``initial``, ``intake_fields``:
  a value given replaces the base's.
- ``states`` and ``clocks``: ``remove: [name, ...]``, ``add: {name: full entry}``,
  ``override: {name: {key: value, ...}}``.
- ``transitions``: ``remove: [selector, ...]``, ``add: [full transition, ...]``,
  ``override: {selector: {key: value, ...}}``. A selector is a trigger name, or ``trigger@state``
  (the transition of that trigger leaving that state) when a trigger has several transitions.
- An override replaces the keys it names and keeps the others (a list given replaces the whole list).
- ``after: <name or selector>`` or ``before: ...`` in an ``add`` or ``override`` entry places it
  there; without it an added entry goes last and an overridden one stays where it was.

Each section is applied in the order remove, add, override, so an override may name (and place an
entry next to) one just added. Naming something that is not there is an error, never a no-op.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import ValidationError

from mediation_flow.workflow.schema import ExtensionSpec, MapChanges, TransitionChanges

PLACEMENT = ("after", "before")
Entry = tuple[str, dict[str, Any]]


class ExtensionError(ValueError):
    """A change that cannot be applied; ``field`` is where in the extending file."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


def parse_extension(raw: dict[str, Any]) -> ExtensionSpec:
    try:
        return ExtensionSpec.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ExtensionError(".".join(str(p) for p in first["loc"]) or "(top level)", first["msg"]) from None


def resolve(raw: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """The definition ``raw`` (a file with ``extends``) describes, given its base's resolved definition."""
    extension = parse_extension(raw)
    where = f"the base workflow '{extension.extends}'"
    resolved = copy.deepcopy(base)
    for key in (
        "name",
        "title",
        "description",
        "legal_basis",
        "initial",
        "agency_kind",
        "intake_effects",
        "intake_fields",
    ):
        if key in extension.model_fields_set:
            resolved[key] = copy.deepcopy(raw[key])
    for section in ("states", "clocks"):
        changes: MapChanges = getattr(extension, section)
        entries = _apply(section, list(resolved.get(section, {}).items()), changes, where)
        if section in resolved or entries:
            resolved[section] = dict(entries)
    transitions = [(t.get("trigger", ""), t) for t in resolved.get("transitions", [])]
    resolved["transitions"] = [body for _, body in _apply("transitions", transitions, extension.transitions, where)]
    return resolved


def _apply(section: str, entries: list[Entry], changes: MapChanges | TransitionChanges, where: str) -> list[Entry]:
    for index, selector in enumerate(changes.remove):
        del entries[_find(entries, selector, f"{section}.remove[{index}]", where)]
    additions: list[tuple[str, str, dict[str, Any]]]
    if isinstance(changes, TransitionChanges):
        additions = [(f"{section}.add[{i}]", str(body.get("trigger", "")), body) for i, body in enumerate(changes.add)]
    else:
        additions = [(f"{section}.add.{name}", name, body) for name, body in changes.add.items()]
    for field, key, given in additions:
        body, placement = _split_placement(given, field)
        if isinstance(changes, MapChanges) and any(k == key for k, _ in entries):
            raise ExtensionError(field, f"'{key}' is already in {where}; change it with override")
        _place(entries, (key, body), placement, field, f"{where} nor added before it")
    where = f"{where} nor among this file's additions"
    for selector, given in changes.override.items():
        field = f"{section}.override.{selector}"
        index = _find(entries, selector, field, where)
        partial, placement = _split_placement(given, field)
        if not partial and placement is None:
            raise ExtensionError(field, "an override names at least one key to change, or after/before")
        if section == "transitions" and "trigger" in partial:
            message = "a trigger is not renamed by override; remove it and add the new one"
            raise ExtensionError(f"{field}.trigger", message)
        key, body = entries.pop(index)
        body = {**body, **partial}
        if placement is None:
            entries.insert(index, (key, body))
        else:
            _place(entries, (key, body), placement, field, where)
    return entries


def _split_placement(given: dict[str, Any], field: str) -> tuple[dict[str, Any], tuple[str, str, str] | None]:
    """The entry without its placement keys, and (``after``/``before``, selector, field) if one was given."""
    named = [key for key in PLACEMENT if key in given]
    if len(named) > 1:
        raise ExtensionError(field, "give either after or before, not both")
    body = {key: copy.deepcopy(value) for key, value in given.items() if key not in PLACEMENT}
    if not named:
        return body, None
    anchor = given[named[0]]
    if not isinstance(anchor, str):
        raise ExtensionError(f"{field}.{named[0]}", "names one entry (a string)")
    return body, (named[0], anchor, f"{field}.{named[0]}")


def _place(entries: list[Entry], entry: Entry, placement: tuple[str, str, str] | None, field: str, where: str) -> None:
    if placement is None:
        entries.append(entry)
        return
    side, anchor, anchor_field = placement
    index = _find(entries, anchor, anchor_field, where)
    entries.insert(index + 1 if side == "after" else index, entry)


def _find(entries: list[Entry], selector: str, field: str, where: str) -> int:
    """The one entry ``selector`` names: a name, or ``trigger@state`` for a transition leaving ``state``."""
    key, _, state = selector.partition("@")
    hits = [i for i, (k, body) in enumerate(entries) if k == key and (not state or state in _sources(body))]
    if not hits:
        raise ExtensionError(field, f"'{selector}' is not in {where}")
    if len(hits) > 1:
        raise ExtensionError(field, f"'{selector}' names {len(hits)} transitions; pick one as {key}@<source state>")
    return hits[0]


def _sources(body: dict[str, Any]) -> list[str]:
    source = body.get("source")
    if isinstance(source, str):
        return [source]
    return [str(s) for s in source] if isinstance(source, list) else []
