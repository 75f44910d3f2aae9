"""Cloudflare's managed robots.txt: the block Cloudflare prepends to a site's own robots.txt.

With "managed robots.txt" on, Cloudflare serves its own content above the origin's file,
between ``# BEGIN Cloudflare Managed content`` and ``# END Cloudflare Managed Content``
(cloudflare-docs, bots/additional-configurations/managed-robots-txt; as served in 2026):

    User-agent: *
    Content-Signal: search=yes,ai-train=no,use=reference
    Allow: /

    User-agent: Amazonbot
    Disallow: /
    ... (Applebot-Extended, Bytespider, CCBot, ClaudeBot, CloudflareBrowserRenderingCrawler,
    Google-Extended, GPTBot, meta-externalagent)

RFC 9309 then merges it with the site's own groups, which can contradict it. This module only
reads the block apart from the rest; the validator explains what wins (apps/validate.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from reservation_crawler.signals.contentsignal import ContentSignal, parse_content_signal
from reservation_crawler.signals.robots import RobotsTxt

__all__ = ["ManagedBlock", "OwnSignal", "read_managed_block"]

_BEGIN = "begin cloudflare managed content"
_END = "end cloudflare managed content"


@dataclass(frozen=True, slots=True)
class OwnSignal:
    """A Content-Signal line and the agents of the group it is in (``*`` included)."""

    signal: ContentSignal
    agents: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ManagedBlock:
    """The managed block of one robots.txt and the site's own lines beside it."""

    begin: int  # line of "# BEGIN Cloudflare Managed content"
    end: int  # line of "# END Cloudflare Managed Content"
    blocked: tuple[tuple[str, int], ...]  # (agent, line of its "Disallow: /") in the block
    managed_signals: tuple[OwnSignal, ...]  # Content-Signal lines inside the block
    own_signals: tuple[OwnSignal, ...]  # Content-Signal lines outside it
    own_allows: tuple[
        tuple[str, int, str], ...
    ]  # (agent, line, rule) own Allow: / for a blocked agent

    def inside(self, line: int) -> bool:
        return self.begin < line < self.end


def read_managed_block(robots_txt: RobotsTxt, lines: list[str]) -> ManagedBlock | None:
    """The managed block of a robots.txt (``lines``: its text, one entry per line), or None
    when the file has no complete BEGIN ... END pair."""
    begin = end = None
    for number, raw in enumerate(lines, 1):
        comment = raw.partition("#")[2].strip().lower()
        if begin is None and comment.startswith(_BEGIN):
            begin = number
        elif begin is not None and comment.startswith(_END):
            end = number
            break
    if begin is None or end is None:
        return None
    blocked: list[tuple[str, int]] = []
    for group in robots_txt.groups:
        if not begin < group.line < end:
            continue
        for rule in group.rules:
            if not rule.allow and rule.pattern.normalized == "/":
                blocked.extend((agent, rule.line) for agent, _line in group.agents)
    names = {agent.casefold() for agent, _line in blocked}
    own_allows = [
        (agent, rule.line, rule.raw)
        for group in robots_txt.groups
        if not begin < group.line < end
        for agent, _line in group.agents
        if agent.casefold() in names
        for rule in group.rules
        if rule.allow and rule.pattern.normalized == "/"
    ]
    managed: list[OwnSignal] = []
    own: list[OwnSignal] = []
    starts = sorted((g.line, tuple(a for a, _ in g.agents)) for g in robots_txt.groups)
    for number, raw in enumerate(lines, 1):
        key, colon, value = raw.split("#", 1)[0].partition(":")
        if not colon or key.strip().lower() != "content-signal":
            continue
        owners = [agents for start, agents in starts if start <= number]
        if not owners:
            continue  # before any group: robots.py reports it; it applies to no one
        signal = OwnSignal(parse_content_signal(value, line=number), owners[-1])
        (managed if begin < number < end else own).append(signal)
    return ManagedBlock(begin, end, tuple(blocked), tuple(managed), tuple(own), tuple(own_allows))
