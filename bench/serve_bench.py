"""``serve`` under load: requests/s and p50 / p99 latency of ``GET /v1/check`` (warm) and
``POST /v1/check`` batches, at 1, 2 and 4 uvicorn workers, as ratios to a bare Starlette endpoint
returning a constant JSON body of the same size, measured in the same run with the same load.

Run from the repository root (needs ``wrk`` and ``redis-server``: ``apt-get install wrk
redis-server``):

    python bench/serve_bench.py                 # 10 s per measurement
    python bench/serve_bench.py --quick         # 3 s, workers 1 and 2

Everything runs on loopback: a fixture web of 50 sites (the policies' origins), a private
``redis-server`` on a free port, ``serve``'s app under ``uvicorn --workers N`` and the bare app
likewise. Each worker count: the checks are warmed (every URL asked once, so every worker has
fetched or read each policy), then wrk drives each endpoint for the same duration and
connections. GET rotates over 1,000 URLs of the 50 origins; POST sends batches of 100 of them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
SITES = 50
URLS_PER_SITE = 20
BATCH = 100
AGENT = "GPTBot"

# --- the two apps -------------------------------------------------------------------------------


def checked() -> object:
    """``serve``'s app on the bench's Redis, loopback fixture sites allowed."""
    from reservation_crawler.apps.server import create_app

    return create_app(redis_url=os.environ["RC_BENCH_REDIS"], allow_private=True)


def bare() -> object:
    """A Starlette app answering every GET and POST of /v1/check with a constant JSON body."""
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    one = Path(os.environ["RC_BENCH_BODY_GET"]).read_bytes()
    many = Path(os.environ["RC_BENCH_BODY_POST"]).read_bytes()

    async def endpoint(request: object) -> Response:
        body = many if request.method == "POST" else one  # type: ignore[attr-defined]
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/v1/check", endpoint, methods=["GET", "POST"])])


# --- processes --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        args = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        proc = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", *args, "--dir", tmp],
            stdout=subprocess.DEVNULL,
        )
        try:
            wait_listening(port)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            proc.wait(10)


@contextlib.contextmanager
def uvicorn_app(factory: str, workers: int, env: dict[str, str]) -> Iterator[str]:
    """``workers`` processes serving ``factory``'s app on one loopback port (SO_REUSEPORT)."""
    port = free_port()
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", factory, str(port)]
    procs = [subprocess.Popen(command, env={**os.environ, **env}) for _ in range(workers)]
    try:
        wait_listening(port)
        time.sleep(0.5 * workers)  # every worker imported and serving
        yield f"http://127.0.0.1:{port}"
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)


def run_worker(factory: str, port: int) -> None:
    """One uvicorn worker, through ``serve()`` as ``reservation-crawler serve`` runs it.

    Not ``uvicorn --workers N``: its workers' listening socket has ``proto`` 0, so asyncio leaves
    TCP_NODELAY off on accepted connections and every response waits ~40 ms for a delayed ACK,
    the bare app's too (``apps/server.listen`` had the same fault). Each worker here binds its
    own TCP socket with SO_REUSEPORT; the kernel spreads the connections.
    """
    from reservation_crawler.apps.server import serve

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # see listen()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(2048)
    serve({"checked": checked, "bare": bare}[factory](), sock)


