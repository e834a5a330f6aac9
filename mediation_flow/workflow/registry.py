"""Loading workflow files, recording their versions, and building one shared Machine per version.

A file may extend another (``extends:``, see ``workflow.inherit``); it is resolved here, at load, and
everything after (validation, hash, stored definition, Machine, diagram) sees the resolved definition.
A workflow's version is a number recorded in the database the first time a given resolved definition is
seen. Cases are pinned to (name, version); the registry can rebuild any old version from the
definition stored with it, so editing a file never breaks a case already under way. Steps about the record
rather than the dispute (更正) are the exception: every version is compiled with the newest definition's
(``workflow.record_steps``), so any case can be corrected, whatever version it was registered under.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import Connection, func, insert, select
from transitions import Machine

from mediation_flow.store.clock import utcnow
from mediation_flow.store.config import get_settings
from mediation_flow.store.tables import WORKFLOW_VERSIONS
from mediation_flow.workflow import record_steps
from mediation_flow.workflow.inherit import ExtensionError, resolve
from mediation_flow.workflow.rules import EFFECTS, GUARDS, RuleContext
from mediation_flow.workflow.schema import TransitionSpec, WorkflowSpec


class WorkflowFileError(ValueError):
    """A workflow file that does not validate; names the file and the field."""

    def __init__(self, path: str, field: str, message: str) -> None:
        super().__init__(f"{path}: {field}: {message}")
        self.path, self.field, self.message = path, field, message


def workflows_dir() -> Path:
    """The configured folder, else the one inside the installed package, else the repository's."""
    configured = get_settings().workflows_dir
    if configured:
        return Path(configured)
    packaged = Path(str(resources.files("mediation_flow"))) / "workflows"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "workflows"


def parse_workflow(raw: Any, *, path: str, resolved_from: str | None = None) -> WorkflowSpec:
    """Validate a (resolved) definition; raise WorkflowFileError naming the first bad field.

    ``resolved_from`` is the base a file extends: its fields are then those of the resolved definition,
    and the message says so and names the transition, since the file itself lists only its changes.
    """
    if not isinstance(raw, dict):
        raise WorkflowFileError(path, "(top level)", "a workflow file is a mapping")
    try:
        spec = WorkflowSpec.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise WorkflowFileError(path, field, first["msg"] + _context(raw, first["loc"], resolved_from)) from None
    for index, t in enumerate(spec.transitions):
        for kind, names, known in (("guard", t.guards, GUARDS), ("effect", t.effects, EFFECTS)):
            for name in names:
                if name not in known:
                    message = f"unknown {kind} '{name}'" + _context(raw, ("transitions", index), resolved_from)
                    raise WorkflowFileError(path, f"transitions.{index}.{kind}s", message)
    for name in spec.intake_effects:
        if name not in EFFECTS:
            raise WorkflowFileError(path, "intake_effects", f"unknown effect '{name}'")
    moving = record_steps.problem(raw)
    if moving is not None:
        raise WorkflowFileError(path, f"transitions.{moving[0]}", moving[1] + _context(raw, (), resolved_from))
    return spec


def _context(raw: dict[str, Any], loc: tuple[Any, ...], resolved_from: str | None) -> str:
    """Where a resolved definition's error sits: the transition's trigger, and the base extended."""
    parts = []
    if len(loc) > 1 and loc[0] == "transitions" and isinstance(loc[1], int):
        transitions = raw.get("transitions")
        if isinstance(transitions, list) and loc[1] < len(transitions) and isinstance(transitions[loc[1]], dict):
            parts.append(f"transition '{transitions[loc[1]].get('trigger')}'")
    if resolved_from:
        parts.append(f"in the definition resolved from extends: {resolved_from}")
    return f" ({'; '.join(parts)})" if parts else ""


@dataclass(frozen=True)
class WorkflowFile:
    """A loaded file: its validated spec, the resolved definition (hashed and stored), the base it extends."""

    spec: WorkflowSpec
    definition: dict[str, Any]
    extends: str | None = None


