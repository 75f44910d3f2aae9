"""The project's exceptions: one root, :class:`ReservationCrawlerError`, for everything raised.

The tree::

    ReservationCrawlerError
     ├── ConfigError (+ ValueError)       a setting, option, limit or argument is invalid
     │    └── JobMismatch                 a --job-dir made with other options (``scrapy.jobdir``)
     ├── UsageError                       a crawl that cannot run (arguments, Redis, the output)
     ├── InvalidOrigin (+ ValueError)     not an http(s) URL / origin
     ├── DecodeError (+ ValueError)       JSON that is not the stored shape (schema, keys)
     │    └── MalformedRecord             a line or row stats skips (``apps.stats``)
     ├── InputError                       a records file / Redis source stats cannot read
     ├── CacheUnavailable                 Redis cannot be reached or answered with an error
     ├── AuditUnavailable                 the audit log cannot be written (``docs/audit.md``)
     ├── InvalidRegistration (+ ValueError)  registry input refused; ``field`` names the field
     ├── RegistrationNotFound (+ LookupError) no registration has this id
     ├── WrongSecret                      the withdrawal secret does not match
     └── RegistryUnavailable              the registry database cannot be used (SQLAlchemy)

The root itself is raised only for programming errors: the package finds itself inconsistent (a
finding code declared twice, a codec shape that does not fit its class, an httpx release without
the internals the fetcher relies on) or the codec is given an object it cannot write. The
fixture web (``reservation_crawler.testing``) imports nothing of the package and raises builtin
exceptions.
Scrapy components raise Scrapy's own control exceptions (``NotConfigured``, ``IgnoreRequest``,
``DropItem``) where Scrapy expects them.

Errors from httpx, redis, Scrapy, pyarrow, starlette or SQLAlchemy are translated at the boundary
(``raise ... from exc``) so a caller can catch ``ReservationCrawlerError`` alone. Parsers never
raise on content; they return findings. Network and content problems met while fetching are not
raised either: the fetcher reports them in ``FetchResult.error``.
"""

from __future__ import annotations

__all__ = [
    "AuditUnavailable",
    "CacheUnavailable",
    "ConfigError",
    "DecodeError",
    "InputError",
    "InvalidOrigin",
    "InvalidRegistration",
    "RegistrationNotFound",
    "RegistryUnavailable",
    "ReservationCrawlerError",
    "ReservationError",
    "UsageError",
    "WrongSecret",
]


class ReservationCrawlerError(Exception):
    """Root of every exception reservation-crawler raises."""


# The 0.1 name of the root, kept so ``except ReservationError`` goes on working.
ReservationError = ReservationCrawlerError


class ConfigError(ReservationCrawlerError, ValueError):
    """Invalid configuration or arguments (a setting, a command-line option, a limit)."""


class UsageError(ReservationCrawlerError):
    """A crawl that cannot run: bad arguments, or Redis / the output cannot be used (exit 2)."""


class InvalidOrigin(ReservationCrawlerError, ValueError):
    """Not an http(s) URL or origin (no scheme, another scheme, no host, unparsable)."""


class DecodeError(ReservationCrawlerError, ValueError):
    """A JSON value is not the stored form asked for (another schema, a missing key, a bad type)."""


class InputError(ReservationCrawlerError):
    """An input cannot be read (a file, a line, a Parquet row, a Redis source)."""


class CacheUnavailable(ReservationCrawlerError):
    """The cache (Redis) cannot be reached or answered with an error."""


class AuditUnavailable(ReservationCrawlerError):
    """The audit log cannot be written: a required entry could not be made durable, or the
    audit writer failed (``docs/audit.md``)."""


class InvalidRegistration(ReservationCrawlerError, ValueError):
    """A registry input that cannot be accepted; ``field`` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class RegistrationNotFound(ReservationCrawlerError, LookupError):
    """No registration has this id."""


class WrongSecret(ReservationCrawlerError):
    """The withdrawal secret does not match the registration's."""


class RegistryUnavailable(ReservationCrawlerError):
    """The registry database cannot be opened, migrated, read or written."""
