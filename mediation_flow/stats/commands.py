"""The report and ledger commands of ``mediation-flow`` (registered from mediation_flow/cli.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from mediation_flow.cli_support import fail
from mediation_flow.errors import DomainError, InvalidData

if TYPE_CHECKING:  # the command module stays light (cli.py): the database layer loads inside a command
    from sqlalchemy import Engine


def report(
    year: Annotated[int, typer.Option(help="report year, e.g. 2023")],
    township: Annotated[
        str | None, typer.Option(help="jurisdiction code (township, village or county); default: the only township")
    ] = None,
    format: Annotated[Literal["json", "docx", "xlsx"], typer.Option(help="json | docx | xlsx")] = "json",
    output: Annotated[Path | None, typer.Option(help="file to write (json: stdout when omitted)")] = None,
    as_of: Annotated[
        str | None, typer.Option(help="count only events recorded by this ISO time (no offset: Beijing time)")
    ] = None,
) -> None:
    """The annual report of a jurisdiction: figures and text (json), or the .docx / .xlsx file."""
    from mediation_flow.stats.service import annual_report, export
    from mediation_flow.store import clock
    from mediation_flow.store.db import get_engine

    try:
        moment = clock.parse_user_moment(as_of) if as_of else None
    except ValueError as exc:
        typer.echo(f"错误：--as-of {exc}", err=True)
        raise typer.Exit(2) from None
    engine = get_engine()
    try:
        township = township or _only_township(engine)
        built = annual_report(engine, actor=None, code=township, year=year, as_of=moment)
        body = export(engine, built, format)
    except DomainError as exc:
        raise fail(exc) from None
    if output is None and format == "json":
        sys.stdout.write(body.decode("utf-8") + "\n")
        return
    target = output or Path(f"{built.filename_stem}.{format}")
    target.write_bytes(body)
    typer.echo(f"已生成 {target}（{len(body)} 字节）")


def _only_township(engine: Engine) -> str:
    """The code of the database's one township (InvalidData naming the choices when there are several)."""
    from mediation_flow.places.jurisdictions import townships

    with engine.connect() as conn:
        found = townships(conn)
    if len(found) == 1:
        return found[0].code
    choices = "、".join(f"{p.name}（{p.code}）" for p in found) or "无"
    raise InvalidData([{"field": "township", "message": f"请用 --township 指定乡镇，可选：{choices}"}])


def import_ledger(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".xlsx or .csv ledger")],
    user: Annotated[str, typer.Option(help="username of the supervisor the cases are imported as")],
) -> None:
    """Import a ledger (台账): all rows or none; every error is listed by row and column."""
    from sqlalchemy import select

    from mediation_flow.accounts.users import actor_for
    from mediation_flow.ledger.plan import import_ledger as run_import
    from mediation_flow.store.db import get_engine
    from mediation_flow.store.tables import USERS

    engine = get_engine()
    with engine.connect() as conn:
        user_id = conn.execute(select(USERS.c.id).where(USERS.c.username == user)).scalar()
        actor = actor_for(conn, user_id) if user_id is not None else None
    if actor is None:
        typer.echo(f"错误：用户不存在或已停用：{user}", err=True)
        raise typer.Exit(2)
    try:
        result = run_import(engine, actor=actor, filename=file.name, content=file.read_bytes())
    except DomainError as exc:
        raise fail(exc) from None
    typer.echo(f"已导入 {result.count} 件纠纷")


def ledger_template(output: Annotated[Path, typer.Argument(help="where to write the .xlsx template")]) -> None:
    """Write the ledger import template (.xlsx, with the column descriptions)."""
    from mediation_flow.ledger.columns import template_xlsx

    output.write_bytes(template_xlsx())
    typer.echo(f"已生成台账模板 {output}")


def register(app: typer.Typer) -> None:
    app.command("report")(report)
    app.command("import-ledger")(import_ledger)
    app.command("ledger-template")(ledger_template)
