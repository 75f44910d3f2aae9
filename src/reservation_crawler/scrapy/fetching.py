"""Scrapy responses and failures as :class:`~reservation_crawler.drivers.fetch.FetchResult`.

The spider fetches through Scrapy but must observe exactly what ``fetch.Fetcher`` observes, so
``policy.classify`` and ``collect.record_from_page`` read both the same way:

- bodies are decoded by the fetcher's own bounded reader, fed chunk by chunk from Scrapy's
  ``headers_received`` / ``bytes_received`` signals, and the download stops (``StopDownload``)
  as soon as the reader has enough: same caps, same truncation, same decompression-bomb and
  too-large verdicts (Scrapy's HttpCompressionMiddleware is therefore switched off);
- redirects are followed by the spider with the fetcher's rules (at most 5, loops detected,
  ``redirect-loop`` / ``too-many-redirects`` / ``invalid-url``);
- Scrapy and Twisted exceptions map onto the fetcher's error codes.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import httpx
from scrapy import signals
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
    StopDownload,
)
from twisted.internet import error as tx_error
from twisted.python.failure import Failure
from twisted.web._newclient import ResponseFailed

# The fetcher's bounded body reader and URL helpers: one implementation of caps and redirects.
# See docs/crawler.md "Fetch semantics".
from reservation_crawler.drivers.fetch import (
    REDIRECT_STATUSES,
    BodyReader,
    FetchLimits,
    FetchResult,
    media_type,
    origin_of,
    url_key,
)
from reservation_crawler.errors import InvalidOrigin

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

RC = "rc"  # request.meta key holding the spider's state for one fetch (plain, picklable data)

# A stream the bounded reader never calls "done" (bytes after the end of a gzip member, say)
# must still stop: raw bytes beyond this multiple of the cap end the download as too-large.
RAW_BACKSTOP_FACTOR = 4


class BodyReaders:
    """Feeds each response's raw bytes to a fetcher ``BodyReader`` and stops the download
    when the reader has read enough. One per crawler (connected to its signals)."""

    def __init__(self, crawler: Crawler) -> None:
        self._readers: weakref.WeakKeyDictionary[Request, BodyReader] = weakref.WeakKeyDictionary()
        self._raw: weakref.WeakKeyDictionary[Request, int] = weakref.WeakKeyDictionary()
        crawler.signals.connect(self._headers_received, signal=signals.headers_received)
        crawler.signals.connect(self._bytes_received, signal=signals.bytes_received)

    def _headers_received(
        self, headers: Any, body_length: int, request: Request, spider: Any
    ) -> None:
        state = request.meta.get(RC)
        if state is None:
            return
        encoding = _header(headers, b"Content-Encoding")
        length = _header(headers, b"Content-Length")
        self._readers[request] = BodyReader(state["cap"], encoding, length)
        self._raw[request] = 0

    def _bytes_received(self, data: bytes, request: Request, spider: Any) -> None:
        reader = self._readers.get(request)
        if reader is None:
            return
        raw = self._raw[request] + len(data)
        self._raw[request] = raw
        wanted = reader.feed(data)
        if wanted and raw > RAW_BACKSTOP_FACTOR * reader.cap + 65_536:
            reader.fail("too-large", f"more than {raw} raw bytes without reaching the end")
            wanted = False
        if not wanted:
            raise StopDownload(fail=False)

    def pop(self, request: Request) -> BodyReader | None:
        self._raw.pop(request, None)
        return self._readers.pop(request, None)


def _header(headers: Any, name: bytes) -> str | None:
    value = headers.get(name)
    if value is None:
        return None
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def headers_of(response: Response) -> tuple[tuple[str, str], ...]:
    """Response headers as (name, value) pairs, repeated headers kept as separate pairs.

    Names come in Twisted's canonical capitalisation (``Content-Signal``, ``X-Robots-Tag``):
    the case as received is not kept below Scrapy. Names compare case-insensitively (RFC 9110
    §5.1), so only the spelling in evidence locations can differ from ``fetch.Fetcher``'s.
    """
    pairs: list[tuple[str, str]] = []
    for name, values in response.headers.items():
        text = name.decode("latin-1")
        for value in values:
            pairs.append((text, value.decode("latin-1")))
    return tuple(pairs)


def elapsed_ms(state: Mapping[str, Any]) -> float:
    return max(0.0, (time.time() - state["started"]) * 1000.0)


def result_from_response(
    response: Response, reader: BodyReader | None, state: Mapping[str, Any]
) -> FetchResult:
    """The FetchResult of a final (non-redirect) response."""
    if reader is None:  # no body bytes at all (e.g. HEAD-like empty responses): nothing read
        reader = BodyReader(state["cap"], None, None)
    # Scrapy only decodes what arrived; a body cut by the server counts as a reset (fetch.py).
    if "dataloss" in response.flags:
        reader.fail("reset", "the connection closed before the announced body was complete")
    return FetchResult(
        url=state["url"],
        final_url=response.url,
        status=response.status,
        headers=headers_of(response),
        body=bytes(reader.body),
        content_type=media_type(_header(response.headers, b"Content-Type")),
        error=reader.error,
        error_detail=reader.detail,
        truncated=reader.truncated,
        redirects=tuple(state.get("redirects", ())),
        elapsed_ms=elapsed_ms(state),
    )


def result_from_redirect_error(
    response: Response, state: Mapping[str, Any], code: str, detail: str
) -> FetchResult:
    """A redirect that was not followed: the 3xx answer, with the error."""
    return FetchResult(
        url=state["url"],
        final_url=response.url,
        status=response.status,
        headers=headers_of(response),
        body=b"",
        content_type=media_type(_header(response.headers, b"Content-Type")),
        error=code,
        error_detail=detail,
        truncated=False,
        redirects=tuple(state.get("redirects", ())),
        elapsed_ms=elapsed_ms(state),
    )


def result_from_failure(
    failure: Failure, request: Request, state: Mapping[str, Any], *, blocked: str | None = None
) -> FetchResult:
    """The FetchResult of a request that produced no response."""
    code, detail = classify_failure(failure, blocked=blocked)
    return FetchResult(
        url=state["url"],
        final_url=request.url,
        status=None,
        headers=(),
        body=b"",
        content_type=None,
        error=code,
        error_detail=detail,
        truncated=False,
        redirects=tuple(state.get("redirects", ())),
        elapsed_ms=elapsed_ms(state),
    )


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception, its causes and contexts, and the reasons Twisted wraps in ResponseFailed."""
    seen: set[int] = set()
    out: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        out.append(current)
        if isinstance(current, ResponseFailed):
            todo.extend(r.value for r in current.reasons if isinstance(r, Failure))
        for nxt in (current.__cause__, current.__context__):
            if nxt is not None:
                todo.append(nxt)
    return out


