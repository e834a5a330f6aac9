"""``mediation-flow serve --workers 2`` on Linux: each worker listens on a socket of its own (``SO_REUSEPORT``),
so connections opened at once are spread over the workers, a restarted worker listens again, and an address
another program holds stops the server with a clear message. Sockets are found through /proc (Linux only,
as the feature is)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from server_harness import SERVE, Server, free_port

from mediation_flow.serving import spreads_connections
from mediation_flow.store.db import make_engine
from mediation_flow.store.migrate import upgrade

pytestmark = pytest.mark.slow


def _url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    upgrade(make_engine(url))
    return url


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    for fd in (Path("/proc") / str(pid) / "fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if match := re.fullmatch(r"socket:\[(\d+)\]", target):
            inodes.add(int(match[1]))
    return inodes


def _tcp_rows() -> list[tuple[int, int, str, int]]:
    """(local port, remote port, state, inode) of every IPv4 TCP socket."""
    rows = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state, inode = fields[1], fields[2], fields[3], int(fields[9])
        rows.append((int(local.split(":")[1], 16), int(remote.split(":")[1], 16), state, inode))
    return rows


LISTEN = "0A"


def _workers(server: Server) -> list[int]:
    assert server.proc is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pids = [p for p in _children(server.proc.pid) if _listening(p, server.port)]
        if len(pids) == server.workers:
            return pids
        time.sleep(0.2)
    raise AssertionError(f"not {server.workers} listening workers: {_children(server.proc.pid)}")


def _listening(pid: int, port: int) -> set[int]:
    """The inodes of the sockets ``pid`` listens with on ``port``."""
    try:
        mine = _socket_inodes(pid)
    except OSError:
        return set()
    return {inode for lport, _, state, inode in _tcp_rows() if lport == port and state == LISTEN and inode in mine}


def test_each_worker_listens_on_its_own_socket_and_connections_are_spread(tmp_path):
    assert spreads_connections()  # the product runs on Linux; elsewhere serve keeps uvicorn's shared socket
    with Server(_url(tmp_path), tmp_path, workers=2) as server:
        workers = _workers(server)
        listeners = [_listening(pid, server.port) for pid in workers]
        assert all(len(own) == 1 for own in listeners), listeners
        assert listeners[0] != listeners[1]  # with uvicorn's shared socket both hold the same one
        assert server.proc is not None and not _listening(server.proc.pid, server.port)  # the reservation

        clients = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(32)]
        try:
            for client in clients:  # each connection answered, so each is accepted
                client.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
                assert client.recv(4096).startswith(b"HTTP/1.1 200")
            ours = {c.getsockname()[1] for c in clients}
            served = {
                inode
                for lport, rport, _, inode in _tcp_rows()
                if lport == server.port and rport in ours and inode  # the server's end of each connection
            }
            assert len(served) == 32
            per_worker = [len(served & _socket_inodes(pid)) for pid in workers]
            assert sum(per_worker) == 32
            # Spread by a hash of the addresses: all 32 on one worker would happen once in 2**31 runs.
            assert min(per_worker) > 0, per_worker
        finally:
            for client in clients:
                client.close()


def test_a_killed_worker_is_replaced_by_one_that_listens_on_its_own_socket(tmp_path):
    with Server(_url(tmp_path), tmp_path, workers=2) as server:
        first, second = _workers(server)
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            workers = _workers(server)
            if first not in workers:
                break
            time.sleep(0.2)
        assert first not in workers and second in workers
        assert all(len(_listening(pid, server.port)) == 1 for pid in workers)
        for _ in range(8):
            assert httpx.get(f"{server.base_url}/healthz", timeout=10).status_code == 200


def test_an_address_held_by_another_program_stops_the_server_with_a_clear_message(tmp_path):
    port = free_port()
    with socket.socket() as holder:  # an ordinary listener, without SO_REUSEPORT
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", port))
        holder.listen()
        env = {**os.environ, "MEDIATION_FLOW_DATABASE_URL": _url(tmp_path), "MEDIATION_FLOW_DATA_DIR": str(tmp_path)}
        done = subprocess.run(
            [*SERVE, "--port", str(port), "--workers", "2"], env=env, capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 3, done.stderr
    assert f"无法监听 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr
