"""The robots.txt product token of an agent given as a token, ``Token/version`` or a User-Agent.

RFC 9309 §2.2.1: a crawler finds its group by its *product token*, "the name of the crawler" in
its User-Agent (RFC 9110 §10.1.5: ``product = token ["/" product-version]``). Callers hand us
``GPTBot``, ``gptbot``, ``GPTBot/1.1`` or a whole header such as ``Mozilla/5.0 AppleWebKit/537.36
(KHTML, like Gecko; compatible; GPTBot/1.1; +https://openai.com/gptbot)``; all three name GPTBot.
Reading (docs/agents.md, "Agent strings"): the registry's known names first (earliest in the
string), then the first product of the string, skipping the browser-compatibility products
(``Mozilla/5.0``...) in favour of a ``compatible; Name`` comment. A string naming no crawler (a
browser's User-Agent, control characters, nothing) is refused: never read as ``*``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from reservation_crawler.signals.agents import all_agents, get_agent

__all__ = ["AgentToken", "agent_token", "tokens_of"]

# RFC 9110 §5.6.2 tchar, the characters of a product name
_TCHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_PRODUCT = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:/[^\s;(),]*)?")
_COMPATIBLE = re.compile(r"\bcompatible\s*;\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)", re.IGNORECASE)
# Products browsers send for compatibility; none of them names a crawler.
_BROWSER_PRODUCTS = frozenset(
    {
        "mozilla",
        "applewebkit",
        "khtml",
        "like",
        "gecko",
        "chrome",
        "chromium",
        "safari",
        "version",
        "mobile",
        "firefox",
        "edg",
        "edge",
        "opera",
        "opr",
        "headlesschrome",
        "compatible",
        "trident",
        "msie",
    }
)
# A name found inside the string must stand alone: not part of a URL, a word or a version.
_BEFORE = frozenset(" ;(,\t")
_AFTER = frozenset(" ;),/\t")


@dataclass(frozen=True, slots=True)
class AgentToken:
    """What an agent string names: ``token`` (None when refused), how it was read, and why not."""

    given: str
    token: str | None
    reading: str  # any-agent | product-token | versioned | registry | compatible | first-product
    problem: str | None = None


def agent_token(value: str) -> AgentToken:
    """The product token ``value`` names (see the module docstring); never raises."""
    return _agent_token(value)


@lru_cache(maxsize=1024)  # bounded: an open API can be sent any number of spellings
def _agent_token(value: str) -> AgentToken:
    given = value
    text = value.strip()
    if not text:
        return AgentToken(given, None, "refused", "the agent is empty")
    if len(text) > 512:
        return AgentToken(given, None, "refused", "the agent is longer than 512 characters")
    if any(not (" " <= ch <= "~") and ch != "\t" for ch in text):
        return AgentToken(given, None, "refused", "the agent has characters a User-Agent cannot")
    if text == "*":
        return AgentToken(given, "*", "any-agent")
    known = get_agent(text) if "/" not in text or text.count("/") == 1 else None
    if known is not None and (" " not in text or known.token.lower() == text.lower()):
        reading = "versioned" if "/" in text else "registry"
        if known.token == text:
            reading = "product-token"
        return AgentToken(given, known.token, reading)
    single = _PRODUCT.fullmatch(text)
    if single is not None:
        name = text.split("/", 1)[0]
        if name.lower() not in _BROWSER_PRODUCTS and any(ch.isalpha() for ch in name):
            return AgentToken(given, name, "versioned" if "/" in text else "product-token")
    found = _registry_name_in(text)
    if found is not None:
        return AgentToken(given, found, "registry")
    compatible = _COMPATIBLE.search(text)
    if compatible is not None:
        name = compatible.group(1)
        if name.lower() not in _BROWSER_PRODUCTS and any(ch.isalpha() for ch in name):
            return AgentToken(given, name, "compatible")
    for product in _PRODUCT.finditer(_without_comments(text)):
        name = product.group(0).split("/", 1)[0]
        if name.lower() in _BROWSER_PRODUCTS or not any(ch.isalpha() for ch in name):
            continue
        return AgentToken(given, name, "first-product")
    return AgentToken(
        given,
        None,
        "refused",
        "it names no crawler: no product token besides browser products such as Mozilla/5.0; "
        "give the crawler's product token, e.g. GPTBot",
    )


def _without_comments(text: str) -> str:
    """``text`` with its parenthesised comments blanked (RFC 9110 §5.6.5, nesting allowed)."""
    out = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
            ch = " "
        out.append(" " if depth else ch)
    return "".join(out)


@lru_cache(maxsize=1)
def _registry_names() -> tuple[tuple[str, str], ...]:
    """(lower-case name, the registry's spelling) of every agent token and alias, longest first."""
    names = {
        name.lower(): agent.token
        for agent in all_agents()
        for name in (agent.token, *agent.aliases)
    }
    return tuple(sorted(names.items(), key=lambda item: -len(item[0])))


def _registry_name_in(text: str) -> str | None:
    """The registry agent named earliest in ``text`` as a product (not inside a URL or a word)."""
    lower = text.lower()
    best: tuple[int, str] | None = None
    for name, token in _registry_names():
        start = lower.find(name)
        while start >= 0:
            end = start + len(name)
            before = lower[start - 1] if start else " "
            after = lower[end] if end < len(lower) else " "
            if before in _BEFORE and after in _AFTER:
                if best is None or start < best[0]:
                    best = (start, token)
                break
            start = lower.find(name, start + 1)
    return None if best is None else best[1]


def tokens_of(agents: Sequence[str]) -> tuple[list[str], dict[str, str], list[str]]:
    """(the tokens, {given: token} where they differ, the problems) for several agent strings.

    What a record needs (``ReservationRecord.agent_tokens``); a caller refuses on problems.
    """
    tokens: list[str] = []
    renamed: dict[str, str] = {}
    problems: list[str] = []
    for given in agents:
        found = agent_token(given)
        if found.token is None:
            problems.append(f"agent {given[:100]!r}: {found.problem}")
            continue
        tokens.append(found.token)
        if found.token != given:
            renamed[given] = found.token
    return list(dict.fromkeys(tokens)), renamed, problems
