"""The project's exceptions: one root, :class:`ReservationError`, for everything raised on purpose.

Errors from httpx, redis or Scrapy are translated at the boundary (``raise ... from exc``) so a
caller can catch ``ReservationError`` alone. Parsers never raise on content; they return findings.
Network and content problems met while fetching are not raised either: the fetcher reports them
in ``FetchResult.error``.
"""

from __future__ import annotations


class ReservationError(Exception):
    """Root of every exception reservation-crawler raises on purpose."""


class ConfigError(ReservationError, ValueError):
    """Invalid configuration or arguments (a setting, a command-line option, a limit)."""


class InvalidOrigin(ReservationError, ValueError):
    """Not an http(s) URL or origin (no scheme, another scheme, no host, unparsable)."""


class FetchError(ReservationError):
    """A fetch failed and the caller asked for an exception instead of a ``FetchResult``.

    ``code`` is one of ``fetch.FETCH_ERRORS``; ``url`` the URL that was requested.
    """

    def __init__(self, message: str, *, code: str, url: str) -> None:
        super().__init__(message)
        self.code = code
        self.url = url


class CacheUnavailable(ReservationError):
    """The cache (Redis) cannot be reached or answered with an error."""
