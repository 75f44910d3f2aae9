"""Ground truth: what a reader of the decision table must decide on each fixture site.

Derived from the recipe alone by a deliberately small reasoning that follows the decision table
of issue 3 (summarised in docs/fixture-web.md). It never calls the project's ``decide()``: crawl
tests compare the two. Where a spec leaves a reader a choice (a robots.txt served as HTML, a
tdmrep.json that is one object instead of an array...), every reasonable reading is evaluated
and a cell is asserted only when they all agree; otherwise it is ``None`` (JSON ``null``).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reservation_crawler.testing.render import selectors_for, site_host, site_origin
from reservation_crawler.testing.sites import (
    AGENTS,
    AI_AGENT_TOKENS,
    DEFAULT_RSL_DOCUMENT,
    HTML_PAGES,
    IMAGE_PATH,
    PAGE_DEPTH,
    PAGES,
    PURPOSES,
    Recipe,
    RobotsCorpus,
)

RESERVED, ALLOWED, UNSPECIFIED = "reserved", "allowed", "unspecified"
AI_PURPOSES = ("train-ai", "ai-use")
MAX_ROBOTS_REDIRECTS = 5  # RFC 9309 §2.3.1.2; more is unreachable in the project's table
CONTENT_SIGNAL_PURPOSES = {"ai-train": "train-ai", "ai-input": "ai-use", "search": "search"}
CONTENT_USAGE_PURPOSES = {"train-ai": "train-ai", "ai-use": "ai-use", "search": "search"}
# Labels of aipref vocab-01 ... -07 (signals.md §6.1): (purposes, generality). Within one value
# the most specific label stating a purpose decides it, and only when no current label does.
LEGACY_USAGE_LABELS = {
    "tdm": (("train-ai", "ai-use", "search"), 2),
    "all": (("train-ai", "ai-use", "search"), 2),
    "bots": (("train-ai", "ai-use", "search"), 2),
    "ai": (("train-ai",), 1),
    "ai-output": (("ai-use", "search"), 1),
    "genai": (("train-ai",), 0),
    "train-genai": (("train-ai",), 0),
    "inference": (("ai-use",), 0),
}
# Cloudflare Content-Signal use= (2026): what each level rules out (a ceiling, never a grant).
USE_LEVEL_RESERVES = {
    "immediate": ("train-ai", "ai-use", "search"),
    "reference": ("train-ai", "ai-use"),
    "full": (),
}
NOAI_TOKENS = ("noai", "noml")
# Search engines' own AI readings, for their crawler only: token -> (agents, purposes).
# Bing (blogs.bing.com, Sept 2023): noarchive / nocache. Google (robots meta spec): nosnippet,
# max-snippet:0.
OPERATOR_TOKENS = {
    "noarchive": (("bingbot", "msnbot"), ("train-ai", "ai-use")),
    "nocache": (("bingbot", "msnbot"), ("train-ai", "ai-use")),
    "nosnippet": (("googlebot",), ("ai-use",)),
    "max-snippet": (("googlebot",), ("ai-use",)),
}
# robots meta / X-Robots-Tag directives that contain a colon themselves (signals.md §5).
_COLON_DIRECTIVES = {"unavailable_after", "max-snippet", "max-image-preview", "max-video-preview"}
_NOT_AGENT_META = {"tdm-reservation", "tdm-policy", "viewport", "description", "generator"}


@dataclass(frozen=True, slots=True)
class Ev:
    """One signal's effect on some purposes for one agent (mirrors record.Evidence)."""

    family: str  # robots, content-signal, content-usage, tdmrep-file|header|meta, ai.txt, noai...
    source: str  # robots.txt, ai.txt, tdmrep.json, header, meta
    scope: str  # "*" or the product token the publisher addressed
    effect: str  # reserved | allowed
    purposes: tuple[str, ...]
    raw: str


# ------------------------------------------------------------------------------- matching


def pattern_matches(pattern: str, path: str) -> bool:
    """RFC 9309 §2.2.3 matching for the ASCII patterns the recipes use: ``*`` and a final ``$``."""
    if not pattern:
        return False
    anchored = pattern.endswith("$")
    if anchored:
        pattern = pattern[:-1]
    parts = pattern.split("*")
    if not path.startswith(parts[0]):
        return False
    pos = len(parts[0])
    if len(parts) == 1:
        return pos == len(path) if anchored else True
    for part in parts[1:-1]:
        found = path.find(part, pos)
        if found < 0:
            return False
        pos = found + len(part)
    last = parts[-1]
    if anchored:
        return path.endswith(last) and len(path) - len(last) >= pos
    return path.find(last, pos) >= 0


@dataclass(frozen=True, slots=True)
class Group:
    agents: tuple[str, ...]  # lower-cased
    rules: tuple[tuple[bool, str], ...]  # (allow, pattern)
    content_signal: str | None = None
    content_usage: tuple[tuple[str | None, str], ...] = ()

    @classmethod
    def from_params(cls, data: Mapping[str, Any]) -> Group:
        return cls(
            agents=tuple(a.lower() for a in data["agents"]),
            rules=tuple((verb == "allow", path) for verb, path in data.get("rules") or ()),
            content_signal=data.get("content_signal"),
            content_usage=tuple((p, v) for p, v in data.get("content_usage") or ()),
        )


