"""The ``mediation-flow`` command.

Its imports stay light and each command imports what it needs: ``serve`` starts uvicorn workers by spawn,
and each worker imports this module (as ``__mp_main__``) before it can answer the supervisor's health ping,
which kills a worker that has not answered within 5 s — on a loaded 2-core machine, a worker restart loop.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from mediation_flow.vocabulary import AgencyKind

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from mediation_flow.store.config import Settings

app = typer.Typer(help="矛盾纠纷调解案件管理 mediation_flow", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="数据库 (database)", no_args_is_help=True)
users_app = typer.Typer(help="用户 (users)", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
agencies_app = typer.Typer(help="对接单位 (partner agencies of 三调对接)", no_args_is_help=True)
app.add_typer(agencies_app, name="agencies")


def get_settings() -> Settings:
    from mediation_flow.store.config import get_settings as settings

    return settings()


def get_engine() -> Engine:
    from mediation_flow.store.db import get_engine as engine

    return engine()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply migrations, load reference data and record workflow versions."""
    from mediation_flow.stats.dashboard import count_kept_figures
    from mediation_flow.stats.kept_figures import count_county_reports
    from mediation_flow.store import clock
    from mediation_flow.store.migrate import upgrade

    engine = get_engine()
    upgrade(engine)
    typer.echo(f"数据库已升级：{_safe_url()}")
    started = time.monotonic()
    count_kept_figures(engine)  # else the first dashboard view after an upgrade counts every case
    typer.echo(f"统计台的年度数字已算好（用时 {time.monotonic() - started:.0f} 秒）")
    started = time.monotonic()
    this_year = clock.local_date(clock.utcnow()).year
    count_county_reports(engine, [this_year - 1, this_year])  # else the first view of a county's report counts
    typer.echo(f"县（区）年度报告已按乡镇算好（用时 {time.monotonic() - started:.0f} 秒）")


@db_app.command("backfill-party-keys")
def db_backfill_party_keys(
    batch: Annotated[int, typer.Option(min=1, max=100_000, help="cases per transaction")] = 1000,
) -> None:
    """Write the matching keys (关联纠纷, search by person) of cases stored before migration 0012."""
    from mediation_flow.cases.people import backfill_party_keys

    cases, keys = backfill_party_keys(get_engine(), batch=batch)
    typer.echo(f"已补写 {cases} 件案件的当事人检索键 {keys} 条")


def _safe_url() -> str:
    from sqlalchemy.engine import make_url

    return make_url(get_settings().resolved_database_url()).render_as_string(hide_password=True)


@app.command()
def demo(
    cases: Annotated[int, typer.Option(help="number of demo cases")] = 150,
    logins: Annotated[
        bool, typer.Option("--logins", help="print the demo logins that still work, and load nothing")
    ] = False,
) -> None:
    """Load the demo township (青龙镇) with one user per role and demo cases into an empty database."""
    from mediation_flow.demo import load_demo
    from mediation_flow.store.migrate import is_initialised, upgrade

    engine = get_engine()
    if logins:
        _print_logins(_working_demo_logins())
        return
    if not is_initialised(engine):
        upgrade(engine)
    if _has_cases_or_users(engine):
        typer.echo("数据库中已有数据，未加载演示数据。", err=True)
        raise typer.Exit(1)
    passwords = load_demo(engine, cases=cases)
    _print_logins(passwords)


def _has_cases_or_users(engine: object) -> bool:
    from sqlalchemy import func, select

    from mediation_flow.store.tables import USERS

    with get_engine().connect() as conn:
        return bool(conn.execute(select(func.count()).select_from(USERS)).scalar())


def _print_logins(passwords: dict[str, str]) -> None:
    from mediation_flow.demo import DEMO_PASSWORDS

    typer.echo("演示账号（用户名 / 密码 / 角色）：")
    for username, password in passwords.items():
        typer.echo(f"  {username:<10} {password:<22} {DEMO_PASSWORDS[username][3]}")


