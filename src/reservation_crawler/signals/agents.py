"""The AI agent registry: who is behind a robots.txt product token and what it does.

The data (``data/agents.json``) is built by ``tools/build_agents.py`` from the ai.robots.txt list
and our curation (``docs/agents.md``). It is parsed once, on first use.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from reservation_crawler.model import codec

__all__ = [
    "AGENT_CLASSES",
    "AiAgent",
    "all_agents",
    "get_agent",
    "is_valid_product_token",
    "well_known_agents",
]

# The classes an agent's `purposes` draws from (descriptions in the data file and docs/agents.md).
AGENT_CLASSES: frozenset[str] = frozenset(
    {"training", "search", "user-fetch", "agent", "control", "dataset", "other", "unknown"}
)

# RFC 9309 §2.2.1: identifier = 1*(%x2D / %x41-5A / %x5F / %x61-7A)
_IDENTIFIER = re.compile(r"[A-Za-z_-]+")


def is_valid_product_token(token: str) -> bool:
    """True when ``token`` is an RFC 9309 identifier: letters, ``-`` and ``_`` only."""
    return _IDENTIFIER.fullmatch(token) is not None


@dataclass(frozen=True, slots=True)
class AiAgent:
    """One AI crawler, fetcher, agent or control token."""

    token: str  # the product token as written in robots.txt
    operator: str | None
    purposes: frozenset[str]  # subset of AGENT_CLASSES
    control_only: bool  # never sent as a User-Agent (Google-Extended, Applebot-Extended)
    description: str
    valid_token: bool  # an RFC 9309 identifier (no digits, spaces, dots, slashes)
    aliases: tuple[str, ...] = ()  # other spellings in the sources that name this agent
    operator_url: str | None = None
    respects_robots: str = "unclear"  # "yes" | "no" | "depends" | "unclear" (per the source)
    respects_robots_note: str | None = None
    function: str = ""  # the source's own wording of what it does
    note: str | None = None  # our curation note
    well_known: bool = False
    sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Registry:
    agents: tuple[AiAgent, ...]
    by_name: dict[str, AiAgent]  # lower-cased token and aliases
    well_known: tuple[AiAgent, ...]


@cache
def _registry() -> _Registry:
    text = (resources.files(__package__) / "data" / "agents.json").read_text(encoding="utf-8")
    document = json.loads(text)
    agents = tuple(codec.from_json(AiAgent, item) for item in document["agents"])
    by_name: dict[str, AiAgent] = {}
    for agent in agents:
        for name in (agent.token, *agent.aliases):
            by_name[name.lower()] = agent
    well_known = tuple(by_name[token.lower()] for token in document["well_known"])
    return _Registry(agents=agents, by_name=by_name, well_known=well_known)


def get_agent(token: str) -> AiAgent | None:
    """The agent named ``token`` (case-insensitive; aliases too), or None.

    A version suffix is tolerated when the full name is unknown: ``GPTBot/1.2`` finds ``GPTBot``.
    """
    by_name = _registry().by_name
    name = token.strip().lower()
    found = by_name.get(name)
    if found is None and "/" in name:
        found = by_name.get(name.split("/", 1)[0].strip())
    return found


def all_agents() -> tuple[AiAgent, ...]:
    """Every agent in the registry, sorted by token (case-insensitive)."""
    return _registry().agents


def well_known_agents() -> tuple[AiAgent, ...]:
    """The short list of the agents that matter most to a publisher, in display order."""
    return _registry().well_known