def classify_failure(failure: Failure, *, blocked: str | None = None) -> tuple[str, str]:
    """The fetcher's error code (``fetch.FETCH_ERRORS``) and a detail for a Scrapy failure."""
    exc = failure.value
    detail = str(exc) or type(exc).__name__
    chain = _chain(exc)
    names = {type(c).__module__ + "." + type(c).__name__ for c in chain}
    if any(isinstance(c, CannotResolveHostError | tx_error.DNSLookupError) for c in chain):
        if blocked is not None:
            return "blocked-address", f"resolves to {blocked}, which is not public"
        return "dns", detail
    if any(isinstance(c, DownloadTimeoutError | tx_error.TimeoutError) for c in chain):
        return "timeout", detail
    if any(n.startswith("OpenSSL.") or n.startswith("ssl.") for n in names):
        tls = next(c for c in chain if type(c).__module__.startswith(("OpenSSL", "ssl")))
        return "tls", str(tls) or detail
    if any(
        isinstance(c, DownloadConnectionRefusedError | tx_error.ConnectionRefusedError)
        for c in chain
    ):
        return "connect", detail
    if any(isinstance(c, ValueError) and "invalid hostname" in str(c) for c in chain):
        return "invalid-url", detail
    if any(
        isinstance(
            c,
            ResponseDataLossError
            | tx_error.ConnectionLost
            | tx_error.ConnectionDone
            | ConnectionResetError
            | BrokenPipeError,
        )
        for c in chain
    ):
        return "reset", detail
    if any("ParseError" in n or "BadHeaders" in n for n in names):
        return "protocol", detail
    if any(isinstance(c, tx_error.ConnectError) for c in chain):
        return "connect", detail
    if any(isinstance(c, DownloadFailedError | ResponseFailed) for c in chain):
        return "reset", detail
    if isinstance(exc, DownloadCancelledError):
        return "too-large", detail
    if isinstance(exc, IgnoreRequest):
        return "protocol", detail
    return "protocol", detail


def redirect_target(
    response: Response, state: Mapping[str, Any], limits: FetchLimits
) -> tuple[str, None] | tuple[None, tuple[str, str]] | None:
    """For a 3xx with Location: ``(target, None)`` to follow, ``(None, (code, detail))`` to stop.

    None when the response is final. Mirrors ``fetch._FetcherBase._redirect``.
    """
    if response.status not in REDIRECT_STATUSES:
        return None
    location = (_header(response.headers, b"Location") or "").strip()
    if not location:
        return None
    current = response.url
    try:
        target = str(httpx.URL(urljoin(current, location)).copy_with(fragment=None))
        origin_of(target)
    except (InvalidOrigin, httpx.InvalidURL, ValueError) as exc:
        return None, ("invalid-url", f"redirect to {location!r}: {exc}")
    key = url_key(httpx.URL(target))
    visited = (*state.get("redirects", ()), current)
    if any(url_key(httpx.URL(u)) == key for u in visited):
        return None, ("redirect-loop", f"{current} redirects back to {target}")
    if len(state.get("redirects", ())) >= limits.max_redirects:
        return None, (
            "too-many-redirects",
            f"more than {limits.max_redirects} redirects (next: {target})",
        )
    return target, None


def same_origin(url: str, origin: str) -> bool:
    try:
        return origin_of(url) == origin
    except (InvalidOrigin, ValueError):
        return False


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()
