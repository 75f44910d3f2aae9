"""The fixture web: many simulated sites on one loopback server, and their ground truth.

In-process (tests)::

    with FixtureWeb(200, seed=1) as web:
        web.base_url(7)            # "http://s00007.fixture.localhost:PORT"
        web.write_ground_truth(path)

As a separate process (benchmarks)::

    python -m reservation_crawler.testing.fixtureweb --sites 2000 --seed 1 --port 0 \\
        --ground-truth out.jsonl

prints one JSON line ``{"event": "ready", "port": ...}`` when it serves, and stops cleanly on
SIGTERM or SIGINT. ``*.localhost`` names resolve to loopback by RFC 6761; clients map them to
127.0.0.1 themselves (or send the Host header, or use the server as their HTTP proxy).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from reservation_crawler.testing.render import GZIP_BOMB_SIZE, site_host, site_origin
from reservation_crawler.testing.server import LOOPBACK, FixtureServer
from reservation_crawler.testing.sites import (
    PROFILES,
    Recipe,
    RobotsCorpus,
    generate_recipes,
    load_corpus,
)
from reservation_crawler.testing.truth import TruthCache, site_truth

DEFAULT_SLOW_DELAY = 30.0
URL_TEMPLATE = "http://s{index:05d}.fixture.localhost:{port}"


class FixtureWeb:
    """A seeded web of fixture sites, served from a background thread while started."""

    def __init__(
        self,
        sites: int = 100,
        *,
        seed: int = 0,
        profile: str = "default",
        mix: Mapping[str, float] | None = None,
        recipes: Iterable[Recipe] | None = None,
        corpus: RobotsCorpus | str | os.PathLike[str] | bool | None = None,
        slow_delay: float = DEFAULT_SLOW_DELAY,
        port: int = 0,
        gzip_bomb_size: int = GZIP_BOMB_SIZE,
    ) -> None:
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}; one of {sorted(PROFILES)}")
        self.seed = seed
        self.profile = profile
        self.corpus = load_corpus(corpus)
        if recipes is not None:
            self.recipes: tuple[Recipe, ...] = tuple(recipes)
        else:
            self.recipes = tuple(
                generate_recipes(sites, seed=seed, profile=profile, mix=mix, corpus=self.corpus)
            )
        self.slow_delay = slow_delay
        self._requested_port = port
        self._server = FixtureServer(
            self.recipes, corpus=self.corpus, slow_delay=slow_delay, gzip_bomb_size=gzip_bomb_size
        )
        self._truths = TruthCache(self.corpus)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def from_recipes(cls, recipes: Iterable[Recipe], **kwargs: Any) -> FixtureWeb:
        """A web of exactly these sites, in this order (site ``i`` is ``recipes[i]``)."""
        return cls(recipes=recipes, **kwargs)

    # -- lifecycle

    def start(self) -> FixtureWeb:
        if self._thread is not None:
            return self
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="fixture-web", daemon=True)
        thread.start()
        try:
            future = asyncio.run_coroutine_threadsafe(
                self._server.start(self._requested_port), loop
            )
            future.result(timeout=30)
        except BaseException:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5)
            loop.close()
            raise
        self._loop, self._thread = loop, thread
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._server.close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
        self._loop = self._thread = None

    def __enter__(self) -> FixtureWeb:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses

    @property
    def port(self) -> int:
        if not self._server.port:
            raise RuntimeError("the fixture web is not started")
        return self._server.port

    def __len__(self) -> int:
        return len(self.recipes)

    def host(self, index: int) -> str:
        return site_host(index)

    def base_url(self, index: int) -> str:
        """``http://s{index:05d}.fixture.localhost:{port}`` (no trailing slash)."""
        return site_origin(index, self.port)

    def url(self, index: int, path: str = "/") -> str:
        return self.base_url(index) + path

    def origins(self) -> list[str]:
        return [self.base_url(i) for i in range(len(self))]

    def sites_of(self, kind: str, variant: str | None = None) -> list[int]:
        """Indexes of the sites of ``kind`` (and ``variant``)."""
        return [
            i
            for i, r in enumerate(self.recipes)
            if r.kind == kind and (variant is None or r.variant == variant)
        ]

    def replace_site(self, index: int, recipe: Recipe) -> None:
        """Serve ``recipe`` as site ``index`` from now on: the site changed its signals. Its
        ground truth (``truth``) follows; ``changes.change_truth`` says what changed."""
        recipes = list(self.recipes)
        recipes[index] = recipe
        self.recipes = tuple(recipes)
        self._in_loop(lambda: self._server.replace_site(index, recipe))

    # -- ground truth

    def truth(self, index: int) -> dict[str, Any]:
        """The ground truth of one site (see docs/fixture-web.md)."""
        return site_truth(index, self.recipes[index], self.port, self.corpus, cache=self._truths)

    def ground_truth(self) -> Iterator[dict[str, Any]]:
        for index in range(len(self)):
            yield self.truth(index)

    def write_ground_truth(self, path: str | os.PathLike[str]) -> Path:
        return write_ground_truth(path, self.recipes, self.port, self.corpus)

    # -- request counters (read from any thread)

    def request_count(self, site: int, path: str | None = None) -> int:
        """Requests that reached ``site`` (for ``path`` only when given; query strings ignored)."""
        counts = self._server.counts
        if path is not None:
            return counts.get((site, path), 0)
        return sum(n for (index, _), n in self.request_counts().items() if index == site)

    def request_counts(self) -> dict[tuple[int, str], int]:
        return self._in_loop(lambda: dict(self._server.counts))

    @property
    def total_requests(self) -> int:
        return self._server.total_requests

    def reset_counts(self) -> None:
        def reset() -> None:
            self._server.counts.clear()
            self._server.total_requests = 0

        self._in_loop(reset)

    def _in_loop(self, function: Any) -> Any:
        loop = self._loop
        if loop is None:
            return function()

        async def call() -> Any:
            return function()

        return asyncio.run_coroutine_threadsafe(call(), loop).result(timeout=10)


