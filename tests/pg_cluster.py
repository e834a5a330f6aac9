"""Throwaway PostgreSQL clusters for tests and benchmarks.

Usage::

    from pg_cluster import PgCluster, PgUnavailable, pg_required

    with PgCluster.start() as pg:
        url = pg.create_database("mf_test")   # an SQLAlchemy URL (psycopg 3 driver)
        ...

``PgCluster.start()`` runs ``initdb`` into a fresh directory under ``/tmp`` and
starts a postmaster that listens on a Unix socket in that directory only
(``listen_addresses=''``): nothing is opened on the network.  ``stop()`` (also
called by ``__exit__`` and, as a safety net, at interpreter exit) shuts the
server down and deletes the directory.

If the process dies without running ``atexit`` handlers (SIGKILL, OOM killer, a
CI timeout), a tiny watchdog process started alongside every cluster notices
that its pipe to us was closed, kills the postmaster and removes the directory.

When the environment variable ``MEDIATION_FLOW_TEST_PG_URL`` is set to an
SQLAlchemy URL of a server on which we may create databases, ``start()`` uses
that server instead of starting one; ``stop()`` then does nothing to it.

This module must stay importable both as ``pg_cluster`` (``tests/`` on
``sys.path``) and as ``tests.pg_cluster``: no relative imports, stdlib plus
SQLAlchemy and psycopg only.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

__all__ = [
    "EXTERNAL_URL_ENV",
    "REQUIRE_PG_ENV",
    "PgCluster",
    "PgStartError",
    "PgUnavailable",
    "find_pg_bin",
    "pg_required",
]

#: Environment variable naming an existing server to use instead of a throwaway one.
EXTERNAL_URL_ENV = "MEDIATION_FLOW_TEST_PG_URL"
#: Environment variable that, when "1", makes a missing PostgreSQL a test failure.
REQUIRE_PG_ENV = "MEDIATION_FLOW_REQUIRE_PG"

#: OS user that runs initdb/pg_ctl/postgres when we are root (they refuse root).
_PG_OS_USER = "postgres"
#: Database superuser created by initdb.
_PG_SUPERUSER = "postgres"
#: Server settings: small but roomy enough for concurrent tests and benchmarks.
_DEFAULT_SETTINGS: dict[str, str] = {
    "listen_addresses": "",
    "shared_buffers": "128MB",
    "max_connections": "200",
}
#: Longest Unix socket path the kernel accepts (sun_path is 108 bytes incl. NUL).
_MAX_SOCKET_PATH = 107
_START_TIMEOUT_S = 60
_STOP_TIMEOUT_S = 30


class PgUnavailable(RuntimeError):
    """PostgreSQL cannot be provided here (binaries missing, no ``postgres`` user, ...).

    Tests should skip on this unless :func:`pg_required` says otherwise.
    """


class PgStartError(PgUnavailable):
    """The binaries exist but initdb or the server failed; the message has the log tail."""


# ---------------------------------------------------------------------------
# Locating binaries / environment policy
# ---------------------------------------------------------------------------


def _version_key(path: Path) -> tuple[int, ...]:
    """Sort key for ``/usr/lib/postgresql/<version>`` directories (``9.6`` < ``15``)."""
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.parent.name))


def find_pg_bin(name: str) -> str | None:
    """Return the path of the PostgreSQL program ``name``, or None if not found.

    Looks on ``PATH`` first (``shutil.which``), then in the newest
    ``/usr/lib/postgresql/*/bin`` (Debian/Ubuntu layout, not on ``PATH`` by default).
    """
    found = shutil.which(name)
    if found:
        return found
    candidates = [p for p in Path("/usr/lib/postgresql").glob(f"*/bin/{name}") if p.is_file() and os.access(p, os.X_OK)]
    if not candidates:
        return None
    return str(max(candidates, key=_version_key))


