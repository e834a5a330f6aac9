"""The annual report section in Chinese, built from the sentence templates (``templates/report_sentences.yaml``,
editable data a township may override: :mod:`mediation_flow.stats.report_templates`) and the computed figures.

``render(figures)`` is the one entry for any jurisdiction (county, township, village, grid): the subject, the
issuing body and the templates follow the figures' scope."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mediation_flow.display.formats import money, money_wan, number, percent, quantity
from mediation_flow.display.labels import without_codes
from mediation_flow.errors import InvalidData
from mediation_flow.stats.definitions import figures_at, load_definitions
from mediation_flow.stats.figures import EVENT_FIGURES, PASS_ONLY, Figures
from mediation_flow.stats.report_templates import load_templates
from mediation_flow.stats.unset import UNSET
from mediation_flow.store import clock

__all__ = ["RATE_PARTS", "ReportText", "has_records", "join_cn", "load_templates", "rate_parts", "render"]

# A rate → (its numerator, its denominator): figures of their own, shown beside the rate everywhere.
RATE_PARTS = {
    "success_rate": ("resolved", "mediation_concluded"),
    "on_time_rate": ("on_time", "on_time_judged"),  # only cases with a mediation limit are judged
    "court_on_time_rate": ("court_on_time", "court_on_time_judged"),
    "performance_rate": ("performed", "visited"),
}


@dataclass
class ReportText:
    title: str
    heading: str
    paragraphs: list[str]
    table: list[dict[str, str]] = field(default_factory=list)
    issuer_lines: list[str] = field(default_factory=list)
    subject: str = ""  # the jurisdiction the report is about
    period: str = ""  # 2025年1月1日至2025年12月31日, as the page and the .docx both write it

    def to_dict(self) -> dict[str, Any]:
        return {
            "issuer_lines": self.issuer_lines,
            "subject": self.subject,
            "period": self.period,
            "title": self.title,
            "heading": self.heading,
            "paragraphs": self.paragraphs,
            "table": self.table,
        }

    def with_paragraphs(self, paragraphs: list[str]) -> ReportText:
        """The same report with the text as a person edited it (the table stays computed)."""
        cleaned = [p.strip() for p in paragraphs if p.strip()]
        return ReportText(self.title, self.heading, cleaned, self.table, self.issuer_lines, self.subject, self.period)

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


def fill(template: object, ctx: dict[str, Any]) -> str:
    """``template`` with its {placeholders} filled; a placeholder the report does not know (a township's edited
    sentence file) is a clear error, not a crash."""
    try:
        return str(template).format(**ctx)
    except (KeyError, IndexError, ValueError) as error:
        message = f"报告句子模板有误（{str(error)[:40]}）：请检查模板中的占位符"
        raise InvalidData([{"field": "templates", "message": message}]) from None


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
    if scope.place.level not in templates.get("venue_levels", [scope.place.level]):
        venues = []
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
    ctx.update(_place_words(figures, templates))
    ctx["categories_list"] = _categories(figures, templates)
    ctx["categories_phrase"] = fill(templates.get("categories_phrase", ""), ctx) if ctx["categories_list"] else ""
    ctx["petitions_list"] = _petitions_list(figures, templates)
    ctx.update(_sandiao(figures, templates))
    ctx["venue_prefix"] = fill(templates["venue_prefix"], ctx) if ctx["venue"] else ""
    for key in ("success_rate", "on_time_rate", "performance_rate"):
        ctx[f"{key}_text"] = _rate_text(v.get(key), templates["rate_phrases"])
    for key, wording in templates.get("rate_parts", {}).items():
        numerator, denominator = rate_parts(figures, key)
        ctx[f"{key}_parts"] = str(wording).format(numerator=numerator, denominator=denominator)
    return ctx


def rate_parts(figures: Figures, rate: str) -> tuple[str, str]:
    """A rate's numerator and denominator as counts with their unit (``22件``, ``26件``)."""
    numerator, denominator = RATE_PARTS[rate]
    unit = load_definitions().figures[numerator].unit
    return quantity(figures.values.get(numerator, 0), unit), quantity(figures.values.get(denominator, 0), unit)


def _place_words(figures: Figures, templates: dict[str, Any]) -> dict[str, str]:
    """Who the report is about and who issues it: subject, county, township, village, its committee, period."""
    scope = figures.scope
    village = scope.village_name
    committees: dict[str, str] = templates.get("committee", {})
    committee = next((word for end, word in committees.items() if village.endswith(end)), "村民委员会")
    return {
        "subject": scope.place.name,
        "county": scope.county_name,
        "village": village,
        "committee": committee,
        "period": scope.period_text,
        "motto": str(templates.get("motto", "")),
    }


