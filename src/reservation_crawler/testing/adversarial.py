"""An adversarial origin (issue #12 item 3): policy files built to make matching expensive.

Thousands of distinct wildcard rules whose literal pieces all occur in the URLs, but whose
last piece does not end them, so every rule almost matches; a tdmrep.json of as many rules;
URLs of 4,000 characters over the same small alphabet. Used by tests/hostile and
bench/lookup_bench.py. Deterministic for a given seed.
"""

from __future__ import annotations

import json
import random

__all__ = ["URL_LENGTH", "ai_txt", "robots_txt", "rule_patterns", "tdmrep_json", "url_paths"]

URL_LENGTH = 4000
_ALPHABET = "abcd"


def rule_patterns(count: int, seed: int = 0) -> list[str]:
    """``count`` distinct patterns "/*p1*p2*...*p20$": pieces of 2 to 5 letters (the URL paths
    end with "/", so the anchored last piece never matches)."""
    rng = random.Random(seed)
    out: dict[str, None] = {}
    while len(out) < count:
        pieces = ["".join(rng.choices(_ALPHABET, k=rng.randint(2, 5))) for _ in range(20)]
        out["/*" + "*".join(pieces) + "$"] = None
    return list(out)


def robots_txt(count: int = 4000, seed: int = 0) -> bytes:
    """A robots.txt of ``count`` wildcard Disallow rules for every agent (under 500 KiB)."""
    lines = ["User-agent: *"] + [f"Disallow: {p}" for p in rule_patterns(count, seed)]
    return ("\n".join(lines) + "\n").encode()


def ai_txt(count: int = 4000, seed: int = 1) -> bytes:
    """An ai.txt (robots dialect) of ``count`` wildcard Disallow rules."""
    lines = ["User-Agent: *"] + [f"Disallow: {p}" for p in rule_patterns(count, seed)]
    return ("\n".join(lines) + "\n").encode()


def tdmrep_json(count: int = 4000, seed: int = 2) -> bytes:
    """A tdmrep.json of ``count`` rules with wildcard locations (none reserves)."""
    rules = [{"location": p, "tdm-reservation": 0} for p in rule_patterns(count, seed)]
    return json.dumps(rules).encode()


def url_paths(count: int, length: int = URL_LENGTH, seed: int = 3) -> list[str]:
    """``count`` distinct paths of ``length`` characters in which most rule pieces occur."""
    rng = random.Random(seed)
    return [
        "/" + "".join(rng.choices(_ALPHABET + "/", weights=(6, 6, 6, 6, 1), k=length - 2)) + "/"
        for _ in range(count)
    ]
