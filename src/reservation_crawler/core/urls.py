"""The one validation of URLs and hosts given by a user (docs/fetch.md, "Targets").

Every command, the HTTP service and the library read a target through :func:`target_url` and an
origin through :func:`split_origin`, so the same bad input gets the same message everywhere:
``invalid URL 'http://a b/': the host contains a space``. Parsing is httpx's ``httpx.URL`` (an
RFC 3986 parser with IDNA 2008), the parser the Fetcher sends with, so what passes here is what
is requested; the checks httpx leaves to its caller (scheme, empty host, host characters, port
range, user information) are made here.
"""

from __future__ import annotations

import ipaddress
from typing import Final
from urllib.parse import unquote

import httpx

from reservation_crawler.errors import InvalidOrigin

__all__ = ["DEFAULT_PORTS", "origin_of", "split_origin", "target_url"]

DEFAULT_PORTS: Final = {"http": 80, "https": 443}
# A host name in ASCII (IDNA) form: letters, digits, "-", "." and, as found in the wild, "_".
_HOST_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-._")


def _invalid(given: str, why: str) -> InvalidOrigin:
    return InvalidOrigin(f"invalid URL {given[:300]!r}: {why}")


def _parse(text: str, given: str) -> httpx.URL:
    try:
        return httpx.URL(text)
    except httpx.InvalidURL as exc:
        message = str(exc)
        if message.startswith("Invalid port:"):
            port = message.partition(":")[2].strip().strip("'")
            if ":" in port:  # httpx reads "[::1" as host "[" and port ":1"
                raise _invalid(given, "the IPv6 address has no closing ']'") from None
            raise _invalid(given, f"the port {port[:20]!r} is not a number") from None
        raise _invalid(given, message[:1].lower() + message[1:]) from None
    except TypeError:
        raise _invalid(given, "not a string") from None


def _host_problem(raw_host: str) -> str | None:
    """What is wrong with an ASCII host (httpx percent-encodes what it cannot use), or None."""
    if not raw_host:
        return "the host is empty"
    if ":" in raw_host or _is_ip(raw_host):
        return None  # an IP literal; httpx checked its syntax
    host = unquote(raw_host)
    for char in host:
        if char not in _HOST_CHARS:
            return "the host contains a space" if char == " " else f"the host contains {char!r}"
    if host.startswith(".") or ".." in host:
        return "the host has an empty label"
    return None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def split_origin(url: str, *, given: str | None = None) -> tuple[str, str, int]:
    """(scheme, ASCII host, port) of an absolute http(s) URL; ``InvalidOrigin`` naming what is
    wrong. User information (``user:pass@``) is refused: credentials are never sent or recorded."""
    given = url if given is None else given
    parsed = _parse(url, given)
    scheme = parsed.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        if not scheme:
            raise _invalid(given, "no scheme (an absolute http:// or https:// URL is needed)")
        raise _invalid(given, f"the scheme {scheme[:20]!r} is not supported (http or https)")
    host = parsed.raw_host.decode("ascii").lower()
    problem = _host_problem(host)
    if problem:
        raise _invalid(given, problem)
    if parsed.userinfo:
        raise _invalid(given, "user information ('user@') is not accepted")
    port = parsed.port if parsed.port is not None else DEFAULT_PORTS[scheme]
    if not 0 < port < 65536:
        raise _invalid(given, f"the port {port} is out of range (1-65535)")
    return scheme, host, port


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of an http(s) URL: lower case, ASCII (IDNA) host, IPv6 literals
    bracketed, default port dropped. ``InvalidOrigin`` (a ``ValueError``) otherwise."""
    return _origin(url, url)


def target_url(given: str, *, scheme: str = "https") -> str:
    """The absolute URL for a URL or a bare host (``example.com`` -> ``https://example.com/``).

    The origin is normalised as :func:`origin_of` does; the path ("/" when there is none) and the
    query are kept as httpx encodes them, the fragment is dropped (it is never sent).
    """
    if not isinstance(given, str):
        raise _invalid(repr(given), "not a string")
    text = given.strip()
    if not text:
        raise _invalid(given, "it is empty")
    if "://" not in text and not text.lower().startswith(("http:", "https:")):
        text = f"{scheme}://{text}"
    origin = _origin(text, given)
    parsed = _parse(text, given)
    path = parsed.raw_path.decode("ascii")  # path and query, percent-encoded
    return origin + (path if path.startswith("/") else "/" + path)


def _origin(url: str, given: str) -> str:
    """:func:`origin_of`, with errors naming ``given`` (the input before a scheme was added)."""
    scheme, host, port = split_origin(url, given=given)
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}" if port == DEFAULT_PORTS[scheme] else f"{scheme}://{shown}:{port}"