def write_ground_truth(
    path: str | os.PathLike[str],
    recipes: Sequence[Recipe],
    port: int,
    corpus: RobotsCorpus | None = None,
) -> Path:
    """One JSON line per site (format in docs/fixture-web.md)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    cache = TruthCache(corpus)
    with open(target, "w", encoding="utf-8") as handle:
        for index, recipe in enumerate(recipes):
            truth = site_truth(index, recipe, port, corpus, cache=cache, shared=True)
            line = json.dumps(truth, separators=(",", ":"))
            handle.write(line + "\n")
    return target


def read_ground_truth(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def expected_decisions(
    truth: Iterable[Mapping[str, Any]],
) -> dict[str, dict[str, dict[str, str | None]]]:
    """URL -> agent -> purpose -> "reserved" / "allowed" / "unspecified" / None (not asserted)."""
    out: dict[str, dict[str, dict[str, str | None]]] = {}
    for site in truth:
        out.update(site["expected"])
    return out


class FixtureWebProcess:
    """The fixture web in a child process (``python -m reservation_crawler.testing.fixtureweb``)."""

    def __init__(
        self,
        sites: int = 100,
        *,
        seed: int = 0,
        profile: str = "default",
        ground_truth: str | os.PathLike[str] | None = None,
        slow_delay: float | None = None,
        corpus: str | os.PathLike[str] | bool | None = None,
        port: int = 0,
        extra_args: Sequence[str] = (),
        startup_timeout: float = 120.0,
    ) -> None:
        args = [
            sys.executable,
            "-m",
            "reservation_crawler.testing.fixtureweb",
            "--sites",
            str(sites),
            "--seed",
            str(seed),
            "--profile",
            profile,
            "--port",
            str(port),
        ]
        if ground_truth is not None:
            args += ["--ground-truth", os.fspath(ground_truth)]
        if slow_delay is not None:
            args += ["--slow-delay", str(slow_delay)]
        if corpus is False:
            args.append("--no-corpus")
        elif corpus not in (None, True):
            args += ["--corpus", os.fspath(corpus)]  # type: ignore[arg-type]
        self.args = [*args, *extra_args]
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[str] | None = None
        self.ready: dict[str, Any] = {}
        self.stopped: dict[str, Any] = {}

    def start(self) -> FixtureWebProcess:
        self.process = subprocess.Popen(
            self.args, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
        )
        assert self.process.stdout is not None
        readable, _, _ = select.select([self.process.stdout], [], [], self.startup_timeout)
        line = self.process.stdout.readline() if readable else ""
        if not line:
            self.stop()
            raise RuntimeError(f"fixture web process did not start: {self.args}")
        self.ready = json.loads(line)
        return self

    def stop(self) -> int | None:
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                out, _ = process.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                out, _ = process.communicate()
            for line in (out or "").splitlines():
                with contextlib.suppress(ValueError):
                    event = json.loads(line)
                    if event.get("event") == "stopped":
                        self.stopped = event
        self.process = None
        return process.returncode

    def __enter__(self) -> FixtureWebProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return int(self.ready["port"])

    def base_url(self, index: int) -> str:
        return site_origin(index, self.port)

    def url(self, index: int, path: str = "/") -> str:
        return self.base_url(index) + path

    def request_counts(self) -> dict[str, Any]:
        """The server's counters: ``{"total": n, "sites": {host: {path: n}}}``."""
        request = urllib.request.Request(f"http://{LOOPBACK}:{self.port}/_fixture/counts")
        with urllib.request.urlopen(request, timeout=10) as response:  # loopback only
            return json.loads(response.read())


