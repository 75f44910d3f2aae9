"""The fetch rules, written once: limits and their defaults, redirects, bodies, content types.

No I/O. The httpx fetchers (``drivers/fetch.py``) and the Scrapy spider (``scrapy/``) observe the
network and hand their observations here: :func:`next_hop` decides what a response head means
for the redirect chain, :class:`BodyReader` decodes and caps a body and judges bombs and
over-size bodies, and :func:`fetch_result` is the one constructor of a :class:`FetchResult`.
:func:`fetch_flow` is the whole sequence as a sans-I/O generator (``response = yield url``).
URL parsing stays with the drivers (httpx's parser): they pass it in as :class:`UrlRules`.
See ``docs/fetch.md``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import zlib
from collections.abc import Callable, Generator, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from reservation_crawler.errors import ConfigError, InvalidOrigin, ReservationCrawlerError
from reservation_crawler.model.record import Access

try:  # brotli ships with Scrapy; it is only used when it can bound its output (brotli >= 1.2).
    import brotli

    brotli.Decompressor().process(b"", output_buffer_limit=1)
except (ImportError, TypeError, AttributeError):  # pragma: no cover - depends on the install
    brotli = None

__all__ = [
    "ACCEPT_ENCODING",
    "ACCESS_RULES",
    "BOMB_RATIO",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_REDIRECTS",
    "DEFAULT_ROBOTS_MAX_BYTES",
    "DEFAULT_TIMEOUT",
    "FETCH_ERRORS",
    "NOT_FETCHED",
    "RAW_BACKSTOP_FACTOR",
    "READ_BODY",
    "REDIRECT_STATUSES",
    "UNREACHABLE_ORIGIN_ERRORS",
    "AccessReading",
    "AccessRule",
    "BodyReader",
    "FetchLimits",
    "FetchResult",
    "Follow",
    "Head",
    "Observed",
    "PolicyFetches",
    "Stop",
    "UrlRules",
    "access_of",
    "content_type_of",
    "fetch_flow",
    "fetch_result",
    "media_type",
    "next_hop",
    "origin_unreachable",
    "skip_after_robots",
]

# --------------------------------------------------------------------------------------------
# The rule table: every limit and default of a fetch, in one place.

DEFAULT_TIMEOUT: Final = 10.0  # seconds per fetch, total wall-clock, all redirect hops included
DEFAULT_MAX_REDIRECTS: Final = 5  # RFC 9309 §2.3.1.2: follow at least 5
DEFAULT_MAX_BYTES: Final = 2_000_000  # decompressed cap for pages and tdmrep.json
# >= 512,000 (RFC 9309 §2.5: 500 KiB parse limit) + margin; robots.txt and ai.txt
DEFAULT_ROBOTS_MAX_BYTES: Final = 600_000

FETCH_ERRORS: Final = (
    "timeout",
    "connect",
    "dns",
    "tls",
    "reset",
    "too-many-redirects",
    "redirect-loop",
    "too-large",
    "decompression-bomb",
    "blocked-address",
    "invalid-url",
    "protocol",
)

# robots.txt failing with one of these (no HTTP status at all) means nothing answers at the origin:
# its ai.txt and tdmrep.json are not fetched (each would cost another timeout), see
# skip_after_robots. An HTTP status, even 5xx, is an answer: the other files are still fetched.
UNREACHABLE_ORIGIN_ERRORS: Final = frozenset({"timeout", "connect", "dns", "tls", "reset"})
# The error code of a FetchResult standing for a request deliberately not made.
NOT_FETCHED: Final = "not-fetched"

REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})

# Only codings we can decode with a bound on the output size (see BodyReader).
ACCEPT_ENCODING: Final = "gzip, deflate, br" if brotli is not None else "gzip, deflate"

# An over-cap compressed body is a bomb when it inflates by at least this factor. Zeros compress
# about 1,000:1 with gzip (far more with brotli); the most repetitive of the real robots.txt files
# we measured compresses 69:1, so 200 leaves a margin both ways.
BOMB_RATIO: Final = 200
# An over-cap body is truncated and read up to the cap whatever its framing (RFC 9309 §2.5: parse
# the first 500 KiB): a Content-Length announcing a huge body no longer makes it "too-large".
# A response head with a field line longer than this is dropped unread, in every fetcher: the
# limit of Twisted's HTTP parser, which the crawl uses (so `check` and the crawl agree).
MAX_HEADER_LINE: Final = 16_384
# A stream the reader never calls "done" (bytes after the end of a gzip member, say) must still
# stop: raw bytes beyond this multiple of the cap (plus one read's worth) end it as too-large.
RAW_BACKSTOP_FACTOR: Final = 4
_RAW_BACKSTOP_SLACK = 65_536
_TEXT_POLICY_PATHS = frozenset({"/robots.txt", "/ai.txt", "/.well-known/ai.txt"})
_BROTLI_SLICE = 1024  # brotli hides how much input it consumed; feed it this much at a time


@dataclass(frozen=True, slots=True)
class FetchLimits:
    timeout: float = DEFAULT_TIMEOUT  # per fetch, total wall-clock, all redirect hops included
    max_redirects: int = DEFAULT_MAX_REDIRECTS
    max_bytes: int = DEFAULT_MAX_BYTES
    robots_max_bytes: int = DEFAULT_ROBOTS_MAX_BYTES

    def __post_init__(self) -> None:
        if not self.timeout > 0:
            raise ConfigError(f"FetchLimits.timeout must be > 0, got {self.timeout!r}")
        if self.max_redirects < 0:
            raise ConfigError(f"FetchLimits.max_redirects must be >= 0, got {self.max_redirects}")
        if self.max_bytes < 1 or self.robots_max_bytes < 1:
            raise ConfigError("FetchLimits byte caps must be >= 1")

    def policy_cap(self, path: str) -> int:
        """The cap of an origin's policy file: ``robots_max_bytes`` for the line-based text files
        (/robots.txt, /ai.txt, RFC 9309 §2.5), ``max_bytes`` for the rest (tdmrep.json)."""
        return self.robots_max_bytes if path in _TEXT_POLICY_PATHS else self.max_bytes

    def cap(self, max_bytes: int | None = None) -> int:
        """The body cap of one fetch: ``max_bytes`` when given, else ``self.max_bytes``."""
        cap = self.max_bytes if max_bytes is None else max_bytes
        if cap < 1:
            raise ConfigError(f"max_bytes must be >= 1, got {cap}")
        return cap


# --------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one fetch (following redirects) observed.

    ``redirects`` holds the URLs that answered with a redirect we followed, in order, so the whole
    chain is ``redirects + (final_url,)``; ``status``, ``headers`` and ``body`` are those of
    ``final_url`` (``status`` is None when no response came from it).
    """

    url: str
    final_url: str
    status: int | None
    headers: tuple[tuple[str, str], ...]
    body: bytes
    content_type: str | None
    error: str | None
    error_detail: str | None
    truncated: bool
    redirects: tuple[str, ...]
    elapsed_ms: float

    @property
    def sha256(self) -> str | None:
        """Hex SHA-256 of the body; None when no response was obtained."""
        if self.status is None:
            return None
        return hashlib.sha256(self.body).hexdigest()

    @property
    def ok(self) -> bool:
        """A 2xx response read without error (a truncated body still counts)."""
        return self.error is None and self.status is not None and 200 <= self.status < 300

    def header(self, name: str) -> str | None:
        """The first value of a header (case-insensitive name), or None."""
        return _first(self.headers, name)