def load_workflow_file(path: Path, _chain: tuple[Path, ...] = ()) -> WorkflowFile:
    """Read, resolve ``extends`` (from the same folder) and validate one workflow file."""
    try:
        raw = yaml.safe_load(path.read_text("utf-8"))
    except yaml.YAMLError as exc:
        raise WorkflowFileError(str(path), "(syntax)", str(exc)) from None
    base = raw.get("extends") if isinstance(raw, dict) else None
    if isinstance(raw, dict) and "extends" in raw:
        raw = _resolve_extends(path, raw, _chain)
    spec = parse_workflow(raw, path=str(path), resolved_from=base)
    if path.stem != spec.name:
        raise WorkflowFileError(str(path), "name", f"'{spec.name}' does not match the file name")
    return WorkflowFile(spec=spec, definition=raw, extends=base)


def _resolve_extends(path: Path, raw: dict[str, Any], chain: tuple[Path, ...]) -> dict[str, Any]:
    target = raw["extends"]
    if not isinstance(target, str) or not target.replace("_", "").isalnum() or not target.islower():
        raise WorkflowFileError(str(path), "extends", "names a workflow file in the same folder, e.g. people_mediation")
    chain = (*chain, path.resolve())
    base_path = path.parent / f"{target}.yaml"
    if base_path.resolve() in chain:
        cycle = " → ".join(p.stem for p in (*chain, base_path))
        raise WorkflowFileError(str(path), "extends", f"a cycle: {cycle}")
    if not base_path.is_file():
        message = f"no workflow '{target}' ({base_path.name} is not in {path.parent})"
        raise WorkflowFileError(str(path), "extends", message)
    base = load_workflow_file(base_path, chain).definition
    try:
        return resolve(raw, base)
    except ExtensionError as exc:
        raise WorkflowFileError(str(path), exc.field, exc.message) from None


def read_workflow_file(path: Path) -> tuple[WorkflowSpec, dict[str, Any]]:
    """The validated spec and the resolved definition of one file."""
    loaded = load_workflow_file(path)
    return loaded.spec, loaded.definition


