"""Registrations: reservations declared outside the site, in the registry (docs/registry.md).

A registration names who (a contact, an optional public name), what (one exact URL, a URL
prefix, a whole origin or the SHA-256 of a work's bytes), for which agents and purposes; its
status says what the registrant proved: ``claimed`` (nothing yet), ``verified`` (control of
the origin), ``withdrawn``. The withdrawal secret is handed out once and stored as a hash.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from reservation_crawler.errors import InvalidRegistration
from reservation_crawler.model.record import PURPOSES, Purpose

__all__ = [
    "FEED_SCHEMA",
    "VERIFICATION_META",
    "VERIFICATION_PATH",
    "Registration",
    "Status",
    "Target",
    "TargetKind",
    "feed_header",
    "hash_secret",
    "make_target",
    "normalize_agents",
    "normalize_purposes",
    "parse_feed",
    "secret_matches",
    "split_url",
]

FEED_SCHEMA = "reservation-registry/1"
VERIFICATION_PATH = "/.well-known/reservation-crawler-verification/"
VERIFICATION_META = "reservation-crawler-verification"

_DEFAULT_PORTS = {"http": 80, "https": 443}
_SHA256 = re.compile(r"[0-9a-f]{64}")
_TOKEN = re.compile(r"[A-Za-z0-9_.\-]+")  # RFC 9309 product tokens (and "*")


class Status(StrEnum):
    CLAIMED = "claimed"
    VERIFIED = "verified"
    WITHDRAWN = "withdrawn"


class TargetKind(StrEnum):
    URL = "url"  # exactly this URL (fragment dropped)
    PREFIX = "prefix"  # every URL of the origin whose path+query starts with this
    ORIGIN = "origin"  # every URL of scheme://host[:port]
    SHA256 = "sha256"  # these bytes, wherever they are served


@dataclass(frozen=True, slots=True)
class Target:
    """What a registration covers, normalized (see :func:`make_target`)."""

    kind: TargetKind
    value: str

    @property
    def origin(self) -> str | None:
        """The origin a URL, prefix or origin target belongs to; None for a hash."""
        if self.kind is TargetKind.SHA256:
            return None
        return split_url(self.value)[0]


def split_url(url: str) -> tuple[str, str]:
    """(``scheme://host[:port]`` lower-cased, default port dropped; path+query, at least ``/``).

    Raises ``ValueError`` for anything that is not an http(s) URL with a host.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"not an http(s) URL with a host: {url!r}")
    host = parts.hostname.lower()
    if ":" not in host:  # IPv6 literals stay as they are
        host = host.encode("idna").decode("ascii")
    shown = f"[{host}]" if ":" in host else host
    port = parts.port or _DEFAULT_PORTS[scheme]
    origin = (
        f"{scheme}://{shown}" if port == _DEFAULT_PORTS[scheme] else f"{scheme}://{shown}:{port}"
    )
    rest = parts.path or "/"
    if parts.query:
        rest += "?" + parts.query
    return origin, rest


def make_target(kind: str, value: str) -> Target:
    """A normalized target, or :class:`InvalidRegistration` naming ``target``."""
    try:
        chosen = TargetKind(kind)
    except ValueError:
        raise InvalidRegistration(
            "kind", f"{kind!r} is not one of {', '.join(k.value for k in TargetKind)}"
        ) from None
    value = value.strip()
    if chosen is TargetKind.SHA256:
        digest = value.lower().removeprefix("sha256:")
        if not _SHA256.fullmatch(digest):
            raise InvalidRegistration("target", "a SHA-256 is 64 hexadecimal digits")
        return Target(chosen, digest)
    try:
        origin, rest = split_url(value)
    except ValueError as exc:
        raise InvalidRegistration("target", str(exc)) from None
    if chosen is TargetKind.ORIGIN:
        if rest != "/":
            raise InvalidRegistration("target", "an origin has no path: scheme://host[:port]")
        return Target(chosen, origin)
    return Target(chosen, origin + rest)


def normalize_agents(agents: Iterable[str]) -> tuple[str, ...]:
    """Product tokens (or ``*``), de-duplicated case-insensitively; ``*`` alone if it is named."""
    out: list[str] = []
    seen: set[str] = set()
    for agent in agents:
        agent = agent.strip()
        if agent != "*" and not _TOKEN.fullmatch(agent):
            raise InvalidRegistration("agents", f"{agent!r} is not '*' or a product token")
        if agent.casefold() not in seen:
            seen.add(agent.casefold())
            out.append(agent)
    if not out:
        raise InvalidRegistration("agents", "at least one agent ('*' or a product token)")
    return ("*",) if "*" in out else tuple(out)


