#!/usr/bin/env bash
# The whole deploy/ topology as local processes, on loopback only (issue #15):
#   - a 3-master Redis Cluster (python -m reservation_crawler.testing.rediscluster) for the cache;
#   - PostgreSQL at 127.0.0.1:5432 db "test", if it answers, for the registry (a schema of its own,
#     dropped at the end);
#   - 2 `serve` processes on the cluster cache (and the registry);
#   - a plain redis-server for the distributed crawl's frontier (scrapy-redis has no cluster
#     client: docs/crawler.md) and 3 `crawl --distributed` workers on the fixture web;
#   - one worker is killed with SIGKILL mid-crawl.
# Then it prints the counts that show nothing was lost and exits 1 if anything was lost or
# written twice. Every process it started is stopped on exit (trap), whatever happens.
#
# Usage: scripts/cluster-demo.sh [--quick] [--sites N] [--keep]
#   --quick   120 sites (a smoke test of the topology; tests/deploy/test_cluster_demo.py)
#   --sites N fixture sites to crawl (default 1000)
#   --keep    keep the work directory (datasets, logs)
# Needs redis-server and redis-cli; Python from $PYTHON, else .venv/bin/python, else python3.
set -euo pipefail
cd "$(dirname "$0")/.."

SITES=1000
KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) SITES=120 ;;
    --sites) SITES=$2; shift ;;
    --keep) KEEP=1 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
if [ -n "${PYTHON:-}" ]; then PY=$PYTHON
elif [ -x .venv/bin/python ]; then PY=.venv/bin/python
else PY=python3; fi
for tool in redis-server redis-cli; do
  command -v "$tool" >/dev/null || { echo "$tool not found (apt-get install redis-server)" >&2; exit 2; }
done
RC=("$PY" -m reservation_crawler.cli)  # run directly (not in a function): $! is its PID

WORK=$(mktemp -d -t rc-cluster-demo.XXXXXX)
PIDS=()
PG_SCHEMA=""
PG_SERVER="postgresql://postgres@127.0.0.1:5432/test"
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$PG_SCHEMA" ]; then
    "$PY" - "$PG_SERVER" "$PG_SCHEMA" <<'EOF' || true
import sys, psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as connection:
    connection.execute(f'DROP SCHEMA IF EXISTS "{sys.argv[2]}" CASCADE')
