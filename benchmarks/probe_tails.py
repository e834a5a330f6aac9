"""Per-request work of one source tree, measured in ONE process where the load cannot move it.

``python benchmarks/probe_tails.py TREE DATADIR [N_CASES]`` imports the app of the tree at TREE (``create_app``),
drives it through ``httpx.ASGITransport`` on a copy of DATADIR/master.db (built once by ``dataset.build``, seed 7,
today 2026-12-01) with bench_http's requests, and brackets each endpoint's measured requests with markers that
a tracer outside can see:

- ``access("/mf-probe/<endpoint>/begin")`` and ``…/end`` syscalls: under ``strace -f -e trace=fsync,fdatasync,
  write,access`` the fsyncs and writes between them, per thread, are the endpoint's (``probe_tails.sh strace``);
- files ``ready-``/``go-``/``done-``/``next-<endpoint>`` in ``$CG``: ``probe_tails.sh callgrind`` switches
  valgrind's instrumentation on only around the measured requests (instructions per request).

``THREADS=1`` keeps the real thread pool (default: thread-pool hops run inline, so the request's own work is on
the main thread and background threads are told apart by their thread id, printed as ``tid <name> <id>``).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import shutil
import sqlite3
import sys
import threading
import time
from datetime import date
from typing import Any

TREE, DATADIR = sys.argv[1], sys.argv[2]
N_CASES = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
N_REQ = {
    "post": int(os.environ.get("POSTS", "600")),
    "case_api": int(os.environ.get("GETS", "200")),
    "case_page": int(os.environ.get("PAGES", "200")),
    "healthz": 200,
}
CONC = int(os.environ.get("CONC", "1"))  # requests in flight at once (with THREADS=1: the real thread pool)
os.chdir(TREE)
sys.path[:0] = [TREE, f"{TREE}/tests"]


def _database() -> tuple[str, dict[str, Any]]:
    os.makedirs(DATADIR, exist_ok=True)
    master, meta = f"{DATADIR}/master.db", f"{DATADIR}/meta.json"
    if not os.path.exists(meta):
        from benchmarks.common import prepared_database
        from benchmarks.dataset import build

        engine, town = prepared_database(f"sqlite:///{master}")
        built = build(engine, town, N_CASES, today=date(2026, 12, 1))
        engine.dispose()
        with open(meta, "w") as out:
            json.dump({"village": town.places.villages[0].code, "mediating": built.mediating}, out)
    with open(meta) as found:
        info = json.load(found)
    work = f"{DATADIR}/work-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    shutil.copy(master, f"{work}/http.db")
    os.environ["MEDIATION_FLOW_DATABASE_URL"] = f"sqlite:///{work}/http.db"
    os.environ["MEDIATION_FLOW_DATA_DIR"] = work
    from mediation_flow.store.db import make_engine
    from mediation_flow.store.migrate import upgrade

    engine = make_engine(f"sqlite:///{work}/http.db")
    upgrade(engine)  # the tree's own migrations (none for the tree that built the master)
    engine.dispose()
    return f"{work}/http.db", info


DB, INFO = _database()
if os.environ.get("BUILD_ONLY"):
    raise SystemExit(0)

import anyio.to_thread  # noqa: E402
import httpx  # noqa: E402

import mediation_flow  # noqa: E402

assert mediation_flow.__file__ and mediation_flow.__file__.startswith(TREE), mediation_flow.__file__


async def _inline(func: Any, *args: Any, abandon_on_cancel: bool = False, cancellable: Any = None, limiter: Any = None):  # type: ignore[no-untyped-def]
    return func(*args)


if not os.environ.get("THREADS"):
    anyio.to_thread.run_sync = _inline

from factories import PASSWORD, today_iso  # noqa: E402

from web.app import create_app  # noqa: E402

APP = create_app()
CG = os.environ.get("CG")
CSRF = re.compile(r'name="csrf_token"\s+value="([^"]+)"')


def _mark(name: str, what: str) -> None:
    os.access(f"/mf-probe/{name}/{what}", os.F_OK)


def _wait(name: str, prefix_mine: str, prefix_theirs: str) -> None:
    if CG:
        open(f"{CG}/{prefix_mine}-{name}", "w").close()
        while not os.path.exists(f"{CG}/{prefix_theirs}-{name}"):
            time.sleep(0.02)


async def main() -> None:
    conn = sqlite3.connect(DB)
    versions = dict(conn.execute("select id, version from dispute_case where state = 'mediating'").fetchall())
    conn.close()
    mediating = sorted(versions)
    ids = random.Random(11).sample(range(1, N_CASES + 1), min(N_CASES, 5000))
    transport = httpx.ASGITransport(app=APP)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:

        async def token(user: str) -> dict[str, str]:
            r = await client.post("/api/v1/auth/token", data={"username": user, "password": PASSWORD})
            r.raise_for_status()
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        sup, med = await token("supervisor"), await token("mediator")
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as pages:
            form = await pages.get("/login")
            found = CSRF.search(form.text)
            assert found
            data = {"username": "supervisor", "password": PASSWORD, "csrf_token": found.group(1)}
            r = await pages.post("/login", data=data)
            assert r.status_code in (200, 303), r.status_code
            cookie = {"Cookie": "; ".join(f"{k}={v}" for k, v in pages.cookies.items())}
        turn = [0]

        def post(_i: int) -> tuple[str, str, dict[str, str], Any, int | None]:
            cid = mediating[turn[0] % len(mediating)]
            turn[0] += 1
            body = {"trigger": "record_session", "expected_version": versions[cid],
                    "data": {"session_date": today_iso(), "content": "背靠背调解，双方各让一步"}}  # fmt: skip
            return "POST", f"/api/v1/cases/{cid}/transitions", med, body, cid

        ends = {
            "healthz": lambda i: ("GET", "/healthz", {}, None, None),
            "post": post,
            "case_api": lambda i: ("GET", f"/api/v1/cases/{ids[i % len(ids)]}", sup, None, None),
            "case_page": lambda i: ("GET", f"/cases/{ids[i % len(ids)]}", cookie, None, None),
        }
        only = os.environ.get("ONLY")
        k = 0
        for name, make in ends.items():
            if only and name not in only.split(","):
                continue

            async def one(i: int, make: Any = make, name: str = name) -> None:
                method, url, headers, body, cid = make(i)
                r = await client.request(method, url, headers=headers, json=body)
                if r.status_code >= 400:
                    raise RuntimeError(f"{name} {url} {r.status_code} {r.text[:300]}")
                if cid is not None:
                    versions[cid] = r.json()["version"]

            for _ in range(10):
                await one(k)
                k += 1
            k = max(k, 10_000)  # the measured requests: cases the warm-up did not see
            n = N_REQ[name]
            _wait(name, "ready", "go")
            _mark(name, "begin")
            started = time.process_time()
            for _ in range(0, n, CONC):
                await asyncio.gather(*(one(k + j) for j in range(CONC)))
                k += CONC
            spent = (time.process_time() - started) * 1000 / n
            _mark(name, "end")
            _wait(name, "done", "next")
            print(f"{name} n={n} cpu_ms_per_req={spent:.2f}", file=sys.__stderr__, flush=True)
    for thread in threading.enumerate():
        print(f"tid {thread.name} {thread.native_id}", file=sys.__stderr__, flush=True)


asyncio.run(main())
