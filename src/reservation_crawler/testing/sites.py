"""Recipes of fixture sites: the kinds, their variants, the seeded mix and the robots corpus.

A :class:`Recipe` is a kind, a variant and JSON parameters; the parameters alone determine
what the site serves (``render.py``) and what a reader must decide (``truth.py``). The
parameter schema is documented in ``docs/fixture-web.md``.
"""

from __future__ import annotations

import csv
import os
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

Params = dict[str, Any]

# The agents the ground truth decides for, and the purposes (docs/record.md).
AGENTS: tuple[str, ...] = ("*", "GPTBot", "ClaudeBot", "CCBot")
PURPOSES: tuple[str, ...] = ("crawl", "train-ai", "ai-use", "search")

# Every site has the same pages; "/" links to the /a/ pages, /a/1.html to /b/1.html.
HTML_PAGES: tuple[str, ...] = ("/", "/a/1.html", "/a/2.html", "/b/1.html")
IMAGE_PATH = "/img/1.jpg"
PAGES: tuple[str, ...] = (*HTML_PAGES, IMAGE_PATH)
PAGE_LINKS: Mapping[str, tuple[str, ...]] = {
    "/": ("/a/1.html", "/a/2.html"),
    "/a/1.html": ("/b/1.html", "/"),
    "/a/2.html": ("/a/1.html", "/"),
    "/b/1.html": ("/",),
}
PAGE_DEPTH: Mapping[str, int] = {"/": 0, "/a/1.html": 1, "/a/2.html": 1, "/b/1.html": 2}
OFF_WEB_URL = "http://example.invalid/fixture-off-web"  # RFC 2606: never resolves

TRAINING_BOTS: tuple[str, ...] = (
    "GPTBot",
    "ClaudeBot",
    "CCBot",
    "Google-Extended",
    "Applebot-Extended",
    "Bytespider",
    "meta-externalagent",
    "anthropic-ai",
    "cohere-ai",
    "Diffbot",
    "Timpibot",
    "omgili",
)
SEARCH_BOTS: tuple[str, ...] = ("OAI-SearchBot", "PerplexityBot", "Claude-SearchBot", "YouBot")
USER_BOTS: tuple[str, ...] = ("ChatGPT-User", "Claude-User", "Perplexity-User")
OTHER_BOTS: tuple[str, ...] = ("Googlebot", "Bingbot", "AhrefsBot")
# Tokens counted as "robots.txt AI-agent groups" in the ground truth (all from signals.md §3).
AI_AGENT_TOKENS: frozenset[str] = frozenset(
    t.lower() for t in (*TRAINING_BOTS, *SEARCH_BOTS, *USER_BOTS)
)

HUGE_ROBOTS_SIZE = 600 * 1024  # above RFC 9309's 500 KiB parsing minimum


@dataclass(frozen=True, slots=True)
class Recipe:
    """One fixture site: a kind, a variant of it, and the JSON parameters that define it.

    Its JSON form is ``dataclasses.asdict(recipe)``; ``Recipe(**data)`` reads it back.

    Treat ``params`` as read-only; it is shared with the rendered site and the ground truth.
    """

    kind: str
    variant: str = ""
    params: Params = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Building blocks


def group(
    agents: Sequence[str],
    rules: Sequence[tuple[str, str]] = (),
    *,
    content_signal: str | None = None,
    content_usage: Sequence[tuple[str | None, str]] = (),
    content_signal_key: str = "Content-Signal",
) -> dict[str, Any]:
    """A robots.txt (or ai.txt) group: user-agent lines, then extension lines, then rules."""
    data: dict[str, Any] = {"agents": list(agents), "rules": [list(r) for r in rules]}
    if content_signal is not None:
        data["content_signal"] = content_signal
        if content_signal_key != "Content-Signal":
            data["content_signal_key"] = content_signal_key
    if content_usage:
        data["content_usage"] = [list(cu) for cu in content_usage]
    return data


ALLOW_ALL = group(["*"], [("allow", "/")])


def robots(*groups: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"groups": list(groups), **extra}


def _block(agents: Sequence[str]) -> dict[str, Any]:
    return group(agents, [("disallow", "/")])


# --------------------------------------------------------------------------------------------
# The robots corpus (../shared/corpus/robots): real bodies, chosen by INDEX.tsv flags


@dataclass(frozen=True, slots=True)
class CorpusFile:
    name: str
    group: str
    site: str
    ai_agents: tuple[str, ...]
    signal_lines: tuple[str, ...]
    size: int
    licence: str


