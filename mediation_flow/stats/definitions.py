"""The written definitions of the figures (``definitions.yaml``), loaded once, rendered for the docs."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml


@dataclass(frozen=True)
class FigureDefinition:
    key: str
    label: str
    unit: str
    numerator: str
    denominator: str
    date: str
    # what changes when the chosen jurisdiction is of another level (按村（社区） is a county's 按乡镇（街道）)
    at_level: dict[str, dict[str, str]] = field(default_factory=dict, compare=False)

    def at(self, level: str) -> FigureDefinition:
        changes: dict[str, Any] = self.at_level.get(level, {})
        return replace(self, **changes)


@dataclass(frozen=True)
class Definitions:
    common: dict[str, str]
    settings: dict[str, Any]
    figures: dict[str, FigureDefinition]


@lru_cache
def load_definitions() -> Definitions:
    text = resources.files("mediation_flow.stats").joinpath("definitions.yaml").read_text("utf-8")
    raw = yaml.safe_load(text)
    figures = {key: FigureDefinition(key=key, **spec) for key, spec in raw["figures"].items()}
    return Definitions(common=raw["common"], settings=raw["settings"], figures=figures)


@lru_cache
def figures_at(level: str) -> dict[str, FigureDefinition]:
    """The figures as they read for a jurisdiction of ``level`` (a report's or a dashboard's scope)."""
    return {key: d.at(level) for key, d in load_definitions().figures.items()}


def settings() -> dict[str, Any]:
    return load_definitions().settings


def definitions_markdown() -> str:
    """The definitions as a Markdown section (docs/statistics.md is generated from this)."""
    defs = load_definitions()
    lines = [
        "# 统计口径 (statistics definitions)",
        "",
        "Generated from `mediation_flow/stats/definitions.yaml`; edit the YAML, not this file, and regenerate",
        "with `python -m mediation_flow.stats.definitions > docs/statistics.md` (a test checks they match).",
        "Every figure is counted from the events of `case_event` (conditions evaluated in SQL, one pass)",
        "joined to `dispute_case`; each can be drilled down to the list of cases behind it.",
        "",
        "## 通用规则",
        "",
    ]
    lines += [f"- {text}" for text in defs.common.values()]
    lines += ["", "## 指标", "", "| 指标 | 键 | 单位 | 分子（计数） | 分母 | 日期口径 |", "|---|---|---|---|---|---|"]
    for f in defs.figures.values():
        lines.append(f"| {f.label} | `{f.key}` | {f.unit} | {f.numerator} | {f.denominator} | {f.date} |")
        for level in f.at_level:
            g = f.at(level)
            lines.append(f"| {g.label} | `{g.key}` | {g.unit} | {g.numerator} | {g.denominator} | {g.date} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(definitions_markdown(), end="")
