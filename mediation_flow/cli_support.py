"""What every ``mediation-flow`` command shares: printing a refused change, reading a password."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import typer

from mediation_flow.errors import DomainError

if TYPE_CHECKING:  # the command module stays light (see cli.py): the database layer loads inside a command
    from sqlalchemy import Connection

    from mediation_flow.accounts.policy import Actor

T = TypeVar("T")


def as_console(change: Callable[[Connection, Actor], T]) -> T:
    """An administrative change made by the server's operator (``policy.CONSOLE``), in one transaction with its
    change-log line (``admin_log.administer``); a refusal printed in Chinese, exit code 2."""
    from mediation_flow.accounts.admin_log import administer
    from mediation_flow.accounts.policy import CONSOLE
    from mediation_flow.store.db import get_engine

    try:
        return administer(get_engine(), CONSOLE, change)
    except DomainError as exc:
        raise fail(exc) from None


def fail(exc: DomainError) -> typer.Exit:
    """Print the error and each of its rows or fields in Chinese; the exit code 2."""
    typer.echo(f"错误：{exc.message}", err=True)
    for e in exc.details.get("errors", []):
        where = f"第{e['row']}行 " if e.get("row") else ""
        column = f"“{e['column']}” " if e.get("column") else (f"{e['field']} " if e.get("field") else "")
        typer.echo(f"  {where}{column}{e['message']}", err=True)
    return typer.Exit(2)


def read_password() -> str:
    """From standard input (one line), or prompted twice on a terminal; never from the command line."""
    if sys.stdin.isatty():
        return str(typer.prompt("密码", hide_input=True, confirmation_prompt=True))
    return sys.stdin.readline().rstrip("\r\n")