@dataclass(frozen=True, slots=True)
class PolicyFetches:
    """The three origin-level policy files of one origin, as fetched."""

    origin: str
    robots: FetchResult
    aitxt: FetchResult
    tdmrep: FetchResult
    # The follow-up fetches by key (core.policy.policy_requests): /.well-known/ai.txt when
    # /ai.txt is absent, the RSL documents robots.txt names (else /rsl.xml).
    others: Mapping[str, FetchResult] = field(default_factory=dict)


def _first(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    folded = name.lower()
    for key, value in headers:
        if key.lower() == folded:
            return value
    return None


def media_type(value: str | None) -> str | None:
    """``Text/HTML; charset=utf-8`` -> ``text/html``; None when absent or empty."""
    if value is None:
        return None
    media = value.split(";", 1)[0].strip().lower()
    return media or None


def content_type_of(headers: Sequence[tuple[str, str]]) -> str | None:
    """The media type a response declares: its *last* Content-Type field, as browsers read it
    (WHATWG Fetch, "extract a MIME type"); None when there is none or it is empty."""
    found: str | None = None
    for key, value in headers:
        if key.lower() == "content-type":
            found = value
    return media_type(found)


def fetch_result(
    url: str,
    final_url: str,
    *,
    status: int | None = None,
    headers: Sequence[tuple[str, str]] = (),
    reader: BodyReader | None = None,
    body: bytes = b"",
    error: tuple[str, str] | None = None,
    redirects: Sequence[str] = (),
    elapsed_ms: float = 0.0,
) -> FetchResult:
    """The one constructor of a FetchResult from what a driver observed.

    ``status`` None means no response was obtained. The body comes from
    ``reader`` when given (with its truncation and its error), else ``body``. An ``error`` given
    here wins over the reader's (it is what stopped the fetch).
    """
    code, detail = error if error is not None else (None, None)
    truncated = False
    if reader is not None:
        body, truncated = bytes(reader.body), reader.truncated
        if code is None and reader.error is not None:
            code, detail = reader.error, reader.detail
    pairs = tuple(headers)
    return FetchResult(
        url=url,
        final_url=final_url,
        status=status,
        headers=pairs,
        body=body,
        content_type=content_type_of(pairs),
        error=code,
        error_detail=detail,
        truncated=truncated,
        redirects=tuple(redirects),
        elapsed_ms=elapsed_ms,
    )


class _Answered(Protocol):
    """How a fetch ended: a FetchResult, or the SourceOutcome recorded from one."""

    @property
    def status(self) -> int | None: ...

    @property
    def error(self) -> str | None: ...


def origin_unreachable(robots: _Answered) -> str | None:
    """Why nothing else is fetched from the origin after this robots.txt fetch
    (``origin unreachable (robots.txt: timeout)``), or None when it answered."""
    if robots.status is None and robots.error in UNREACHABLE_ORIGIN_ERRORS:
        return f"origin unreachable (robots.txt: {robots.error})"
    return None


def skip_after_robots(robots: _Answered, urls: Sequence[str]) -> tuple[FetchResult, ...] | None:
    """The ``not-fetched`` results of ``urls`` (ai.txt, tdmrep.json) when robots.txt found the
    origin unreachable (whatever a concurrent fetch of them gave), else None.
    The one rule for ``Fetcher``, ``AsyncFetcher`` (so the Checker) and the spider."""
    why = origin_unreachable(robots)
    if why is None:
        return None
    return tuple(fetch_result(url, url, error=(NOT_FETCHED, why)) for url in urls)


# --------------------------------------------------------------------------------------------
# Redirects


@dataclass(frozen=True, slots=True)
class UrlRules:
    """The URL parser a driver brings: the rules below only compare and follow what it returns.

    ``join(current, location)`` is the absolute target without fragment (``InvalidOrigin`` or
    ``ValueError`` when it is not an http(s) URL with a valid host and port); ``key(url)`` is what
    makes two URLs the same resource for loop detection.
    """

    join: Callable[[str, str], str]
    key: Callable[[str], Hashable]


@dataclass(frozen=True, slots=True)
class Head:
    """A response's status and headers, as a driver received them."""

    status: int
    headers: tuple[tuple[str, str], ...]

    def header(self, name: str) -> str | None:
        return _first(self.headers, name)


@dataclass(frozen=True, slots=True)
class Follow:
    """Request ``url`` next (the current URL joins the redirect chain)."""

    url: str


@dataclass(frozen=True, slots=True)
class Stop:
    """A redirect that is not followed: the 3xx is the result, with this error."""

    error: str
    detail: str


def next_hop(
    head: Head,
    current: str,
    redirects: Sequence[str],
    limits: FetchLimits,
    urls: UrlRules,
) -> Follow | Stop | None:
    """What a response head means for the chain: follow, stop with an error, or None (final).

    301/302/303/307/308 with a Location are followed; any other status, or a 3xx without
    Location, is final. A target that is not an http(s) URL is ``invalid-url``; going back to any
    URL of the chain is ``redirect-loop`` (checked first); more than ``max_redirects`` followed
    hops is ``too-many-redirects``.
    """
    if head.status not in REDIRECT_STATUSES:
        return None
    location = (head.header("location") or "").strip()
    if not location:
        return None
    try:
        target = urls.join(current, location)
    except (InvalidOrigin, ValueError) as exc:
        return Stop("invalid-url", f"redirect to {location!r}: {exc}")
    key = urls.key(target)
    if any(urls.key(url) == key for url in (*redirects, current)):
        return Stop("redirect-loop", f"{current} redirects back to {target}")
    if len(redirects) >= limits.max_redirects:
        return Stop(
            "too-many-redirects", f"more than {limits.max_redirects} redirects (next: {target})"
        )
    return Follow(target)


def _long_header_line(head: Head) -> tuple[str, str] | None:
    """("reset", why) when a field line is over MAX_HEADER_LINE: Twisted, which the crawl uses,
    drops such a connection before its head is read, so every fetcher reports it that way."""
    for name, value in head.headers:
        if len(name) + 2 + len(value) > MAX_HEADER_LINE:
            return (
                "reset",
                f"the response's {name} header line is longer than {MAX_HEADER_LINE} bytes; "
                "the response is dropped unread",
            )
    return None


# What a driver sends into fetch_flow after being asked for a URL: the response head, or why
# there is none ((code, detail) with a FETCH_ERRORS code). After a final head the flow yields
# READ_BODY and receives the BodyReader the driver fed (see BodyReader.for_head).
Observed = Head | tuple[str, str]
READ_BODY: Final = "read-body"


def fetch_flow(
    url: str,
    cap: int,
    limits: FetchLimits,
    urls: UrlRules,
    elapsed_ms: Callable[[], float],
) -> Generator[str, Observed | BodyReader, FetchResult]:
    """One fetch as a sans-I/O generator: yields each URL to request, then ``READ_BODY``;
    returns the FetchResult. The caller's clock gives ``elapsed_ms``."""
    current = url
    redirects: list[str] = []
    while True:
        seen = yield current
        if not isinstance(seen, Head):
            assert isinstance(seen, tuple), seen
            return fetch_result(
                url, current, error=seen, redirects=redirects, elapsed_ms=elapsed_ms()
            )
        long_line = _long_header_line(seen)
        if long_line is not None:  # as the crawl's parser does: the response is dropped unread
            return fetch_result(
                url, current, error=long_line, redirects=redirects, elapsed_ms=elapsed_ms()
            )
        step = next_hop(seen, current, redirects, limits, urls)
        if isinstance(step, Follow):
            redirects.append(current)
            current = step.url
            continue
        reader: BodyReader | None = None
        error: tuple[str, str] | None = None
        if isinstance(step, Stop):
            error = (step.error, step.detail)
        else:
            received = yield READ_BODY
            assert isinstance(received, BodyReader), received
            reader = received
        return fetch_result(
            url,
            current,
            status=seen.status,
            headers=seen.headers,
            reader=reader,
            error=error,
            redirects=redirects,
            elapsed_ms=elapsed_ms(),
        )


# --------------------------------------------------------------------------------------------
# Bodies: decoded here from the raw stream so the decompressed size is bounded *while* decoding
# (httpx's and Scrapy's decoders inflate a whole network chunk at once: 64 KiB of gzip is 64 MB).


class _DecodeError(ReservationCrawlerError):
    pass


class _ZlibDecoder:
    """gzip, or deflate (zlib-wrapped, or raw as some servers send it)."""

    def __init__(self, coding: str) -> None:
        self._coding = coding
        self._wbits = zlib.MAX_WBITS | 16 if coding == "gzip" else zlib.MAX_WBITS
        self._obj = zlib.decompressobj(self._wbits)
        self._started = False
        self._ended = False

    def decode(self, data: bytes, limit: int) -> tuple[bytes, int]:
        """At most ``limit`` bytes of output, and how many input bytes were consumed."""
        if self._ended:  # bytes after the last member: ignored, as browsers do
            return b"", len(data)
        try:
            out = self._obj.decompress(data, limit)
        except zlib.error as exc:
            if self._coding == "deflate" and not self._started:
                self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
                self._started = True
                return self.decode(data, limit)
            raise _DecodeError(f"corrupt {self._coding} body: {exc}") from exc
        self._started = True
        consumed = len(data) - len(self._obj.unconsumed_tail)
        if self._obj.eof:
            rest = self._obj.unused_data
            if self._coding == "gzip" and rest[:2] == b"\x1f\x8b" and len(out) < limit:
                # RFC 1952 §2.2: a gzip file is a series of members; read them all.
                self._obj = zlib.decompressobj(self._wbits)
                more, used = self.decode(rest, limit - len(out))
                return out + more, consumed - len(rest) + used
            if len(rest) >= 2 or self._coding != "gzip":
                self._ended = True
        return out, consumed


class _BrotliDecoder:
    def __init__(self) -> None:
        assert brotli is not None
        self._obj = brotli.Decompressor()

    def decode(self, data: bytes, limit: int) -> tuple[bytes, int]:
        pieces: list[bytes] = []
        produced = consumed = 0
        view = memoryview(data)
        try:
            while consumed < len(data) and produced < limit:
                piece = view[consumed : consumed + _BROTLI_SLICE]
                pieces.append(self._obj.process(piece, output_buffer_limit=limit - produced))
                produced += len(pieces[-1])
                consumed += len(piece)
                while produced < limit and not self._obj.can_accept_more_data():
                    pieces.append(self._obj.process(b"", output_buffer_limit=limit - produced))
                    produced += len(pieces[-1])
        except brotli.error as exc:
            raise _DecodeError(f"corrupt br body: {exc}") from exc
        out = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        return out, consumed


def _decoder_for(content_encoding: str | None) -> _ZlibDecoder | _BrotliDecoder | None:
    """The decoder for a Content-Encoding value; None for identity; _DecodeError otherwise."""
    codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip() != ""]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return None
    if len(codings) == 1:
        coding = {"x-gzip": "gzip"}.get(codings[0], codings[0])
        if coding in ("gzip", "deflate"):
            return _ZlibDecoder(coding)
        if coding == "br" and brotli is not None:
            return _BrotliDecoder()
    raise _DecodeError(f"unsupported Content-Encoding: {content_encoding}")