def select_groups(groups: Sequence[Group], agent: str) -> tuple[str | None, list[Group]]:
    """RFC 9309 §2.2.1: every group naming the agent (merged), else every `*` group."""
    if agent != "*":
        named = [g for g in groups if agent.lower() in g.agents]
        if named:
            return agent, named
    star = [g for g in groups if "*" in g.agents]
    return ("*", star) if star else (None, [])


def longest_match(rules: Iterable[tuple[bool, str]], path: str) -> tuple[bool, str] | None:
    """The winning rule: most octets in the pattern, allow on a tie (RFC 9309 §2.2.2)."""
    best: tuple[bool, str] | None = None
    for allow, pattern in rules:
        if not pattern_matches(pattern, path):
            continue
        if best is None or (len(pattern), allow) > (len(best[1]), best[0]):
            best = (allow, pattern)
    return best


def _google_token(token: str) -> str:
    """Google's robotstxt keeps the leading [A-Za-z_-]+ of a user-agent value (signals.md §2.5)."""
    if token == "*":
        return token
    end = 0
    while end < len(token) and (
        token[end].isascii() and (token[end].isalpha() or token[end] in "-_")
    ):
        end += 1
    return token[:end]


def parse_content_signal(raw: str) -> dict[str, bool]:
    """Well-formed ``key=yes|no`` entries only (contentsignal.py's contract)."""
    out: dict[str, bool] = {}
    for item in raw.split(","):
        key, sep, value = item.strip().partition("=")
        if sep and key.strip() in CONTENT_SIGNAL_PURPOSES and value.strip() in ("yes", "no"):
            out[key.strip()] = value.strip() == "yes"
    return out


def parse_content_usage(raw: str) -> dict[str, bool]:
    """An RFC 9651 dictionary of y/n tokens; a key that does not parse voids the whole field."""
    members = _usage_members(raw)
    return {
        k: v == "y" for k, v in members.items() if k in CONTENT_USAGE_PURPOSES and v in ("y", "n")
    }


def parse_legacy_usage(raw: str) -> dict[str, bool]:
    """Purposes the current labels leave unknown, from earlier drafts' labels (most specific
    label first; at equal generality n wins)."""
    members = _usage_members(raw)
    current = parse_content_usage(raw)
    out: dict[str, bool] = {}
    for purpose in CONTENT_USAGE_PURPOSES.values():
        if purpose in current:
            continue
        stated = [
            (LEGACY_USAGE_LABELS[label][1], value == "y")
            for label, value in members.items()
            if label in LEGACY_USAGE_LABELS
            and value in ("y", "n")
            and purpose in LEGACY_USAGE_LABELS[label][0]
        ]
        if stated:
            out[purpose] = min(stated)[1]
    return out


def parse_use_level(raw: str) -> str | None:
    """The most restrictive known use= level of a Content-Signal value."""
    levels = [
        value.strip().lower()
        for key, sep, value in (item.strip().partition("=") for item in raw.split(","))
        if sep and key.strip().lower() == "use" and value.strip().lower() in USE_LEVEL_RESERVES
    ]
    return min(levels, key=list(USE_LEVEL_RESERVES).index) if levels else None


def _usage_members(raw: str) -> dict[str, str | None]:
    members: dict[str, str | None] = {}
    for item in raw.split(","):
        key, sep, value = item.strip().partition("=")
        key = key.strip()
        if not key or not (key[0].islower() or key[0] == "*"):
            return {}
        if any(not (c.islower() or c.isdigit() or c in "_-.*") for c in key):
            return {}
        members[key] = value.split(";")[0].strip() if sep else None  # last one wins
    return members


def tdm_value(value: Any) -> int | None:
    """Only the numbers 0 and 1 are valid (TDMRep §1.1); "1", true, 2... leave it unset."""
    return value if type(value) is int and value in (0, 1) else None


def tdm_text_value(values: Sequence[str]) -> int | None:
    cleaned = {v.strip() for v in values}
    if len(cleaned) == 1 and (only := cleaned.pop()) in ("0", "1"):
        return int(only)
    return None


# ------------------------------------------------------------------------ readings of a site


@dataclass(frozen=True, slots=True)
class RobotsView:
    """One reading of the site's robots.txt."""

    state: str  # "ok" | "absent" | "unreachable"
    groups: tuple[Group, ...] = ()
    known_agents: frozenset[str] | None = None  # None: all agents decidable (no corpus body)
    licence: tuple[Mapping[str, Any], ...] = ()  # the RSL document a License: line names

    def knows(self, agent: str) -> bool:
        if self.state != "ok" or self.known_agents is None:
            return True
        return agent != "*" and agent.lower() in self.known_agents

    def may_crawl(self, agent: str, path: str) -> bool | None:
        if self.state == "absent":
            return True
        if self.state == "unreachable":
            return False
        if not self.knows(agent):
            return None
        _, groups = select_groups(self.groups, agent)
        rule = longest_match((r for g in groups for r in g.rules), path)
        return rule is None or rule[0]


@dataclass(frozen=True, slots=True)
class AiTxtView:
    groups: tuple[Group, ...]


TdmRules = tuple[Mapping[str, Any], ...]


