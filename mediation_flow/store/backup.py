"""Backup and restore: the SQLite database through SQLite's online backup API (consistent while the server
keeps writing), the attachments folder beside it, and a manifest that names what is inside.

A backup is a folder::

    mediation_flow.store.db      the database, one consistent snapshot
    attachments/           the case attachments (data_dir/attachments), if any
    manifest.json          when, which schema revision, row counts, sha256 of every file

PostgreSQL is backed up with its own tools (``pg_dump``/``pg_restore``); :func:`postgres_guidance` says how.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, inspect, select, table
from sqlalchemy.engine import make_url

from mediation_flow.errors import DomainError
from mediation_flow.store import clock

DB_NAME = "mediation_flow.db"
MANIFEST = "manifest.json"
ATTACHMENTS = "attachments"


class BackupError(DomainError):
    code = "backup_error"
    status = 400


@dataclass(frozen=True)
class BackupResult:
    path: Path
    tables: dict[str, int]
    files: int


def sqlite_path(engine: Engine) -> Path | None:
    """The database file of a SQLite engine; None for other back ends."""
    url = make_url(str(engine.url))
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def table_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        names = sorted(inspect(conn).get_table_names())
        return {name: int(conn.execute(select(func.count()).select_from(table(name))).scalar() or 0) for name in names}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _files(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): _sha256(p) for p in sorted(root.rglob("*")) if p.is_file()}


def default_target(data_dir: Path) -> Path:
    return data_dir / "backups" / clock.utcnow().strftime("mediation_flow-%Y%m%d-%H%M%S")


def backup(engine: Engine, target: Path, *, data_dir: Path) -> BackupResult:
    """Write a backup folder at ``target`` (which must not exist yet, or be empty)."""
    source = sqlite_path(engine)
    if source is None:
        raise BackupError("PostgreSQL 数据库请用 pg_dump 备份（见 mediation-flow backup 的提示）")
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"备份目录已存在且不为空：{target}")
    target.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target / DB_NAME)
    try:
        with dst:
            src.backup(dst)  # page by page, restarting if a writer changes the source meanwhile
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    finally:
        dst.close()
        src.close()
    attachments = data_dir / ATTACHMENTS
    if attachments.is_dir():
        shutil.copytree(attachments, target / ATTACHMENTS)
    from mediation_flow.store.db import make_engine

    snapshot = make_engine(f"sqlite:///{(target / DB_NAME).as_posix()}")
    try:
        counts = table_counts(snapshot)
        revision = _revision(snapshot)
    finally:
        snapshot.dispose()
    files = _files(target)
    manifest = {
        "created_at": clock.utcnow().isoformat(timespec="seconds"),
        "schema_revision": revision,
        "tables": counts,
        "files": files,
    }
    (target / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return BackupResult(target, counts, len(files))


def _revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def verify(source: Path) -> dict[str, Any]:
    """The manifest of a backup folder, after checking every file against its recorded sha256."""
    manifest_path = source / MANIFEST
    if not manifest_path.is_file():
        raise BackupError(f"不是有效的备份目录（缺少 {MANIFEST}）：{source}")
    manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
    for name, digest in manifest["files"].items():
        path = source / name
        if not path.is_file() or _sha256(path) != digest:
            raise BackupError(f"备份文件缺失或已损坏：{name}")
    return manifest


def restore(engine: Engine, source: Path, *, data_dir: Path, force: bool = False) -> dict[str, Any]:
    """Replace the database and the attachments with the backup at ``source``. Stop the server first.

    Refuses to overwrite a database that holds cases unless ``force``."""
    target = sqlite_path(engine)
    if target is None:
        raise BackupError("PostgreSQL 数据库请用 pg_restore 恢复（见 mediation-flow restore 的提示）")
    manifest = verify(source)
    if target.exists() and not force and table_counts(engine).get("dispute_case", 0):
        raise BackupError("当前数据库中已有案件；确认要用备份覆盖时请加 --force")
    engine.dispose()
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(source / DB_NAME)
    dst = sqlite3.connect(target, timeout=30)
    try:
        with dst:
            src.backup(dst)  # under the database's own locks: readers never see half a restore
        dst.execute("PRAGMA journal_mode=WAL")
    finally:
        dst.close()
        src.close()
    _swap_attachments(source / ATTACHMENTS, data_dir / ATTACHMENTS)
    return manifest


def _swap_attachments(backup_dir: Path, live: Path) -> None:
    """Put the backup's attachments in place: copy beside, then two renames."""
    staged = live.with_name(live.name + ".restoring")
    old = live.with_name(live.name + ".old")
    for leftover in (staged, old):
        if leftover.exists():
            shutil.rmtree(leftover)
    if backup_dir.is_dir():
        shutil.copytree(backup_dir, staged)
    else:
        staged.mkdir(parents=True)
    if live.exists():
        live.rename(old)
    staged.rename(live)
    if old.exists():
        shutil.rmtree(old)


def postgres_guidance(database_url: str, target: Path) -> str:
    """How to back up and restore a PostgreSQL database with its own tools (password not shown)."""
    url = make_url(database_url).set(drivername="postgresql")
    shown = url.render_as_string(hide_password=True)
    return (
        "PostgreSQL 数据库请用 PostgreSQL 自带工具备份与恢复（密码请放在 ~/.pgpass 或 PGPASSWORD 中）：\n"
        f"  备份：pg_dump --format=custom --no-owner --file={target / 'mediation_flow.dump'} '{shown}'\n"
        f"  恢复：pg_restore --clean --if-exists --no-owner --dbname='{shown}' {target / 'mediation_flow.dump'}\n"
        "  附件在数据目录的 attachments/ 下，请与数据库同时复制（如 rsync -a DATA_DIR/attachments/ 备份目录/）。"
    )
