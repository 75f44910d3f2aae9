"""Scrapy responses and failures as :class:`~reservation_crawler.core.fetching.FetchResult`.

The spider fetches through Scrapy but applies the fetch rules of ``core/fetching.py``, the same
ones ``drivers.fetch.Fetcher`` runs, so ``policy.classify`` and ``collect.record_from_page`` read
both the same way:

- bodies are decoded by the core's bounded ``BodyReader``, fed chunk by chunk from Scrapy's
  ``headers_received`` / ``bytes_received`` signals, and the download stops (``StopDownload``)
  as soon as the reader has enough (Scrapy's HttpCompressionMiddleware is therefore off);
- redirects are decided by the core's ``next_hop`` (with the fetcher's URL parser) and followed
  by the spider; results are built by the core's ``fetch_result``;
- Scrapy and Twisted exceptions map onto the fetcher's error codes (here: the one translation of
  this driver's exceptions).
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

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

from reservation_crawler.core.fetching import (
    BodyReader,
    FetchLimits,
    FetchResult,
    Follow,
    Head,
    Stop,
    fetch_result,
    next_hop,
)
from reservation_crawler.drivers.fetch import URL_RULES, origin_of
from reservation_crawler.errors import InvalidOrigin
from reservation_crawler.scrapy.handlers import HEAD_STATUS

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

RC = "rc"  # request.meta key holding the spider's state for one fetch (plain, picklable data)


class BodyReaders:
    """Feeds each response's raw bytes to a core ``BodyReader`` and stops the download when
    the reader has read enough. One per crawler (connected to its signals).

    Keeps each response's head (status noted by ``handlers.py``) with its reader, so a download
    that fails after the head (a timeout mid-body) still yields the head and what arrived.
    """

    def __init__(self, crawler: Crawler) -> None:
        self._reads: weakref.WeakKeyDictionary[Request, tuple[Head, BodyReader]] = (
            weakref.WeakKeyDictionary()
        )
        crawler.signals.connect(self._headers_received, signal=signals.headers_received)
        crawler.signals.connect(self._bytes_received, signal=signals.bytes_received)

    def _headers_received(
        self, headers: Any, body_length: int, request: Request, spider: Any
    ) -> None:
        state = request.meta.get(RC)
        if state is None:
            return
        head = Head(request.meta.get(HEAD_STATUS, 0), pairs_of(headers))
        self._reads[request] = (head, BodyReader.for_head(state["cap"], head))

    def _bytes_received(self, data: bytes, request: Request, spider: Any) -> None:
        received = self._reads.get(request)
        if received is not None and not received[1].feed(data):
            raise StopDownload(fail=False)

    def pop(self, request: Request) -> BodyReader | None:
        received = self.pop_received(request)
        return received[1] if received is not None else None

    def pop_received(self, request: Request) -> tuple[Head, BodyReader] | None:
        """The head received for ``request`` (status 0 when unknown) and its body reader."""
        return self._reads.pop(request, None)


def pairs_of(headers: Any) -> tuple[tuple[str, str], ...]:
    """Scrapy headers as (name, value) pairs, repeated headers kept as separate pairs.

    Names come in Twisted's canonical capitalisation (``Content-Signal``, ``X-Robots-Tag``):
    the case as received is not kept below Scrapy. Names compare case-insensitively (RFC 9110
    §5.1), so only the spelling in evidence locations can differ from ``fetch.Fetcher``'s.
    """
    pairs: list[tuple[str, str]] = []
    for name, values in headers.items():
        text = name.decode("latin-1") if isinstance(name, bytes) else str(name)
        for value in values if isinstance(values, list | tuple) else [values]:
            pairs.append((text, value.decode("latin-1") if isinstance(value, bytes) else value))
    return tuple(pairs)


def headers_of(response: Response) -> tuple[tuple[str, str], ...]:
    """A response's headers as (name, value) pairs (see :func:`pairs_of`)."""
    return pairs_of(response.headers)


def head_of(response: Response) -> Head:
    return Head(response.status, headers_of(response))


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
    return _answered(response, state, reader=reader)


def result_from_redirect_error(
    response: Response | tuple[Head, str], state: Mapping[str, Any], code: str, detail: str
) -> FetchResult:
    """A redirect that was not followed: the 3xx answer, with the error."""
    head, url = response if isinstance(response, tuple) else (head_of(response), response.url)
    return fetch_result(
        state["url"],
        url,
        status=head.status,
        headers=head.headers,
        error=(code, detail),
        redirects=state.get("redirects", ()),
        elapsed_ms=elapsed_ms(state),
    )


def _answered(response: Response, state: Mapping[str, Any], **kw: Any) -> FetchResult:
    return fetch_result(
        state["url"],
        response.url,
        status=response.status,
        headers=headers_of(response),
        redirects=state.get("redirects", ()),
        elapsed_ms=elapsed_ms(state),
        **kw,
    )


def result_from_failure(
    failure: Failure,
    request: Request,
    state: Mapping[str, Any],
    *,
    blocked: str | None = None,
    received: tuple[Head, BodyReader] | None = None,
) -> FetchResult:
    """The FetchResult of a request that produced no response: with the head and the part of
    the body ``received`` before the failure (a timeout mid-body), as ``fetch.Fetcher`` keeps."""
    error = classify_failure(failure, blocked=blocked)
    head, reader = received if received is not None and received[0].status else (None, None)
    return fetch_result(
        state["url"],
        request.url,
        status=head.status if head is not None else None,
        headers=head.headers if head is not None else (),
        reader=reader,
        error=error,
        redirects=state.get("redirects", ()),
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
            todo.extend(
                r.value for r in current.reasons if isinstance(r, Failure) and r.value is not None
            )
        for nxt in (current.__cause__, current.__context__):
            if nxt is not None:
                todo.append(nxt)
    return out


def classify_failure(failure: Failure, *, blocked: str | None = None) -> tuple[str, str]:
    """The fetcher's error code (``fetch.FETCH_ERRORS``) and a detail for a Scrapy failure."""
    exc = failure.value
    detail = str(exc) or type(exc).__name__
    chain = _chain(exc) if exc is not None else []
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
    response: Response | tuple[Head, str], state: Mapping[str, Any], limits: FetchLimits
) -> tuple[str, None] | tuple[None, tuple[str, str]] | None:
    """For a 3xx with Location: ``(target, None)`` to follow, ``(None, (code, detail))`` to stop;
    None when the response is final. The decision is ``core.fetching.next_hop``'s.
    ``response`` may also be a head received for a URL (a download that failed afterwards)."""
    head, url = response if isinstance(response, tuple) else (head_of(response), response.url)
    step = next_hop(head, url, state.get("redirects", ()), limits, URL_RULES)
    if isinstance(step, Follow):
        return step.url, None
    if isinstance(step, Stop):
        return None, (step.error, step.detail)
    return None


def same_origin(url: str, origin: str) -> bool:
    try:
        return origin_of(url) == origin
    except (InvalidOrigin, ValueError):
        return False


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()
