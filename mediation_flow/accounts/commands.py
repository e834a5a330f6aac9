"""``mediation-flow users …``: accounts from the command line (registered from cli.py). Each change is
made as the server's operator (``policy.CONSOLE``) and written to the change log."""

from __future__ import annotations

from typing import Annotated

import typer

from mediation_flow.cli_support import as_console, read_password
from mediation_flow.vocabulary import Role

app = typer.Typer(help="用户 (users)", no_args_is_help=True)
Username = Annotated[str, typer.Argument(help="username")]
ROLE_HELP = " | ".join(r.value for r in Role)


@app.command("add")
def add(
    username: Username,
    role: Annotated[Role, typer.Option(help=ROLE_HELP)],
    jurisdiction: Annotated[str | None, typer.Option(help="jurisdiction code")] = None,
    display_name: Annotated[str, typer.Option(help="name shown in the UI")] = "",
    temporary: Annotated[
        bool, typer.Option("--temporary", help="make a one-time password (printed once, changed at first sign-in)")
    ] = False,
    agency: Annotated[
        str | None, typer.Option(help="partner agency code (police_liaison, court_liaison, petition_liaison)")
    ] = None,
) -> None:
    """Add a user. The password is read from standard input (or prompted), never from the command line;
    with --temporary a one-time password is made and printed instead."""
    from mediation_flow.accounts.management import create_account

    password = None if temporary else read_password()
    account, made = as_console(
        lambda conn, actor: create_account(
            conn,
            actor,
            username=username,
            role=role,
            display_name=display_name,
            jurisdiction_code=jurisdiction,
            password=password,
            agency_code=agency,
        )
    )
    typer.echo(f"已添加用户 {account.username}（id {account.id}，角色 {role.label}）")
    if made:
        typer.echo(f"临时密码（只显示这一次，首次登录须修改）：{made}")


@app.command("list")
def list_users(role: Annotated[Role | None, typer.Option(help=ROLE_HELP)] = None) -> None:
    """Every account: username, name, role, jurisdiction, state."""
    from mediation_flow.accounts.management import list_accounts

    for a in as_console(lambda conn, actor: list_accounts(conn, actor, role=role.value if role else None)):
        state = "启用" if a.is_active else "停用"
        place = f"{a.jurisdiction_name}（{a.jurisdiction_code}）" if a.jurisdiction_code else "全部"
        typer.echo(f"{a.username:<16} {a.display_name:<16} {Role(a.role).label:<8} {place} {state}")


@app.command("disable")
def disable(username: Username) -> None:
    """Disable an account: its sessions and tokens stop working at once."""
    from mediation_flow.accounts.management import set_active

    as_console(lambda conn, actor: set_active(conn, actor, username=username, active=False))
    typer.echo(f"已停用 {username}")


@app.command("enable")
def enable(username: Username) -> None:
    """Re-enable a disabled account."""
    from mediation_flow.accounts.management import set_active

    as_console(lambda conn, actor: set_active(conn, actor, username=username, active=True))
    typer.echo(f"已启用 {username}")


@app.command("reset-password")
def reset(username: Username) -> None:
    """A one-time password, printed once; the user must change it at the next sign-in."""
    from mediation_flow.accounts.management import reset_password

    password = as_console(lambda conn, actor: reset_password(conn, actor, username=username))
    typer.echo(f"{username} 的临时密码（只显示这一次，下次登录须修改）：{password}")


@app.command("set")
def set_placement(
    username: Username,
    role: Annotated[Role, typer.Option(help=ROLE_HELP)],
    jurisdiction: Annotated[str | None, typer.Option(help="jurisdiction code (none for admin)")] = None,
) -> None:
    """Give an account a new role and jurisdiction."""
    from mediation_flow.accounts.management import change_placement

    as_console(
        lambda conn, actor: change_placement(conn, actor, username=username, role=role, jurisdiction_code=jurisdiction)
    )
    typer.echo(f"已修改 {username}：{role.label} {jurisdiction or ''}")