class BodyReader:
    """Accumulates a decoded body up to ``cap`` bytes, then stops (``truncated``).

    Fed the raw bytes as they arrive; judges decompression bombs, over-announced bodies and
    endless streams (``error`` / ``detail``) with the limits of the rule table above.
    """

    def __init__(self, cap: int, content_encoding: str | None, content_length: str | None) -> None:
        self.cap = cap
        self.body = bytearray()
        self.truncated = False
        self.error: str | None = None
        self.detail: str | None = None
        self._raw_received = 0
        self._raw_consumed = 0
        self._announced = _content_length(content_length)
        self._encoded = False
        try:
            self._decoder = _decoder_for(content_encoding)
            self._encoded = self._decoder is not None
        except _DecodeError as exc:
            self._decoder = None
            self.fail("protocol", str(exc))

    @classmethod
    def for_head(cls, cap: int, head: Head) -> BodyReader:
        """A reader for the body of ``head``: every Content-Encoding field counts (a list
        header, RFC 9110 §5.3), the first Content-Length."""
        codings = [value for name, value in head.headers if name.lower() == "content-encoding"]
        encoding = ", ".join(codings) if codings else None
        return cls(cap, encoding, head.header("content-length"))

    @property
    def done(self) -> bool:
        return self.truncated or self.error is not None

    def fail(self, code: str, detail: str) -> None:
        if self.error is None:
            self.error, self.detail = code, detail

    def feed(self, raw: bytes) -> bool:
        """Take one raw chunk; False once no more input is wanted."""
        if self.done:
            return False
        self._raw_received += len(raw)
        if self._decoder is None:
            self._raw_consumed += len(raw)
            self._append(raw)
        else:
            try:
                out, consumed = self._decoder.decode(raw, self.cap - len(self.body) + 1)
            except _DecodeError as exc:
                self.fail("protocol", str(exc))
                return False
            self._raw_consumed += consumed
            self._append(out)
        if not self.done and self._raw_received > RAW_BACKSTOP_FACTOR * self.cap + (
            _RAW_BACKSTOP_SLACK
        ):
            self.fail(
                "too-large", f"more than {self._raw_received} raw bytes without reaching the end"
            )
        return not self.done

    def _append(self, data: bytes) -> None:
        room = self.cap - len(self.body)
        if len(data) <= room:
            self.body += data
            return
        inflated = len(self.body) + len(data)
        self.body += memoryview(data)[:room]  # no copy of the part thrown away
        self.truncated = True
        if self._encoded and inflated >= BOMB_RATIO * max(self._raw_consumed, 1):
            self.fail(
                "decompression-bomb",
                f"more than {self.cap} bytes decompressed from {self._raw_consumed} "
                f"(ratio {inflated // max(self._raw_consumed, 1)}:1); stopped at the cap",
            )


