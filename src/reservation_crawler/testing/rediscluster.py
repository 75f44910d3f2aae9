"""A throwaway Redis Cluster on loopback: N masters (``redis-server --cluster-enabled yes``)
joined by ``redis-cli --cluster create``, for tests and ``scripts/cluster-demo.sh``.

In-process::

    with RedisCluster(3, directory) as cluster:
        cluster.url            # "redis+cluster://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3"

As a process (stops the nodes on SIGTERM / SIGINT)::

    python -m reservation_crawler.testing.rediscluster --nodes 3 --dir /tmp/cluster

prints one JSON line ``{"event": "ready", "url": ..., "ports": [...]}`` once the cluster is ok.
Nothing is persisted (no RDB, no AOF).
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

LOOPBACK = "127.0.0.1"


class RedisClusterUnavailable(RuntimeError):
    """redis-server / redis-cli are not installed."""


def free_cluster_port() -> int:
    """A free loopback port whose cluster bus port (port + 10000) is free too."""
    while True:
        with socket.socket() as sock:
            sock.bind((LOOPBACK, 0))
            port = int(sock.getsockname()[1])
        if port + 10000 > 65535:
            continue
        with socket.socket() as bus:
            try:
                bus.bind((LOOPBACK, port + 10000))
            except OSError:
                continue
        return port


def _command(*args: str, timeout: float = 5) -> str:
    return subprocess.run(
        list(args), check=True, capture_output=True, text=True, timeout=timeout
    ).stdout


class RedisCluster:
    """``nodes`` masters on loopback, data in ``directory`` (a temporary one by default)."""

    def __init__(self, nodes: int = 3, directory: str | Path | None = None) -> None:
        server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
        if server is None or cli is None:
            raise RedisClusterUnavailable(
                "redis-server / redis-cli not installed (apt-get install redis-server)"
            )
        self.server, self.cli = server, cli
        self.nodes = nodes
        self._own_directory = directory is None
        self.directory = Path(directory or tempfile.mkdtemp(prefix="rc-cluster-"))
        self.ports: list[int] = []
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"{LOOPBACK}:{port}" for port in self.ports)

    def start(self) -> RedisCluster:
        try:
            for _ in range(self.nodes):
                port = free_cluster_port()
                self.ports.append(port)
                self.processes.append(self._start_node(port))
            for port in self.ports:
                self._wait(port, lambda p: _command(self.cli, "-p", str(p), "ping") == "PONG\n")
            nodes = [f"{LOOPBACK}:{port}" for port in self.ports]
            _command(
                self.cli, "--cluster", "create", *nodes, "--cluster-replicas", "0",
                "--cluster-yes", timeout=60,
            )  # fmt: skip
            for port in self.ports:
                self._wait(port, self._cluster_ok, timeout=30)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_node(self, port: int) -> subprocess.Popen[bytes]:
        directory = self.directory / str(port)
        directory.mkdir(parents=True)
        args = {
            "--port": str(port),
            "--bind": LOOPBACK,
            "--cluster-enabled": "yes",
            "--cluster-config-file": str(directory / "nodes.conf"),
            "--dir": str(directory),
            "--save": "",
            "--appendonly": "no",
            "--logfile": str(directory / "redis.log"),
        }
        return subprocess.Popen(
            [self.server, *(part for pair in args.items() for part in pair)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def _cluster_ok(self, port: int) -> bool:
        return "cluster_state:ok" in _command(self.cli, "-p", str(port), "cluster", "info")

    @staticmethod
    def _wait(port: int, ready: object, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if ready(port):  # type: ignore[operator]
                    return
            except (subprocess.SubprocessError, OSError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"redis node on port {port} not ready after {timeout:g} s")
            time.sleep(0.05)

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes = []
        if self._own_directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> RedisCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reservation_crawler.testing.rediscluster",
        description="Run a throwaway Redis Cluster on 127.0.0.1 until SIGTERM / SIGINT.",
    )
    parser.add_argument("--nodes", type=int, default=3, help="masters (default 3)")
    parser.add_argument("--dir", help="data directory (default: a temporary one, removed)")
    args = parser.parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        cluster = RedisCluster(args.nodes, args.dir).start()
    except RedisClusterUnavailable as exc:
        print(json.dumps({"event": "error", "error": str(exc)}), flush=True)
        return 2
    try:
        ready = {"event": "ready", "url": cluster.url, "ports": cluster.ports}
        print(json.dumps(ready), flush=True)
        stop.wait()
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