class RobotsCorpus:
    """Real robots.txt bodies from a corpus folder with an ``INDEX.tsv`` (see its SOURCES.md).

    Candidates are UTF-8 files with a user-agent line, no HTML, at most 256 KiB and no
    ``Crawl-delay`` (which would make crawl benchmarks depend on how a crawler honours it).
    HTML error pages served at /robots.txt are kept apart as soft-404 bodies.
    """

    MAX_SIZE = 256 * 1024

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self._bodies: dict[str, bytes] = {}
        rules: list[CorpusFile] = []
        html: list[CorpusFile] = []
        with open(self.directory / "INDEX.tsv", encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                entry = CorpusFile(
                    name=row["file"],
                    group=row["group"],
                    site=row.get("site", ""),
                    ai_agents=tuple(a for a in (row.get("ai_agents") or "").split(",") if a),
                    signal_lines=tuple(s for s in (row.get("signal_lines") or "").split(",") if s),
                    size=int(row["size"] or 0),
                    licence=row.get("license_class", ""),
                )
                if not (self.directory / entry.name).is_file() or row["utf8"] != "True":
                    continue
                if row["html"] == "True":
                    if row["has_user_agent"] == "False" and entry.size <= 64 * 1024:
                        html.append(entry)
                elif (
                    row["empty"] == "False"
                    and row["has_user_agent"] == "True"
                    and entry.size <= self.MAX_SIZE
                ):
                    rules.append(entry)
        rules.sort(key=lambda e: e.name)
        html.sort(key=lambda e: e.name)
        self.rules_files: tuple[CorpusFile, ...] = tuple(rules)
        self.html_files: tuple[CorpusFile, ...] = tuple(html)
        self.by_name: dict[str, CorpusFile] = {e.name: e for e in (*rules, *html)}

    @cached_property
    def with_ai_agents(self) -> tuple[CorpusFile, ...]:
        return tuple(e for e in self.rules_files if e.ai_agents)

    @cached_property
    def with_signals(self) -> tuple[CorpusFile, ...]:
        return tuple(e for e in self.rules_files if e.signal_lines)

    def body(self, name: str) -> bytes:
        body = self._bodies.get(name)
        if body is None:
            body = (self.directory / name).read_bytes()
            if len(self._bodies) < 4096:
                self._bodies[name] = body
        return body

    def pick(self, rng: random.Random, pool: str) -> CorpusFile | None:
        """A random usable file of ``pool`` ("ai-agents", "signals", "any"), or None."""
        candidates = {
            "ai-agents": self.with_ai_agents,
            "signals": self.with_signals,
            "any": self.rules_files,
        }[pool] or self.rules_files
        for _ in range(20):
            if not candidates:
                return None
            entry = rng.choice(candidates)
            if b"crawl-delay" not in self.body(entry.name).lower():
                return entry
        return None


def default_corpus_dir() -> Path | None:
    """``$RESERVATION_CRAWLER_ROBOTS_CORPUS``, else ``../shared/corpus/robots`` of the checkout."""
    env = os.environ.get("RESERVATION_CRAWLER_ROBOTS_CORPUS")
    if env:
        return Path(env) if (Path(env) / "INDEX.tsv").is_file() else None
    checkout = Path(__file__).resolve().parents[3]
    candidate = checkout.parent / "shared" / "corpus" / "robots"
    return candidate if (candidate / "INDEX.tsv").is_file() else None


def load_corpus(corpus: RobotsCorpus | str | os.PathLike[str] | bool | None) -> RobotsCorpus | None:
    """None/True: the default folder when present; False: no corpus; a path: that folder."""
    if isinstance(corpus, RobotsCorpus):
        return corpus
    if corpus is False:
        return None
    if corpus is None or corpus is True:
        directory = default_corpus_dir()
        return RobotsCorpus(directory) if directory else None
    return RobotsCorpus(corpus)


# --------------------------------------------------------------------------------------------
# Kinds: each variant is a function (rng, corpus) -> params


Generator = Callable[[random.Random, "RobotsCorpus | None"], Params]


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    broken: bool
    variants: Mapping[str, Generator]
    description: str


KINDS: dict[str, Kind] = {}


def _kind(name: str, description: str, *, broken: bool = False) -> Callable[..., Any]:
    def register(variants: Mapping[str, Generator]) -> Mapping[str, Generator]:
        KINDS[name] = Kind(name, broken, dict(variants), description)
        return variants

    return register


def _training_agents(rng: random.Random) -> list[str]:
    extra = rng.sample(TRAINING_BOTS[3:], rng.randint(0, 4))
    agents = ["GPTBot", "ClaudeBot", "CCBot", *extra]
    rng.shuffle(agents)
    return agents


def _gptbot_block() -> dict[str, Any]:
    return robots(_block(["GPTBot"]), ALLOW_ALL)


_kind("plain", "robots.txt that allows everything; no other signal")(
    {
        "allow-all": lambda rng, c: {"robots": robots(ALLOW_ALL)},
        "empty-disallow": lambda rng, c: {"robots": robots(group(["*"], [("disallow", "")]))},
        "search-engine-group": lambda rng, c: {
            "robots": robots(
                group([rng.choice(OTHER_BOTS)], [("allow", "/")]),
                group(["*"], [("disallow", "/private/")]),
            )
        },
    }
)

_kind("no-robots", "no robots.txt (404) and no other signal")({"404": lambda rng, c: {}})

_kind("robots-ai-block", "robots.txt groups disallowing AI agents, `*` allowed")(
    {
        "training-bots": lambda rng, c: {
            "robots": robots(_block(_training_agents(rng)), ALLOW_ALL)
            if rng.random() < 0.7
            else robots(_block(_training_agents(rng)))
        },
        "one-bot": lambda rng, c: {
            "robots": robots(_block([rng.choice(("GPTBot", "ClaudeBot", "CCBot"))]), ALLOW_ALL)
        },
        "search-allowed": lambda rng, c: {
            "robots": robots(
                _block(_training_agents(rng)),
                group(list(SEARCH_BOTS[: rng.randint(1, 4)]), [("allow", "/")]),
                ALLOW_ALL,
            )
        },
        # Two groups naming GPTBot (one lower-cased) are merged (RFC 9309 §2.2.1).
        "merged-groups": lambda rng, c: {
            "robots": robots(
                group(["GPTBot"], [("disallow", "/a/")]),
                ALLOW_ALL,
                group(["gptbot"], [("disallow", "/b/")]),
            )
        },
        "ai-robots-txt": lambda rng, c: {
            "robots": robots(
                _block(
                    sorted(
                        {*TRAINING_BOTS, *SEARCH_BOTS, *USER_BOTS} - {rng.choice(TRAINING_BOTS[3:])}
                    )
                )
            )
        },
    }
)

_kind("robots-block-all", "robots.txt disallowing `/` for `*`")(
    {
        "star": lambda rng, c: {"robots": robots(group(["*"], [("disallow", "/")]))},
        "star-allow-gptbot": lambda rng, c: {
            "robots": robots(group(["GPTBot"], [("allow", "/")]), group(["*"], [("disallow", "/")]))
        },
        # A specific group with no effective rule discards every `*` rule (signals.md §12.7).
        "empty-specific-group": lambda rng, c: {
            "robots": robots(
                group(["GPTBot"], [("disallow", "")]), group(["*"], [("disallow", "/")])
            )
        },
    }
)

_kind("robots-paths", "robots.txt rules on paths: directories, wildcards, longest match, ties")(
    {
        "star-dir": lambda rng, c: {"robots": robots(group(["*"], [("disallow", "/b/")]))},
        "agent-dir": lambda rng, c: {
            "robots": robots(
                group(["GPTBot"], [("disallow", "/a/"), ("allow", "/a/2.html")]),
                group(["ClaudeBot"], [("disallow", "/b/")]),
                ALLOW_ALL,
            )
        },
        "wildcards": lambda rng, c: {
            "robots": robots(
                group(["CCBot"], [("disallow", "/*.html$"), ("allow", "/a/")]),
                group(["*"], [("disallow", "/*.jpg$")]),
            )
        },
        "tie-allow-wins": lambda rng, c: {
            "robots": robots(group(["GPTBot"], [("disallow", "/a/"), ("allow", "/a/")]), ALLOW_ALL)
        },
    }
)

_kind("content-signal-robots", "Cloudflare Content-Signal lines in robots.txt groups")(
    {
        "no-train": lambda rng, c: {
            "robots": robots(
                group(["*"], [("allow", "/")], content_signal="search=yes, ai-train=no")
            )
        },
        "no-input": lambda rng, c: {
            "robots": robots(group(["*"], [("allow", "/")], content_signal="ai-input=no"))
        },
        "all-yes": lambda rng, c: {
            "robots": robots(
                group(
                    ["*"], [("allow", "/")], content_signal="search=yes,ai-input=yes,ai-train=yes"
                )
            )
        },
        "agent-group": lambda rng, c: {
            "robots": robots(
                group(["GPTBot"], [("allow", "/")], content_signal="ai-train=no"), ALLOW_ALL
            )
        },
        # ClaudeBot has its own group, so the `*` group's Content-Signal does not reach it.
        "star-only": lambda rng, c: {
            "robots": robots(
                group(["*"], [("allow", "/")], content_signal="ai-train=no, search=no"),
                group(["ClaudeBot"], [("allow", "/")]),
            )
        },
        # Cloudflare's managed block prepended to the origin's own file (two `*` groups).
        "cloudflare-managed": lambda rng, c: {
            "robots": robots(
                group(
                    ["*"],
                    [("allow", "/")],
                    content_signal="search=yes, ai-train=no",
                    content_signal_key="Content-signal",
                ),
                *(_block([a]) for a in sorted(_training_agents(rng))),
                group(["*"], [("disallow", "/b/")]),
                preamble="cloudflare",
            )
        },
        # Cloudflare's managed robots.txt as served in 2026 (use=reference; BEGIN ... END), above
        # the site's own lines that contradict it: a * Content-Signal granting ai-train (never
        # read by the blocked agents, whose own group replaces *) and an own Allow: / for
        # GPTBot (merged with the managed Disallow: /; equally long, Allow wins, RFC 9309).
        "cloudflare-managed-2026": lambda rng, c: {
            "robots": robots(
                group(
                    ["*"], [("allow", "/")], content_signal="search=yes,ai-train=no,use=reference"
                ),
                *(_block([a]) for a in ("CCBot", "ClaudeBot", "GPTBot")),
                group(["*"], [("allow", "/")], content_signal="ai-train=yes, ai-input=yes"),
                group(["GPTBot"], [("allow", "/")]),
                preamble="cloudflare",
                managed_groups=4,
            )
        },
        # use= levels (Cloudflare, 2026): immediate < reference < full.
        "use-reference": lambda rng, c: {
            "robots": robots(
                group(
                    ["*"], [("allow", "/")], content_signal="search=yes,ai-train=no,use=reference"
                )
            )
        },
        "use-immediate": lambda rng, c: {
            "robots": robots(group(["*"], [("allow", "/")], content_signal="use=immediate"))
        },
        # use=full limits nothing; an unknown key is kept as evidence, decides nothing.
        "use-full-unknown-key": lambda rng, c: {
            "robots": robots(
                group(
                    ["*"],
                    [("allow", "/")],
                    content_signal="ai-input=yes, use=full, ai-inference=no",
                )
            )
        },
        # Content-Signal does not apply where the group may not crawl.
        "on-disallowed-path": lambda rng, c: {
            "robots": robots(
                group(["*"], [("disallow", "/b/")], content_signal="ai-train=yes, search=yes")
            )
        },
    }
)

_kind("content-signal-header", "Content-Signal response header on the HTML pages")(
    {
        "train-no": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "headers": {"html": [["Content-Signal", "ai-train=no, search=yes"]]},
        },
        "all-yes": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "headers": {"html": [["Content-Signal", "ai-train=yes, search=yes, ai-input=yes"]]},
        },
        # y/n belong to Content-Usage; in Content-Signal they mean nothing (signals.md §12.12).
        "yn-values": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "headers": {"html": [["Content-Signal", "ai-train=n, search=y"]]},
        },
        # GPTBot may not crawl, so the header's yes does not reach it.
        "blocked-agent": lambda rng, c: {
            "robots": _gptbot_block(),
            "headers": {"html": [["Content-Signal", "ai-train=yes, ai-input=yes"]]},
        },
    }
)