def wait_listening(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing listens on {port}")
        time.sleep(0.05)


# --- load -------------------------------------------------------------------------------------

GET_SCRIPT = """
local paths = {%s}
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
"""

POST_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = %s
"""

_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def wrk(url: str, script: str, *, duration: int, connections: int, threads: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        out = subprocess.run(
            [
                *("wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s"),
                *("--latency", "-s", handle.name, url),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(handle.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} error responses under load\n{out}")

    def pct(name: str) -> float:
        value, unit = re.search(rf"\s{name}%\s+([\d.]+)(us|ms|s|m)\b", out).groups()
        return float(value) * _UNITS[unit]

    return {"rps": rps, "p50": pct("50"), "p99": pct("99")}


def lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal here


# --- the run ------------------------------------------------------------------------------------


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--quick", action="store_true", help="3 s per measurement, 1-2 workers")
    options.add_argument("--duration", type=int, help="seconds per measurement (default 10)")
    options.add_argument("--connections", type=int, default=32)
    options.add_argument("--threads", type=int, default=2)
    options.add_argument("--workers", type=int, nargs="+", help="default 1 2 4")
    options.add_argument("--worker", nargs=2, metavar=("APP", "PORT"), help=argparse.SUPPRESS)
    args = options.parse_args()
    if args.worker:
        run_worker(args.worker[0], int(args.worker[1]))
        return
    duration = args.duration or (3 if args.quick else 10)
    worker_counts = args.workers or ([1, 2] if args.quick else [1, 2, 4])

    from reservation_crawler.testing import FixtureWeb

    rows = []
    with FixtureWeb(SITES, seed=7, profile="clean") as web, redis_server() as redis_url:
        paths = [
            str(httpx.URL("/v1/check", params={"url": web.url(i, f"/p{n}"), "agent": AGENT}))
            for i in range(SITES)
            for n in range(URLS_PER_SITE)
        ]
        batch = [{"url": web.url(i % SITES, f"/b{i}"), "agent": AGENT} for i in range(BATCH)]
        batch_json = json.dumps(batch)
        get_script = GET_SCRIPT % ", ".join(lua_string(p) for p in paths)
        post_script = POST_SCRIPT % lua_string(batch_json)
        with tempfile.TemporaryDirectory() as tmp:
            env = {
                "RC_BENCH_REDIS": redis_url,
                "RC_BENCH_BODY_GET": str(Path(tmp) / "get.json"),
                "RC_BENCH_BODY_POST": str(Path(tmp) / "post.json"),
                "PYTHONPATH": os.pathsep.join(
                    filter(None, [str(HERE.parent / "src"), os.environ.get("PYTHONPATH")])
                ),
            }
            for workers in worker_counts:
                with uvicorn_app("checked", workers, env) as base:
                    with httpx.Client(base_url=base, timeout=60, trust_env=False) as client:
                        # Warm every worker: each URL asked a few times over fresh connections.
                        for _ in range(workers * 2):
                            for path in paths[::URLS_PER_SITE]:
                                client.get(path, headers={"connection": "close"}).raise_for_status()
                            client.post(
                                "/v1/check",
                                content=batch_json,
                                headers={"content-type": "application/json", "connection": "close"},
                            ).raise_for_status()
                        Path(env["RC_BENCH_BODY_GET"]).write_bytes(client.get(paths[0]).content)
                        Path(env["RC_BENCH_BODY_POST"]).write_bytes(
                            client.post(
                                "/v1/check",
                                content=batch_json,
                                headers={"content-type": "application/json"},
                            ).content
                        )
                    load = {
                        "duration": duration,
                        "connections": args.connections,
                        "threads": args.threads,
                    }
                    served = {
                        "GET": wrk(base + paths[0], get_script, **load),
                        "POST": wrk(base + "/v1/check", post_script, **load),
                    }
                with uvicorn_app("bare", workers, env) as base:
                    constant = {
                        "GET": wrk(base + paths[0], get_script, **load),
                        "POST": wrk(base + "/v1/check", post_script, **load),
                    }
                for method in ("GET", "POST"):
                    s, b = served[method], constant[method]
                    rows.append(
                        {
                            "workers": workers,
                            "load": method,
                            "serve_rps": s["rps"],
                            "bare_rps": b["rps"],
                            "rps_ratio": s["rps"] / b["rps"],
                            "serve_p50_ms": s["p50"] * 1000,
                            "bare_p50_ms": b["p50"] * 1000,
                            "p50_ratio": b["p50"] / s["p50"],
                            "serve_p99_ms": s["p99"] * 1000,
                            "bare_p99_ms": b["p99"] * 1000,
                            "p99_ratio": b["p99"] / s["p99"],
                        }
                    )
                    print(json.dumps(rows[-1]), flush=True)
    print(
        f"\n{'workers':>7} {'load':>5} {'serve r/s':>10} {'bare r/s':>10} {'ratio':>6} "
        f"{'p50 ms serve/bare':>18} {'ratio':>6} {'p99 ms serve/bare':>18} {'ratio':>6}"
    )
    for r in rows:
        print(
            f"{r['workers']:>7} {r['load']:>5} {r['serve_rps']:>10.0f} {r['bare_rps']:>10.0f} "
            f"{r['rps_ratio']:>6.2f} {r['serve_p50_ms']:>8.2f}/{r['bare_p50_ms']:<9.2f} "
            f"{r['p50_ratio']:>6.2f} {r['serve_p99_ms']:>8.2f}/{r['bare_p99_ms']:<9.2f} "
            f"{r['p99_ratio']:>6.2f}"
        )
    print(
        f"\n{os.cpu_count()} CPUs; wrk -t{args.threads} -c{args.connections} -d{duration}s; "
        f"GET: {len(paths)} URLs over {SITES} origins; POST: batches of {BATCH}"
    )


if __name__ == "__main__":
    main()
