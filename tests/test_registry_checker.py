"""The Checker consults the registry when one is configured, and follows its changes."""

from __future__ import annotations

import hashlib

from registry_site import Site

from reservation_crawler.drivers.lookup import AsyncChecker, Checker
from reservation_crawler.drivers.registry import RegistryStore
from reservation_crawler.model.registry import Status

PAGE = b"<html><body>a poem</body></html>"


def test_checker_follows_the_registry_incrementally(registry_url, redis_url):
    with Site() as site, RegistryStore(registry_url) as store:
        site.put("/poems/1", PAGE)
        url = site.origin + "/poems/1"
        with Checker(
            redis_url=redis_url, allow_private=True, registry=registry_url, registry_refresh=0
        ) as checker:
            assert checker.check(url, "GPTBot", "train-ai").decision == "unspecified"
            reg, secret = store.create(
                contact="p@x.test", kind="prefix", target=site.origin + "/poems/"
            )
            verdict = checker.check(url, "GPTBot", "train-ai")
            assert verdict.decision == "reserved"
            (row,) = [e for e in verdict.evidence if e.signal == "registry"]
            assert row.location == f"registry:{reg.id}" and row.raw.startswith("claimed")
            record = checker.record(url, ["GPTBot"]).record
            assert "registry.claimed" in {f.code for f in record.findings}

            store.set_status(reg.id, Status.VERIFIED)
            row = next(e for e in checker.check(url, "GPTBot").evidence if e.signal == "registry")
            assert row.raw.startswith("verified")
            store.withdraw(reg.id, secret)
            assert checker.check(url, "GPTBot", "train-ai").decision == "unspecified"


def test_checker_without_refresh_keeps_its_loaded_index(registry_url, redis_url):
    with Site() as site, RegistryStore(registry_url) as store:
        url = site.origin + "/x"
        with Checker(
            redis_url=redis_url, allow_private=True, registry=registry_url, registry_refresh=3600
        ) as checker:
            store.create(contact="c", kind="origin", target=site.origin)
            assert checker.check(url, "GPTBot", "train-ai").decision == "unspecified"


async def test_async_checker_reserves_a_registered_work_by_its_bytes(registry_url, redis_url):
    with Site() as site, RegistryStore(registry_url) as store:
        store.create(contact="c", kind="sha256", target=hashlib.sha256(PAGE).hexdigest())
        async with AsyncChecker(
            redis_url=redis_url,
            allow_private=True,
            registry=registry_url,
            registry_claimed_reserves=False,
        ) as checker:
            url = site.origin + "/copy"
            verdict = await checker.check_response(url, 200, [], PAGE, "GPTBot", "train-ai")
            assert verdict.decision == "unspecified"  # claimed, and the operator said: evidence
            assert [e.effect for e in verdict.evidence if e.signal == "registry"] == ["unspecified"]
        async with AsyncChecker(
            redis_url=redis_url, allow_private=True, registry=registry_url
        ) as checker:
            verdict = await checker.check_response(url, 200, [], PAGE, "GPTBot", "train-ai")
            assert verdict.decision == "reserved"
            other = await checker.check_response(url, 200, [], PAGE + b" ", "GPTBot", "train-ai")
            assert other.decision == "unspecified"


async def test_async_checker_queries_the_registry_off_the_event_loop(registry_url, redis_url):
    """A refresh is a database query: in the async Checker (Scrapy's reactor, serve) it runs on
    a worker thread, and the answer still follows the change at once (refresh 0)."""
    import threading

    with Site() as site, RegistryStore(registry_url) as store:
        site.put("/poems/1", PAGE)
        url = site.origin + "/poems/1"
        async with AsyncChecker(
            redis_url=redis_url, allow_private=True, registry=registry_url, registry_refresh=0
        ) as checker:
            mirror = checker._registry
            assert mirror is not None
            threads: list[threading.Thread] = []
            query = mirror.store.changes_since

            def observed(seq: int):  # the real query, noting the thread it ran on
                threads.append(threading.current_thread())
                return query(seq)

            mirror.store.changes_since = observed  # type: ignore[method-assign]
            assert (await checker.check(url, "GPTBot", "train-ai")).decision == "unspecified"
            store.create(contact="p@x.test", kind="prefix", target=site.origin + "/poems/")
            assert (await checker.check(url, "GPTBot", "train-ai")).decision == "reserved"
            record = await checker.record(url, ["GPTBot"])
            assert "registry.claimed" in {f.code for f in record.record.findings}
        assert len(threads) >= 3
        assert threading.main_thread() not in threads