_kind("content-usage-robots", "IETF aipref Content-Usage lines in robots.txt")(
    {
        "global": lambda rng, c: {
            "robots": robots(group(["*"], [("allow", "/")], content_usage=[(None, "train-ai=n")]))
        },
        "path-scoped": lambda rng, c: {
            "robots": robots(
                group(
                    ["*"],
                    [("allow", "/")],
                    content_usage=[(None, "train-ai=n"), ("/b/", "train-ai=y")],
                )
            )
        },
        "search": lambda rng, c: {
            "robots": robots(
                group(["*"], [("allow", "/")], content_usage=[(None, "train-ai=n, search=y")])
            )
        },
        "agent-group": lambda rng, c: {
            "robots": robots(
                group(["GPTBot"], [("allow", "/")], content_usage=[(None, "train-ai=n")]),
                ALLOW_ALL,
            )
        },
        # draft-ietf-aipref-vocab-08: ai-use; search=y is not limited by train-ai/ai-use=n.
        "vocab-08": lambda rng, c: {
            "robots": robots(
                group(
                    ["*"],
                    [("allow", "/")],
                    content_usage=[(None, "train-ai=n, ai-use=n, search=y")],
                )
            )
        },
        # A -03/-04 label: bots=n covers every category the current labels leave unknown.
        "legacy-bots": lambda rng, c: {
            "robots": robots(
                group(["*"], [("allow", "/")], content_usage=[(None, "bots=n, search=y")])
            )
        },
    }
)

