"""A real server for tests: ``mediation-flow serve`` in a subprocess on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

SERVE = [sys.executable, "-m", "mediation_flow.cli", "serve"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_serving(base_url: str, proc: subprocess.Popen[str], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise RuntimeError(f"server exited with {proc.returncode}:\n{out[-3000:]}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server at {base_url} did not answer within {timeout}s")


class Server:
    """``mediation-flow serve --workers N`` on its own process group, so ``kill9`` takes the workers too."""

    def __init__(self, database_url: str, data_dir: Path, *, workers: int = 2) -> None:
        self.database_url = database_url
        self.data_dir = data_dir
        self.workers = workers
        self.port = free_port()
        self.proc: subprocess.Popen[str] | None = None
        self.log_path = data_dir / "server.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "MEDIATION_FLOW_DATABASE_URL": self.database_url,
            "MEDIATION_FLOW_DATA_DIR": str(self.data_dir),
            "MEDIATION_FLOW_LOG_STDERR": "true",  # the JSON lines into ``log_path`` (the tests' own apps: off)
        }

    def start(self) -> Server:
        log = self.log_path.open("a")
        self.proc = subprocess.Popen(
            [*SERVE, "--port", str(self.port), "--workers", str(self.workers)],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        log.close()
        try:
            wait_until_serving(self.base_url, self.proc)
        except RuntimeError as exc:
            self.stop()
            raise RuntimeError(f"{exc}\n{self.log_path.read_text()[-3000:]}") from None
        return self

    def kill9(self) -> None:
        """SIGKILL the whole server (supervisor and workers) — no shutdown handlers run."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