def _content_length(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------
# Access: what the origin did with our request (docs/fetch.md, "Access outcomes"). One reading
# for every driver: classify() (core/policy.py) calls access_of() on each FetchResult.

# How much of a body the fingerprints look at: challenge pages put their markers in the head.
_FINGERPRINT_BYTES = 65_536


@dataclass(frozen=True, slots=True)
class AccessReading:
    """What the origin did: ``access`` (fetched, refused, challenge, payment-required,
    unreachable; None when no request was made), the rule that said so, a readable detail, and
    for a 402 the price and licence link it carries."""

    access: Access | None
    rule: str | None = None
    detail: str | None = None
    price: str | None = None
    license_url: str | None = None


@dataclass(frozen=True, slots=True)
class AccessRule:
    """One challenge fingerprint: a name (``provider:what``), the statuses it applies to (empty:
    any), and a test of the response head and body; ``source`` is where the fingerprint is
    documented (docs/fetch.md lists them)."""

    name: str
    statuses: frozenset[int]
    test: Callable[[FetchResult, str], bool]
    source: str


def _header_is(name: str, value: str) -> Callable[[FetchResult, str], bool]:
    folded = value.lower()
    return lambda result, text: (result.header(name) or "").strip().lower() == folded


def _has_header(name: str) -> Callable[[FetchResult, str], bool]:
    return lambda result, text: result.header(name) is not None


def _server_and_body(server: str, *markers: str) -> Callable[[FetchResult, str], bool]:
    folded = server.lower()
    return lambda result, text: (
        folded in (result.header("server") or "").lower()
        and any(marker in text for marker in markers)
    )


def _body_has(*markers: str) -> Callable[[FetchResult, str], bool]:
    return lambda result, text: any(marker in text for marker in markers)


# Cloudflare's challenge page: the "_cf_chl_opt" options object and the "Just a moment..." title
# appear on challenge pages only. "/cdn-cgi/challenge-platform/" alone is NOT a fingerprint:
# Cloudflare's JavaScript detections inject that script into ordinary pages served with 200.
_CF_MARKERS = ("_cf_chl_opt", "<title>just a moment...</title>", "attention required! | cloudflare")
_DATADOME_MARKERS = ("captcha-delivery.com",)
# Akamai's "Access Denied" page writes its reference number with HTML entities.
_AKAMAI_MARKERS = (
    "reference #18",
    "reference&#32;&#35;18",
    "errors.edgesuite.net",
    "errors&#46;edgesuite&#46;net",
)

_CF_DOC = "https://developers.cloudflare.com/cloudflare-challenges/challenge-types/challenge-pages/detect-response"
_DD_DOC = "https://docs.datadome.co/reference/validate-request"
_AK_DOC = "https://community.akamai.com/community/cloud-security/blog/2016/04/07/why-is-akamai-blocking-me"
_BLOCK_STATUSES = frozenset({403, 429, 503})

# In order; the first that matches names the challenge.
ACCESS_RULES: Final[tuple[AccessRule, ...]] = (
    AccessRule(
        "cloudflare:cf-mitigated", frozenset(), _header_is("cf-mitigated", "challenge"), _CF_DOC
    ),
    AccessRule(
        "cloudflare:challenge-page",
        _BLOCK_STATUSES,
        _server_and_body("cloudflare", *_CF_MARKERS),
        _CF_DOC,
    ),
    AccessRule("cloudflare:challenge-body", frozenset({200}), _body_has("_cf_chl_opt"), _CF_DOC),
    AccessRule("datadome:blocked", frozenset({401, 403}), _has_header("x-datadome"), _DD_DOC),
    AccessRule(
        "datadome:captcha-body", frozenset({401, 403}), _body_has(*_DATADOME_MARKERS), _DD_DOC
    ),
    AccessRule(
        "akamai:access-denied",
        frozenset({403}),
        lambda result, text: (
            "akamaighost" in (result.header("server") or "").lower()
            or any(marker in text for marker in _AKAMAI_MARKERS)
        ),
        _AK_DOC,
    ),
)

# Errors that leave no usable answer even when a status arrived (a reset mid-body, a loop).
_NO_ANSWER_ERRORS = UNREACHABLE_ORIGIN_ERRORS | {"too-many-redirects", "redirect-loop"}
_PRICE_HEADER = "crawler-price"  # Cloudflare pay per crawl
_X402_HEADER = "payment-required"  # x402 v2 HTTP transport: base64 JSON PaymentRequired
_LINK_LICENSE = re.compile(r'<([^>]*)>[^,]*?;\s*rel\s*=\s*"?license"?', re.IGNORECASE)


def _license_link(headers: Sequence[tuple[str, str]]) -> str | None:
    """The target of the first ``Link: <url>; rel="license"`` (RFC 8288; RSL's HTTP binding)."""
    for name, value in headers:
        if name.lower() == "link":
            found = _LINK_LICENSE.search(value)
            if found:
                return found.group(1).strip()
    return None


def _x402_price(result: FetchResult) -> str | None:
    """``x402: 10000 of <asset> on <network>`` from an x402 PaymentRequired (the v2 header, or a
    v1 JSON body); None when there is none or it does not read."""
    raw: Any = None
    encoded = result.header(_X402_HEADER)
    try:
        if encoded is not None:
            raw = json.loads(base64.b64decode(encoded.strip(), validate=False))
        elif result.content_type in ("application/json", None):
            raw = json.loads(result.body[:_FINGERPRINT_BYTES])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if not isinstance(raw, dict) or "x402Version" not in raw:
        return None
    accepts = raw.get("accepts")
    first = accepts[0] if isinstance(accepts, list) and accepts else None
    if not isinstance(first, dict):
        return "x402 (no payment option)"
    amount = first.get("amount", first.get("maxAmountRequired"))
    return f"x402: {amount} of {first.get('asset')} on {first.get('network')}"


def access_of(result: FetchResult) -> AccessReading:
    """What the origin did with the request behind ``result`` (docs/fetch.md, "Access outcomes").

    No response: ``unreachable`` (a request deliberately not made, or refused by our own
    configuration: None). A challenge fingerprint (:data:`ACCESS_RULES`): ``challenge``; 402:
    ``payment-required``; 401/403: ``refused``; 429 and 5xx: ``unreachable``; any other
    answer: ``fetched``.
    """
    status = result.status
    if status is None and result.error in (NOT_FETCHED, "blocked-address", "invalid-url"):
        return AccessReading(None)
    if status is None or result.error in _NO_ANSWER_ERRORS:
        # The error code only: error_detail words transport errors differently per driver.
        why = f"no usable answer ({result.error})"
        return AccessReading(Access.UNREACHABLE, f"fetch:{result.error}", why)
    text = bytes(result.body[:_FINGERPRINT_BYTES]).decode("utf-8", "replace").lower()
    for rule in ACCESS_RULES:
        if (not rule.statuses or status in rule.statuses) and rule.test(result, text):
            return AccessReading(
                Access.CHALLENGE,
                rule.name,
                f"HTTP {status}: a {rule.name.split(':')[0]} bot challenge or block page "
                f"({rule.name}) was served instead of the resource",
            )
    if status == 402:
        price = result.header(_PRICE_HEADER)
        price = f"{price.strip()} ({_PRICE_HEADER})" if price else _x402_price(result)
        link = _license_link(result.headers)
        terms = "; ".join(
            part for part in (price and f"price {price}", link and f"licence {link}") if part
        )
        detail = f"HTTP 402 Payment Required: {terms or 'no price or licence link given'}"
        return AccessReading(Access.PAYMENT_REQUIRED, "http:402", detail, price, link)
    if status in (401, 403):
        return AccessReading(
            Access.REFUSED,
            f"http:{status}",
            f"HTTP {status} to our crawler (whether other clients get 200 is not tested: we "
            "send one User-Agent and never impersonate another)",
        )
    if status == 429 or status >= 500:
        return AccessReading(Access.UNREACHABLE, f"http:{status}", f"HTTP {status}")
    return AccessReading(Access.FETCHED)
