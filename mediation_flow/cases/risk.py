"""Risk grading: a configurable scoring rule suggests a colour; people may override it with a reason."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Protocol

import yaml

GRADES = ("red", "orange", "yellow", "blue")


class _Intake(Protocol):
    category: str
    people_involved: int
    summary: str
    attributes: dict[str, Any]


@dataclass(frozen=True)
class RiskScore:
    grade: str
    points: int
    reasons: list[str]


@lru_cache
def risk_rules() -> dict[str, Any]:
    text = resources.files("mediation_flow").joinpath("data/risk_rules.yaml").read_text("utf-8")
    rules: dict[str, Any] = yaml.safe_load(text)
    return rules


def hint_labels() -> dict[str, str]:
    return {code: spec["label"] for code, spec in risk_rules()["hints"].items()}


def score(
    *,
    category: str,
    people_involved: int,
    amount_yuan: float | None,
    summary: str,
    hints: list[str],
    repeats: int = 0,
) -> RiskScore:
    """The score of an intake; ``repeats``: earlier disputes of the same parties (关联纠纷, cases.people)."""
    rules = risk_rules()
    points, reasons = 0, []
    if category in rules["category_points"]:
        points += rules["category_points"][category]
        reasons.append(f"纠纷类型 +{rules['category_points'][category]}")
    for key, value, label in (
        ("people_points", people_involved, "涉及人数"),
        ("amount_points", amount_yuan or 0, "涉及金额"),
        ("repeat_points", repeats, f"当事人近两年涉及{repeats}起纠纷"),
    ):
        step = max((s for s in rules.get(key, []) if value >= s["min"]), key=lambda s: s["min"], default=None)
        if step:
            points += step["points"]
            reasons.append(f"{label} +{step['points']}")
    for hint in hints:
        spec = rules["hints"].get(hint)
        if spec:
            points += spec["points"]
            reasons.append(f"{spec['label']} +{spec['points']}")
    if "threat_of_violence" not in hints and any(word in summary for word in rules["threat_words"]):
        points += rules["threat_word_points"]
        reasons.append(f"简要情况含过激言辞 +{rules['threat_word_points']}")
    grade = next((g for g in GRADES[:3] if points >= rules["thresholds"][g]), "blue")
    return RiskScore(grade, points, reasons)


def score_intake(intake: Any, repeats: int = 0) -> RiskScore:
    return score(
        repeats=repeats,
        category=intake.category,
        people_involved=intake.people_involved,
        amount_yuan=float(intake.amount) if intake.amount is not None else None,
        summary=intake.summary,
        hints=list(intake.risk_hints),
    )