_kind("content-usage-header", "Content-Usage response header (RFC 9651 dictionary)")(
    {
        "train-n": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "headers": {"html": [["Content-Usage", "train-ai=n"]]},
        },
        "train-n-search-y": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "headers": {"all": [["Content-Usage", "train-ai=n, search=y"]]},
        },
        # Upper-case key: the dictionary does not parse, every label stays unknown (aipref §6.1).
        "malformed": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "headers": {"html": [["Content-Usage", "Train-AI=n"]]},
        },
        "string-value": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "headers": {"html": [["Content-Usage", 'train-ai="n"']]},
        },
        "ai-use-n": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "headers": {"html": [["Content-Usage", "ai-use=n"]]},
        },
        # -01 labels: ai (training) and inference (answer-time input), read because the
        # current labels say nothing about those categories.
        "legacy-labels": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "headers": {"html": [["Content-Usage", "ai=n, inference=y"]]},
        },
    }
)


def _tdm(*rules: tuple[str, Any] | tuple[str, Any, str]) -> dict[str, Any]:
    out = []
    for rule in rules:
        item: dict[str, Any] = {"location": rule[0], "tdm-reservation": rule[1]}
        if len(rule) > 2:
            item["tdm-policy"] = rule[2]
        out.append(item)
    return {"rules": out}


POLICY_URL = "{origin}/policy/tdm.json"
MISSING_POLICY_URL = "{origin}/policy/missing.json"

_kind("tdmrep-file", "/.well-known/tdmrep.json rules (first match wins)")(
    {
        "reserve-all": lambda rng, c: {"robots": robots(ALLOW_ALL), "tdmrep": _tdm(("/", 1))},
        "allow-all": lambda rng, c: {"robots": robots(ALLOW_ALL), "tdmrep": _tdm(("/", 0))},
        "path-scoped": lambda rng, c: {"robots": robots(ALLOW_ALL), "tdmrep": _tdm(("/b/", 1))},
        # The "/" rule matches first: "/b/" can never apply (signals.md §1.2 shadowing).
        "shadowing": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "tdmrep": _tdm(("/", 1), ("/b/", 0)),
        },
        "first-match": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "tdmrep": _tdm(("/b/", 0), ("/", 1)),
        },
        "image-rule": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "tdmrep": _tdm(("/img/*.jpg", 0), ("/", 1)),
        },
        "with-policy": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "tdmrep": _tdm(("/", 1, POLICY_URL)),
        },
        "policy-missing": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "tdmrep": _tdm(("/", 1, MISSING_POLICY_URL)),
        },
    }
)

_kind("tdmrep-header", "tdm-reservation / tdm-policy response headers")(
    {
        "reserve": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "headers": {"all": [["tdm-reservation", "1"]]},
        },
        "allow": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "headers": {"all": [["tdm-reservation", "0"]]},
        },
        "with-policy": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "headers": {"html": [["tdm-reservation", "1"], ["tdm-policy", POLICY_URL]]},
        },
        # Only 0 and 1 are valid: "yes" leaves the property unset (TDMRep §1.1).
        "invalid-value": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "headers": {"html": [["tdm-reservation", "yes"]]},
        },
    }
)

_kind("tdmrep-meta", "TDMRep <meta> tags in the HTML head")(
    {
        "reserve": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "meta": {"html": [["tdm-reservation", "1"]]},
        },
        "allow": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "meta": {"html": [["tdm-reservation", "0"]]},
        },
        "with-policy": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "meta": {"html": [["tdm-reservation", "1"], ["tdm-policy", POLICY_URL]]},
        },
    }
)

_kind("tdmrep-layers", "TDMRep in several layers: file, then header, then meta override")(
    {
        "file1-header0": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "tdmrep": _tdm(("/", 1)),
            "headers": {"html": [["tdm-reservation", "0"]]},
        },
        "file0-meta1": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "tdmrep": _tdm(("/", 0)),
            "meta": {"html": [["tdm-reservation", "1"]]},
        },
        # A header with only tdm-policy keeps the file's reservation (absence never resets).
        "file1-header-policy-only": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "tdmrep": _tdm(("/", 1)),
            "headers": {"all": [["tdm-policy", POLICY_URL]]},
        },
        "header1-meta0": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "headers": {"all": [["tdm-reservation", "1"]]},
            "meta": {"/": [["tdm-reservation", "0"]]},
        },
    }
)

_kind("aitxt-spawning", "Spawning ai.txt")(
    {
        "block-all": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "aitxt": {
                "dialect": "spawning",
                "groups": [group(["*"], [("disallow", "/"), ("disallow", "*")])],
            },
        },
        # Images allowed, text disallowed (the generator's per-extension form, signals.md §4.1).
        "extensions": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "aitxt": {
                "dialect": "spawning",
                "groups": [
                    group(
                        ["*"],
                        [
                            ("allow", "*.jpg"),
                            ("allow", "*.png"),
                            ("disallow", "*.html"),
                            ("disallow", "*.txt"),
                            ("disallow", "/"),
                        ],
                    )
                ],
            },
        },
        "allow-all": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "aitxt": {"dialect": "spawning", "groups": [group(["*"], [("allow", "/")])]},
        },
        "agent-scoped": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "aitxt": {
                "dialect": "spawning",
                "groups": [_block(["GPTBot"]), group(["*"], [("allow", "/")])],
            },
        },
        # No /ai.txt: the file at /.well-known/ai.txt is read instead (the fallback location).
        "well-known": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "aitxt_well_known": {
                "dialect": "spawning",
                "groups": [group(["*"], [("disallow", "/")])],
            },
        },
        # Both locations: /ai.txt answers, so /.well-known/ai.txt is never read.
        "both-locations": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "aitxt": {"dialect": "spawning", "groups": [group(["*"], [("allow", "/")])]},
            "aitxt_well_known": {
                "dialect": "spawning",
                "groups": [group(["*"], [("disallow", "/")])],
            },
        },
        # Spawning's WordPress plugin writes stray "/" lines (signals.md §4.1).
        "stray-slash": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "aitxt": {
                "dialect": "spawning",
                "stray_slash": True,
                "groups": [group(["*"], [("disallow", "*.html"), ("disallow", "/")])],
            },
        },
    }
)

