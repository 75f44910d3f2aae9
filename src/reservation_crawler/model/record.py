"""The reservation record: one URL, every signal's outcome, the decisions and why.

The JSON form is documented in ``docs/record.md``; :data:`SCHEMA` names its version.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, NamedTuple

from reservation_crawler.model import codec
from reservation_crawler.model.codec import shape
from reservation_crawler.model.findings import Finding

SCHEMA = "reservation-record/1"


class Purpose(StrEnum):
    """What a use is for (docs/record.md, "Purposes"). ``train-ai``, ``ai-use`` and ``search``
    are the categories of draft-ietf-aipref-vocab-08; ``crawl`` is RFC 9309 access."""

    CRAWL = "crawl"
    TRAIN_AI = "train-ai"
    AI_USE = "ai-use"
    SEARCH = "search"

    @classmethod
    def _missing_(cls, value: object) -> Purpose | None:
        """An earlier name still read as input (:data:`PURPOSE_ALIASES`)."""
        return PURPOSE_ALIASES.get(value) if isinstance(value, str) else None


PURPOSES: tuple[Purpose, ...] = tuple(Purpose)

# Earlier names of a purpose, still accepted wherever a purpose is read (records, registries,
# feeds, HTTP, settings written before 0.3.0): ``ai-input`` was this project's name for answer-time
# AI use (Cloudflare's Content-Signal key) until aipref vocab-08 named the category ``ai-use``.
# Output always uses the current name; docs/record.md, "Purposes".
PURPOSE_ALIASES: Mapping[str, Purpose] = MappingProxyType({"ai-input": Purpose.AI_USE})


def purpose_alias_note(name: str) -> str | None:
    """A sentence saying which purpose an alias ``name`` was read as; None for current names."""
    purpose = PURPOSE_ALIASES.get(name)
    if purpose is None:
        return None
    return (
        f"purpose {name!r} is the earlier name of {str(purpose)!r} (draft-ietf-aipref-vocab-08); "
        f"answered for {str(purpose)!r}"
    )


class Decision(StrEnum):
    RESERVED = "reserved"
    ALLOWED = "allowed"
    UNSPECIFIED = "unspecified"


class Outcome(StrEnum):
    """How fetching one source ended, in the terms of the protocol that reads it."""

    OK = "ok"  # 2xx, body parsed
    ABSENT = "absent"  # the origin does not publish it (robots.txt 4xx; ai.txt/tdmrep.json 404...)
    UNREACHABLE = "unreachable"  # 5xx, timeout, network error (robots.txt: complete disallow)
    ERROR = "error"  # fetched, but unusable (wrong type, too large, bad redirect...)
    NOT_FETCHED = "not-fetched"  # deliberately not fetched (e.g. page disallowed for us)
    # Our own configuration refused the fetch (the address guard without allow_private): says
    # nothing about the origin, so it is never cached as the origin's policy (robots.txt:
    # still a complete disallow for this answer, RFC 9309 §2.3.1.4 — we could not read it).
    REFUSED = "refused-by-configuration"


class Access(StrEnum):
    """What the origin did with our request, besides what its files say (docs/fetch.md,
    "Access outcomes"): served it, refused it, put a bot challenge in its place, asked for
    payment, or could not be reached."""

    FETCHED = "fetched"
    REFUSED = "refused"  # 401/403 to our crawler
    CHALLENGE = "challenge"  # a bot challenge or block page served instead of the resource
    PAYMENT_REQUIRED = "payment-required"  # HTTP 402
    UNREACHABLE = "unreachable"  # no answer, 429 or 5xx


ACCESS_OUTCOMES: tuple[Access, ...] = tuple(Access)


@shape(omit_default=("access", "access_rule", "access_detail", "price", "license_url"))
@dataclass(frozen=True, slots=True)
class SourceOutcome:
    """How one source (robots.txt, ai.txt, tdmrep.json, the page) was fetched.

    ``access`` (None when no request was made) says what the origin did; ``access_rule`` the
    rule that said so (``cloudflare:cf-mitigated``, ``http:402``...); ``price`` and
    ``license_url`` what a 402 carried.
    """

    url: str
    outcome: Outcome
    status: int | None = None
    content_type: str | None = None
    size: int | None = None
    sha256: str | None = None
    error: str | None = None
    redirects: tuple[str, ...] = ()
    access: Access | None = None
    access_rule: str | None = None
    access_detail: str | None = None
    price: str | None = None
    license_url: str | None = None


@shape(omit_default=("line", "location"))
class Evidence(NamedTuple):
    """One signal's effect on some purposes for one queried agent.

    ``signal`` is the family (robots, content-signal, content-usage, tdmrep, ai.txt, noai,
    noimageai); ``source`` where it was read (robots.txt, ai.txt, tdmrep.json, header, meta);
    ``scope`` whom the publisher addressed ("*" or a product token). Immutable; a named tuple
    rather than a frozen dataclass because decide() builds several per check (4x cheaper).
    """

    agent: str
    purposes: tuple[Purpose, ...]
    effect: Decision
    signal: str
    source: str
    scope: str
    raw: str
    line: int | None = None
    location: str | None = None


Decisions = Mapping[str, Mapping[Purpose, Decision]]


@shape(tag=SCHEMA, omit_default=("agent_tokens",))
@dataclass(frozen=True, slots=True)
class ReservationRecord:
    """Everything known about one URL: sources, decisions per agent and purpose, evidence.

    ``agent_tokens`` maps each agent string the caller gave that is not itself a product token
    (``GPTBot/1.1``, a whole User-Agent) to the token decided for (docs/agents.md).
    ``aipref_vocab`` names the revision of the IETF aipref vocabulary the decisions applied to
    Content-Usage (``draft-ietf-aipref-vocab-08``); None in records written before 0.3.0.
    """

    url: str
    origin: str
    fetched_at: str
    sources: Mapping[str, SourceOutcome]
    decisions: Decisions
    evidence: tuple[Evidence, ...] = ()
    findings: tuple[Finding, ...] = ()
    schema: str = field(default=SCHEMA)
    agent_tokens: Mapping[str, str] = field(default_factory=dict)
    aipref_vocab: str | None = None

    def decision(self, agent: str, purpose: Purpose | str) -> Decision:
        """The decision for ``agent`` (falls back to ``*``) and ``purpose``."""
        per_agent = self.decisions.get(agent)
        if per_agent is None:
            per_agent = _lookup_casefold(self.decisions, agent) or self.decisions["*"]
        return per_agent[Purpose(purpose)]

    def evidence_for(self, agent: str, purpose: Purpose | str) -> tuple[Evidence, ...]:
        """The evidence that bears on one decision cell."""
        wanted = Purpose(purpose)
        folded = agent.casefold()
        return tuple(
            e for e in self.evidence if e.agent.casefold() == folded and wanted in e.purposes
        )

    def to_json(self) -> dict[str, Any]:
        """The record's JSON form (``docs/record.md``)."""
        return codec.to_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReservationRecord:
        """A record from its JSON form; ``errors.DecodeError`` when it is not one."""
        return codec.from_json(cls, data)


def _lookup_casefold(decisions: Decisions, agent: str) -> Mapping[Purpose, Decision] | None:
    folded = agent.casefold()
    for name, cells in decisions.items():
        if name.casefold() == folded:
            return cells
    return None
