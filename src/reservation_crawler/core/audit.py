"""The audit log's entries and hash chain, pure: what one entry holds, its hash, verification.

An entry is a JSON object. Its ``hash`` is the SHA-256 (hex) of the entry's **canonical JSON**
without the ``hash`` member: ``json.dumps(obj, sort_keys=True, separators=(",", ":"),
ensure_ascii=True)`` encoded as UTF-8 (sorted keys, no whitespace, non-ASCII escaped). Each
entry's ``prev`` is the previous entry's ``hash`` (:data:`GENESIS` for the first), so altering,
removing or reordering any entry breaks a link. See ``docs/audit.md``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii as _q
from typing import Any

from reservation_crawler._version import __version__
from reservation_crawler.core.policy import OriginPolicy
from reservation_crawler.model import codec
from reservation_crawler.model.codec import shape
from reservation_crawler.model.record import Evidence

__all__ = [
    "BUNDLE_ALG",
    "ED25519",
    "FORMAT",
    "GENESIS",
    "Broken",
    "Line",
    "Verification",
    "bundle",
    "caller_json",
    "canonical",
    "check_body",
    "check_bundle",
    "entry_hash",
    "evidence_json",
    "header_body",
    "iso_time",
    "matches",
    "policy_json",
    "quote",
    "registry_json",
    "seal",
    "sign_bundle",
    "verify",
]

FORMAT = 1
GENESIS = "0" * 64  # the ``prev`` of the first entry of a chain


def canonical(obj: Mapping[str, Any]) -> bytes:
    """The canonical JSON of ``obj``: the bytes an entry's hash is computed over."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def entry_hash(entry: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of ``entry`` without its ``hash`` member."""
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(canonical(body)).hexdigest()


def seal(body: str) -> tuple[str, str]:
    """(line, hash) of a canonical body (a JSON object text without ``hash``): the line adds it.

    ``hash`` is appended last, after the sorted members: readers re-canonicalize, so the member
    order in the line does not matter; the body is already canonical, so it is hashed as is.
    """
    digest = hashlib.sha256(body.encode()).hexdigest()
    return f'{body[:-1]},"hash":"{digest}"}}', digest


def iso_time(ts: float) -> str:
    """UTC, millisecond precision, ``Z``: the entries' time format."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# The members of a check entry are assembled in sorted order by hand (the hot path of the
# writer: json.dumps of the whole object costs several times more); a test pins that the result
# equals canonical() of the parsed line, and verify() recomputes every hash with canonical().


def evidence_json(evidence: Sequence[Evidence]) -> str:
    """The evidence rows' signals and locations (and line, effect, scope), canonical.

    Assembled by hand (members in sorted order): a new URL often brings a new combination of
    rows, and json.dumps with sort_keys costs several times more.
    """
    rows = []
    for e in evidence:
        location = e.location if e.location is not None else e.source
        line = "null" if e.line is None else str(int(e.line))
        rows.append(
            f'{{"effect":{_q(str(e.effect))},"line":{line},"location":{_q(location)},'
            f'"scope":{_q(e.scope)},"signal":{_q(e.signal)}}}'
        )
    return "[" + ",".join(rows) + "]"


def registry_json(evidence: Sequence[Evidence]) -> str:
    """The registry entries consulted: the evidence rows whose signal is ``registry``."""
    rows = [
        {"location": e.location if e.location is not None else e.source, "raw": e.raw}
        for e in evidence
        if e.signal == "registry"
    ]
    if not rows:  # nearly every entry: no json.dumps call
        return "[]"
    return json.dumps(rows, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def policy_json(policy: OriginPolicy | None) -> str:
    """Each policy file used: its URL, outcome, SHA-256 and fetch time, canonical."""
    if policy is None:
        return "[]"
    rows = [
        {
            "fetched_at": policy.fetched_at,
            "kind": kind,
            "outcome": str(source.outcome),
            "sha256": source.sha256,
            "url": source.url,
        }
        for kind, source in policy.sources.items()
    ]
    return json.dumps(rows, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def check_body(
    *,
    time: str,
    caller: str,
    url: str,
    origin: str,
    agent: str,
    purpose: str,
    decision: str,
    level: str,
    evidence: str,
    policy: str,
    registry: str,
    prev: str,
) -> str:
    """The canonical body of a ``check`` entry. Every argument but ``time`` and ``prev`` is
    canonical JSON already: strings quoted with :func:`quote` (the writer caches the quoted
    agents, purposes, decisions and origins), ``caller`` from :func:`caller_json`, the lists
    from the ``*_json`` functions."""
    return (
        f'{{"agent":{agent},"caller":{caller},"decision":{decision},'
        f'"evidence":{evidence},"kind":"check","level":{level},"origin":{origin},'
        f'"policy":{policy},"prev":"{prev}","purpose":{purpose},"registry":{registry},'
        f'"time":"{time}","url":{url},"version":{_VERSION}}}'
    )


def quote(text: str) -> str:
    """A JSON string as canonical JSON writes it (ASCII, escaped)."""
    return _q(text)


_VERSION = _q(__version__)


def caller_json(operator: str, token: str) -> str:
    """The caller's identity: the configured operator name and crawler token."""
    return f'{{"operator":{_q(operator)},"token":{_q(token)}}}'


