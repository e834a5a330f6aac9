"""A workflow as a mermaid ``stateDiagram-v2``, drawn from the same compiled Machine the engine fires.

States carry their Chinese labels; each edge lists the triggers (Chinese labels) that take one state
to another. Internal triggers (which keep the state) are listed in a note per state when asked for;
by default they are left out so the diagram shows the path of a case, not every bookkeeping step.
"""

from __future__ import annotations

from collections import defaultdict

from mediation_flow.workflow.registry import CompiledWorkflow


def _text(value: str) -> str:
    """Mermaid-safe label text: no quotes, colons or semicolons that would end the statement."""
    return value.replace('"', "'").replace(":", "：").replace(";", "；").replace("\n", " ").strip()


def edges(compiled: CompiledWorkflow) -> dict[tuple[str, str], list[str]]:
    """(source, dest) → trigger names moving a case between them, read from the shared Machine."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for trigger, event in compiled.machine.events.items():
        for source, transitions in event.transitions.items():
            for transition in transitions:
                if transition.dest is None:
                    continue
                if trigger not in found[(source, transition.dest)]:
                    found[(source, transition.dest)].append(trigger)
    return dict(found)


def internal_triggers(compiled: CompiledWorkflow) -> dict[str, list[str]]:
    """State → internal triggers available there (they write an event but keep the state)."""
    found: dict[str, list[str]] = defaultdict(list)
    for trigger, event in compiled.machine.events.items():
        for source, transitions in event.transitions.items():
            if any(t.dest is None for t in transitions) and trigger not in found[source]:
                found[source].append(trigger)
    return dict(found)


def mermaid(compiled: CompiledWorkflow, *, include_internal: bool = False, versioned: bool = True) -> str:
    """The workflow as mermaid ``stateDiagram-v2`` text with Chinese labels.

    The spec is the resolved one (a file's ``extends`` was applied at load), so a workflow that extends
    another is drawn whole. ``versioned=False`` leaves the version out of the heading (for the docs,
    which are written from the files, not from a database).
    """
    spec = compiled.spec
    labels = {t.trigger: t.label for t in spec.transitions}
    version = f" 第{compiled.version}版" if versioned else ""
    lines = ["stateDiagram-v2", f"    %% {_text(spec.title)}（{spec.name}{version}）"]
    for name in compiled.machine.states:
        lines.append(f'    state "{_text(spec.states[name].label)}" as {name}')
    lines.append(f"    [*] --> {compiled.machine.initial}")
    for (source, dest), triggers in edges(compiled).items():
        lines.append(f"    {source} --> {dest} : {_text('、'.join(labels[t] for t in triggers))}")
    for name in compiled.machine.states:
        if spec.states[name].final:
            lines.append(f"    {name} --> [*]")
    if include_internal:
        for state, triggers in internal_triggers(compiled).items():
            lines.append(f"    note right of {state} : {_text('、'.join(labels[t] for t in triggers))}")
    return "\n".join(lines) + "\n"