def _find_server_bins() -> tuple[str, str]:
    """Return matching ``(initdb, pg_ctl)`` paths, preferring one installation directory.

    Raises :class:`PgUnavailable` with an explanatory message when either is missing.
    """
    initdb = find_pg_bin("initdb")
    pg_ctl = find_pg_bin("pg_ctl")
    if initdb:
        # Use pg_ctl (and hence postgres) from the same installation as initdb,
        # following symlinks such as /usr/local/bin/initdb -> .../15/bin/initdb.
        sibling = Path(os.path.realpath(initdb)).with_name("pg_ctl")
        if sibling.is_file() and os.access(sibling, os.X_OK):
            pg_ctl = str(sibling)
    missing = [n for n, p in (("initdb", initdb), ("pg_ctl", pg_ctl)) if not p]
    if missing:
        raise PgUnavailable(
            f"PostgreSQL server binaries not found ({', '.join(missing)} missing): "
            "looked on PATH and in /usr/lib/postgresql/*/bin. Install the PostgreSQL "
            f"server package, or set {EXTERNAL_URL_ENV} to an SQLAlchemy URL of a "
            "server where databases may be created."
        )
    assert initdb is not None and pg_ctl is not None
    return initdb, pg_ctl


def pg_required() -> bool:
    """True when a missing PostgreSQL must FAIL tests instead of skipping them.

    That is the case when ``CI`` is ``true``/``1`` (as set by GitHub Actions,
    GitLab CI, ...) or ``MEDIATION_FLOW_REQUIRE_PG=1``.
    """
    ci = os.environ.get("CI", "").strip().lower()
    return ci in ("true", "1") or os.environ.get(REQUIRE_PG_ENV, "").strip() == "1"


# ---------------------------------------------------------------------------
# Process helpers
# ---------------------------------------------------------------------------


def _run_as_kwargs() -> dict[str, Any]:
    """subprocess kwargs that drop root to the ``postgres`` user (initdb refuses root)."""
    if os.geteuid() != 0:
        return {}
    import pwd  # Unix only; imported lazily so the module imports anywhere

    try:
        pw = pwd.getpwnam(_PG_OS_USER)
    except KeyError:
        raise PgUnavailable(
            f"running as root but there is no {_PG_OS_USER!r} OS user to run initdb/"
            "postgres as (PostgreSQL refuses to run as root)"
        ) from None
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}


def _child_env() -> dict[str, str]:
    """Environment for initdb/pg_ctl: ours minus libpq/PG* variables that could redirect them."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


def _pid_alive(pid: int) -> bool:
    """True if process ``pid`` exists and is not a zombie.

    A postmaster started by pg_ctl is re-parented to PID 1, and some container
    init processes reap late, so an exited postmaster can linger as a zombie.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (not Linux): trust kill(0)
    # Format: "pid (comm) STATE ..."; comm may contain spaces/parens, so split at the last ')'.
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _read_postmaster_pid(data_dir: Path) -> int | None:
    """The postmaster pid from ``postmaster.pid``, or None if absent/unreadable."""
    try:
        first = (data_dir / "postmaster.pid").read_text().splitlines()[0]
        return int(first.strip())
    except (OSError, IndexError, ValueError):
        return None


