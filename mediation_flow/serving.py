"""How ``mediation-flow serve --workers N`` spreads connections over its worker processes.

uvicorn's supervisor binds one listening socket and hands it to every worker. Whichever worker wakes first
accepts every connection waiting in that one queue, so a client that opens several at once (a browser, a
proxy's pool, wrk's 8) often has all of them on one worker while the other idles: about one benchmark cell
in four (``benchmarks/results/2026-12-03-gc-and-kept-pages.md``). On Linux each worker here binds a socket of
its own to the same address with ``SO_REUSEPORT``; the kernel then gives each new connection to one of the
workers' queues by a hash of its addresses. Elsewhere the shared socket stays.

The workers are still uvicorn's (``Multiprocess``: health checks, restarts, signals). What changes is the
socket list it passes to each worker it starts: ``OwnListeners`` is empty in the supervisor, and a worker
started by spawn unpickles it as a list holding a socket it has just bound itself, restarted workers too.
"""

from __future__ import annotations

import logging
import socket
import sys
from typing import TYPE_CHECKING, Any

from uvicorn.config import STARTUP_FAILURE  # a worker's exit code that stops the supervisor, not restarted

if TYPE_CHECKING:
    import uvicorn

logger = logging.getLogger("uvicorn.error")


def spreads_connections() -> bool:
    """Whether the kernel spreads connections over sockets bound to one address (Linux ``SO_REUSEPORT``)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def reserve(host: str, port: int) -> socket.socket:
    """Binds (without listening) the address the workers will share, so the supervisor fails at once with a
    clear error when another program holds it, and port 0 becomes one port for all workers. A socket that
    does not listen is not in the kernel's choice of listeners, so the reservation takes no connection."""
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def listen_own(host: str, port: int, backlog: int) -> socket.socket:
    """A listening socket of this worker's own, in the address's ``SO_REUSEPORT`` group."""
    sock = reserve(host, port)
    sock.listen(backlog)
    return sock


def _listen_in_worker(host: str, port: int, backlog: int) -> OwnListeners:
    try:
        sock = listen_own(host, port, backlog)
    except OSError as exc:
        logger.error("无法监听 %s:%d：%s", host, port, exc)
        sys.exit(STARTUP_FAILURE)
    return OwnListeners(host, port, backlog, [sock])


class OwnListeners(list[socket.socket]):
    """The socket list uvicorn's supervisor gives each worker it starts: empty in the supervisor; unpickled
    in a worker (spawn pickles a worker's arguments) as that worker's own listening socket."""

    def __init__(self, host: str, port: int, backlog: int, sockets: list[socket.socket] | None = None) -> None:
        super().__init__(sockets or [])
        self.address = (host, port, backlog)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_listen_in_worker, self.address)


def run_workers(config: uvicorn.Config) -> None:
    """Serves ``config`` (a ``uvicorn.Config`` with ``workers`` > 1) with each worker on its own socket."""
    from uvicorn.supervisors import Multiprocess

    try:
        reservation = reserve(config.host, config.port)
    except OSError as exc:
        logger.error("无法监听 %s:%d：%s", config.host, config.port, exc)
        sys.exit(STARTUP_FAILURE)
    with reservation:
        port = reservation.getsockname()[1]
        logger.info("监听 http://%s:%d（%d 个工作进程，各自的套接字）", config.host, port, config.workers)
        Multiprocess(config, sockets=OwnListeners(config.host, port, config.backlog)).run()
