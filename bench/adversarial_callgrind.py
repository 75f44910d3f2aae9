"""Instructions per warm check (new URL): the normal origins vs the adversarial origin (#12 item 3).

Run by ``bench/adversarial_callgrind.sh`` under valgrind's callgrind, which zeroes its counters
before each loop and dumps them after (``callgrind_control``): instruction counts do not vary
with the machine's load, as times do. The setup is lookup_bench.py's (100 corpus origins x 20
URLs, the adversarial origin of ``reservation_crawler.testing.adversarial``, a private Redis).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import lookup_bench as bench

from reservation_crawler.testing import adversarial


def wait(flags: Path, step: str) -> None:
    """Say ``step`` on stdout, then wait until the driver has zeroed / dumped the counters."""
    print(step, flush=True)
    while not (flags / f"{step}.go").exists():
        time.sleep(0.2)


def main() -> int:
    flags = Path(sys.argv[1])
    policies, _, urls = bench.build_policies(100, 20, 1)
    with bench.private_redis() as redis_url:
        cache = bench.ReservationCache(bench.connect(redis_url))
        with cache.pipeline() as pipe:
            for policy in [*policies, bench.adversarial_policy()]:
                cache.put_policy(policy.origin, policy.to_json(), pipe=pipe)
        normal = bench.fresh_warm_checker(redis_url, policies)
        costly = bench.Checker(redis_url=redis_url, memory_size=len(policies) + 10)
        costly.check(bench.ADVERSARIAL_ORIGIN + "/", bench.AGENT, bench.PURPOSE)  # parse, index
        paths = adversarial.url_paths(100, seed=11)
        check_normal, check_costly = bench.checks_of(normal), bench.checks_of(costly)
        wait(flags, "normal")  # counters zeroed: the normal origins
        for url in urls:
            check_normal(url)
        wait(flags, "adversarial")  # dumped and zeroed: the adversarial origin
        for path in paths:
            check_costly(bench.ADVERSARIAL_ORIGIN + path)
        wait(flags, "end")  # dumped
        print(f"checks {len(urls)} {len(paths)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