_kind("aitxt-dialect", "ai.txt in a non-Spawning dialect: reported, never read as permissions")(
    {
        "markdown": lambda rng, c: {"robots": robots(ALLOW_ALL), "aitxt": {"dialect": "markdown"}},
        "key-value": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "aitxt": {"dialect": "key-value"},
        },
    }
)

_kind("noai", "noai / noimageai in meta robots and X-Robots-Tag")(
    {
        "meta": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "meta": {"html": [["robots", "noai, noimageai"]]},
        },
        "header": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "headers": {"html": [["X-Robots-Tag", "noai"]]},
        },
        "mixed-case": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "headers": {"all": [["X-Robots-Tag", "NoAI"]]},
        },
        "with-noindex": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "headers": {"html": [["X-Robots-Tag", "noindex"], ["X-Robots-Tag", "noai"]]},
        },
        "scoped-header": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "headers": {"html": [["X-Robots-Tag", "GPTBot: noai"]]},
        },
        "scoped-meta": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "meta": {"html": [["GPTBot", "noai"]]},
        },
        "noimageai-image": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "headers": {"image": [["X-Robots-Tag", "noimageai"]]},
        },
        # noimageai on an HTML page reserves nothing for that page.
        "noimageai-meta": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "meta": {"html": [["robots", "noimageai"]]},
        },
        # noml is read as noai.
        "noml-meta": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "meta": {"html": [["robots", "noml"]]},
        },
        "noml-header": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "headers": {"all": [["X-Robots-Tag", "noml"]]},
        },
        # A meta tag named for a registry agent, with an entry that is no directive: read.
        "registry-agent-meta": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "meta": {"html": [["ClaudeBot", "noml, notrain"], ["CCBot", "nofollow"]]},
        },
    }
)

_kind("search-engine", "Bing's and Google's own AI readings of robots directives")(
    {
        # Bing: noarchive / nocache -> not in Copilot answers, not for training (bingbot only).
        "bing-noarchive": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "meta": {"html": [["robots", "noarchive"]]},
        },
        "bing-nocache-scoped": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "headers": {"html": [["X-Robots-Tag", "bingbot: nocache"]]},
        },
        # Google: nosnippet / max-snippet:0 -> no direct input to AI Overviews (Googlebot only).
        "google-nosnippet": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "meta": {"html": [["googlebot", "nosnippet"]]},
        },
        "google-max-snippet-0": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "headers": {"all": [["X-Robots-Tag", "max-snippet:0"]]},
        },
        "google-max-snippet-50": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "meta": {"html": [["robots", "max-snippet:50"]]},
        },
    }
)

# Rights metadata embedded in the site's image (/img/1.jpg), made by testing/media.py.
_kind("media", "rights metadata in the image: IPTC plus:DataMining (XMP), C2PA / CAWG")(
    {
        "xmp-aiml": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "image_media": {
                "xmp": "http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-AIMLTRAINING",
                "form": "element",
            },
        },
        # The English label ExifTool writes, in the attribute form.
        "xmp-label-except-search": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "image_media": {
                "xmp": "Prohibited except for search engine indexing",
                "form": "attribute",
            },
        },
        "c2pa-cawg": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "image_media": {
                "c2pa": "cawg.training-mining",
                "entries": {
                    "cawg.ai_generative_training": "notAllowed",
                    "cawg.ai_inference": "allowed",
                },
            },
        },
        "c2pa-legacy": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "image_media": {
                "c2pa": "c2pa.training-mining",
                "entries": {"c2pa.data_mining": "constrained"},
            },
        },
    }
)

LICENSE_URL = "{origin}/license.xml"


def rsl_content(url: str, *licences: dict[str, Any], server: str | None = None) -> dict[str, Any]:
    """One RSL <content> element as recipe data (render.py writes it, truth.py reads it)."""
    return {"url": url, "server": server, "licenses": list(licences)}


def rsl_licence(
    permits: Sequence[str] | None = None,
    prohibits: Sequence[str] = (),
    *,
    users: Sequence[str] = (),
    payment: str | None = None,
) -> dict[str, Any]:
    """One <license>: usage tokens permitted (None: no <permits type="usage">) and prohibited,
    users permitted (a condition), a payment type (None: no <payment>, free)."""
    return {
        "permits": None if permits is None else list(permits),
        "prohibits": list(prohibits),
        "users": list(users),
        "payment": payment,
    }


# The licence every site serves at /license.xml unless its recipe gives another
# ("rsl_document"): RSL 1.0's own first example shape, prohibiting AI training.
DEFAULT_RSL_DOCUMENT: list[dict[str, Any]] = [rsl_content("/", rsl_licence(prohibits=["ai-train"]))]

_kind("rsl", "RSL licence discovery: robots.txt License:, Link header, <link rel=license>")(
    {
        "robots-license": lambda rng, c: {"robots": robots(ALLOW_ALL, license=[LICENSE_URL])},
        # Search free; AI training and input only against a subscription (RSL 1.0 §3.6).
        "paid-ai": lambda rng, c: {
            "robots": robots(ALLOW_ALL, license=[LICENSE_URL]),
            "rsl_document": [
                rsl_content(
                    "/",
                    rsl_licence(["search"]),
                    rsl_licence(["ai-train", "ai-input"], payment="subscription"),
                )
            ],
        },
        # Longest <content url> wins: /a/* prohibits every AI use, the rest permits all free.
        "path-scoped": lambda rng, c: {
            "robots": robots(ALLOW_ALL, license=[LICENSE_URL]),
            "rsl_document": [
                rsl_content("/", rsl_licence(["all"])),
                rsl_content("/a/*", rsl_licence(prohibits=["ai-all"])),
            ],
        },
        # Permitted to non-commercial users only: says nothing about a given crawler.
        "conditional": lambda rng, c: {
            "robots": robots(ALLOW_ALL, license=[LICENSE_URL]),
            "rsl_document": [rsl_content("/", rsl_licence(["ai-all"], users=["non-commercial"]))],
        },
        # A licence server: a licence must be obtained even if free (RSL 1.0 §3.2).
        "server": lambda rng, c: {
            "robots": robots(ALLOW_ALL, license=[LICENSE_URL]),
            "rsl_document": [
                rsl_content("/", rsl_licence(["ai-train"]), server="https://rsl.example/api")
            ],
        },
        # At /rsl.xml with no License: line: non-normative discovery, shown but not applied.
        "rsl-xml-only": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "rsl_xml": [rsl_content("/", rsl_licence(prohibits=["all"]))],
        },
        "link-header": lambda rng, c: {"robots": robots(ALLOW_ALL), "license_link_header": True},
        "link-element": lambda rng, c: {"robots": robots(ALLOW_ALL), "license_link_element": True},
        "all": lambda rng, c: {
            "robots": robots(ALLOW_ALL, license=[LICENSE_URL]),
            "license_link_header": True,
            "license_link_element": True,
        },
    }
)

