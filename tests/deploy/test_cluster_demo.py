"""``scripts/cluster-demo.sh --quick``: the whole topology as local processes (a 3-master Redis
Cluster, PostgreSQL if present, 2 ``serve``, a frontier Redis and 3 crawl workers, one killed
mid-crawl) says nothing was lost, exits 0, and leaves no server behind."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")
def test_cluster_demo_loses_nothing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(PYTHON=sys.executable, XDG_DATA_HOME=str(tmp_path), TMPDIR=str(tmp_path))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [str(REPO / "scripts" / "cluster-demo.sh"), "--quick"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=1100,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 0, out[-4000:] + done.stderr[-4000:]
    counts = dict(re.findall(r"^([a-zA-Z .()]+?):\s+(\d+)", out, re.MULTILINE))
    assert counts["targets"] == "120"
    assert counts["unique sites in the datasets"] == "120"
    assert counts["records in the datasets"] == "120"
    assert counts["sites lost"] == "0" and counts["sites written twice"] == "0"
    assert re.search(r"records in Redis:\s+120 of 120", out)
    assert re.search(r"killed worker-2 \(kill -9\)", out)
    assert "left .partial (void):           1 (worker-2.jsonl.partial)" in out
    assert "answered from the cluster cache 20/20, same decision as the first 20/20" in out
    assert out.rstrip().endswith("nothing lost")
    # every server it started is gone (PostgreSQL on 5432 is not its own)
    ports = [int(p) for p in re.findall(r"127\.0\.0\.1:(\d+)", out) if p != "5432"]
    assert ports and not [port for port in ports if _listening(port)]
    assert not list(tmp_path.glob("rc-cluster-demo.*")), "the work directory was not removed"