EOF
  fi
  if [ "$KEEP" = 1 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*"; }
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# ready_line FILE SECONDS: wait for the first line of a child's JSON "ready" report
ready_line() {
  local waited=0
  until [ -s "$1" ] && head -n1 "$1" | grep -q '"event"'; do
    sleep 0.2; waited=$((waited + 1))
    if [ "$waited" -gt $(($2 * 5)) ]; then echo "timed out waiting for $1" >&2; return 1; fi
  done
  head -n1 "$1"
}
json_field() { "$PY" -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
wait_http() {  # wait_http URL SECONDS
  "$PY" - "$1" "$2" <<'EOF'
import sys, time, urllib.request
deadline = time.monotonic() + float(sys.argv[2])
while True:
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=2) as response:
            if response.status == 200:
                break
    except OSError:
        pass
    if time.monotonic() > deadline:
        sys.exit(f"{sys.argv[1]} did not answer")
    time.sleep(0.2)
EOF
}

say "work directory $WORK; $SITES fixture sites"

# 1. Redis Cluster (cache)
"$PY" -m reservation_crawler.testing.rediscluster --nodes 3 --dir "$WORK/cluster" \
  >"$WORK/cluster.json" 2>"$WORK/cluster.log" &
PIDS+=($!)
CLUSTER_URL=$(json_field "$(ready_line "$WORK/cluster.json" 90)" url)
say "Redis Cluster: $CLUSTER_URL"

# 2. the frontier's Redis (one server)
FRONTIER_PORT=$(free_port)
mkdir -p "$WORK/frontier"
redis-server --port "$FRONTIER_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$WORK/frontier" --logfile "$WORK/frontier/redis.log" &
PIDS+=($!)
until redis-cli -p "$FRONTIER_PORT" ping >/dev/null 2>&1; do sleep 0.1; done
FRONTIER="redis://127.0.0.1:$FRONTIER_PORT/0"
say "frontier Redis: $FRONTIER"

# 3. PostgreSQL for the registry, if present
REGISTRY_ARGS=()
SCHEMA="rc_demo_$$"
if "$PY" - "$PG_SERVER" "$SCHEMA" <<'EOF' 2>/dev/null
import sys, psycopg
with psycopg.connect(sys.argv[1], autocommit=True, connect_timeout=3) as connection:
    connection.execute(f'CREATE SCHEMA "{sys.argv[2]}"')
EOF
then
  PG_SCHEMA=$SCHEMA
  REGISTRY_ARGS=(--registry "$PG_SERVER?options=-csearch_path%3D$SCHEMA")
  say "registry: PostgreSQL $PG_SERVER, schema $SCHEMA"
else
  say "registry: PostgreSQL not reachable at 127.0.0.1:5432; serve runs without --registry"
fi

# 4. the fixture web
"$PY" -m reservation_crawler.testing.fixtureweb --sites "$SITES" --seed 15 --profile clean \
  --port 0 --ground-truth "$WORK/truth.jsonl" >"$WORK/web.json" 2>"$WORK/web.log" &
PIDS+=($!)
READY=$(ready_line "$WORK/web.json" 120)
TEMPLATE=$(json_field "$READY" url_template)
"$PY" - "$TEMPLATE" "$SITES" >"$WORK/targets.txt" <<'EOF'
import sys
template, sites = sys.argv[1], int(sys.argv[2])
print("".join(template.format(index=i) + "/\n" for i in range(sites)), end="")
EOF
say "fixture web: $(json_field "$READY" port) ($SITES sites)"

# 5. two serve replicas on the cluster cache, one after the other: the first creates the
#    registry's tables (Alembic), which two replicas starting on an empty database would race
SERVE_PORTS=()
for n in 1 2; do
  port=$(free_port)
  "${RC[@]}" serve --port "$port" --redis "$CLUSTER_URL" --allow-private --no-audit \
    ${REGISTRY_ARGS[@]+"${REGISTRY_ARGS[@]}"} >"$WORK/serve-$n.log" 2>&1 &
  PIDS+=($!)
  SERVE_PORTS+=("$port")
  wait_http "http://127.0.0.1:$port/healthz" 120
done
say "serve: 127.0.0.1:${SERVE_PORTS[0]} and 127.0.0.1:${SERVE_PORTS[1]}"

# 6. three crawl workers on one frontier
CRAWL_ID="demo-$$"
PREFIX="rc:v1:crawl:reservations:$CRAWL_ID"
WORKER_PIDS=()
for n in 1 2 3; do
  "${RC[@]}" crawl -i "$WORK/targets.txt" --distributed --crawl-id "$CRAWL_ID" --redis "$FRONTIER" \
    --allow-private --no-throttle --concurrency 16 --timeout 3 --json \
    -o "$WORK/worker-$n.jsonl" -s "RC_WORKER_ID=worker-$n" -s RC_LEASE_SECONDS=15 \
    >"$WORK/worker-$n.summary.json" 2>"$WORK/worker-$n.log" &
  PIDS+=($!)
  WORKER_PIDS+=($!)
done
say "3 workers crawling (crawl id $CRAWL_ID)"

# 7. kill one worker mid-crawl
until [ "$(redis-cli -p "$FRONTIER_PORT" hlen "$PREFIX:claims")" -ge $((SITES / 3)) ]; do
  kill -0 "${WORKER_PIDS[1]}" 2>/dev/null || { echo "worker-2 ended before the kill" >&2; exit 1; }
  sleep 0.2
done
kill -9 "${WORKER_PIDS[1]}"
say "killed worker-2 (kill -9) with $(redis-cli -p "$FRONTIER_PORT" hlen "$PREFIX:claims") of $SITES records claimed"
STATUS=0
for n in 0 2; do
  wait "${WORKER_PIDS[$n]}" || { echo "worker-$((n + 1)) exited with $?" >&2; STATUS=1; }
done
say "the other workers finished"

# 8. the counts
"$PY" - "$WORK" "$SITES" "$FRONTIER" "${SERVE_PORTS[@]}" <<'EOF' || STATUS=1
import collections, json, pathlib, random, sys, urllib.parse, urllib.request
import redis
work, sites, frontier = pathlib.Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
serve_ports = sys.argv[4:]
targets = set(work.joinpath("targets.txt").read_text().split())
committed = sorted(work.glob("worker-*.jsonl"))
partial = sorted(work.glob("worker-*.jsonl.partial"))
records = [json.loads(line) for path in committed for line in path.read_text().splitlines()]
urls = collections.Counter(r["url"] for r in records)
client = redis.Redis.from_url(frontier)
in_redis = {k.decode()[len("rc:v1:record:"):] for k in client.scan_iter("rc:v1:record:*", 1000)}
summaries = [json.loads(p.read_text()) for p in sorted(work.glob("worker-*.summary.json")) if p.stat().st_size]
reaped = sum(s.get("distributed", {}).get("reaped_workers", 0) for s in summaries)
again = sum(s.get("distributed", {}).get("recrawled_origins", 0) for s in summaries)

def check(port, url):
    query = urllib.parse.urlencode({"url": url, "agent": "GPTBot", "purpose": "train-ai"})
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/check?{query}", timeout=30) as r:
        return json.loads(r.read())

sample = random.Random(15).sample(sorted(targets), min(20, len(targets)))
first = [check(serve_ports[0], url) for url in sample]
second = [check(serve_ports[1], url) for url in sample]
from_cluster = sum(answer["source"] == "redis" for answer in second)
agree = sum(a["decision"] == b["decision"] for a, b in zip(first, second))
lost = len(targets - set(urls))
twice = sum(1 for count in urls.values() if count > 1)
missing_in_redis = len(targets - in_redis)
print(f"targets:                        {len(targets)}")
print(f"datasets committed:             {len(committed)} ({', '.join(p.name for p in committed)})")
print(f"left .partial (void):           {len(partial)} ({', '.join(p.name for p in partial) or '-'})")
print(f"records in the datasets:        {len(records)}")
print(f"unique sites in the datasets:   {len(urls)}")
print(f"sites lost:                     {lost}")
print(f"sites written twice:            {twice}")
print(f"records in Redis:               {len(in_redis & targets)} of {len(targets)}")
print(f"dead workers reaped:            {reaped} ({again} origins crawled again)")
print(f"serve: second replica answered from the cluster cache {from_cluster}/{len(sample)}, "
      f"same decision as the first {agree}/{len(sample)}")
ok = (
    lost == 0 and twice == 0 and len(records) == len(targets) and missing_in_redis == 0
    and reaped >= 1 and from_cluster == len(sample) and agree == len(sample)
)
print("nothing lost" if ok else "SOMETHING WAS LOST OR DUPLICATED")
sys.exit(0 if ok else 1)
EOF
exit "$STATUS"