_kind("conflict", "signals that contradict each other (signals.md §12.4)")(
    {
        "tdm0-robots-gptbot": lambda rng, c: {
            "robots": _gptbot_block(),
            "tdmrep": _tdm(("/", 0)),
        },
        "content-signal-yes-noai": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "headers": {"html": [["Content-Signal", "ai-train=yes, search=yes"]]},
            "meta": {"html": [["robots", "noai"]]},
        },
        "content-usage-yes-tdm1": lambda rng, c: {
            "robots": robots(group(["*"], [("allow", "/")], content_usage=[(None, "train-ai=y")])),
            "tdmrep": _tdm(("/", 1)),
        },
        "aitxt-allow-content-signal-no": lambda rng, c: {
            "robots": robots(group(["*"], [("allow", "/")], content_signal="ai-train=no")),
            "aitxt": {"dialect": "spawning", "groups": [group(["*"], [("allow", "/")])]},
        },
    }
)


def _corpus_params(rng: random.Random, corpus: RobotsCorpus | None, pool: str) -> Params:
    entry = corpus.pick(rng, pool) if corpus else None
    if entry is None or corpus is None:
        # No corpus here: a generated file of the same spirit keeps the mix's proportions.
        return {"robots": robots(_block(_training_agents(rng)), ALLOW_ALL)}
    spec: dict[str, Any] = {"corpus": entry.name}
    # An appended CCBot group decides CCBot's cells, unless the real file already names it.
    if b"ccbot" not in corpus.body(entry.name).lower() and rng.random() < 0.7:
        spec["groups"] = [_block(["CCBot"])]
    params: Params = {"robots": spec}
    if rng.random() < 0.3:
        params["tdmrep"] = _tdm(("/", 1))
    return params


_kind("corpus-robots", "a real robots.txt body from the corpus, chosen by INDEX.tsv flags")(
    {
        "ai-agents": lambda rng, c: _corpus_params(rng, c, "ai-agents"),
        "signals": lambda rng, c: _corpus_params(rng, c, "signals"),
        "any": lambda rng, c: _corpus_params(rng, c, "any"),
    }
)


def _combo(rng: random.Random, corpus: RobotsCorpus | None) -> Params:
    """A robots.txt that lets `*` crawl everything, plus two to four other signals."""
    robots_kind = rng.choice(("robots-ai-block", "content-signal-robots", "content-usage-robots"))
    variant = rng.choice(
        [
            v
            for v in KINDS[robots_kind].variants
            if v not in ("ai-robots-txt", "cloudflare-managed", "on-disallowed-path")
        ]
    )
    params = KINDS[robots_kind].variants[variant](rng, corpus)
    extras = rng.sample(
        [
            ("tdmrep-file", ("reserve-all", "allow-all", "path-scoped", "first-match")),
            ("tdmrep-header", ("reserve", "allow")),
            ("tdmrep-meta", ("reserve", "allow")),
            ("aitxt-spawning", ("block-all", "extensions", "agent-scoped")),
            ("noai", ("meta", "header", "scoped-header", "noimageai-image")),
            ("content-signal-header", ("train-no", "all-yes")),
            ("content-usage-header", ("train-n", "train-n-search-y")),
            ("rsl", ("link-header", "link-element")),
        ],
        rng.randint(2, 4),
    )
    for kind, variants in extras:
        extra = KINDS[kind].variants[rng.choice(variants)](rng, corpus)
        for key, value in extra.items():
            if key == "robots":
                continue
            if key in ("headers", "meta") and key in params:
                merged = {sel: list(vals) for sel, vals in params[key].items()}
                for selector, values in value.items():
                    merged.setdefault(selector, []).extend(values)
                params[key] = merged
            else:
                params[key] = value
    return params


_kind("combo", "several signals on one site (a `*`-crawlable robots.txt plus 2-4 others)")(
    {"mixed": _combo}
)

# ----------------------------------------------------------------------------- broken sites


def _robots_status(status: int) -> Generator:
    return lambda rng, c: {"robots": {**_gptbot_block(), "serve": {"status": status}}}


_kind("robots-5xx", "robots.txt answers 5xx: unreachable, complete disallow", broken=True)(
    {str(status): _robots_status(status) for status in (500, 502, 503)}
)

_kind("robots-4xx", "robots.txt answers 4xx: unavailable, crawl allowed", broken=True)(
    {str(status): _robots_status(status) for status in (401, 403, 410)}
)

_kind("robots-timeout", "robots.txt answers after the slow delay (a client timeout)", broken=True)(
    {"delay": lambda rng, c: {"robots": {**_gptbot_block(), "serve": {"mode": "timeout"}}}}
)

_kind("robots-reset", "robots.txt connection reset mid-response", broken=True)(
    {"reset": lambda rng, c: {"robots": {**_gptbot_block(), "serve": {"mode": "reset"}}}}
)

