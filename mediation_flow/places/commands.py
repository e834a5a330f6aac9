"""``mediation-flow places …``: the jurisdiction tree from the command line (registered from cli.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mediation_flow.cli_support import as_console, fail

app = typer.Typer(help="辖区 (jurisdictions: county → township → village → grid)", no_args_is_help=True)
Code = Annotated[str, typer.Argument(help="jurisdiction code (统计用区划代码)")]


@app.command("list")
def list_places(retired: Annotated[bool, typer.Option("--retired", help="show retired places too")] = False) -> None:
    """The tree, by code, one place a line: code, name, level."""
    from mediation_flow.places.jurisdictions import all_places
    from mediation_flow.store.db import get_engine
    from mediation_flow.vocabulary import Level

    with get_engine().connect() as conn:
        places = all_places(conn)
    for p in places:
        if p.active or retired:
            mark = "" if p.active else "（已撤销）"
            typer.echo(f"{'  ' * p.depth}{p.code}  {p.name}{mark}  {Level(p.level).label}")
    if not places:
        typer.echo("还没有辖区：请用 mediation-flow places add 或 places import 添加。")


@app.command("add")
def add(
    code: Code,
    name: Annotated[str, typer.Argument(help="name, e.g. 青龙镇")],
    parent: Annotated[str | None, typer.Option(help="parent code (omit for a county)")] = None,
) -> None:
    """Add a county (no --parent), or a township / village / grid under --parent."""
    from mediation_flow.places.changes import add_place

    place = as_console(lambda conn, actor: add_place(conn, actor, code=code, name=name, parent_code=parent))
    typer.echo(f"已添加 {place.name}（{place.code}）")


@app.command("rename")
def rename(code: Code, name: Annotated[str, typer.Argument(help="the new name")]) -> None:
    """Rename a place (its code, cases and accounts stay)."""
    from mediation_flow.places.changes import rename_place

    as_console(lambda conn, actor: rename_place(conn, actor, code=code, name=name))
    typer.echo(f"已更名：{code} → {name}")


@app.command("move")
def move(code: Code, parent: Annotated[str, typer.Option(help="the new parent's code")]) -> None:
    """Put a place, its subtree and their cases under another parent of the same level."""
    from mediation_flow.places.changes import move_place

    as_console(lambda conn, actor: move_place(conn, actor, code=code, parent_code=parent))
    typer.echo(f"已将 {code} 移到 {parent} 之下")


@app.command("retire")
def retire(code: Code) -> None:
    """Retire a place: its cases stay; nothing new may be registered there (refused while it has places or
    active accounts)."""
    from mediation_flow.places.changes import retire_place

    as_console(lambda conn, actor: retire_place(conn, actor, code=code))
    typer.echo(f"已撤销 {code}")


@app.command("restore")
def restore(code: Code) -> None:
    """Undo a retirement."""
    from mediation_flow.places.changes import restore_place

    as_console(lambda conn, actor: restore_place(conn, actor, code=code))
    typer.echo(f"已恢复 {code}")


@app.command("import")
def import_csv(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV: code, name, parent code")],
) -> None:
    """Import places from a CSV in the shape of 统计用区划代码 (code, name, parent code): all rows or none."""
    from mediation_flow.places.importing import import_places

    content = file.read_bytes()
    result = as_console(lambda conn, actor: import_places(conn, actor, content))
    typer.echo(f"已导入 {result.added} 个辖区（{result.skipped} 个已存在，跳过）")


reference_app = typer.Typer(
    help="参考数据 (venues, categories, joint-mediation agencies, referral targets)", no_args_is_help=True
)
Kind = Annotated[str, typer.Argument(help="venue | category | agency | referral_target")]


Township = Annotated[
    str | None, typer.Option("--township", help="a township code: its own items (venues, local partners)")
]


@reference_app.command("list")
def list_reference(
    kind: Annotated[str | None, typer.Argument(help="one kind (default: all)")] = None, township: Township = None
) -> None:
    """The editable items: kind, code, label, whose (全县 or the township); retired ones marked. With
    --township: what that township is offered (the county's items and its own)."""
    from mediation_flow.errors import DomainError
    from mediation_flow.places.reference_changes import list_items
    from mediation_flow.store.db import get_engine

    with get_engine().connect() as conn:
        try:
            items = list_items(conn, kind, township=township)
        except DomainError as exc:
            raise fail(exc) from None
    for item in items:
        whose = item.township_name or "全县"
        typer.echo(f"{item.kind:<16} {item.code:<24} {item.label}（{whose}）{'' if item.active else '（已停用）'}")


@reference_app.command("add")
def add_reference(
    kind: Kind,
    label: Annotated[str, typer.Argument(help="the name shown, e.g. 和美调解室")],
    code: Annotated[str | None, typer.Option(help="a code of your own (default: made, e.g. venue_5)")] = None,
    township: Township = None,
) -> None:
    """Add an item; it is offered from now on (only in --township, for a venue or a local partner)."""
    from mediation_flow.places.reference_changes import add_item

    item = as_console(lambda conn, actor: add_item(conn, actor, kind=kind, label=label, code=code, township=township))
    where = f"，仅{item.township_name}" if item.township_name else "，全县通用"
    typer.echo(f"已添加 {item.label}（{item.kind}:{item.code}{where}）")


@reference_app.command("rename")
def rename_reference(
    kind: Kind, code: Annotated[str, typer.Argument()], label: Annotated[str, typer.Argument()]
) -> None:
    """A new name: the old item is retired (old cases keep the name they had) and a new one added."""
    from mediation_flow.places.reference_changes import replace_item

    item = as_console(lambda conn, actor: replace_item(conn, actor, kind=kind, code=code, label=label))
    typer.echo(f"已改为 {item.label}（新代码 {item.code}；旧案件仍显示原名称）")


@reference_app.command("retire")
def retire_reference(kind: Kind, code: Annotated[str, typer.Argument()]) -> None:
    """No longer offer an item (records that have it keep its name)."""
    from mediation_flow.places.reference_changes import set_item_active

    as_console(lambda conn, actor: set_item_active(conn, actor, kind=kind, code=code, active=False))
    typer.echo(f"已停用 {kind}:{code}")


@reference_app.command("restore")
def restore_reference(kind: Kind, code: Annotated[str, typer.Argument()]) -> None:
    """Offer a retired item again."""
    from mediation_flow.places.reference_changes import set_item_active

    as_console(lambda conn, actor: set_item_active(conn, actor, kind=kind, code=code, active=True))
    typer.echo(f"已恢复 {kind}:{code}")