def _categories(figures: Figures, templates: dict[str, Any]) -> str:
    """The most frequent types, each as a dispute (邻里纠纷), never twice (劳动争议, not 劳动争议纠纷)."""
    top = sorted(figures.breakdowns["by_category"], key=lambda r: -r["count"])
    shown = [r for r in top if r["count"] and r["key"] != UNSET][: int(templates.get("top_categories", 3))]
    word = str(templates.get("category_word", "纠纷"))
    endings = tuple(templates.get("category_word_not_after", [word]))
    return join_cn([r["label"] if r["label"].endswith(endings) else r["label"] + word for r in shown])


def has_records(figures: Figures) -> bool:
    """Whether the period has any case record to speak of (an event counted by a figure, or a conversion)."""
    v = figures.values
    return any(v.get(name) for name in EVENT_FIGURES if name not in PASS_ONLY) or bool(v.get("conversions"))


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


def _details(figures: Figures, path: str, groups: list[dict[str, str]], moment: str) -> str:
    """'（化解1件、退回1件；年末尚未反馈2件）' from the per-path figures named in ``groups`` (zeros and empty groups
    left out), or ''."""
    shown = [
        "、".join(
            f"{word.format(moment=moment)}{quantity(n, '件')}"
            for figure, word in words.items() if (n := figures.count(figure, path))
        )
        for words in groups
    ]  # fmt: skip
    shown = [group for group in shown if group]
    return f"（{'；'.join(shown)}）" if shown else ""


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
    ended = clock.local_date(figures.scope.as_of) >= figures.scope.end
    moment = spec["moment"]["year_end" if ended else "before_end"]
    paths = []
    for path in active:
        words, items = spec["paths"][path], []
        received = figures.count("referral_in", path)
        if received:
            items.append(
                f"{words['in']}{quantity(received, '件')}{_details(figures, path, spec['in_details'], moment)}"
            )
        sent = figures.count("referral_out_agency", path)
        if sent:
            items.append(f"{words['out']}{quantity(sent, '件')}{_details(figures, path, spec['out_details'], moment)}")
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
        return fill(part["text"], ctx)
    value = figures.values.get(part["count"]) or 0
    wording = part.get("zero") if value == 0 else part.get("one") if value == 1 else part.get("many")
    return fill(wording, ctx) if wording else ""


def render(figures: Figures, templates: dict[str, Any] | None = None) -> ReportText:
    """The report section for ``figures`` (any jurisdiction): title, issuer, paragraphs and the figures table.
    ``templates`` default to the scope's township's (packaged, overridden from the data folder)."""
    templates = templates or load_templates(figures.scope.township_code)
    ctx = context(figures, templates)
    paragraphs = []
    if not has_records(figures):
        paragraphs.append(_sentence(fill(templates["empty"], ctx)))
    else:
        for paragraph in templates["paragraphs"]:
            text = "".join(_part(part, figures, ctx) for part in paragraph)
            if text.strip("。，；") and text != fill(paragraph[0].get("text", ""), ctx):
                paragraphs.append(_sentence(text))  # a paragraph with nothing to say past its opening is left out
    issuer = templates.get("issuer", {}).get(figures.scope.place.level) or templates.get("issuer_lines", [])
    return ReportText(
        title=fill(templates["title"], ctx),
        heading=str(templates["heading"]),
        paragraphs=paragraphs,
        table=[table_row(figures, key) for key in templates["table"]],
        issuer_lines=[fill(line, ctx) for line in issuer],
        subject=figures.scope.place.name,
        period=figures.scope.period_text,
    )


def _sentence(text: str) -> str:
    return text if text.endswith("。") else text + "。"


def table_row(figures: Figures, key: str) -> dict[str, str]:
    """One row of the figures table: label, value (a rate with its numerator and denominator), definition
    (a rate's with its denominator's)."""
    d = figures_at(figures.scope.place.level)[key]
    v = figures.values
    row = {"key": key, "label": d.label, "definition": without_codes(d.numerator), "parts": ""}
    if key == "agreement_amount":
        row["value"] = money(int(v["agreement_amount_fen"]))
    else:
        row["value"] = quantity(v.get(key), d.unit)
    if key in RATE_PARTS:
        numerator, denominator = (load_definitions().figures[k].label for k in RATE_PARTS[key])
        n, m = rate_parts(figures, key)
        row["parts"] = f"{numerator}{n}／{denominator}{m}"
        row["definition"] = f"{row['definition']}分母：{without_codes(d.denominator)}"
    return row


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
