"""An adversarial origin (issue #12 item 3): policy files built to make matching expensive.

Thousands of distinct wildcard rules whose literal pieces all occur in the URLs, so every rule
almost matches; a tdmrep.json of as many rules; URLs of 4,000 characters over the same small
alphabet. Used by tests/hostile and bench/lookup_bench.py. Deterministic for a given seed.

Two shapes of rule:

- ``anchored=False`` (the default, the worst case for the rule index of signals/patterns.py):
  "/*p1*...*p24*e": every piece occurs in the URL, whose path starts with "/e", but the last
  one only before the others, so no rule matches and only trying one (reading the whole URL)
  tells;
- ``anchored=True`` (the first version of this origin): "/*p1*...*p20$"; the URL paths end with
  "/", so the last piece never ends them, which the index sees without trying the rule.
"""

from __future__ import annotations

import json
import random

__all__ = ["URL_LENGTH", "ai_txt", "robots_txt", "rule_patterns", "tdmrep_json", "url_paths"]

URL_LENGTH = 4000
_ALPHABET = "abcd"
_MARK = "e"  # starts every URL path, nowhere else in it


def rule_patterns(count: int, seed: int = 0, *, anchored: bool = False) -> list[str]:
    """``count`` distinct patterns of pieces of 2 to 5 letters (see the module docstring)."""
    rng = random.Random(seed)
    out: dict[str, None] = {}
    # (pieces per rule, longest piece, end of the rule)
    pieces_per_rule, longest, end = (20, 5, "$") if anchored else (24, 4, "*" + _MARK)
    while len(out) < count:
        pieces = [
            "".join(rng.choices(_ALPHABET, k=rng.randint(2, longest)))
            for _ in range(pieces_per_rule)
        ]
        out["/*" + "*".join(pieces) + end] = None
    return list(out)


def robots_txt(count: int = 4000, seed: int = 0, *, anchored: bool = False) -> bytes:
    """A robots.txt of ``count`` wildcard Disallow rules for every agent (under 500 KiB)."""
    patterns = rule_patterns(count, seed, anchored=anchored)
    lines = ["User-agent: *"] + [f"Disallow: {p}" for p in patterns]
    return ("\n".join(lines) + "\n").encode()


def ai_txt(count: int = 4000, seed: int = 1, *, anchored: bool = False) -> bytes:
    """An ai.txt (robots dialect) of ``count`` wildcard Disallow rules."""
    patterns = rule_patterns(count, seed, anchored=anchored)
    lines = ["User-Agent: *"] + [f"Disallow: {p}" for p in patterns]
    return ("\n".join(lines) + "\n").encode()


def tdmrep_json(count: int = 4000, seed: int = 2, *, anchored: bool = False) -> bytes:
    """A tdmrep.json of ``count`` rules with wildcard locations (none reserves)."""
    patterns = rule_patterns(count, seed, anchored=anchored)
    return json.dumps([{"location": p, "tdm-reservation": 0} for p in patterns]).encode()


def url_paths(count: int, length: int = URL_LENGTH, seed: int = 3) -> list[str]:
    """``count`` distinct paths of ``length`` characters in which most rule pieces occur."""
    rng = random.Random(seed)
    body = length - 2 - len(_MARK)
    return [
        "/" + _MARK + "".join(rng.choices(_ALPHABET + "/", weights=(6, 6, 6, 6, 1), k=body)) + "/"
        for _ in range(count)
    ]