def _kill_postmaster(pid: int, timeout: float = 10.0) -> None:
    """Immediate shutdown (SIGQUIT), escalating to SIGKILL, and wait until it is gone."""
    for sig, wait in ((signal.SIGQUIT, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _pid_alive(pid):
                return
            time.sleep(0.05)


def _free_port() -> int:
    """A port number that nothing on localhost uses right now.

    The server only listens on a Unix socket in its private directory, so any
    number would do; the port just names the socket file.  Asking the kernel for
    a free TCP port keeps it unique and harmless should TCP ever be enabled.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a text file, or '' if unreadable."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# Code run by the watchdog process (``python -c``).  argv: base_dir, data_dir.
# It blocks reading its stdin, a pipe whose write end only the owning process
# holds.  A clean stop() writes b"x" first; plain EOF means the owner died
# without cleaning up, so kill the postmaster and remove the directory.
_WATCHDOG_CODE = r"""
import os, shutil, signal, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGHUP, signal.SIG_IGN)
base_dir, data_dir = sys.argv[1], sys.argv[2]
try:
    data = sys.stdin.buffer.read()
except BaseException:
    data = b""
if data:
    sys.exit(0)
try:
    with open(os.path.join(data_dir, "postmaster.pid")) as f:
        pid = int(f.readline().strip())
except (OSError, ValueError):
    pid = None
def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rpartition(")")[2].split()[:1] != ["Z"]
    except OSError:
        return True
if pid:
    for sig, wait in ((signal.SIGQUIT, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except OSError:
            break
        deadline = time.monotonic() + wait
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not alive(pid):
            break
shutil.rmtree(base_dir, ignore_errors=True)
"""


# Clusters started by this process that are still running, for the atexit hook.
_LIVE: dict[int, PgCluster] = {}
_LIVE_LOCK = threading.Lock()


def _stop_all_at_exit() -> None:
    """atexit hook: stop every cluster this very process started and did not stop."""
    with _LIVE_LOCK:
        clusters = list(_LIVE.values())
    for cluster in clusters:
        if cluster._owner_pid == os.getpid():  # not in a forked child
            with contextlib.suppress(Exception):  # best effort at interpreter exit
                cluster.stop()


atexit.register(_stop_all_at_exit)


# ---------------------------------------------------------------------------
# The cluster
# ---------------------------------------------------------------------------


class PgCluster:
    """A throwaway PostgreSQL cluster in a temp dir, Unix socket only, stopped and removed on close.

    Create with :meth:`start` (not the constructor).  Attributes:

    * ``external`` – True when backed by ``MEDIATION_FLOW_TEST_PG_URL`` rather
      than a server we started; ``base_dir``/``data_dir``/``socket_dir`` are then None.
    * ``base_dir`` – the temp dir (``/tmp/mfpg…``) holding ``data/``, ``log`` and the socket.
    * ``data_dir`` – the cluster's data directory; ``log_file`` – the server log.
    * ``socket_dir``/``port`` – where the server's Unix socket is.
    """

    def __init__(
        self,
        *,
        external_url: URL | None = None,
        base_dir: Path | None = None,
        port: int | None = None,
        pg_ctl: str | None = None,
    ) -> None:
        """Internal: use :meth:`start`."""
        self.external: bool = external_url is not None
        self._external_url = external_url
        self.base_dir = base_dir
        self.data_dir = base_dir / "data" if base_dir else None
        self.log_file = base_dir / "log" if base_dir else None
        self.socket_dir = base_dir
        self.port = port
        self._pg_ctl = pg_ctl
        self._watchdog: subprocess.Popen[bytes] | None = None
        self._owner_pid = os.getpid()
        self._lock = threading.Lock()
        self._stopped = False

    # -- construction -------------------------------------------------------

    @classmethod
    def start(cls, *, fsync: bool = True, settings: dict[str, str] | None = None) -> PgCluster:
        """Start a fresh cluster (or wrap ``MEDIATION_FLOW_TEST_PG_URL``) and return it.

        ``fsync`` defaults to on (realistic durability costs for benchmarks); pass
        ``fsync=False`` for speed.  ``settings`` adds/overrides server settings
        (``-c name=value``); they are ignored for an external server.

        Blocks until the server accepts connections.  Raises :class:`PgUnavailable`
        when PostgreSQL binaries (or the ``postgres`` OS user, when root) are
        missing, :class:`PgStartError` (a subclass) when initdb or startup fails.
        """
        external = os.environ.get(EXTERNAL_URL_ENV, "").strip()
        if external:
            return cls(external_url=_normalise_external_url(external))

        initdb, pg_ctl = _find_server_bins()
        run_as = _run_as_kwargs()
        server_settings = dict(_DEFAULT_SETTINGS)
        server_settings["fsync"] = "on" if fsync else "off"
        server_settings.update(settings or {})

        base_dir = Path(tempfile.mkdtemp(prefix="mfpg", dir="/tmp"))
        cluster: PgCluster | None = None
        try:
            if run_as:
                os.chown(base_dir, run_as["user"], run_as["group"])
            _initdb(initdb, base_dir / "data", run_as)
            # Any port number works (the socket lives in our private dir); it
            # just names the socket file.
            port = _free_port()
            socket_path = f"{base_dir}/.s.PGSQL.{port}"
            if len(socket_path.encode()) > _MAX_SOCKET_PATH:
                raise PgStartError(f"Unix socket path too long: {socket_path}")
            cluster = cls(base_dir=base_dir, port=port, pg_ctl=pg_ctl)
            cluster._start_server(server_settings, run_as)
            return cluster
        except BaseException:
            if cluster is not None:
                cluster._discard()
            shutil.rmtree(base_dir, ignore_errors=True)
            raise

    def _start_server(self, server_settings: dict[str, str], run_as: dict[str, Any]) -> None:
        """Run ``pg_ctl start -w``, register for cleanup and start the watchdog."""
        assert self.base_dir and self.data_dir and self.log_file and self._pg_ctl
        opts = [f"-p {self.port}", f"-k {shlex.quote(str(self.socket_dir))}"]
        opts += [f"-c {shlex.quote(f'{k}={v}')}" for k, v in server_settings.items()]
        cmd = [
            self._pg_ctl, "start", "-w", "-t", str(_START_TIMEOUT_S),
            "-D", str(self.data_dir), "-l", str(self.log_file), "-o", " ".join(opts),
        ]  # fmt: skip
        # Register (and arm the watchdog) before the server exists, so that no
        # window remains in which a crash would orphan it.
        with _LIVE_LOCK:
            _LIVE[id(self)] = self
        self._start_watchdog()
        try:
            proc = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                cwd=self.base_dir,
                env=_child_env(),
                timeout=_START_TIMEOUT_S + 15,
                check=False,
                **run_as,
            )
        except subprocess.TimeoutExpired:
            proc = None
        if proc is None or proc.returncode != 0:
            out = "" if proc is None else (proc.stdout + proc.stderr).strip()
            raise PgStartError(
                f"PostgreSQL failed to start (pg_ctl {'timed out' if proc is None else 'failed'}):"
                f"\n{out}\n--- server log tail ({self.log_file}) ---\n{_tail(self.log_file)}"
            )

    def _start_watchdog(self) -> None:
        """Spawn the process that cleans up if we die without calling stop()."""
        assert self.base_dir and self.data_dir
        self._watchdog = subprocess.Popen(
            [sys.executable, "-I", "-c", _WATCHDOG_CODE, str(self.base_dir), str(self.data_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # survive a signal sent to our process group
        )

    def _stop_watchdog(self) -> None:
        """Tell the watchdog we cleaned up ourselves, and reap it."""
        wd, self._watchdog = self._watchdog, None
        if wd is None:
            return
        try:
            assert wd.stdin is not None
            wd.stdin.write(b"x")
            wd.stdin.close()
        except OSError:
            pass
        try:
            wd.wait(timeout=10)
        except subprocess.TimeoutExpired:
            wd.kill()
            wd.wait()

    def _discard(self) -> None:
        """Failure path of start(): kill any postmaster, disarm the watchdog, unregister."""
        self._stopped = True
        with _LIVE_LOCK:
            _LIVE.pop(id(self), None)
        self._kill_leftover()
        self._stop_watchdog()

    def _kill_leftover(self) -> None:
        """Make sure no postmaster from this data dir survives (used on failure paths)."""
        if self.data_dir is None:
            return
        pid = _read_postmaster_pid(self.data_dir)
        if pid is not None and _pid_alive(pid):
            _kill_postmaster(pid)

    # -- public API ---------------------------------------------------------

    @property
    def postmaster_pid(self) -> int | None:
        """The running postmaster's pid (None for an external server or when stopped)."""
        return _read_postmaster_pid(self.data_dir) if self.data_dir else None

    @property
    def admin_database(self) -> str:
        """Database we connect to for CREATE/DROP DATABASE."""
        if self._external_url is not None:
            return self._external_url.database or "postgres"
        return "postgres"

    def url(self, dbname: str = "postgres") -> str:
        """SQLAlchemy URL (psycopg 3 driver) of database ``dbname`` on this server.

        Local: ``postgresql+psycopg://postgres@/DBNAME?host=SOCKETDIR&port=PORT``.
        External: the given URL with its database replaced by ``dbname``.
        """
        if self._external_url is not None:
            return self._external_url.set(database=dbname).render_as_string(hide_password=False)
        return f"postgresql+psycopg://{_PG_SUPERUSER}@/{quote(dbname, safe='')}?host={self.socket_dir}&port={self.port}"

    def create_database(self, name: str) -> str:
        """(Re)create database ``name`` (dropping any existing one first) and return its URL."""
        self._check_db_name(name)
        with self._admin_connection() as conn:
            q = conn.dialect.identifier_preparer.quote(name)
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {q}{self._force(conn)}"))
            conn.execute(sa.text(f"CREATE DATABASE {q}"))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` if it exists, disconnecting its sessions (PostgreSQL 13+)."""
        self._check_db_name(name)
        with self._admin_connection() as conn:
            q = conn.dialect.identifier_preparer.quote(name)
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {q}{self._force(conn)}"))

    def stop(self) -> None:
        """Stop the server (``pg_ctl stop -m fast``) and delete the temp dir.

        Idempotent.  For an external server this does nothing (no databases are dropped).
        """
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        with _LIVE_LOCK:
            _LIVE.pop(id(self), None)
        if self.external:
            return
        assert self.base_dir and self.data_dir
        try:
            if self.postmaster_pid is not None and self._pg_ctl:
                with contextlib.suppress(subprocess.TimeoutExpired, OSError, PgUnavailable):
                    subprocess.run(
                        [self._pg_ctl, "stop", "-w", "-t", str(_STOP_TIMEOUT_S),
                         "-m", "fast", "-D", str(self.data_dir)],
                        capture_output=True,
                        cwd=self.base_dir,
                        env=_child_env(),
                        timeout=_STOP_TIMEOUT_S + 15,
                        check=False,
                        **_run_as_kwargs(),
                    )  # fmt: skip
                self._kill_leftover()  # no-op if pg_ctl stop worked
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)
            self._stop_watchdog()

    def __enter__(self) -> PgCluster:
        """Return self; the cluster is already running."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the cluster."""
        self.stop()

    def __repr__(self) -> str:
        """Debug representation (never shows a password)."""
        if self._external_url is not None:
            return f"<PgCluster external {self._external_url.render_as_string(hide_password=True)}>"
        state = "stopped" if self._stopped else "running"
        return f"<PgCluster {state} socket={self.socket_dir} port={self.port}>"

    # -- internals ----------------------------------------------------------

    def _check_db_name(self, name: str) -> None:
        """Reject names we cannot (re)create from the admin database."""
        if not name or len(name.encode()) > 63 or "\x00" in name:
            raise ValueError(f"invalid database name {name!r}")
        if name in (self.admin_database, "template0", "template1"):
            raise ValueError(f"refusing to drop/recreate {name!r}")

    def _admin_connection(self) -> Any:
        """An AUTOCOMMIT connection to the admin database (context manager)."""
        if self._stopped:
            raise RuntimeError(f"{self!r} is stopped")
        engine = sa.create_engine(self.url(self.admin_database), poolclass=NullPool, isolation_level="AUTOCOMMIT")
        return _DisposingConnection(engine)

    @staticmethod
    def _force(conn: sa.Connection) -> str:
        """`` WITH (FORCE)`` where supported (PostgreSQL 13+), so open sessions don't block."""
        version = conn.dialect.server_version_info or (0,)
        return " WITH (FORCE)" if version >= (13,) else ""


class _DisposingConnection:
    """Context manager: connect on enter, close and dispose the engine on exit."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._conn: sa.Connection | None = None

    def __enter__(self) -> sa.Connection:
        self._conn = self._engine.connect()
        return self._conn

    def __exit__(self, *exc_info: object) -> None:
        try:
            if self._conn is not None:
                self._conn.close()
        finally:
            self._engine.dispose()


def _normalise_external_url(raw: str) -> URL:
    """Parse ``MEDIATION_FLOW_TEST_PG_URL``; bare ``postgresql://`` gets the psycopg 3 driver."""
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://") :]
    try:
        url = make_url(raw)
    except Exception as exc:  # any parse error, reported uniformly
        raise PgUnavailable(f"{EXTERNAL_URL_ENV} is not a valid SQLAlchemy URL: {exc}") from exc
    if url.get_backend_name() != "postgresql":
        raise PgUnavailable(f"{EXTERNAL_URL_ENV} must point at PostgreSQL, got {url.drivername!r}")
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url


def _initdb(initdb: str, data_dir: Path, run_as: dict[str, Any]) -> None:
    """initdb with trust auth, UTF8, locale C.UTF-8 (falling back to C if refused)."""
    errors: list[str] = []
    for locale in ("C.UTF-8", "C"):
        cmd = [
            initdb, "-D", str(data_dir), "-A", "trust", "-U", _PG_SUPERUSER,
            "-E", "UTF8", f"--locale={locale}",
        ]  # fmt: skip
        try:
            proc = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                cwd=data_dir.parent,
                env=_child_env(),
                timeout=120,
                check=False,
                **run_as,
            )
        except subprocess.TimeoutExpired:
            raise PgStartError("initdb timed out after 120 s") from None
        if proc.returncode == 0:
            return
        errors.append(f"--locale={locale}: {(proc.stdout + proc.stderr).strip()}")
        shutil.rmtree(data_dir, ignore_errors=True)  # initdb may leave a partial dir
    raise PgStartError("initdb failed:\n" + "\n".join(errors))
