"""Importing jurisdictions from a CSV in the shape of 统计用区划代码: code, name, parent code (one place a row).

All rows or none: every row is checked (code shape, parent known — in the database or earlier in the file —,
level following the parent's, no duplicate) before anything is written, and the errors name their rows.
A row that repeats a place already in the database unchanged is skipped, so the same file may be imported
twice. An optional header row and further columns (e.g. 城乡分类代码) are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from mediation_flow.accounts.policy import Actor, Permission, require
from mediation_flow.errors import InvalidData
from mediation_flow.ledger.read import csv_cells
from mediation_flow.places.changes import CHILD_LEVEL, NAME_LIMIT, add_place, code_problem, level_problem
from mediation_flow.places.jurisdictions import Place, all_places
from mediation_flow.textinput import TextRefused, clean_text

MAX_ROWS = 100_000


@dataclass(frozen=True)
class ImportResult:
    added: int
    skipped: int


def read_rows(content: bytes) -> list[tuple[int, list[str]]]:
    """(row number, cells) of each non-empty row, the header left out; UTF-8 (with or without BOM) or GB18030."""
    cells = csv_cells(content)
    if cells is None:
        raise InvalidData([{"field": "file", "message": "文件编码无法识别，请保存为UTF-8的CSV"}])
    rows = [(n, [c.strip() for c in row]) for n, row in enumerate(cells, start=1)]
    rows = [(n, cells) for n, cells in rows if any(cells)]
    if rows and not rows[0][1][0].isdigit():
        rows = rows[1:]  # the header
    if len(rows) > MAX_ROWS:
        raise InvalidData([{"field": "file", "message": f"一次最多导入{MAX_ROWS}行"}])
    return rows


def import_places(conn: Connection, actor: Actor, content: bytes) -> ImportResult:
    """Check every row, then add the new places in file order (parents before children); InvalidData with
    ``row`` on each error and nothing written otherwise. Runs in the caller's transaction."""
    require(actor, Permission.ADMINISTER)
    rows = read_rows(content)
    known: dict[str, Place] = {p.code: p for p in all_places(conn)}
    planned: list[tuple[str, str, str | None]] = []
    errors: list[dict[str, Any]] = []
    skipped = 0
    for number, cells in rows:
        code, name, parent_code = [*cells, "", "", ""][:3]
        problem, skip = _row_problem(code, name, parent_code or None, known)
        if problem:
            errors.append({"row": number, "field": "code", "message": problem})
            continue
        if skip:
            skipped += 1
            continue
        parent = known.get(parent_code) if parent_code else None
        level = CHILD_LEVEL[parent.level if parent else None] or ""
        known[code] = Place(-number, code, name, "", level, "", parent.id if parent else None)
        planned.append((code, name, parent_code or None))
    if errors:
        raise InvalidData(errors[:200], message=f"辖区文件有{len(errors)}处错误，未导入任何一行")
    for new_code, new_name, new_parent in planned:
        add_place(conn, actor, code=new_code, name=new_name, parent_code=new_parent)
    return ImportResult(added=len(planned), skipped=skipped)


def _row_problem(code: str, name: str, parent_code: str | None, known: dict[str, Place]) -> tuple[str | None, bool]:
    """(why the row cannot be imported, whether it repeats an existing place unchanged)."""
    if not code or not name:
        return "每行须有代码和名称", False
    try:
        clean_text(name, label="名称", max_length=NAME_LIMIT, multiline=False)
    except TextRefused as exc:
        return str(exc), False
    parent = known.get(parent_code) if parent_code else None
    if parent_code and parent is None:
        return f"上级代码{parent_code[:32]}不存在（须在数据库中或在本文件的前面几行）", False
    existing = known.get(code)
    if existing is not None:
        same = existing.name == name and existing.parent_id == (parent.id if parent else None) and existing.id > 0
        return (None, True) if same else (f"代码{code[:32]}重复（已有：{existing.name}）", False)
    level = CHILD_LEVEL.get(parent.level if parent else None)
    if level is None:
        return "网格之下不能再添加下级", False
    return level_problem(level, parent) or code_problem(code, level, parent), False