@dataclass(frozen=True, slots=True)
class PageFacts:
    """The signals one response carries."""

    headers: tuple[tuple[str, str], ...]
    meta: tuple[tuple[str, str], ...]
    is_image: bool
    media: tuple[Ev, ...] = ()  # what the image's embedded rights metadata says

    def header_values(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n.lower() == name]

    def meta_values(self, name: str) -> list[str]:
        return [c for n, c in self.meta if n.lower() == name]

    @property
    def empty(self) -> bool:
        return not self.headers and not self.meta and not self.media


def _serve_of(spec: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return (spec or {}).get("serve") or {}


def _fails(serve: Mapping[str, Any]) -> str | None:
    """Why a resource cannot be read at all, or None."""
    mode = serve.get("mode", "normal")
    status = int(serve.get("status", 200))
    if mode in ("timeout", "reset", "redirect-loop", "challenge"):
        return mode  # a challenge page is not the resource, whatever its status
    if int(serve.get("redirects", 0)) > MAX_ROBOTS_REDIRECTS:
        return "too-many-redirects"
    if status >= 500:
        return f"status-{status}"
    if status >= 400:
        return f"status-{status}"
    return None


class SiteModel:
    """A recipe read the way the decision table reads a site."""

    def __init__(self, recipe: Recipe, corpus: RobotsCorpus | None = None) -> None:
        self.recipe = recipe
        self.params = recipe.params
        self.corpus = corpus
        self.notes: list[str] = []
        self._facts: dict[str, PageFacts | None] = {}
        self.robots_views = self._robots_views()
        self.tdm_readings = self._tdm_readings()
        self.aitxt_readings = self._aitxt_readings()

    # -- origin-level sources

    def _robots_views(self) -> list[RobotsView]:
        spec = self.params.get("robots")
        if spec is None:
            return [RobotsView("absent")]
        serve = _serve_of(spec)
        failure = _fails(serve)
        if failure is not None:
            status = int(serve.get("status", 200))
            if failure.startswith("status-") and status < 500:
                return [RobotsView("absent")]
            return [RobotsView("unreachable")]
        mode = serve.get("mode", "normal")
        if mode in ("soft404", "garbage"):
            # A 200 is parsed (RFC 9309 §2.3.1.1); nothing in it is a rule. A reader may also
            # refuse the body as "not robots.txt": both readings leave crawling allowed.
            self.notes.append(f"robots.txt {mode}: read as an empty file or as no file")
            return [RobotsView("ok"), RobotsView("absent")]
        if mode == "gzip-bomb":
            self.notes.append("robots.txt gzip bomb: every robots.txt-derived cell left open")
            return [RobotsView("ok", known_agents=frozenset())]
        specs = list(spec.get("groups") or ())
        groups = tuple(Group.from_params(g) for g in specs)
        known: frozenset[str] | None = None
        if spec.get("corpus"):
            known = frozenset(a for g in groups for a in g.agents if a != "*")
            self.notes.append(
                "robots.txt is a real corpus body: only agents of the appended groups are decided"
            )
        licence: tuple[Mapping[str, Any], ...] = ()
        if spec.get("license"):
            licence = tuple(self.params.get("rsl_document") or DEFAULT_RSL_DOCUMENT)
        views = [RobotsView("ok", groups, known, licence)]
        if any(g.get("spelling") for g in specs) or any(
            _google_token(a) != a for g in groups for a in g.agents
        ):
            # Google's parser accepts key typos and truncates invalid tokens; RFC 9309 does not.
            self.notes.append("robots.txt typos or invalid tokens: read leniently or strictly")
            lenient = tuple(
                Group(
                    tuple(_google_token(a) for a in g.agents),
                    g.rules,
                    g.content_signal,
                    g.content_usage,
                )
                for g in groups
            )
            strict = tuple(g for g, s in zip(groups, specs, strict=True) if not s.get("spelling"))
            views = [
                RobotsView("ok", lenient, known, licence),
                RobotsView("ok", strict, known, licence),
            ]
        content_type = serve.get("content_type")
        if content_type and not content_type.startswith("text/plain"):
            self.notes.append(f"robots.txt served as {content_type}: read as rules or as no file")
            return [*views, RobotsView("absent")]
        return views

    def _tdm_readings(self) -> list[TdmRules | None]:
        spec = self.params.get("tdmrep")
        if spec is None:
            return [None]
        serve = _serve_of(spec)
        if _fails(serve) or serve.get("mode", "normal") in ("soft404", "garbage", "gzip-bomb"):
            return [None]
        if "raw" in spec:
            lenient = spec.get("lenient_rules")
            if lenient is None:
                return [None]
            self.notes.append("tdmrep.json not a valid array: a lenient reader may use it")
            return [tuple(lenient), None]
        rules = list(spec.get("rules") or ())
        valid = tuple(
            r for r in rules if isinstance(r.get("location"), str) and r["location"].startswith("/")
        )
        readings: list[TdmRules | None] = [valid]
        if len(valid) != len(rules):
            self.notes.append("tdmrep.json rule without a valid location: rule or file dropped")
            readings.append(None)
        content_type = serve.get("content_type")
        if content_type and "json" not in content_type and None not in readings:
            self.notes.append(f"tdmrep.json served as {content_type}: used or ignored")
            readings.append(None)
        return readings

    def _aitxt_spec(self) -> Mapping[str, Any] | None:
        """The ai.txt read: /ai.txt, or /.well-known/ai.txt when /ai.txt is missing (404/410)."""
        root = self.params.get("aitxt")
        fallback = self.params.get("aitxt_well_known")
        if root is None:
            return fallback
        serve = _serve_of(root)
        if serve.get("mode", "normal") == "normal" and int(serve.get("status", 200)) in (404, 410):
            return fallback
        return root

    def _aitxt_readings(self) -> list[AiTxtView | None]:
        spec = self._aitxt_spec()
        if spec is None:
            return [None]
        serve = _serve_of(spec)
        if _fails(serve) or serve.get("mode", "normal") != "normal":
            return [None]
        if spec.get("dialect", "spawning") != "spawning":
            return [None]  # other dialects are reported, never read as permissions
        view = AiTxtView(tuple(Group.from_params(g) for g in spec.get("groups") or ()))
        content_type = serve.get("content_type")
        if content_type and not content_type.startswith("text/plain"):
            self.notes.append(f"ai.txt served as {content_type}: used or ignored")
            return [view, None]
        return [view]

    # -- pages

    def page_serve(self, path: str) -> Mapping[str, Any]:
        return (self.params.get("serve") or {}).get(path) or {}

    def page_facts(self, path: str) -> PageFacts | None:
        """The signals of the page's response, or None when it carries none or never arrives."""
        if path not in self._facts:
            self._facts[path] = self._page_facts(path)
        return self._facts[path]

    def _page_facts(self, path: str) -> PageFacts | None:
        serve = self.page_serve(path)
        if serve.get("mode", "normal") != "normal" or _fails(serve):
            return None
        is_html = path in HTML_PAGES
        headers: list[tuple[str, str]] = []
        meta: list[tuple[str, str]] = []
        for selector in selectors_for(path, is_html=is_html):
            headers.extend((n, v) for n, v in (self.params.get("headers") or {}).get(selector, ()))
            if is_html:
                meta.extend((n, c) for n, c in (self.params.get("meta") or {}).get(selector, ()))
        media = _media_evs(self.params.get("image_media")) if path == IMAGE_PATH else ()
        facts = PageFacts(tuple(headers), tuple(meta), is_image=path == IMAGE_PATH, media=media)
        return None if facts.empty else facts

    def crawler_may_fetch(self, path: str) -> bool | None:
        """May our own crawler (no group of its own: the `*` group) fetch the page?"""
        values = {view.may_crawl("*", path) for view in self.robots_views}
        return values.pop() if len(values) == 1 else None

    # -- decisions

    def cell_readings(self, path: str, agent: str) -> list[tuple[dict[str, str | None], list[Ev]]]:
        facts = self.page_facts(path)
        results = []
        for view, tdm, aitxt in itertools.product(
            self.robots_views, self.tdm_readings, self.aitxt_readings
        ):
            fetch = view.may_crawl("*", path)
            page_options: list[PageFacts | None] = [facts]
            if facts is not None and fetch is not True:
                page_options.append(None)  # a polite crawler never sees this response
            for page in page_options:
                results.append(_evaluate(view, tdm, aitxt, page, path, agent))
        return results

    def cells(self, path: str, agent: str) -> tuple[dict[str, str | None], list[Ev] | None]:
        """Decision per purpose (None where readings disagree) and the evidence if certain."""
        readings = self.cell_readings(path, agent)
        cells: dict[str, str | None] = {}
        for purpose in PURPOSES:
            values = {decisions[purpose] for decisions, _ in readings}
            cells[purpose] = values.pop() if len(values) == 1 else None
        decidable = all(view.knows(agent) for view in self.robots_views)
        evidence = readings[0][1] if len(readings) == 1 and decidable else None
        return cells, evidence


def _evaluate(
    view: RobotsView,
    tdm: TdmRules | None,
    aitxt: AiTxtView | None,
    page: PageFacts | None,
    path: str,
    agent: str,
) -> tuple[dict[str, str | None], list[Ev]]:
    evs: list[Ev] = []
    may_crawl: bool | None
    robots_known = view.knows(agent)
    if view.state == "unreachable":
        evs.append(Ev("robots", "robots.txt", "*", RESERVED, PURPOSES, "unreachable"))
        may_crawl = False
    elif view.state == "absent":
        evs.append(Ev("robots", "robots.txt", "*", ALLOWED, ("crawl",), "no robots.txt"))
        may_crawl = True
    elif not robots_known:
        may_crawl = None
    else:
        scope, groups = select_groups(view.groups, agent)
        rule = longest_match((r for g in groups for r in g.rules), path)
        may_crawl = rule is None or rule[0]
        raw = (
            "no matching rule"
            if rule is None
            else f"{'Allow' if rule[0] else 'Disallow'}: {rule[1]}"
        )
        if may_crawl:
            evs.append(Ev("robots", "robots.txt", scope or "*", ALLOWED, ("crawl",), raw))
            for g in groups:
                if g.content_signal is not None:
                    evs.extend(_content_signal_evs(g.content_signal, "robots.txt", scope or "*"))
            evs.extend(_robots_content_usage_evs(groups, path, scope or "*"))
        else:
            evs.append(Ev("robots", "robots.txt", scope or "*", RESERVED, PURPOSES, raw))

    if may_crawl and page is not None:
        for value in page.header_values("content-signal"):
            evs.extend(_content_signal_evs(value, "header", "*"))
        for value in page.header_values("content-usage"):
            evs.extend(_content_usage_evs(value, "header", "*"))

    evs.extend(_tdm_evs(tdm, page, path))
    evs.extend(_rsl_evs(view, path))
    evs.extend(_aitxt_evs(aitxt, path, agent))
    if page is not None:
        evs.extend(_noai_evs(page, agent))
        evs.extend(page.media)

    decisions: dict[str, str | None] = {}
    for purpose in PURPOSES:
        effects = {e.effect for e in evs if purpose in e.purposes}
        if RESERVED in effects:
            decisions[purpose] = RESERVED
        elif not robots_known and (purpose == "crawl" or view.state == "ok"):
            decisions[purpose] = None  # the real robots.txt could still reserve it
        else:
            decisions[purpose] = ALLOWED if ALLOWED in effects else UNSPECIFIED
    return decisions, evs


def _content_signal_evs(raw: str, source: str, scope: str) -> list[Ev]:
    level = parse_use_level(raw)
    use: list[Ev] = []
    if level is not None:
        limited = USE_LEVEL_RESERVES[level]
        effect = RESERVED if limited else UNSPECIFIED
        use.append(Ev("content-signal-use", source, scope, effect, limited, raw))
    return use + [
        Ev(
            "content-signal",
            source,
            scope,
            ALLOWED if yes else RESERVED,
            (CONTENT_SIGNAL_PURPOSES[key],),
            raw,
        )
        for key, yes in parse_content_signal(raw).items()
    ]


def _content_usage_evs(raw: str, source: str, scope: str) -> list[Ev]:
    legacy = [
        Ev("content-usage-legacy", source, scope, ALLOWED if yes else RESERVED, (purpose,), raw)
        for purpose, yes in parse_legacy_usage(raw).items()
    ]
    return legacy + [
        Ev(
            "content-usage",
            source,
            scope,
            ALLOWED if yes else RESERVED,
            (CONTENT_USAGE_PURPOSES[key],),
            raw,
        )
        for key, yes in parse_content_usage(raw).items()
    ]


def _robots_content_usage_evs(groups: Sequence[Group], path: str, scope: str) -> list[Ev]:
    """aipref attach §: the longest matching path wins; a rule without a path matches least."""
    candidates: list[tuple[int, str]] = []
    for g in groups:
        for rule_path, raw in g.content_usage:
            if rule_path is None:
                candidates.append((0, raw))
            elif pattern_matches(rule_path, path):
                candidates.append((len(rule_path), raw))
    if not candidates:
        return []
    best = max(priority for priority, _ in candidates)
    out: list[Ev] = []
    for priority, raw in candidates:
        if priority == best:
            out.extend(_content_usage_evs(raw, "robots.txt", scope))
    return out


def _tdm_evs(tdm: TdmRules | None, page: PageFacts | None, path: str) -> list[Ev]:
    value: int | None = None
    layer = ""
    raw = ""
    for rule in tdm or ():
        if pattern_matches(rule["location"], path):
            value = tdm_value(rule.get("tdm-reservation"))
            layer, raw = "tdmrep-file", f"{rule['location']} -> {rule.get('tdm-reservation')!r}"
            break  # the first matching rule wins (TDMRep §1.2)
    if page is not None:
        header = tdm_text_value(page.header_values("tdm-reservation"))
        if header is not None:
            value, layer, raw = header, "tdmrep-header", f"tdm-reservation: {header}"
        meta = tdm_text_value(page.meta_values("tdm-reservation")) if not page.is_image else None
        if meta is not None:
            value, layer, raw = (
                meta,
                "tdmrep-meta",
                f'<meta name="tdm-reservation" content="{meta}">',
            )
    if value is None:
        return []
    source = {"tdmrep-file": "tdmrep.json", "tdmrep-header": "header", "tdmrep-meta": "meta"}[layer]
    return [Ev(layer, source, "*", RESERVED if value == 1 else ALLOWED, AI_PURPOSES, raw)]


# RSL 1.0 usage tokens: the leaves each stands for, and the purpose each leaf is.
_RSL_LEAVES = {
    "all": ("ai-train", "ai-input", "ai-index", "search"),
    "ai-all": ("ai-train", "ai-input", "ai-index"),
}
_RSL_PURPOSE = {
    "ai-train": "train-ai",
    "ai-input": "ai-use",
    "ai-index": "ai-use",
    "search": "search",
}


def _rsl_leaves(tokens: Iterable[str]) -> set[str]:
    return {leaf for t in tokens for leaf in _RSL_LEAVES.get(t, (t,))}


def _rsl_evs(view: RobotsView, path: str) -> list[Ev]:
    """The licence a robots.txt License: line names: its <content> with the longest matching
    url; per use, prohibited or paid (or through a licence server) reserves, free allows, a
    user condition says nothing. Licences of one content are alternatives: the best offer of
    a licence that does not prohibit the use counts. (/rsl.xml alone is never applied.)"""
    if view.state != "ok" or not view.licence:
        return []
    matching = [c for c in view.licence if pattern_matches(c["url"], path)]
    if not matching:
        return []
    content = max(matching, key=lambda c: len(c["url"]))
    best: dict[str, str] = {}
    banned: set[str] = set()
    order = {ALLOWED: 0, UNSPECIFIED: 1, RESERVED: 2}
    for licence in content["licenses"]:
        prohibited = _rsl_leaves(licence["prohibits"])
        banned |= prohibited
        # Only the uses a licence names count: no <permits type="usage"> grants nothing.
        permitted = _rsl_leaves(licence["permits"] or ())
        if licence["users"]:
            effect = UNSPECIFIED
        elif licence["payment"] or content.get("server"):
            effect = RESERVED
        else:
            effect = ALLOWED
        for leaf in permitted - prohibited:
            if leaf not in best or order[effect] < order[best[leaf]]:
                best[leaf] = effect
    for leaf in banned:
        best.setdefault(leaf, RESERVED)
    return [
        Ev("rsl", "rsl", "*", effect, (_RSL_PURPOSE[leaf],), f"{content['url']}: {leaf}")
        for leaf, effect in sorted(best.items())
        if effect != UNSPECIFIED
    ]


# IPTC 2023.1 Data Mining (the PLUS codes, or the label ExifTool writes) -> purpose: effect.
_DMI = {
    "DMI-ALLOWED": {"train-ai": ALLOWED, "ai-use": ALLOWED, "search": ALLOWED},
    "DMI-PROHIBITED-AIMLTRAINING": {"train-ai": RESERVED},
    "DMI-PROHIBITED-GENAIMLTRAINING": {"train-ai": RESERVED},
    "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING": {
        "train-ai": RESERVED,
        "ai-use": RESERVED,
        "search": ALLOWED,
    },
    "DMI-PROHIBITED": {"train-ai": RESERVED, "ai-use": RESERVED, "search": RESERVED},
}
_DMI_LABELS = {
    "prohibited for ai/ml training": "DMI-PROHIBITED-AIMLTRAINING",
    "prohibited for generative ai/ml training": "DMI-PROHIBITED-GENAIMLTRAINING",
    "prohibited except for search engine indexing": "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING",
    "prohibited": "DMI-PROHIBITED",
    "allowed": "DMI-ALLOWED",
}
# CAWG / C2PA training-mining entries -> purposes; constrained counts as notAllowed.
_CAWG = {
    "ai_training": ("train-ai",),
    "ai_generative_training": ("train-ai",),
    "ai_inference": ("ai-use",),
    "data_mining": ("train-ai", "ai-use"),
}


def _media_evs(spec: Mapping[str, Any] | None) -> tuple[Ev, ...]:
    if not spec:
        return ()
    if "xmp" in spec:
        value = spec["xmp"].rsplit("/", 1)[-1]
        code = _DMI_LABELS.get(value.lower(), value)
        return tuple(
            Ev("media", "xmp", "*", effect, (purpose,), spec["xmp"])
            for purpose, effect in _DMI.get(code, {}).items()
        )
    out = []
    for name, use in spec["entries"].items():
        for purpose in _CAWG[name.split(".", 1)[1]]:
            effect = ALLOWED if use == "allowed" else RESERVED
            out.append(Ev("media", "c2pa", "*", effect, (purpose,), f"{name}={use}"))
    return tuple(out)


def _aitxt_evs(aitxt: AiTxtView | None, path: str, agent: str) -> list[Ev]:
    if aitxt is None:
        return []
    scope, groups = select_groups(aitxt.groups, agent)
    rule = longest_match((r for g in groups for r in g.rules), path)
    if rule is None:
        return []
    raw = f"{'Allow' if rule[0] else 'Disallow'}: {rule[1]}"
    return [
        Ev("ai.txt", "ai.txt", scope or "*", ALLOWED if rule[0] else RESERVED, ("train-ai",), raw)
    ]


def _directives(page: PageFacts) -> list[tuple[str, str, str, str]]:
    """(scope, token, source, raw) for X-Robots-Tag headers and robots / agent meta tags."""
    out: list[tuple[str, str, str, str]] = []
    for value in page.header_values("x-robots-tag"):
        scope, body = "*", value
        head, sep, rest = value.partition(":")
        if sep and head.strip().lower() not in _COLON_DIRECTIVES:
            scope, body = head.strip(), rest
        out.extend((scope, t.strip().lower(), "header", value) for t in body.split(","))
    for name, content in page.meta:
        if name.lower() in _NOT_AGENT_META:
            continue
        scope = "*" if name.lower() == "robots" else name
        out.extend((scope, t.strip().lower(), "meta", content) for t in content.split(","))
    return out


def _noai_evs(page: PageFacts, agent: str) -> list[Ev]:
    out = []
    for scope, entry, source, raw in _directives(page):
        if scope != "*" and (agent == "*" or scope.lower() != agent.lower()):
            continue
        token, _sep, value = entry.partition(":")
        token = token.strip()
        if token in NOAI_TOKENS or (token == "noimageai" and page.is_image):
            out.append(Ev(token, source, scope, RESERVED, AI_PURPOSES, raw))
        operator = OPERATOR_TOKENS.get(token)
        if operator is not None and agent.lower() in operator[0]:
            reserves = token != "max-snippet" or value.strip() == "0"
            effect = RESERVED if reserves else UNSPECIFIED
            out.append(Ev(token, source, scope, effect, operator[1], raw))
    return out


# ------------------------------------------------------------------------------ the JSON line


def _families_present(model: SiteModel) -> dict[str, Any]:
    params = model.params
    ok_views = [v for v in model.robots_views if v.state == "ok"]
    groups = [g for v in ok_views for g in v.groups]
    ai_groups = {a for g in groups for a in g.agents if a in AI_AGENT_TOKENS}
    robots_spec = params.get("robots") or {}
    corpus_entry = None
    if ok_views and robots_spec.get("corpus") and model.corpus is not None:
        corpus_entry = model.corpus.by_name.get(robots_spec["corpus"])
        if corpus_entry is not None:
            ai_groups |= {a.lower() for a in corpus_entry.ai_agents}
    corpus_signals = set(corpus_entry.signal_lines) if corpus_entry else set()
    facts = [f for f in (model.page_facts(p) for p in PAGES) if f is not None]
    header_names = {n.lower() for f in facts for n, _ in f.headers}
    meta_names = {n.lower() for f in facts for n, _ in f.meta}
    tokens = {(t, s) for f in facts for s, t, _, _ in _directives(f)}
    aitxt = model._aitxt_spec()
    tdmrep = params.get("tdmrep")
    return {
        "robots-ai-groups": sorted(ai_groups),
        "content-signal": any(g.content_signal for g in groups)
        or "content-signal" in header_names
        or "content-signal" in corpus_signals,
        "content-usage": any(g.content_usage for g in groups)
        or "content-usage" in header_names
        or "content-usage" in corpus_signals,
        "tdmrep-file": tdmrep is not None and _published(tdmrep),
        "tdmrep-header": bool({"tdm-reservation", "tdm-policy"} & header_names),
        "tdmrep-meta": bool({"tdm-reservation", "tdm-policy"} & meta_names),
        "ai.txt": aitxt is not None and _published(aitxt),
        "ai.txt-well-known": aitxt is not None
        and aitxt is params.get("aitxt_well_known")
        and _published(params["aitxt_well_known"]),
        "ai.txt-dialect": (aitxt or {}).get("dialect", "spawning") if aitxt else None,
        "noai": any(t == "noai" for t, _ in tokens),
        "noml": any(t == "noml" for t, _ in tokens),
        "search-engine-ai-control": any(
            t in ("noarchive", "nocache", "nosnippet", "max-snippet:0") for t, _ in tokens
        ),
        "content-signal-use": any(
            g.content_signal and parse_use_level(g.content_signal) for g in groups
        ),
        "content-usage-legacy": any(
            parse_legacy_usage(raw) for g in groups for _path, raw in g.content_usage
        )
        or any(parse_legacy_usage(v) for f in facts for v in f.header_values("content-usage")),
        "noimageai": any(t == "noimageai" for t, _ in tokens),
        "rsl": bool(robots_spec.get("license"))
        or bool(params.get("license_link_header"))
        or bool(params.get("license_link_element")),
    }


def _published(spec: Mapping[str, Any]) -> bool:
    """Served with a 200 body (whatever that body is worth)."""
    return _fails(_serve_of(spec)) is None


def _source_json(spec: Mapping[str, Any] | None, readings: Sequence[str]) -> dict[str, Any]:
    serve = _serve_of(spec)
    failure = None if spec is None else _fails(serve)
    mode = serve.get("mode", "normal")
    status: int | None
    if spec is None:
        status = 404
    elif failure in ("timeout", "reset", "redirect-loop", "too-many-redirects"):
        status = None
    else:
        status = int(serve.get("status", 200))
    if failure is None and mode != "normal":
        failure = mode
    if failure is None and serve.get("content_type"):
        failure = "wrong-type"
    return {
        "readings": list(dict.fromkeys(readings)),
        "status": status,
        "failure": failure,
        "redirects": int(serve.get("redirects", 0)),
        "access": expected_access(spec is not None, serve),
    }


def expected_access(published: bool, serve: Mapping[str, Any]) -> str:
    """What the origin does with our crawler's request (docs/fetch.md, "Access outcomes"):
    fetched, refused, challenge, payment-required or unreachable."""
    mode = serve.get("mode", "normal")
    status = int(serve.get("status", 200)) if published else 404
    if mode == "challenge":
        return "challenge"
    if mode in ("timeout", "reset", "redirect-loop"):
        return "unreachable"
    if int(serve.get("redirects", 0)) > MAX_ROBOTS_REDIRECTS:
        return "unreachable"
    if status == 402:
        return "payment-required"
    if status in (401, 403):
        return "refused"
    if status == 429 or status >= 500:
        return "unreachable"
    return "fetched"


def site_core(recipe: Recipe, corpus: RobotsCorpus | None = None) -> dict[str, Any]:
    """The port-independent ground truth of a recipe, keyed by path (see :func:`site_truth`)."""
    model = SiteModel(recipe, corpus)
    expected: dict[str, dict[str, dict[str, str | None]]] = {}
    conflicts: list[dict[str, Any]] = []
    summary_families: dict[str, dict[str, list[str] | None]] = {}
    certain = True
    for path in PAGES:
        expected[path] = {}
        for agent in AGENTS:
            cells, evidence = model.cells(path, agent)
            expected[path][agent] = cells
            if evidence is None:
                certain = False
                if path == "/":
                    summary_families[agent] = dict.fromkeys(PURPOSES)
                continue
            reserving: dict[str, list[str] | None] = {}
            for purpose in PURPOSES:
                reserved_by = sorted(
                    {e.family for e in evidence if purpose in e.purposes and e.effect == RESERVED}
                )
                allowed_by = sorted(
                    {e.family for e in evidence if purpose in e.purposes and e.effect == ALLOWED}
                )
                reserving[purpose] = reserved_by
                if reserved_by and allowed_by:
                    conflicts.append(
                        {
                            "path": path,
                            "agent": agent,
                            "purpose": purpose,
                            "reserved_by": reserved_by,
                            "allowed_by": allowed_by,
                        }
                    )
            if path == "/":
                summary_families[agent] = reserving

    named = {a.lower(): a for a in AGENTS}
    for g in (recipe.params.get("robots") or {}).get("groups") or ():
        for token in g["agents"]:
            named.setdefault(token.lower(), token)
    disallows: dict[str, bool | None] = {}
    for token in named.values():
        values = {v.may_crawl(token, "/") for v in model.robots_views}
        value = values.pop() if len(values) == 1 else None
        disallows[token] = None if value is None else not value

    pages = []
    for path in PAGES:
        serve = model.page_serve(path)
        mode = serve.get("mode", "normal")
        pages.append(
            {
                "path": path,
                "type": "html" if path in HTML_PAGES else "image",
                "depth": PAGE_DEPTH.get(path),
                "failure": _fails(serve) or (None if mode == "normal" else mode),
                "crawler_may_fetch": model.crawler_may_fetch(path),
                "access": expected_access(True, serve),
            }
        )
    robots_spec = recipe.params.get("robots")
    return {
        "kind": recipe.kind,
        "variant": recipe.variant,
        "params": recipe.params,
        "reached": _fails(model.page_serve("/")) is None,
        "sources": {
            "robots.txt": _source_json(robots_spec, [v.state for v in model.robots_views]),
            "ai.txt": _source_json(
                recipe.params.get("aitxt"),
                ["read" if r is not None else "ignored" for r in model.aitxt_readings],
            ),
            "tdmrep.json": _source_json(
                recipe.params.get("tdmrep"),
                ["read" if r is not None else "ignored" for r in model.tdm_readings],
            ),
        },
        "families": _families_present(model),
        "pages": pages,
        "expected": expected,
        "conflicts": conflicts if certain else None,
        "summary": {
            "reserved": {
                agent: {
                    p: None if (v := expected["/"][agent][p]) is None else v == RESERVED
                    for p in PURPOSES
                }
                for agent in AGENTS
            },
            "reserving_families": summary_families,
            "robots_disallows_home": disallows,
            "home_conflicts": None
            if not certain
            else sum(1 for c in conflicts if c["path"] == "/"),
        },
        "notes": list(dict.fromkeys(model.notes)),
    }


class TruthCache:
    """Memoizes :func:`site_core` per distinct recipe (most sites share their recipe)."""

    def __init__(self, corpus: RobotsCorpus | None = None, max_entries: int = 20_000) -> None:
        self.corpus = corpus
        self.max_entries = max_entries
        self._cores: dict[str, dict[str, Any]] = {}

    def core(self, recipe: Recipe) -> dict[str, Any]:
        key = json.dumps([recipe.kind, recipe.variant, recipe.params], sort_keys=True)
        core = self._cores.get(key)
        if core is None:
            core = site_core(recipe, self.corpus)
            if len(self._cores) < self.max_entries:
                self._cores[key] = core
        return core


def site_truth(
    index: int,
    recipe: Recipe,
    port: int,
    corpus: RobotsCorpus | None = None,
    *,
    cache: TruthCache | None = None,
    shared: bool = False,
) -> dict[str, Any]:
    """The ground-truth JSON object of site ``index`` (one line of the JSON Lines file).

    With ``shared`` the inner decision dicts are shared with other sites of the same recipe
    (faster; fine for serializing, not for mutating).
    """
    core = cache.core(recipe) if cache is not None else site_core(recipe, corpus)
    origin = site_origin(index, port)
    summary = dict(core["summary"])
    summary["url"] = origin + "/"
    conflicts = core["conflicts"]
    return {
        "site": index,
        "origin": origin,
        "host": site_host(index),
        **{k: core[k] for k in ("kind", "variant", "params", "reached", "sources", "families")},
        "pages": [{"url": origin + page["path"], **page} for page in core["pages"]],
        "expected": {
            origin + path: per_agent
            if shared
            else {agent: dict(cells) for agent, cells in per_agent.items()}
            for path, per_agent in core["expected"].items()
        },
        "conflicts": None
        if conflicts is None
        else [{"url": origin + c["path"], **c} for c in conflicts],
        "summary": summary,
        "notes": core["notes"],
    }
