"""The ``reservations`` spider: per origin, robots.txt, /ai.txt and /.well-known/tdmrep.json once,
then the target pages; one reservation record per URL, built by ``collect.record_from_page``.

Each origin is one sequential chain of requests and every request carries the chain's state in
``meta["rc"]`` (plain, picklable data). No per-origin state lives in the process, so a chain
can continue in another process (``--distributed``: scrapy-redis shares the frontier) and a
resumed crawl needs nothing but the job ledger. One request per origin at a time is also the
politest schedule.

Arguments (``scrapy crawl reservations -a name=value``; lists comma-separated):
``targets`` origins, domains or URLs; ``input`` files of targets (one per line, or a ranked CSV
such as Tranco's ``rank,domain``); ``agents`` product tokens to decide for besides ``*``;
``max_pages`` pages per origin (breadth-first over same-origin links; default 1, the home page
or the given URLs); ``scheme`` for bare domains (default https).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import HtmlResponse
from scrapy.settings import SETTINGS_PRIORITIES
from twisted.python.failure import Failure

from reservation_crawler.core.decide import decide_agent
from reservation_crawler.core.fetching import (
    DEFAULT_TIMEOUT,
    FetchLimits,
    FetchResult,
    Head,
)
from reservation_crawler.core.policy import (
    AITXT,
    ROBOTS,
    TDMREP,
    OriginPolicy,
    PolicyFile,
    PolicyRequest,
    kind_of,
    policy_requests,
)
from reservation_crawler.drivers.collect import now_iso, record_from_page
from reservation_crawler.drivers.fetch import PRODUCT_TOKEN
from reservation_crawler.errors import ConfigError
from reservation_crawler.model import codec
from reservation_crawler.model.record import Access, Decision, Outcome, Purpose, SourceOutcome
from reservation_crawler.scrapy import fetching
from reservation_crawler.scrapy.distributed import LeasedOutput, leased_output_for
from reservation_crawler.scrapy.fetching import RC, BodyReaders, host_of
from reservation_crawler.scrapy.items import (
    SITE_DONE,
    SITE_FAILED,
    PolicyItem,
    RecordItem,
    SiteItem,
)
from reservation_crawler.scrapy.jobdir import ledger_for
from reservation_crawler.scrapy.resolver import blocked_address
from reservation_crawler.scrapy.targets import Targets, read_targets

logger = logging.getLogger(__name__)

# Later stages first: an origin that has started finishes before new origins start, which keeps
# the number of origins in flight (and memory) bounded by the concurrency. The follow-up files
# (ai.txt's fallback, RSL documents: core.policy.policy_requests) come between.
STAGE_PRIORITY = {ROBOTS: 0, AITXT: 1, TDMREP: 2, "page": 3}
_FOLLOW_UP_PRIORITY = 2
_FAILED_OUTCOMES = (Outcome.UNREACHABLE, Outcome.ERROR)
_POLICY_CACHE_SIZE = 1024
_START_POLL = 0.005  # seconds between checks for room to start another origin


def _split_arg(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.replace("\n", ",").split(",") if part.strip()]
    return [str(v).strip() for v in value if str(v).strip()]


class ReservationsSpider(scrapy.Spider):
    """Crawl origins for their AI / TDM reservation signals; yield one record per URL."""

    name = "reservations"
    readers: BodyReaders  # set by from_crawler: the bounded body readers of the requests in flight

    def __init__(
        self,
        targets: str | Sequence[str] | None = None,
        input: str | Sequence[str] | None = None,
        agents: str | Sequence[str] | None = None,
        max_pages: int | str = 1,
        scheme: str = "https",
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.target_args = _split_arg(targets)
        self.input_files = _split_arg(input)
        self.agents = _split_arg(agents)
        self.max_pages = max(1, int(max_pages))
        if scheme not in ("http", "https"):
            raise ConfigError(f"scheme must be http or https, not {scheme!r}")
        self.scheme = scheme
        self.limits = FetchLimits()
        self.distributed = False
        self.leased_output: LeasedOutput | None = None  # --distributed (scrapy/distributed.py)
        self._policies: OrderedDict[tuple[str, str], OriginPolicy] = OrderedDict()
        self.targets: Targets | None = None

    @classmethod
    def update_settings(cls, settings: Any) -> None:
        """Our settings module under whatever project runs the spider (``scrapy runspider``
        elsewhere too; explicit ``-s`` settings still win), and feeds that export records only.

        Process-wide settings (the DNS resolver) cannot come from a spider: outside this
        repository, pass ``-s TWISTED_DNS_RESOLVER=...`` or use ``reservation-crawler crawl``.
        """
        from reservation_crawler.scrapy import settings as package_settings

        super().update_settings(settings)
        settings.setmodule(package_settings, priority="project")
        feeds = settings.getdict("FEEDS")
        if feeds:
            limited = {
                uri: {"item_classes": [RecordItem], **dict(options or {})}
                for uri, options in feeds.items()
            }
            # Above "cmdline": Scrapy re-applies the process settings (-o) to the crawler after
            # this hook, which would drop the filter at an equal priority.
            priority = max(settings.getpriority("FEEDS") or 0, SETTINGS_PRIORITIES["cmdline"])
            settings.set("FEEDS", limited, priority=priority + 1)

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> ReservationsSpider:
        spider: ReservationsSpider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.readers = BodyReaders(crawler)
        spider.limits = FetchLimits(
            timeout=settings.getfloat("DOWNLOAD_TIMEOUT") or DEFAULT_TIMEOUT
        )
        spider.distributed = settings.getbool("RC_DISTRIBUTED")
        spider.leased_output = leased_output_for(crawler)
        if not spider.agents:
            spider.agents = _split_arg(settings.getlist("RC_AGENTS"))
        return spider

    # -- start -----------------------------------------------------------------------------

    def load_targets(self) -> Targets:
        if self.targets is None:
            self.targets = read_targets(self.target_args, self.input_files, scheme=self.scheme)
        return self.targets

    async def start(self) -> AsyncIterator[Any]:
        targets = self.load_targets()
        stats = self.crawler.stats
        stats.set_value("reservation/sites/total", len(targets))
        stats.set_value("reservation/targets/invalid", len(targets.invalid))
        for problem in targets.problems[:20]:
            logger.warning("%s; skipped", problem)
        ledger = ledger_for(self.crawler)
        done = ledger.done_origins if ledger is not None else frozenset()
        for origin, urls in targets.by_origin.items():
            if origin in done:
                stats.inc_value("reservation/sites/resumed")
                continue
            await self._wait_for_room()
            fetched_at = now_iso()
            site = {"origin": origin, "targets": urls, "files": {}, "fetched_at": fetched_at}
            yield self._policy_request(site, policy_requests(origin, self.limits, {})[0])

    def recrawl_request(self, origin: str) -> scrapy.Request:
        """A new chain for ``origin`` from its robots.txt, past the duplicate filter
        (``--distributed``: a dead worker's origins and reconciliation's gaps)."""
        site = {
            "origin": origin,
            "targets": self.load_targets().by_origin[origin],
            "files": {},
            "fetched_at": now_iso(),
        }
        first = policy_requests(origin, self.limits, {})[0]  # robots.txt: the plan's first file
        return self._policy_request(site, first).replace(dont_filter=True)

    async def _wait_for_room(self) -> None:
        """Start a new origin only when the downloader has room and little is queued: start
        requests stay lazy, so memory does not grow with the length of the target list."""
        engine = self.crawler.engine
        limit = self.crawler.settings.getint("CONCURRENT_REQUESTS")
        if self.leased_output is not None:  # the shared frontier feeds every live worker
            limit *= max(1, self.leased_output.frontier.live_workers)
        while engine is not None and engine.running:
            scheduler = getattr(engine, "scheduler", None)
            try:
                backlog = len(scheduler) if scheduler is not None else 0
            except TypeError:
                backlog = 0
            if not engine.needs_backout() and backlog < limit:
                return
            await asyncio.sleep(_START_POLL)

    # -- requests --------------------------------------------------------------------------

    def _request(self, url: str, state: dict[str, Any], *, first: bool = False) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=self.parse_fetch,
            errback=self.fetch_failed,
            meta={
                RC: state,
                "handle_httpstatus_all": True,
                "dont_redirect": True,
                "download_maxsize": 0,  # the body reader caps (and reports) sizes itself
                "download_warnsize": 0,
                "dont_merge_cookies": True,
            },
            # Only the first request of an origin goes through the duplicate filter (shared
            # in --distributed mode, so each origin is claimed once); the rest of a chain is
            # unique by construction.
            dont_filter=not (first and self.distributed),
            priority=STAGE_PRIORITY.get(state["stage"], _FOLLOW_UP_PRIORITY),
        )

    def _policy_request(self, site: dict[str, Any], request: PolicyRequest) -> scrapy.Request:
        state = {
            **site,
            "stage": request.key,
            "url": request.url,
            "redirects": [],
            "started": time.time(),
            "cap": request.cap,
        }
        return self._request(request.url, state, first=request.key == ROBOTS)

    def _page_request(self, site: dict[str, Any], url: str) -> scrapy.Request:
        state = {
            **site,
            "stage": "page",
            "url": url,
            "redirects": [],
            "started": time.time(),
            "cap": self.limits.max_bytes,
        }
        return self._request(url, state)

    # -- callbacks -------------------------------------------------------------------------

    def _leased(self, request: scrapy.Request, outputs: Iterator[Any]) -> Iterator[Any]:
        """``--distributed``: claims and lease release around a callback's output."""
        if self.leased_output is None:
            return outputs
        return self.leased_output.filter(request, outputs)

    def parse_fetch(self, response: scrapy.http.Response) -> Iterator[Any]:
        assert response.request is not None  # a callback's response always has its request
        return self._leased(response.request, self._parse_fetch(response))

    def fetch_failed(self, failure: Failure) -> Iterator[Any]:
        request = failure.request  # type: ignore[attr-defined]
        return self._leased(request, self._fetch_failed(failure))

    def _parse_fetch(self, response: scrapy.http.Response) -> Iterator[Any]:
        state = response.meta[RC]
        assert response.request is not None
        reader = self.readers.pop(response.request)
        yield from self._after_head(
            state,
            fetching.head_of(response),
            response.url,
            lambda: fetching.result_from_response(response, reader, state),
        )

    def _fetch_failed(self, failure: Failure) -> Iterator[Any]:
        request = failure.request  # type: ignore[attr-defined]
        state = request.meta[RC]
        received = self.readers.pop_received(request)
        if received is not None and received[0].status:
            # The head arrived, then the body failed (a timeout): the head and the part of the
            # body read still count, as in fetch.Fetcher (docs/fetch.md).
            yield from self._after_head(
                state,
                received[0],
                request.url,
                lambda: fetching.result_from_failure(failure, request, state, received=received),
            )
            return
        blocked = blocked_address(host_of(request.url))
        result = fetching.result_from_failure(failure, request, state, blocked=blocked)
        yield from self._advance(state, result)

    def _after_head(
        self, state: dict[str, Any], head: Head, url: str, final: Callable[[], FetchResult]
    ) -> Iterator[Any]:
        """A response head arrived for ``url``: follow its redirect, or hand on ``final()``."""
        step = fetching.redirect_target((head, url), state, self.limits)
        if step is not None:
            target, error = step
            if target is not None:
                follow = {**state, "redirects": [*state["redirects"], url]}
                yield self._request(target, follow)
                return
            assert error is not None
            result = fetching.result_from_redirect_error((head, url), state, *error)
        else:
            result = final()
        yield from self._advance(state, result)

    def _advance(self, state: dict[str, Any], result: FetchResult) -> Iterator[Any]:
        """Hand one finished fetch to the core and schedule what comes next for the origin."""
        try:
            if state["stage"] == "page":
                yield from self._page_done(state, result)
            else:
                yield from self._policy_file_done(state, result)
        except Exception:
            # A bug or an input nobody foresaw must not make the origin vanish from the counts.
            logger.exception("internal error while processing %s", result.url)
            self.crawler.stats.inc_value("reservation/errors/internal")
            yield SiteItem(
                origin=state["origin"],
                status=SITE_FAILED,
                reason="internal-error",
                records=state.get("records", 0),
                pages_fetched=state.get("pages_fetched", 0),
            )

    def _policy_file_done(self, state: dict[str, Any], result: FetchResult) -> Iterator[Any]:
        key = state["stage"]
        # The same classification OriginPolicy.from_fetches applies (policy.PolicyFile), and
        # the same plan as the httpx fetchers (policy.policy_requests), one file at a time.
        parsed = {k: codec.from_json(PolicyFile, v) for k, v in state["files"].items()}
        parsed[key] = PolicyFile.from_fetch(kind_of(key), result)
        files = {**state["files"], key: codec.to_json(parsed[key])}
        site = {
            "origin": state["origin"],
            "targets": state["targets"],
            "files": files,
            "fetched_at": state["fetched_at"],
        }
        pending = policy_requests(state["origin"], self.limits, parsed)
        if pending:
            yield self._policy_request(site, pending[0])
            return
        policy = OriginPolicy.from_files(state["origin"], state["fetched_at"], parsed)
        policy_json = policy.to_json()
        self._remember(policy)
        yield PolicyItem(origin=policy.origin, policy=policy_json, failed=policy.failed)
        reason = None
        if policy.unreachable:
            robots_source = policy.robots_file.source
            reason = f"robots.txt:{_failure_reason(robots_source)}"
        targets = list(state["targets"])
        pages = {
            "origin": state["origin"],
            "fetched_at": state["fetched_at"],
            "policy": policy_json,
            "targets": targets,
            "queue": targets,
            "seen": targets,
            "records": 0,
            "pages_fetched": 0,
            "failure": reason,
        }
        yield from self._next_page(pages, policy)

    def _next_page(self, site: dict[str, Any], policy: OriginPolicy) -> Iterator[Any]:
        """Records for targets we may not fetch; then the next page request, or the end."""
        queue = list(site["queue"])
        records = site["records"]
        targets = set(site["targets"])
        budget = max(self.max_pages, len(targets))
        while queue and records < budget:
            url = queue.pop(0)
            if self._may_fetch(policy, url):
                yield self._page_request({**site, "queue": queue, "records": records}, url)
                return
            if url in targets:
                # The page is off-limits for our own token: decide from the origin's signals
                # alone; decide() adds the page.not-fetched finding.
                record = record_from_page(url, self.agents, policy, None)
                yield RecordItem(record.to_json())
                records += 1
        yield SiteItem(
            origin=site["origin"],
            status=SITE_FAILED if site["failure"] else SITE_DONE,
            reason=site["failure"],
            records=records,
            pages_fetched=site["pages_fetched"],
        )

    def _page_done(self, state: dict[str, Any], result: FetchResult) -> Iterator[Any]:
        policy = self._policy_of(state)
        url = state["url"]
        record = record_from_page(url, self.agents, policy, result)
        yield RecordItem(record.to_json())
        page_source = record.sources["page"]
        failure = state["failure"]
        if failure is None and page_source.outcome in _FAILED_OUTCOMES:
            failure = f"page:{_failure_reason(page_source)}"
        queue = list(state["queue"])
        seen = list(state["seen"])
        records = state["records"] + 1
        if records + len(queue) < self.max_pages and page_source.outcome is Outcome.OK:
            known = set(seen)
            for link in self._links(result, state["origin"]):
                if link in known:
                    continue
                known.add(link)
                seen.append(link)
                queue.append(link)
                if records + len(queue) >= self.max_pages:
                    break
        site = {
            "origin": state["origin"],
            "fetched_at": state["fetched_at"],
            "policy": state["policy"],
            "targets": state["targets"],
            "queue": queue,
            "seen": seen,
            "records": records,
            "pages_fetched": state["pages_fetched"] + 1,
            "failure": failure,
        }
        yield from self._next_page(site, policy)

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _may_fetch(policy: OriginPolicy, url: str) -> bool:
        """Whether decide() lets our own product token crawl the URL (RFC 9309: a disallow, or
        an unreachable robots.txt, reserves it)."""
        crawl = decide_agent(url, PRODUCT_TOKEN, policy).cells[Purpose.CRAWL]
        return crawl is not Decision.RESERVED

    def _remember(self, policy: OriginPolicy) -> None:
        key = (policy.origin, policy.fetched_at)
        self._policies[key] = policy
        self._policies.move_to_end(key)
        while len(self._policies) > _POLICY_CACHE_SIZE:
            self._policies.popitem(last=False)

    def _policy_of(self, state: dict[str, Any]) -> OriginPolicy:
        """The parsed policy (parsed once per process; rebuilt from the request's copy after a
        resume or in another process)."""
        key = (state["origin"], state["fetched_at"])
        policy = self._policies.get(key)
        if policy is None:
            policy = OriginPolicy.from_json(state["policy"])
            self._remember(policy)
        return policy

    @staticmethod
    def _links(result: FetchResult, origin: str) -> Iterable[str]:
        """Same-origin http(s) links of an HTML page, absolute, without fragments."""
        if result.content_type not in ("text/html", "application/xhtml+xml") or not result.body:
            return []
        content_type = result.header("content-type") or "text/html"
        page = HtmlResponse(
            url=result.final_url, body=result.body, headers={"Content-Type": content_type}
        )
        links: list[str] = []
        for href in page.css("a::attr(href)").getall():
            href = href.strip()
            if not href or href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
                continue
            absolute = page.urljoin(href)  # honours <base href>
            parts = urlsplit(absolute)
            if parts.scheme not in ("http", "https"):
                continue
            absolute = parts._replace(fragment="").geturl()
            if fetching.same_origin(absolute, origin):
                links.append(absolute)
        return links


def _failure_reason(source: SourceOutcome) -> str:
    """A site's failure reason from its failed source: the fetch error, ``challenge`` (a bot
    challenge page, docs/fetch.md), else ``http-<status>``."""
    if source.access is Access.CHALLENGE:
        return "challenge"
    return source.error or f"http-{source.status}"