def _working_demo_logins(*, quiet: bool = False) -> dict[str, str]:
    """The demo accounts that still sign in with their demo password → that password."""
    from mediation_flow.accounts.users import accounts_with_password
    from mediation_flow.demo import DEMO_PASSWORDS, demo_password

    with get_engine().connect() as conn:
        working = accounts_with_password(conn, {name: demo_password(name) for name in DEMO_PASSWORDS})
    if not working and not quiet:
        typer.echo("没有仍使用演示密码的账号（演示账号已改密码，或这不是演示数据库）。")
    return {name: demo_password(name) for name in working}


def _warn_default_passwords(engine: object) -> None:
    """On an existing database, name the accounts that still accept a demo password, and where to change it."""
    weak = sorted(_working_demo_logins(quiet=True))
    if weak:
        typer.echo(
            f"警告：以下账号仍使用演示默认密码，请立即修改：{'、'.join(weak)}。"
            "本人登录后点右上角姓名进入“我的账号”（/account）修改；"
            "或由管理员在“管理”页（/admin）或用 mediation-flow users reset-password 用户名 重置。",
            err=True,
        )
    elif not _has_cases_or_users(engine):
        typer.echo("数据库中还没有用户：请用 mediation-flow users add 添加。", err=True)


@app.command()
def check() -> None:
    """Verify that every case's state, version and deadlines equal the replay of its events."""
    from mediation_flow.cases.checks import check_all

    checked, problems = check_all(get_engine())
    for p in problems:
        typer.echo(f"MISMATCH case {p.case_id} {p.number}: {p.problem}")
    typer.echo(f"checked {checked} cases, {len(problems)} mismatches")
    raise typer.Exit(1 if problems else 0)


@app.command("backup")
def backup_command(path: Annotated[Path | None, typer.Argument(help="backup folder (new)")] = None) -> None:
    """Back up the database (SQLite online backup) and the attachments into a new folder."""
    from mediation_flow.store import backup as backups

    settings, engine = get_settings(), get_engine()
    target = path or backups.default_target(settings.data_dir)
    try:
        if backups.sqlite_path(engine) is None:
            typer.echo(backups.postgres_guidance(settings.resolved_database_url(), target))
            return
        result = backups.backup(engine, target, data_dir=settings.data_dir)
    except backups.BackupError as exc:
        typer.echo(f"错误：{exc.message}", err=True)
        raise typer.Exit(2) from None
    cases = result.tables.get("dispute_case", 0)
    typer.echo(f"已备份到 {result.path}：{len(result.tables)} 张表，{cases} 件案件，{result.files} 个文件")


@app.command("restore")
def restore_command(
    path: Annotated[Path, typer.Argument(help="backup folder")],
    force: Annotated[bool, typer.Option("--force", help="overwrite a database that has cases")] = False,
) -> None:
    """Restore a backup folder over the database and the attachments (stop the server first)."""
    from mediation_flow.store import backup as backups

    settings, engine = get_settings(), get_engine()
    try:
        if backups.sqlite_path(engine) is None:
            typer.echo(backups.postgres_guidance(settings.resolved_database_url(), path))
            return
        manifest = backups.restore(engine, path, data_dir=settings.data_dir, force=force)
    except backups.BackupError as exc:
        typer.echo(f"错误：{exc.message}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"已从 {path} 恢复（备份时间 {manifest['created_at']}，{manifest['tables'].get('dispute_case', 0)} 件案件）"
    )


def _fail(exc: Any) -> NoReturn:
    details = "; ".join(e["message"] for e in exc.details.get("errors", []))
    typer.echo(f"错误：{exc.message}{'：' + details if details else ''}", err=True)
    raise typer.Exit(2) from None


@users_app.command("set-agency")
def users_set_agency(username: str, agency: str) -> None:
    """Attach a partner agency's user to its agency (e.g. a former ``liaison``, renamed police_liaison)."""
    from mediation_flow.accounts.users import set_agency
    from mediation_flow.errors import DomainError
    from mediation_flow.store.db import write_transaction

    try:
        with write_transaction(get_engine()) as conn:
            set_agency(conn, username=username, agency_code=agency)
    except DomainError as exc:
        _fail(exc)
    typer.echo(f"已将用户 {username} 归属对接单位 {agency}")