def normalize_purposes(purposes: Iterable[str]) -> tuple[Purpose, ...]:
    """Purposes in the record's order; none named means every purpose but ``crawl``."""
    chosen: set[Purpose] = set()
    for purpose in purposes:
        try:
            chosen.add(Purpose(purpose.strip()))
        except ValueError:
            raise InvalidRegistration(
                "purposes", f"{purpose!r} is not one of {', '.join(PURPOSES)}"
            ) from None
    if not chosen:
        raise InvalidRegistration("purposes", f"at least one of {', '.join(PURPOSES)}")
    return tuple(p for p in PURPOSES if p in chosen)


def hash_secret(secret: str) -> str:
    """The stored form of a withdrawal secret (random, 256 bits: a plain SHA-256 suffices)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored)


@dataclass(frozen=True, slots=True)
class Registration:
    """One registration. ``seq`` is the store's change number of its last change (0: unsaved)."""

    id: str
    target: Target
    agents: tuple[str, ...]
    purposes: tuple[Purpose, ...]
    status: Status
    created_at: str
    updated_at: str
    contact: str = ""
    name: str | None = None
    jurisdiction: str | None = None
    note: str | None = None
    withdrawn_at: str | None = None
    token: str = ""
    secret_hash: str = ""
    seq: int = 0

    @property
    def active(self) -> bool:
        return self.status is not Status.WITHDRAWN

    def applies_to_agent(self, agent: str) -> bool:
        """Whether it speaks to ``agent``: it names ``*`` (every agent) or the agent itself."""
        folded = agent.casefold()
        return any(a == "*" or a.casefold() == folded for a in self.agents)

    def with_status(self, status: Status, at: str) -> Registration:
        return replace(
            self,
            status=status,
            updated_at=at,
            withdrawn_at=at if status is Status.WITHDRAWN else self.withdrawn_at,
        )

    def to_json(self, *, public: bool = False) -> dict[str, Any]:
        """The JSON form; ``public`` leaves out the contact, the token and the secret's hash."""
        data: dict[str, Any] = {
            "id": self.id,
            "kind": str(self.target.kind),
            "target": self.target.value,
            "agents": list(self.agents),
            "purposes": [str(p) for p in self.purposes],
            "status": str(self.status),
            "name": self.name,
            "jurisdiction": self.jurisdiction,
            "note": self.note,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "withdrawn_at": self.withdrawn_at,
            "seq": self.seq,
        }
        if not public:
            data["contact"] = self.contact
            data["token"] = self.token
            data["secret_hash"] = self.secret_hash
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Registration:
        """Read :meth:`to_json` (public or not); bad fields raise InvalidRegistration."""
        for required in ("id", "kind", "target", "status", "created_at", "updated_at"):
            if not isinstance(data.get(required), str) or not data[required]:
                raise InvalidRegistration(required, "missing or not a string")
        try:
            status = Status(data["status"])
        except ValueError:
            raise InvalidRegistration("status", f"{data['status']!r} is not a status") from None
        seq = data.get("seq", 0)
        if not isinstance(seq, int) or seq < 0:
            raise InvalidRegistration("seq", "a non-negative integer")
        return cls(
            id=data["id"],
            target=make_target(data["kind"], data["target"]),
            agents=normalize_agents(_strings(data, "agents")),
            purposes=normalize_purposes(_strings(data, "purposes")),
            status=status,
            created_at=data["created_at"],
            updated_at=data["updated_at"],
            contact=data.get("contact") or "",
            name=data.get("name"),
            jurisdiction=data.get("jurisdiction"),
            note=data.get("note"),
            withdrawn_at=data.get("withdrawn_at"),
            token=data.get("token") or "",
            secret_hash=data.get("secret_hash") or "",
            seq=seq,
        )


def _strings(data: Mapping[str, Any], key: str) -> list[str]:
    value = data.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidRegistration(key, "a list of strings")
    return value


def feed_header(since: int, last: int) -> dict[str, Any]:
    """The first line of a feed: its schema, the ``since`` asked for and the last change."""
    return {"schema": FEED_SCHEMA, "since": since, "seq": last}


def parse_feed(lines: Iterable[str]) -> tuple[int, list[Registration]]:
    """(the feed's last change number, its registrations) from JSON Lines; the first line is
    the header. Raises InvalidRegistration naming the line and field of the first bad one."""
    import json

    header: Mapping[str, Any] | None = None
    out: list[Registration] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError as exc:
            raise InvalidRegistration(f"line {number}", f"not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise InvalidRegistration(f"line {number}", "not a JSON object")
        if header is None:
            if data.get("schema") != FEED_SCHEMA:
                raise InvalidRegistration(
                    f"line {number}: schema", f"want {FEED_SCHEMA!r} in the first line"
                )
            header = data
            continue
        try:
            out.append(Registration.from_json(data))
        except InvalidRegistration as exc:
            raise InvalidRegistration(f"line {number}: {exc.field}", str(exc)) from None
    if header is None:
        raise InvalidRegistration("line 1: schema", "empty feed")
    last = header.get("seq")
    return (last if isinstance(last, int) else max((r.seq for r in out), default=0)), out