def content_hash(definition: dict[str, Any]) -> str:
    canonical = json.dumps(definition, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _condition(name: str) -> Any:
    rule = GUARDS[name]

    def check(event_data: Any) -> bool:
        ctx: RuleContext = event_data.kwargs["ctx"]
        failure = rule(ctx)
        if failure:
            ctx.failures.append(failure)
            return False
        return True

    check.__name__ = f"guard_{name}"
    return check


@dataclass(frozen=True)
class CompiledWorkflow:
    """A workflow version: its spec and the one Machine every case of that version shares."""

    spec: WorkflowSpec
    version: int
    machine: Machine
    content_hash: str = ""  # of the stored definition
    supplied: str = ""  # hash of the record steps compiled in (``workflow.record_steps``)

    @property
    def name(self) -> str:
        return self.spec.name

    def transitions_from(self, state: str, trigger: str | None = None) -> list[TransitionSpec]:
        return [
            t
            for t in self.spec.transitions
            if (trigger is None or t.trigger == trigger) and (t.source == "*" or state in t.sources)
        ]

    def triggers(self) -> set[str]:
        return {t.trigger for t in self.spec.transitions}


def build_machine(spec: WorkflowSpec) -> Machine:
    states = [{"name": name, "final": s.final} for name, s in spec.states.items()]
    machine = Machine(
        model=None,
        states=states,
        initial=spec.initial,
        auto_transitions=False,
        send_event=True,
        model_attribute="state",
        name=spec.name,
    )
    for t in spec.transitions:
        conditions = [_condition(g) for g in t.guards]
        for source in ["*"] if t.source == "*" else t.sources:
            machine.add_transition(t.trigger, source, t.dest, conditions=conditions)
    return machine


class WorkflowRegistry:
    """Compiled workflows by (name, version), built once per process and shared by all cases."""

    def __init__(self) -> None:
        self._compiled: dict[tuple[str, int], CompiledWorkflow] = {}
        self._current: dict[str, int] = {}
        self._bases: dict[str, str] = {}
        self._lock = threading.Lock()

    def sync(self, conn: Connection, folder: Path | None = None) -> dict[str, int]:
        """Read every file, record new contents as new versions; returns the current version per name."""
        folder = folder or workflows_dir()
        table = WORKFLOW_VERSIONS
        current: dict[str, int] = {}
        files = sorted(folder.glob("*.yaml"))
        if not files:
            raise WorkflowFileError(str(folder), "(folder)", "no workflow files found")
        bases: dict[str, str] = {}
        for path in files:
            loaded = load_workflow_file(path)
            spec, raw = loaded.spec, loaded.definition
            if loaded.extends:
                bases[spec.name] = loaded.extends
            digest = content_hash(raw)
            version = conn.execute(
                select(table.c.version).where(table.c.name == spec.name, table.c.content_hash == digest)
            ).scalar()
            if version is None:
                latest = conn.execute(select(func.max(table.c.version)).where(table.c.name == spec.name)).scalar()
                version = (latest or 0) + 1
                conn.execute(
                    insert(table).values(
                        name=spec.name, version=version, content_hash=digest, definition=raw, loaded_at=utcnow()
                    )
                )
            current[spec.name] = version
            self._remember(conn, raw, version, digest, spec)
        with self._lock:
            self._current, self._bases = current, bases
        return current

    def _remember(
        self, conn: Connection, definition: dict[str, Any], version: int, digest: str, spec: WorkflowSpec | None = None
    ) -> CompiledWorkflow:
        """The version compiled: its stored ``definition`` (``spec`` when already parsed) with the newest record
        steps (``record_steps``) in place of its own; compiled again only if either differs from what was kept
        (a version number names different contents in different databases, e.g. one process's tests)."""
        name = str(definition.get("name"))
        steps = record_steps.newest(conn, name)
        supplied = content_hash({"steps": steps})
        known = self._compiled.get((name, version))
        if known is not None and (known.content_hash, known.supplied) == (digest, supplied):
            return known
        grafted = record_steps.with_record_steps(definition, steps)
        if spec is None or grafted is not definition:
            spec = parse_workflow(grafted, path=f"<database {name} v{version}>")
        compiled = CompiledWorkflow(spec, version, build_machine(spec), content_hash=digest, supplied=supplied)
        with self._lock:
            self._compiled[(name, version)] = compiled
        return compiled

    def known(self, name: str, version: int) -> CompiledWorkflow | None:
        """The version as compiled in this process, if it was (no database read)."""
        return self._compiled.get((name, version))

    def get(self, conn: Connection, name: str, version: int) -> CompiledWorkflow:
        compiled = self._compiled.get((name, version))
        if compiled is not None:
            return compiled
        table = WORKFLOW_VERSIONS
        row = conn.execute(
            select(table.c.definition, table.c.content_hash).where(table.c.name == name, table.c.version == version)
        ).first()
        if row is None:
            raise LookupError(f"workflow {name} version {version} is not recorded")
        return self._remember(conn, row.definition, version, row.content_hash)

    def current(self, conn: Connection, name: str) -> CompiledWorkflow:
        if name not in self._current:
            self.sync(conn)
        if name not in self._current:
            raise LookupError(f"no workflow named {name}")
        return self.get(conn, name, self._current[name])

    def final_states(self) -> set[str]:
        """Final states across every loaded workflow (a state name means the same in each)."""
        with self._lock:
            compiled = list(self._compiled.values())
        return set().union(*(c.spec.final_states for c in compiled)) if compiled else set()

    def current_versions(self) -> dict[str, int]:
        return dict(self._current)

    def base_of(self, name: str) -> str | None:
        """The workflow the current file of ``name`` extends, if it extends one."""
        return self._bases.get(name)


REGISTRY = WorkflowRegistry()
