"""The resolved workflows as Markdown (``docs/workflows_resolved.md`` is generated from this).

A file that ``extends`` another lists only its changes; this shows what the engine runs: every state,
clock and transition after resolution, with the diagram drawn from the same Machine as the web page.
Regenerate with ``python -m mediation_flow.workflow.docs > docs/workflows_resolved.md``; a test checks
that the file matches.
"""

from __future__ import annotations

from pathlib import Path

from mediation_flow.workflow.diagram import mermaid
from mediation_flow.workflow.fields import required_when_text
from mediation_flow.workflow.registry import CompiledWorkflow, WorkflowFile, build_machine, load_workflow_file
from mediation_flow.workflow.schema import ClockSpec, FieldSpec, WorkflowSpec

UNITS = {"calendar_days": "日", "working_days": "个工作日"}


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def _codes(names: list[str]) -> str:
    return "、".join(f"`{n}`" for n in names) or "—"


def _duration(clock: ClockSpec) -> str:
    text = f"{clock.duration}{UNITS[clock.unit]}"
    for rule in clock.duration_by:
        when = "，".join(f"{k}={v}" for k, v in rule.when.items())
        text += f"；{when}：{rule.duration}{UNITS[clock.unit]}"
    if clock.extend:
        text += f"；可延长至多{clock.extend.max_days}日（`{clock.extend.trigger}`）"
    return text


def _clocks(spec: WorkflowSpec) -> list[str]:
    lines = ["| 期限 | 键 | 时长 | 起算 | 停止 | 暂停于 | 依据 |", "|---|---|---|---|---|---|---|"]
    for name, c in spec.clocks.items():
        row = [c.label, f"`{name}`", _duration(c), _codes(c.starts_on), _codes(c.stops_on), _codes(c.pauses_in)]
        row.append(c.basis)
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return lines


def _when(field: FieldSpec, fields: list[FieldSpec]) -> str:
    """When a field is required, in words: 协议形式为“书面协议（调解协议书）”时, 联合调解单位（一庭两所）勾选
    “人民法庭”时."""
    return f"{required_when_text(field, fields)}时"


def _transitions(spec: WorkflowSpec) -> list[str]:
    lines = ["| 操作 | 触发 | 从 | 到 | 角色 | 字段（*必填） | 条件 / 效果 |", "|---|---|---|---|---|---|---|"]
    for t in spec.transitions:
        fields = "、".join(f"`{f.name}`{'*' if f.required else f'（*{_when(f, t.fields)}）' if f.required_when else ''}"
                          for f in t.fields) or "—"  # fmt: skip
        rules = " / ".join(part for part in (_codes(t.guards), _codes(t.effects)) if part != "—") or "—"
        source = "任意状态" if t.source == "*" else _codes(t.sources)
        row = [t.label, f"`{t.trigger}`", source, f"`{t.dest}`" if t.dest else "（不变）", _codes(list(t.roles))]
        lines.append("| " + " | ".join(_cell(v) for v in [*row, fields, rules]) + " |")
    return lines


def workflow_markdown(loaded: WorkflowFile) -> list[str]:
    spec = loaded.spec
    compiled = CompiledWorkflow(spec=spec, version=0, machine=build_machine(spec))
    origin = f"extends `{loaded.extends}` (its file lists only the differences)" if loaded.extends else "a base file"
    lines = [f"## {spec.title} (`{spec.name}`)", "", f"{spec.description}", ""]
    if spec.legal_basis:
        lines += [f"依据：{spec.legal_basis}", ""]
    lines += [f"File: `workflows/{spec.name}.yaml`, {origin}.", ""]
    states = "、".join(f"{s.label}（`{n}`{'，终结' if s.final else ''}）" for n, s in spec.states.items())
    lines += [f"States: {states}. Initial: `{spec.initial}`.", ""]
    if spec.intake_fields:
        lines += [f"Intake fields: {', '.join(f'`{f.name}` ({f.label})' for f in spec.intake_fields)}.", ""]
    lines += ["```mermaid", mermaid(compiled, versioned=False).rstrip("\n"), "```", ""]
    return [*lines, "### 期限", "", *_clocks(spec), "", "### 操作", "", *_transitions(spec), ""]


def resolved_markdown(folder: Path) -> str:
    """Every workflow file of ``folder``, resolved, as one Markdown document."""
    lines = [
        "# Workflows as the engine runs them (resolved)",
        "",
        "Generated from `workflows/*.yaml` after resolving `extends` (see [workflows.md](workflows.md));",
        "edit the YAML, not this file, and regenerate with",
        "`python -m mediation_flow.workflow.docs > docs/workflows_resolved.md` (a test checks they match).",
        "",
    ]
    loaded = [load_workflow_file(path) for path in folder.glob("*.yaml")]
    for one in sorted(loaded, key=lambda w: (w.extends is not None, w.spec.name)):  # bases first
        lines += workflow_markdown(one)
    return "\n".join(lines).rstrip("\n") + "\n"


if __name__ == "__main__":
    from mediation_flow.workflow.registry import workflows_dir

    print(resolved_markdown(workflows_dir()), end="")