@agencies_app.command("add")
def agencies_add(
    code: str,
    name: Annotated[str, typer.Option(help="e.g. 青龙派出所")],
    kind: Annotated[AgencyKind, typer.Option(help="police | court | petition")],
    jurisdiction: Annotated[str, typer.Option(help="code of the township or county it serves")],
    reference_pattern: Annotated[str, typer.Option(help="regular expression of its reference numbers")] = "",
    reference_example: Annotated[str, typer.Option(help="an example reference number, shown in errors")] = "",
) -> None:
    """Add a partner agency (三调对接): a police station, a (people's) court or a petition office."""
    from mediation_flow.errors import DomainError
    from mediation_flow.places.agencies import add_agency
    from mediation_flow.store.db import write_transaction

    try:
        with write_transaction(get_engine()) as conn:
            add_agency(
                conn, code=code, name=name, kind=kind, jurisdiction_code=jurisdiction,
                reference_pattern=reference_pattern, reference_example=reference_example,
            )  # fmt: skip
    except DomainError as exc:
        _fail(exc)
    typer.echo(f"已添加对接单位 {name}（{code}，{kind.label}）")


@app.command()
def sweep(
    now: Annotated[
        str | None, typer.Option(help="judge lateness as of this ISO time (no offset: Beijing time; default: now)")
    ] = None,
    overdue_days: Annotated[
        int | None,
        typer.Option(min=1, help="working days overdue (default: MEDIATION_FLOW_ESCALATE_AFTER_WORKING_DAYS)"),
    ] = None,
) -> None:
    """Escalate cases overdue by N working days one level up (safe to run from several processes)."""
    from mediation_flow.cases.sweep import sweep as run_sweep
    from mediation_flow.store import clock

    try:
        moment = clock.parse_user_moment(now) if now else clock.utcnow()
    except ValueError as exc:
        typer.echo(f"错误：--now {exc}", err=True)
        raise typer.Exit(2) from None
    if overdue_days is None:
        overdue_days = get_settings().escalate_after_working_days
    count = run_sweep(get_engine(), now=moment, overdue_working_days=overdue_days)
    typer.echo(f"已自动提级 {count} 件（超期 ≥ {overdue_days} 个工作日，按 {clock.local_date(moment)} 计）")


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option()] = 1,
) -> None:
    """Serve the web UI and the API (uvicorn)."""
    import uvicorn

    from mediation_flow import serving

    # Our middleware writes the access log as JSON with personal data masked; uvicorn's would not mask.
    options: dict[str, Any] = dict(
        factory=True, host=host, port=port, workers=workers, log_level="info", access_log=False
    )
    if workers > 1 and serving.spreads_connections():
        serving.run_workers(uvicorn.Config("web.app:create_app", **options))
    else:
        uvicorn.run("web.app:create_app", **options)


@app.command()
def run(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
) -> None:
    """What `make run` does: migrate, load the demo into a new database, and serve."""
    from mediation_flow.demo import load_demo
    from mediation_flow.store.migrate import is_initialised, upgrade

    engine = get_engine()
    new = not is_initialised(engine)
    upgrade(engine)
    if new:  # only a brand-new database gets the demo accounts and their known passwords
        typer.echo("新数据库：正在加载演示数据（青龙镇）……")
        _print_logins(load_demo(engine))
    else:
        typer.echo("使用已有数据库：" + _safe_url())
        _warn_default_passwords(engine)
    typer.echo(f"请在浏览器打开 http://{host}:{port}/ 登录")
    serve(host=host, port=port, workers=1)


def _register_commands() -> None:
    from mediation_flow.accounts.commands import app as accounts_app
    from mediation_flow.places.commands import app as places_app
    from mediation_flow.places.commands import reference_app
    from mediation_flow.stats.commands import register

    register(app)
    users_app.registered_commands.extend(accounts_app.registered_commands)  # add, list, disable, … beside set-agency
    app.add_typer(places_app, name="places")
    app.add_typer(reference_app, name="reference")


_register_commands()

if __name__ == "__main__":
    app()