_kind("robots-soft404", "an HTML page served with 200 at /robots.txt", broken=True)(
    {
        "generated": lambda rng, c: {"robots": {"serve": {"mode": "soft404"}}},
        "corpus-html": lambda rng, c: {
            "robots": {
                "serve": {"mode": "soft404"},
                **({"corpus": rng.choice(c.html_files).name} if c and c.html_files else {}),
            }
        },
    }
)


def _redirected(hops: int, host: str = "same") -> Generator:
    return lambda rng, c: {
        "robots": {**_gptbot_block(), "serve": {"redirects": hops, "redirect_host": host}}
    }


_kind(
    "robots-redirects",
    "robots.txt behind redirects: <=5 hops followed, more unreachable",
    broken=True,
)(
    {
        "ok-1": _redirected(1),
        "ok-5": _redirected(5),
        "cross-host-3": _redirected(3, "other"),
        "too-many-6": _redirected(6),
        "too-many-9": _redirected(9),
        "loop": lambda rng, c: {"robots": {**_gptbot_block(), "serve": {"mode": "redirect-loop"}}},
    }
)

_kind("robots-huge", "robots.txt over 500 KiB (the deciding groups come first)", broken=True)(
    {"600k": lambda rng, c: {"robots": {**_gptbot_block(), "pad_to": HUGE_ROBOTS_SIZE}}}
)

_kind("robots-wrong-type", "a valid robots.txt served with a non-text/plain type", broken=True)(
    {
        "text-html": lambda rng, c: {
            "robots": {**_gptbot_block(), "serve": {"content_type": "text/html; charset=utf-8"}}
        }
    }
)

_kind("robots-garbage", "binary garbage with 200 at /robots.txt", broken=True)(
    {"bytes": lambda rng, c: {"robots": {"serve": {"mode": "garbage"}}}}
)

_kind(
    "robots-quirks",
    "robots.txt a validator flags: orphan rules, bad tokens, typos, BOM",
    broken=True,
)(
    {
        # Rules before any user-agent line belong to no group (RFC 9309 §2.2; Google ignores).
        "rules-before-user-agent": lambda rng, c: {
            "robots": robots(ALLOW_ALL, orphan_rules=[("disallow", "/")])
        },
        # Not an RFC 9309 token: Google keeps "GPTBot", a strict parser matches nothing.
        "invalid-token": lambda rng, c: {
            "robots": robots(group(["GPTBot/1.0"], [("disallow", "/")]), ALLOW_ALL)
        },
        # Google accepts these spellings; a strict parser drops the lines.
        "typos": lambda rng, c: {
            "robots": robots(
                {
                    **group(["GPTBot"], [("disallow", "/")]),
                    "spelling": {"user-agent": "Useragent", "disallow": "Dissallow"},
                },
                ALLOW_ALL,
            )
        },
        "bom-crlf": lambda rng, c: {
            "robots": robots(_block(["CCBot"]), ALLOW_ALL, bom=True, line_ending="\r\n")
        },
    }
)

# Publisher text a report must show as text: an orphan rule carrying an HTML script element. Not
# one of KINDS (the seeded webs and the golden outputs stay as they are); its ground truth is the
# one of `robots-quirks/rules-before-user-agent` (an orphan rule belongs to no group).
MARKUP = "<script>alert(1)</script>"


def markup_in_robots() -> Recipe:
    """A site whose robots.txt line 2 is ``Disallow: /<script>alert(1)</script>``."""
    params = {"robots": robots(ALLOW_ALL, orphan_rules=[("disallow", "/" + MARKUP)])}
    return Recipe("robots-quirks", "markup", params)


def _tdm_raw(raw: str, lenient: list[dict[str, Any]] | None = None) -> Generator:
    spec: dict[str, Any] = {"raw": raw}
    if lenient is not None:
        spec["lenient_rules"] = lenient
    return lambda rng, c: {"robots": robots(ALLOW_ALL), "tdmrep": dict(spec)}


_kind("tdmrep-broken", "tdmrep.json that is not what the spec asks for", broken=True)(
    {
        "soft404": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "tdmrep": {**_tdm(("/", 1)), "serve": {"mode": "soft404"}},
        },
        "invalid-json": _tdm_raw('[{"location": "/", "tdm-reservation": 1'),
        # Not an array: a lenient reader may still take the rule, a strict one ignores the file.
        "single-object": _tdm_raw(
            '{"location": "/", "tdm-reservation": 1}',
            [{"location": "/", "tdm-reservation": 1}],
        ),
        "trailing-comma": _tdm_raw(
            '[{"location": "/", "tdm-reservation": 1},]',
            [{"location": "/", "tdm-reservation": 1}],
        ),
        "string-value": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "tdmrep": _tdm(("/", "1")),
        },
        "bool-value": lambda rng, c: {"robots": robots(ALLOW_ALL), "tdmrep": _tdm(("/", True))},
        "missing-location": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "tdmrep": {
                "rules": [{"tdm-reservation": 1}, {"location": "/b/", "tdm-reservation": 1}]
            },
        },
        "wrong-type": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "tdmrep": {**_tdm(("/", 1)), "serve": {"content_type": "text/html; charset=utf-8"}},
        },
        "5xx": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "tdmrep": {**_tdm(("/", 1)), "serve": {"status": 500}},
        },
    }
)

_kind("aitxt-broken", "ai.txt soft-404, 5xx or served with a wrong type", broken=True)(
    {
        "soft404": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "aitxt": {"dialect": "spawning", "groups": [], "serve": {"mode": "soft404"}},
        },
        "5xx": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "aitxt": {
                "dialect": "spawning",
                "groups": [_block(["*"])],
                "serve": {"status": 503},
            },
        },
        "wrong-type": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "aitxt": {
                "dialect": "spawning",
                "groups": [_block(["*"])],
                "serve": {"content_type": "text/html; charset=utf-8"},
            },
        },
    }
)


def _page_broken(path: str, mode: str) -> Generator:
    return lambda rng, c: {"robots": _gptbot_block(), "serve": {path: {"mode": mode}}}