# ------------------------------------------------------------------------------------- CLI


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m reservation_crawler.testing.fixtureweb",
        description="Serve a seeded fixture web of simulated sites on 127.0.0.1.",
    )
    parser.add_argument("--sites", type=int, default=100, help="number of sites (default 100)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="default")
    parser.add_argument(
        "--mix", help='JSON weights per kind overriding the profile, e.g. {"plain": 0}'
    )
    parser.add_argument("--recipes", help="a JSON Lines file of recipes (kind, variant, params)")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (reported)")
    parser.add_argument("--ground-truth", help="write the ground truth (JSON Lines) here")
    parser.add_argument(
        "--slow-delay",
        type=float,
        default=DEFAULT_SLOW_DELAY,
        help="seconds before a 'timeout' response is sent (default 30)",
    )
    parser.add_argument("--corpus", help="robots corpus folder (default: ../shared/corpus/robots)")
    parser.add_argument("--no-corpus", action="store_true", help="never use real robots.txt bodies")
    parser.add_argument("--gzip-bomb-size", type=int, default=GZIP_BOMB_SIZE)
    return parser


async def _serve(args: argparse.Namespace) -> int:
    corpus = load_corpus(False if args.no_corpus else (args.corpus or None))
    if args.recipes:
        with open(args.recipes, encoding="utf-8") as handle:
            recipes = [Recipe(**json.loads(line)) for line in handle if line.strip()]
    else:
        mix = json.loads(args.mix) if args.mix else None
        recipes = generate_recipes(
            args.sites, seed=args.seed, profile=args.profile, mix=mix, corpus=corpus
        )
    server = FixtureServer(
        recipes, corpus=corpus, slow_delay=args.slow_delay, gzip_bomb_size=args.gzip_bomb_size
    )
    port = await server.start(args.port)
    if args.ground_truth:
        write_ground_truth(args.ground_truth, recipes, port, corpus)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    ready = {
        "event": "ready",
        "port": port,
        "host": LOOPBACK,
        "sites": len(recipes),
        "seed": args.seed,
        "profile": args.profile,
        "url_template": URL_TEMPLATE.replace("{port}", str(port)),
        "ground_truth": args.ground_truth,
        "corpus": str(corpus.directory) if corpus else None,
        "pid": os.getpid(),
    }
    print(json.dumps(ready), flush=True)
    await stop.wait()
    await server.close()
    print(json.dumps({"event": "stopped", "requests": server.total_requests}), flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return asyncio.run(_serve(args))


if __name__ == "__main__":
    sys.exit(main())
