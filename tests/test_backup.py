"""Backup and restore attacked: a round trip that compares every row of every table and every attachment,
a backup taken while writers keep writing, a damaged backup, and PostgreSQL guidance without the password."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from factories import drive, happy_path, make_town, register
from sqlalchemy import Engine, inspect, select, table, text
from sqlalchemy.exc import DBAPIError

from mediation_flow.cases import attachments
from mediation_flow.cases.checks import check_all
from mediation_flow.store.backup import DB_NAME, BackupError, backup, restore
from mediation_flow.store.db import make_engine
from mediation_flow.store.migrate import upgrade

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def cli(data_dir: Path, *args: str, url: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MEDIATION_FLOW_DATA_DIR": str(data_dir), "MEDIATION_FLOW_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "mediation_flow.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def every_row(engine: Engine) -> dict[str, list[tuple[str, ...]]]:
    """Every table's rows as sorted tuples of text, plus the schema objects (tables, indexes, triggers)."""
    dump: dict[str, list[tuple[str, ...]]] = {}
    with engine.connect() as conn:
        for name in sorted(inspect(conn).get_table_names()):
            rows = conn.execute(select(text("*")).select_from(table(name))).all()
            dump[name] = sorted(tuple(str(v) for v in row) for row in rows)
        dump["(schema)"] = sorted(tuple(r) for r in conn.execute(text("SELECT type, name, sql FROM sqlite_master")))
    return dump


def every_file(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def live(tmp_path):
    data_dir = tmp_path / "data"
    engine = make_engine(f"sqlite:///{data_dir / DB_NAME}")
    upgrade(engine)
    town = make_town(engine)
    for index in range(6):
        case_id = register(engine, town, "grid_worker")
        drive(engine, case_id, town["mediator"], happy_path()[: index + 1])
        attachments.save(
            data_dir, case_id, io.BytesIO(PDF), filename=f"证据{index}.pdf", kind="evidence", uploaded_by=1
        )
    yield engine, town, data_dir
    engine.dispose()


def test_round_trip_restores_every_table_and_every_file(live, tmp_path):
    engine, town, data_dir = live
    before_rows, before_files = every_row(engine), every_file(data_dir / "attachments")
    assert sum(len(rows) for rows in before_rows.values()) > 100 and len(before_files) == 12
    made = cli(data_dir, "backup", str(tmp_path / "bk"))
    assert made.returncode == 0, made.stderr
    assert "已备份到" in made.stdout and "6 件案件" in made.stdout

    extra = register(engine, town, "grid_worker")  # life goes on after the backup ...
    drive(engine, extra, town["mediator"], happy_path()[:2])
    (next((data_dir / "attachments").rglob("*.pdf"))).unlink()
    attachments.save(data_dir, extra, io.BytesIO(PDF), filename="新.pdf", kind="other", uploaded_by=1)
    assert every_row(engine) != before_rows

    refused = cli(data_dir, "restore", str(tmp_path / "bk"))  # ... then the disaster, then the restore
    assert refused.returncode == 2 and "--force" in refused.stderr
    restored = cli(data_dir, "restore", str(tmp_path / "bk"), "--force")
    assert restored.returncode == 0, restored.stderr
    engine.dispose()
    again = make_engine(f"sqlite:///{data_dir / DB_NAME}")
    try:
        assert every_row(again) == before_rows
        assert every_file(data_dir / "attachments") == before_files
        assert check_all(again)[1] == []
        with pytest.raises(DBAPIError), again.begin() as conn:  # the append-only trigger came back too
            conn.execute(text("UPDATE case_event SET note = 'x'"))
        assert again.connect().exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        again.dispose()
    assert cli(data_dir, "check").returncode == 0


def test_online_backup_while_writers_write_is_consistent(live, tmp_path):
    engine, town, data_dir = live
    stop = threading.Event()
    written = []

    def writer() -> None:
        while not stop.is_set():
            case_id = register(engine, town, "grid_worker")
            drive(engine, case_id, town["mediator"], happy_path()[:3])
            written.append(case_id)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 3:
            stop.wait(0.05)
        results = [backup(engine, tmp_path / f"online{i}", data_dir=data_dir) for i in range(3)]
    finally:
        stop.set()
        thread.join()
    for result in results:
        snapshot = make_engine(f"sqlite:///{result.path / DB_NAME}")
        try:
            checked, problems = check_all(snapshot)
            assert problems == [] and 6 + 3 <= checked <= 6 + len(written)
            events = snapshot.connect().execute(text("SELECT COUNT(*) FROM case_event")).scalar()
            assert result.tables["case_event"] == events
        finally:
            snapshot.dispose()


def test_damaged_backup_is_refused_and_the_database_left_alone(live, tmp_path):
    engine, _, data_dir = live
    result = backup(engine, tmp_path / "bk", data_dir=data_dir)
    before = every_row(engine)
    with (result.path / DB_NAME).open("r+b") as f:
        f.seek(4096)
        f.write(b"\x00garbage\x00")
    with pytest.raises(BackupError, match="已损坏"):
        restore(engine, result.path, data_dir=data_dir, force=True)
    with pytest.raises(BackupError, match="manifest"):
        restore(engine, tmp_path, data_dir=data_dir, force=True)
    with pytest.raises(BackupError, match="不为空"):
        backup(engine, result.path, data_dir=data_dir)
    assert every_row(engine) == before


def test_postgresql_gets_pg_dump_guidance_without_the_password(tmp_path):
    url = "postgresql+psycopg://mediator:s3cret-pw@db.internal:5432/mediation"
    shown = cli(tmp_path, "backup", str(tmp_path / "bk"), url=url)
    assert shown.returncode == 0, shown.stderr
    assert "pg_dump --format=custom" in shown.stdout and "pg_restore" in cli(tmp_path, "restore", "x", url=url).stdout
    assert "s3cret-pw" not in shown.stdout and "postgresql://mediator:***@db.internal:5432/mediation" in shown.stdout
