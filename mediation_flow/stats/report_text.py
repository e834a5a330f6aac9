"""The annual report section in Chinese, built from the sentence templates in
``templates/report_sentences.yaml`` (editable data) and the computed figures."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from mediation_flow.display.formats import money_wan, number, percent, quantity
from mediation_flow.display.labels import without_codes
from mediation_flow.stats.definitions import load_definitions
from mediation_flow.stats.figures import Figures


@lru_cache
def load_templates() -> dict[str, Any]:
    text = resources.files("mediation_flow.stats").joinpath("templates/report_sentences.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


@dataclass
class ReportText:
    title: str
    heading: str
    paragraphs: list[str]
    table: list[dict[str, str]] = field(default_factory=list)
    issuer_lines: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "issuer_lines": self.issuer_lines,
            "title": self.title,
            "heading": self.heading,
            "paragraphs": self.paragraphs,
            "table": self.table,
        }

    def with_paragraphs(self, paragraphs: list[str]) -> ReportText:
        """The same report with the text as a person edited it (the table stays computed)."""
        cleaned = [p.strip() for p in paragraphs if p.strip()]
        return ReportText(self.title, self.heading, cleaned, self.table, self.issuer_lines)

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


def join_cn(items: list[str], last: str = "和") -> str:
    """['a', 'b', 'c'] → 'a、b和c'."""
    if len(items) <= 1:
        return "".join(items)
    return "、".join(items[:-1]) + last + items[-1]


def _rate_text(rate: float | None, phrases: list[dict[str, Any]]) -> str:
    if rate is None:
        return "—"
    entry = next(p for p in phrases if rate >= p["min"])
    return str(entry["text"]).format(value=number(rate))


def context(figures: Figures, templates: dict[str, Any]) -> dict[str, Any]:
    """Every placeholder the templates may use."""
    v, b = figures.values, figures.breakdowns
    ctx: dict[str, Any] = {k: number(x) if not isinstance(x, str) else x for k, x in v.items()}
    for name, rows in b.items():
        for row in rows:
            ctx[f"{name}_{row['key']}"] = row["count"]
    scope = figures.scope
    venues = sorted(b.get("by_venue", []), key=lambda r: -r["count"])
    ctx.update(
        township=scope.township_name,
        jurisdiction=scope.place.name,
        year=scope.year,
        venue=venues[0]["label"] if venues else "",
        amount_text=money_wan(int(v["agreement_amount_fen"])),
        conversions_list="、".join(f"{r['label']}{r['count']}件" for r in b["conversions"] if r["count"]),
        sources_list="、".join(f"{r['label']}{r['count']}件" for r in b["by_source"] if r["count"]),
        referral_in_list="、".join(
            f"{templates['referral_in_words'].get(r['key'], r['label'])}{r['count']}件"
            for r in b["referral_in"]
            if r["count"]
        ),
        levels_list="、".join(
            f"{templates['level_words'].get(r['key'], r['label'])}{r['count']}件"
            for r in b["resolved_by_level"]
            if r["count"]
        ),
    )
    top = sorted(b["by_category"], key=lambda r: -r["count"])[: int(templates.get("top_categories", 3))]
    ctx["categories_list"] = "、".join(r["label"] for r in top) + "纠纷" if top else ""
    ctx["petitions_list"] = _petitions_list(figures, templates)
    ctx.update(_sandiao(figures, templates))
    ctx["venue_prefix"] = str(templates["venue_prefix"]).format(**ctx) if ctx["venue"] else ""
    for key in ("success_rate", "on_time_rate", "performance_rate"):
        ctx[f"{key}_text"] = _rate_text(v.get(key), templates["rate_phrases"])
    return ctx


def _petitions_list(figures: Figures, templates: dict[str, Any]) -> str:
    """'1起写信重复访和1起进京访', or '信访事项2件' when no flag is set."""
    words, flags = templates["petition_channel_words"], templates["petition_flag_words"]
    items = []
    for row in figures.breakdowns.get("petitions_by_channel", []):
        flag, _, channel = row["key"].partition(":")
        word = flags.get(flag) or flags.get(flag.partition(".")[0], flag)  # 购票进京访 only when recorded
        items.append(f"{row['count']}起{words.get(channel, '')}{word}")
    if items:
        return join_cn(items)
    total = figures.values.get("petitions_resolved", 0)
    return f"信访事项{total}件" if total else ""


def _details(figures: Figures, path: str, words: dict[str, str]) -> str:
    """'（化解1件、退回1件）' from the per-path figures named in ``words`` (zeros left out), or ''."""
    shown = [
        f"{word}{quantity(n, '件')}" for figure, word in words.items() if (n := figures.count(figure, path))
    ]  # fmt: skip
    return f"（{'、'.join(shown)}）" if shown else ""


def _sandiao(figures: Figures, templates: dict[str, Any]) -> dict[str, str]:
    """The 三调 phrases: which mechanisms the period's cases show, what each path received and sent and where
    those referrals stood at the period's end, the court's on-time rate, and the joint sessions per agency."""
    spec = templates["sandiao"]
    v = figures.values
    active = [
        path for path in spec["paths"]
        if figures.count("referral_in", path) or figures.count("referral_out_agency", path)
    ]  # fmt: skip
    quoted = "、".join(f"“{spec['paths'][p]['name']}”" for p in active)
    mechanisms = []
    if active:
        mechanisms.append(quoted + (spec["all_paths"] if len(active) == len(spec["paths"]) else spec["some_paths"]))
    if v.get("joint_mediations"):
        mechanisms.append(spec["joint_mechanism"])
    paths = []
    for path in active:
        words, items = spec["paths"][path], []
        received = figures.count("referral_in", path)
        if received:
            items.append(f"{words['in']}{quantity(received, '件')}{_details(figures, path, spec['in_details'])}")
        sent = figures.count("referral_out_agency", path)
        if sent:
            items.append(f"{words['out']}{quantity(sent, '件')}{_details(figures, path, spec['out_details'])}")
        if path == "court" and v.get("court_on_time_judged"):
            items.append(
                str(spec["court_on_time"]).format(
                    rate=percent(v["court_on_time_rate"]),
                    on_time=quantity(v["court_on_time"], "件"),
                    judged=quantity(v["court_on_time_judged"], "件"),
                )
            )
        paths.append(str(spec["path"]).format(name=words["name"], items="，".join(items)))
    labels = {r["key"]: r["label"] for r in figures.breakdowns.get("joint_sessions", [])}
    joint = [
        str(spec["joint_agency"]).format(agency=labels.get(r["key"], r["key"]), sessions=quantity(r["count"], "次"))
        for r in figures.breakdowns.get("joint_sessions", [])
    ]
    return {
        "sandiao_mechanisms": join_cn(mechanisms),
        "sandiao_paths": "；".join(paths),
        "joint_separator": "；" if paths else "，",
        "joint_list": "、".join(joint),
    }


def _part(part: dict[str, Any], figures: Figures, ctx: dict[str, Any]) -> str:
    only_if = part.get("only_if")
    if only_if and not figures.values.get(only_if):
        return ""
    any_of = part.get("only_if_any")
    if any_of and not any(figures.values.get(name) for name in any_of):
        return ""
    if "text" in part:
        return str(part["text"]).format(**ctx)
    value = figures.values.get(part["count"]) or 0
    wording = part.get("zero") if value == 0 else part.get("one") if value == 1 else part.get("many")
    return str(wording).format(**ctx) if wording else ""


def render(figures: Figures, templates: dict[str, Any] | None = None) -> ReportText:
    """The report section for ``figures``: title, paragraphs and the figures table."""
    templates = templates or load_templates()
    ctx = context(figures, templates)
    paragraphs = []
    for paragraph in templates["paragraphs"]:
        text = "".join(_part(part, figures, ctx) for part in paragraph)
        if text.strip("。，；"):  # a paragraph all of whose parts had nothing to say is left out
            paragraphs.append(text if text.endswith("。") else text + "。")
    definitions = load_definitions().figures
    table = []
    for key in templates["table"]:
        d = definitions[key]
        if key == "agreement_amount":
            shown = money_wan(int(figures.values["agreement_amount_fen"]))
        else:
            shown = quantity(figures.values.get(key), d.unit)
        table.append({"key": key, "label": d.label, "value": shown, "definition": without_codes(d.numerator)})
    return ReportText(
        title=str(templates["title"]).format(**ctx),
        heading=str(templates["heading"]),
        paragraphs=paragraphs,
        table=table,
        issuer_lines=[str(line).format(**ctx) for line in templates.get("issuer_lines", [])],
    )


def sandiao_table(figures: Figures, templates: dict[str, Any] | None = None) -> tuple[list[str], list[list[Any]]]:
    """The 三调 table of the exports: a row per path (its name, then the counts of each per-path figure)."""
    spec = (templates or load_templates())["sandiao"]
    header = ["对接类型", *spec["columns"].values()]
    rows = [
        [words["name"], *(figures.count(f, path) for f in spec["columns"])] for path, words in spec["paths"].items()
    ]
    return header, rows


def joint_table(figures: Figures) -> tuple[list[str], list[list[Any]]]:
    """The 一庭两所 sessions per participating agency."""
    rows = [[r["label"], r["count"]] for r in figures.breakdowns.get("joint_sessions", [])]
    return ["参加单位", "联合调解（次）"], rows