_kind("page-broken", "a page that times out, resets, loops, bombs or is garbage", broken=True)(
    {
        "timeout": _page_broken("/a/2.html", "timeout"),
        "reset": _page_broken("/a/1.html", "reset"),
        "redirect-loop": _page_broken("/a/2.html", "redirect-loop"),
        "gzip-bomb": _page_broken("/a/1.html", "gzip-bomb"),
        "garbage": _page_broken("/b/1.html", "garbage"),
        "wrong-type-image": lambda rng, c: {
            "robots": _gptbot_block(),
            "serve": {"/a/2.html": {"content_type": "image/png"}},
        },
        "home-reset": _page_broken("/", "reset"),
        "home-timeout": _page_broken("/", "timeout"),
    }
)

# ----------------------------------------------------------------- access outcomes (not in mixes)
# What the origin does instead of serving the file: a bot challenge, 402, a refusal to our
# User-Agent (docs/fetch.md, "Access outcomes"). Weight 0 in every profile: reach them with
# recipe() / every_variant() or a mix.


def _challenge(provider: str, status: int) -> Generator:
    return lambda rng, c: {
        "robots": {
            **_gptbot_block(),
            "serve": {"mode": "challenge", "provider": provider, "status": status},
        }
    }


_kind("access-challenge", "a bot challenge page served instead of robots.txt or the page")(
    {
        "cloudflare-200": _challenge("cloudflare", 200),
        "cloudflare-403": _challenge("cloudflare", 403),
        "datadome-403": _challenge("datadome", 403),
        "akamai-403": _challenge("akamai", 403),
        "page-cloudflare-200": lambda rng, c: {
            "robots": _gptbot_block(),
            "serve": {"/": {"mode": "challenge", "provider": "cloudflare", "status": 200}},
        },
    }
)

_kind("access-payment", "HTTP 402 with a crawler-price and a licence link")(
    {
        "pages-402": lambda rng, c: {
            "robots": _gptbot_block(),
            "serve": {
                path: {"mode": "payment", "status": 402, "license": LICENSE_URL}
                for path in HTML_PAGES
            },
        },
        "robots-402": lambda rng, c: {
            "robots": {
                **_gptbot_block(),
                "serve": {"mode": "payment", "status": 402, "license": LICENSE_URL},
            }
        },
    }
)

_kind("access-refused", "401/403 to our crawler's User-Agent, 200 to every other client")(
    {
        "robots-403-our-ua": lambda rng, c: {
            "robots": {**_gptbot_block(), "serve": {"mode": "refuse-agent", "status": 403}}
        },
        "home-401-our-ua": lambda rng, c: {
            "robots": robots(ALLOW_ALL),
            "serve": {"/": {"mode": "refuse-agent", "status": 401}},
        },
    }
)

# ----------------------------------------------------------------------------------- profiles

_CLEAN_WEIGHTS: dict[str, float] = {
    "plain": 12,
    "no-robots": 6,
    "robots-ai-block": 14,
    "robots-block-all": 3,
    "robots-paths": 4,
    "content-signal-robots": 6,
    "content-signal-header": 3,
    "content-usage-robots": 4,
    "content-usage-header": 3,
    "tdmrep-file": 5,
    "tdmrep-header": 3,
    "tdmrep-meta": 3,
    "tdmrep-layers": 3,
    "aitxt-spawning": 4,
    "aitxt-dialect": 2,
    "noai": 6,
    "rsl": 2,
    "media": 2,
    "conflict": 3,
    "corpus-robots": 8,
    "combo": 6,
}
_BROKEN_WEIGHTS: dict[str, float] = {
    "robots-5xx": 1.5,
    "robots-4xx": 1.0,
    "robots-timeout": 0.5,
    "robots-reset": 0.5,
    "robots-soft404": 1.0,
    "robots-redirects": 1.0,
    "robots-huge": 0.3,
    "robots-wrong-type": 0.5,
    "robots-garbage": 0.5,
    "robots-quirks": 0.8,
    "tdmrep-broken": 1.5,
    "aitxt-broken": 0.7,
    "page-broken": 1.5,
}
PROFILES: dict[str, dict[str, float]] = {
    "default": {**_CLEAN_WEIGHTS, **_BROKEN_WEIGHTS},
    "clean": dict(_CLEAN_WEIGHTS),
    "broken-heavy": {**_CLEAN_WEIGHTS, **{k: v * 10 for k, v in _BROKEN_WEIGHTS.items()}},
}


def recipe(
    kind: str,
    variant: str | None = None,
    *,
    seed: int = 0,
    corpus: RobotsCorpus | None = None,
    **overrides: Any,
) -> Recipe:
    """One recipe of ``kind`` (first variant unless named); ``overrides`` replace params keys."""
    spec = KINDS[kind]
    chosen = variant if variant is not None else next(iter(spec.variants))
    rng = random.Random(f"fixtureweb-recipe/{kind}/{chosen}/{seed}")
    params = spec.variants[chosen](rng, corpus)
    params.update(overrides)
    return Recipe(kind, chosen, params)


def every_variant(corpus: RobotsCorpus | None = None) -> list[Recipe]:
    """One recipe of every variant of every kind, in registry order."""
    return [recipe(k, v, corpus=corpus) for k, kind in KINDS.items() for v in kind.variants]


def generate_recipes(
    sites: int,
    *,
    seed: int = 0,
    profile: str = "default",
    mix: Mapping[str, float] | None = None,
    corpus: RobotsCorpus | None = None,
) -> list[Recipe]:
    """The seeded mix: site ``i`` depends only on (seed, i, weights, corpus)."""
    weights = dict(PROFILES[profile])
    if mix:
        unknown = set(mix) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown fixture kinds in mix: {sorted(unknown)}")
        weights.update(mix)
    kinds = [k for k, w in weights.items() if w > 0]
    cumulative: list[float] = []
    total = 0.0
    for k in kinds:
        total += weights[k]
        cumulative.append(total)
    if not kinds:
        raise ValueError("the mix has no kind with a positive weight")
    recipes = []
    for index in range(sites):
        rng = random.Random(f"fixtureweb/{seed}/{index}")
        kind = rng.choices(kinds, cum_weights=cumulative)[0]
        variant = rng.choice(list(KINDS[kind].variants))
        recipes.append(Recipe(kind, variant, KINDS[kind].variants[variant](rng, corpus)))
    return recipes