def header_body(*, time: str, prev: str, writer: str) -> str:
    """The first entry of every file (or stream): it carries the previous file's last hash."""
    return canonical(
        {
            "format": FORMAT,
            "kind": "header",
            "prev": prev,
            "time": time,
            "version": __version__,
            "writer": writer,
        }
    ).decode()


# --- verification ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Line:
    """One line as read: where it is (``file:line``), its text, and whether a newline ended it."""

    where: str
    text: str
    terminated: bool = True


def _named(entry: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What a report names of a broken entry: enough to find it, not the whole entry."""
    if entry is None:
        return None
    return {k: entry.get(k) for k in ("kind", "time", "url", "agent", "hash")}


@shape(convert={"entry": (_named, None)})
@dataclass(frozen=True, slots=True)
class Broken:
    """The first broken link: the entry's position (0-based, over all entries), where, and why."""

    position: int
    where: str
    reason: str
    entry: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return codec.to_json(self)


@shape(computed={"ok": lambda v: v.ok}, order="ok entries head broken torn")
@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of :func:`verify`: ``ok`` unless a link is broken (a torn tail is not)."""

    entries: int
    head: str
    broken: Broken | None = None
    torn: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.broken is None

    def to_json(self) -> dict[str, Any]:
        return codec.to_json(self)


def verify(lines: Iterable[Line], start: str = GENESIS, anchor: str | None = None) -> Verification:
    """Walk the chain; the first entry that is unreadable, altered or out of place breaks it.

    A line not ended by a newline is a **torn** write (a writer killed mid-line): it is reported
    in ``torn`` and skipped, never confirmed and never taken for tampering; the chain resumes at
    the next file's header, whose ``prev`` is the last complete entry's hash. Reasons: ``torn``
    never; ``unreadable`` (not a JSON object), ``altered`` (its hash does not match its content),
    ``link`` (its ``prev`` is not the previous hash: an entry removed or reordered before it),
    ``truncated`` (``anchor``, a hash recorded elsewhere, is no entry's: entries were removed
    from the end, which the chain alone cannot show).
    """
    head = start
    count = 0
    torn: list[str] = []
    seen = anchor is None
    where = ""
    for line in lines:
        where = line.where
        if not line.terminated:
            if line.text:
                torn.append(line.where)
            continue
        try:
            entry = json.loads(line.text)
        except ValueError:
            entry = None
        if not isinstance(entry, dict) or not isinstance(entry.get("hash"), str):
            return Verification(count, head, Broken(count, line.where, "unreadable"), tuple(torn))
        if entry_hash(entry) != entry["hash"]:
            return Verification(
                count, head, Broken(count, line.where, "altered", entry), tuple(torn)
            )
        if entry.get("prev") != head:
            return Verification(count, head, Broken(count, line.where, "link", entry), tuple(torn))
        head = entry["hash"]
        seen = seen or head == anchor
        count += 1
    if not seen:
        return Verification(count, head, Broken(count, f"after {where}", "truncated"), tuple(torn))
    return Verification(count, head, None, tuple(torn))


def matches(
    entry: Mapping[str, Any], origin: str | None, since: str | None, agent: str | None
) -> bool:
    """A ``check`` entry for ``origin`` (and at or after ``since``, for ``agent``) -- a query."""
    if entry.get("kind") != "check":
        return False
    if origin is not None and entry.get("origin") != origin.rstrip("/"):
        return False
    if since is not None and str(entry.get("time", "")) < since:
        return False
    return agent is None or str(entry.get("agent", "")).lower() == agent.lower()


# --- signed bundles -------------------------------------------------------------------------

BUNDLE_ALG = "HMAC-SHA256"
ED25519 = "Ed25519"


def sign_bundle(unsigned: Mapping[str, Any], key: bytes, alg: str = BUNDLE_ALG) -> dict[str, Any]:
    """``unsigned`` plus ``signature`` over its canonical JSON: HMAC-SHA256 with the shared
    ``key``, or Ed25519 with ``key`` a PEM private key (its public key is carried, hex)."""
    message = canonical(unsigned)
    if alg == BUNDLE_ALG:
        signature = {"alg": alg, "value": hmac.new(key, message, hashlib.sha256).hexdigest()}
    elif alg == ED25519:
        private = _ed25519_private(key)
        signature = {
            "alg": alg,
            "value": private.sign(message).hex(),
            "public_key": _raw_public(private.public_key()).hex(),
        }
    else:
        raise ValueError(f"unknown signature algorithm {alg!r}")
    return {**unsigned, "signature": signature}


def _ed25519_private(pem: bytes) -> Any:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 private key")
    return key


def _raw_public(public: Any) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return bytes(public.public_bytes(Encoding.Raw, PublicFormat.Raw))


def _signature_problem(data: Mapping[str, Any], key: bytes) -> str | None:
    """Why the signature does not hold (None: it does). ``key``: the HMAC key, or for Ed25519
    the signer's PEM public key (the bundle's own ``public_key`` is not trusted)."""
    signature = data.get("signature")
    if not isinstance(signature, Mapping) or signature.get("alg") not in (BUNDLE_ALG, ED25519):
        return f"no {BUNDLE_ALG} or {ED25519} signature"
    message = canonical({k: v for k, v in data.items() if k != "signature"})
    value = str(signature.get("value", ""))
    if signature["alg"] == BUNDLE_ALG:
        expected = hmac.new(key, message, hashlib.sha256).hexdigest()
        if hmac.compare_digest(expected, value):
            return None
        return "signature does not match (altered, or another key)"
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        public = load_pem_public_key(key)
    except ValueError:
        return "the key given is not a PEM public key (an Ed25519 bundle needs the signer's)"
    if not isinstance(public, Ed25519PublicKey):
        return "the key given is not an Ed25519 public key"
    try:
        public.verify(bytes.fromhex(value), message)
    except (InvalidSignature, ValueError):
        return "signature does not match (altered, or another key)"
    return None


def bundle(
    entries: Sequence[Mapping[str, Any]], *, origin: str, heads: Mapping[str, str], created: str
) -> dict[str, Any]:
    """The unsigned bundle of ``entries`` about ``origin``: what a rights holder is handed.

    ``heads``: the last hash of each chain the entries were read from, at export time.
    """
    return {
        "format": FORMAT,
        "kind": "audit-bundle",
        "origin": origin,
        "created": created,
        "version": __version__,
        "heads": dict(heads),
        "entries": list(entries),
    }


def check_bundle(data: Mapping[str, Any], key: bytes) -> list[str]:
    """What is wrong with a bundle (empty: its signature and every entry's hash hold)."""
    problem = _signature_problem(data, key)
    problems = [] if problem is None else [problem]
    for i, entry in enumerate(data.get("entries", ())):
        if not isinstance(entry, Mapping) or entry_hash(entry) != entry.get("hash"):
            problems.append(f"entry {i} altered")
    return problems
