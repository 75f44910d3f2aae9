"""ReservationMiddleware: a Scrapy downloader middleware that drops what publishers reserved.

Before a request it asks for the origin-level verdict (robots.txt, ai.txt, tdmrep.json) and drops
the request with ``IgnoreRequest`` when a configured purpose is reserved and no page signal could
lift that; after the response it weighs the page's own signals (headers, meta, TDMRep layers) and
drops the response or marks it in ``response.meta["reservation"]``. It replaces Scrapy's
``RobotsTxtMiddleware`` in an AI crawler (robots.txt disallow reserves every purpose).

Policy files are fetched by :class:`~reservation_crawler.drivers.lookup.AsyncChecker` on the asyncio
event loop Scrapy runs on (``TWISTED_REACTOR`` = the asyncio reactor, Scrapy's default since
2.13): never blocking the reactor, fetched once per origin across every process sharing the
Redis, with the project's fetcher rules (address guard, size caps, RFC 9309 status handling).
Settings and stats: ``docs/checker.md``; the audit log (``RESERVATION_AUDIT_*``): ``docs/audit.md``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured

from reservation_crawler.core.fetching import DEFAULT_TIMEOUT
from reservation_crawler.core.policy import rests_on_refusal
from reservation_crawler.drivers.audit import AuditSink, JsonlSink, RedisStreamSink
from reservation_crawler.drivers.fetch import FetchLimits, origin_of
from reservation_crawler.drivers.lookup import AsyncChecker, Verdict
from reservation_crawler.errors import CacheUnavailable, ConfigError, InvalidOrigin
from reservation_crawler.model import codec
from reservation_crawler.model.record import PURPOSES, Decision, Purpose, purpose_alias_note
from reservation_crawler.signals.useragent import agent_token

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_PURPOSES", "PAGE_ACTIONS", "ReservationMiddleware"]

# robots.txt disallow reserves every purpose, so "train-ai" covers what RobotsTxtMiddleware did
# and adds every AI-training signal (TDMRep, ai.txt, Content-Signal, Content-Usage, noai).
DEFAULT_PURPOSES: tuple[Purpose, ...] = (Purpose.TRAIN_AI,)
PAGE_ACTIONS = ("drop", "mark")
DEFAULT_FETCH_TIMEOUT = DEFAULT_TIMEOUT  # RESERVATION_FETCH_TIMEOUT's default
META_KEY = "reservation"
SKIP_META_KEY = "dont_check_reservation"
CLOSE_REASON = "reservation_cache_unavailable"


class ReservationMiddleware:
    """Drops requests and responses reserved for ``agent`` and any of ``purposes``.

    ``page_action``: ``"drop"`` also drops responses whose page-level verdict is reserved;
    ``"mark"`` keeps them, with the verdict in ``response.meta["reservation"]`` (set either way).
    ``fail_closed``: when Redis is down, answer ``reserved`` (requests are dropped, the crawl goes
    on); otherwise the request is dropped and the spider closed with reason
    ``reservation_cache_unavailable``. Any other error drops the request too: never a silent allow.
    """

    def __init__(
        self,
        *,
        agent: str,
        purposes: Sequence[Purpose | str] = DEFAULT_PURPOSES,
        redis_url: str | None = None,
        page_action: str = "drop",
        fail_closed: bool = False,
        allow_private: bool = False,
        fetch_timeout: float = DEFAULT_FETCH_TIMEOUT,
        user_agent: str | None = None,
        stats: StatsCollector | None = None,
        crawler: Crawler | None = None,
        checker: AsyncChecker | None = None,
        audit: AuditSink | None = None,
        audit_required: bool = False,
    ) -> None:
        found = agent_token(agent or "")
        if found.token is None:  # never read as "*": that answers for every other crawler
            raise ConfigError(f"RESERVATION_AGENT {agent!r} names no crawler: {found.problem}")
        if page_action not in PAGE_ACTIONS:
            raise ConfigError(
                f"RESERVATION_PAGE_ACTION must be one of {', '.join(PAGE_ACTIONS)}, "
                f"got {page_action!r}"
            )
        chosen: list[Purpose] = []
        for purpose in purposes:
            try:
                chosen.append(Purpose(str(purpose).strip()))
                note = purpose_alias_note(str(purpose).strip())
                if note is not None:
                    logger.warning("RESERVATION_PURPOSES: %s", note)
            except ValueError as exc:
                raise ConfigError(
                    f"RESERVATION_PURPOSES: unknown purpose {purpose!r}; "
                    f"one of {', '.join(str(p) for p in PURPOSES)}"
                ) from exc
        if not chosen:
            raise ConfigError("RESERVATION_PURPOSES must name at least one purpose")
        self.agent = found.token
        self.purposes: tuple[Purpose, ...] = tuple(dict.fromkeys(chosen))
        self.page_action = page_action
        self.fail_closed = fail_closed
        self.stats = stats
        self.crawler = crawler
        if checker is None:
            checker_kwargs: dict[str, Any] = {}
            if user_agent:
                checker_kwargs["user_agent"] = user_agent
            checker = AsyncChecker(
                redis_url=redis_url,
                allow_private=allow_private,
                fail_closed=fail_closed,
                limits=FetchLimits(timeout=fetch_timeout),
                audit=audit,
                audit_required=audit_required,
                **checker_kwargs,
            )
        self.checker = checker
        self.audit = audit  # ours to close when the spider closes
        self._closing = False
        self._warned_origins: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ReservationMiddleware:
        settings = crawler.settings
        if not settings.getbool("RESERVATION_ENABLED", True):
            raise NotConfigured("RESERVATION_ENABLED is false")
        _require_asyncio()
        # RESERVATION_AGENT, else the robots.txt token Scrapy uses, else the User-Agent header:
        # a token, Token/version or a whole User-Agent (signals.useragent reads all three).
        agent = (
            (settings.get("RESERVATION_AGENT") or "").strip()
            or (settings.get("ROBOTSTXT_USER_AGENT") or "").strip()
            or (settings.get("USER_AGENT") or "").strip()
        )
        purposes = settings.getlist("RESERVATION_PURPOSES") or list(DEFAULT_PURPOSES)
        middleware = cls(
            agent=agent,
            purposes=purposes,
            redis_url=settings.get("RESERVATION_REDIS_URL") or None,
            page_action=str(settings.get("RESERVATION_PAGE_ACTION") or "drop").strip().lower(),
            fail_closed=settings.getbool("RESERVATION_FAIL_CLOSED", False),
            allow_private=settings.getbool("RESERVATION_ALLOW_PRIVATE", False),
            fetch_timeout=settings.getfloat("RESERVATION_FETCH_TIMEOUT", DEFAULT_FETCH_TIMEOUT),
            user_agent=settings.get("USER_AGENT"),
            stats=crawler.stats,
            crawler=crawler,
            audit=_audit_sink(settings, agent),
            audit_required=settings.getbool("RESERVATION_AUDIT_REQUIRED", False),
        )
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    # -- Scrapy hooks

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if request.meta.get(SKIP_META_KEY) or not request.url.startswith(("http://", "https://")):
            return
        self._inc("reservation/request_count")
        try:
            verdicts = [await self.checker.check(request.url, self.agent, p) for p in self.purposes]
        except Exception as exc:
            raise self._failed(exc, request) from exc
        self._inc(f"reservation/policy/{verdicts[0].source}")
        if verdicts[0].stale:
            self._inc("reservation/stale")
        blocking = [v for v in verdicts if v.reserved and v.final]
        if not blocking:
            return
        self._count_decisions(verdicts)
        self._inc("reservation/dropped/request")
        request.meta[META_KEY] = _summary(self.agent, verdicts)
        if rests_on_refusal(blocking[0].evidence):
            self._warn_refused(request.url)
        logger.debug("Reserved (%s): %s", _why(blocking), request, extra={"spider": spider})
        raise IgnoreRequest(f"Reserved for {self.agent}: {_why(blocking)}")

    async def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        if request.meta.get(SKIP_META_KEY) or not response.url.startswith(("http://", "https://")):
            return response
        self._inc("reservation/response_count")
        try:
            verdicts = await self.checker.check_response_many(
                response.url,
                response.status,
                response.headers,
                response.body,
                self.agent,
                self.purposes,
            )
        except Exception as exc:
            raise self._failed(exc, request) from exc
        self._count_decisions(verdicts)
        request.meta[META_KEY] = _summary(self.agent, verdicts)
        reserved = [v for v in verdicts if v.reserved]
        if reserved and self.page_action == "drop":
            self._inc("reservation/dropped/response")
            logger.debug(
                "Reserved page (%s): %s", _why(reserved), response, extra={"spider": spider}
            )
            raise IgnoreRequest(f"Reserved for {self.agent}: {_why(reserved)}")
        if reserved:
            self._inc("reservation/marked")
        return response

    async def spider_closed(self, spider: Spider | None = None) -> None:
        await self.checker.aclose()
        if self.audit is not None:
            await asyncio.to_thread(self.audit.close)  # writes what is queued: off the reactor
            if self.stats is not None:
                self.stats.set_value("reservation/audit/written", self.audit.written)
                self.stats.set_value("reservation/audit/dropped", self.audit.dropped)

    # -- helpers

    def _warn_refused(self, url: str) -> None:
        """Once per origin: a drop caused by our own address guard, not by the site."""
        origin = origin_of(url)
        if origin in self._warned_origins:
            return
        if len(self._warned_origins) < 10_000:  # bounded: a crawl may touch millions of origins
            self._warned_origins.add(origin)
        self._inc("reservation/refused_by_configuration")
        logger.warning(
            "Dropping requests to %s: it is a private, loopback or link-local address, which "
            "the address guard refuses; set RESERVATION_ALLOW_PRIVATE = True to check local "
            "servers (docs/checker.md)",
            origin,
        )

    def _failed(self, exc: Exception, request: Request) -> IgnoreRequest:
        """Fail closed: count, log and drop; a dead cache also stops the crawl (clear error)."""
        self._inc(f"reservation/exception_count/{type(exc).__name__}")
        if isinstance(exc, InvalidOrigin):  # the request's URL (core.urls): no traceback to show
            logger.warning("dropping %s: %s", request, exc)
        elif isinstance(exc, CacheUnavailable):
            logger.error("reservation cache unavailable, dropping %s: %s", request, exc)
            self._close_spider()
        else:
            logger.error("reservation check failed, dropping %s: %s", request, exc, exc_info=exc)
        return IgnoreRequest(f"reservation check failed ({type(exc).__name__}): {exc}")

    def _close_spider(self) -> None:
        crawler = self.crawler
        if self._closing or crawler is None or crawler.engine is None:
            return
        self._closing = True
        engine: Any = crawler.engine
        if hasattr(engine, "close_spider_async"):
            # Not awaited: closing waits for in-flight downloads, this request among them.
            task = asyncio.ensure_future(engine.close_spider_async(reason=CLOSE_REASON))
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
        else:  # Scrapy < 2.14
            engine.close_spider(crawler.spider, CLOSE_REASON)

    def _count_decisions(self, verdicts: Sequence[Verdict]) -> None:
        for verdict in verdicts:
            self._inc(f"reservation/{verdict.decision}/{verdict.purpose}")

    def _inc(self, key: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(key)


def _audit_sink(settings: Any, agent: str) -> AuditSink | None:
    """The audit log the settings ask for: RESERVATION_AUDIT_LOG (a directory) or
    RESERVATION_AUDIT_REDIS (Redis Streams on RESERVATION_REDIS_URL); neither: none."""
    operator = str(settings.get("RESERVATION_AUDIT_OPERATOR") or "")
    # RESERVATION_AUDIT_PROCESS (default on): a writer process hashes and writes the entries,
    # off the crawl's GIL (docs/audit.md, "Performance").
    process = settings.getbool("RESERVATION_AUDIT_PROCESS", True)
    directory = settings.get("RESERVATION_AUDIT_LOG")
    if directory:
        return JsonlSink(directory, operator=operator, token=agent, process=process)
    if settings.getbool("RESERVATION_AUDIT_REDIS", False):
        url = settings.get("RESERVATION_REDIS_URL") or None
        if process and url:  # the writer process connects with the URL itself
            return RedisStreamSink(url, operator=operator, token=agent, process=True)
        from reservation_crawler.drivers.cache import connect

        return RedisStreamSink(connect(url), operator=operator, token=agent)
    return None


def _why(verdicts: Sequence[Verdict]) -> str:
    parts = []
    for verdict in verdicts:
        reasons = [
            f"{e.signal} {e.raw!r}" for e in verdict.evidence if e.effect is Decision.RESERVED
        ]
        parts.append(f"{verdict.purpose} ({'; '.join(reasons) or 'reserved'})")
    return ", ".join(parts)


def _summary(agent: str, verdicts: Sequence[Verdict]) -> dict[str, Any]:
    """What ``response.meta["reservation"]`` holds (JSON-able; documented in docs/checker.md)."""
    first = verdicts[0]
    evidence: list[dict[str, Any]] = []
    seen: set[tuple[Any, ...]] = set()
    for verdict in verdicts:
        for row in verdict.evidence:
            key = (row.signal, row.source, row.raw, row.line, row.location, row.effect)
            if key not in seen:
                seen.add(key)
                evidence.append(codec.to_json(row))
    return {
        "agent": agent,
        "level": first.level,
        "reserved": any(v.reserved for v in verdicts),
        "decisions": {str(v.purpose): str(v.decision) for v in verdicts},
        "evidence": evidence,
        "source": first.source,
        "age": None if first.age is None else round(first.age, 3),
        "stale": first.stale,
    }


def _require_asyncio() -> None:
    """The checker runs on asyncio: refuse another reactor up front, with the fix."""
    try:
        from scrapy.utils.asyncio import is_asyncio_available
    except ImportError:  # Scrapy < 2.14
        from scrapy.utils.reactor import is_asyncio_reactor_installed as is_asyncio_available
    try:
        available = is_asyncio_available()
    except RuntimeError:  # no reactor yet (built outside a crawl): nothing to check
        return
    if not available:
        raise ConfigError(
            "ReservationMiddleware needs Scrapy's asyncio reactor: set TWISTED_REACTOR = "
            '"twisted.internet.asyncioreactor.AsyncioSelectorReactor"'
        )
