"""Spawning ``/ai.txt``: robots.txt-style rules about AI training, and the files that only share
the name.

Spawning published no grammar, so we read its dialect as robots.txt (RFC 9309 groups, longest
match, allow wins ties) with two tolerances taken from its own generator: patterns without a
leading ``/`` such as ``*.jpg``, and stray lines that are just ``/``. Files in other dialects
(Markdown / llms.txt-style prose, ad-hoc ``Key: value`` policies, HTML pages, empty or binary
bodies) are recognised, reported, and never read as permissions. Our readings: ``docs/aitxt.md``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from reservation_crawler.model.findings import Finding, Severity, listing, spec_maker
from reservation_crawler.signals.patterns import (
    MATCH_WORK_LIMIT,
    WORK_LIMIT_EXCEEDED,
    PathPattern,
    PatternSet,
    compile_pattern,
    normalize_url_path,
)
from reservation_crawler.signals.sniff import looks_like_html

__all__ = [
    "DIALECTS",
    "INTERPRETABLE_DIALECTS",
    "AiTxt",
    "AiTxtGroup",
    "AiTxtMatch",
    "AiTxtRule",
    "parse",
]

DIALECTS = ("spawning", "robots", "markdown", "key-value", "html", "empty", "unknown")
INTERPRETABLE_DIALECTS = frozenset({"spawning", "robots"})

_SOURCE = "ai.txt"
_CODE = "aitxt"
_UNSEEN = object()
_SELECTED_AGENTS = 256  # distinct queried agents remembered per file
_RUN_MIN = 4  # "*.ext" rules in a row answered by one lookup per "." of the path
# Above this many rules of one agent, or wildcard pieces in all, they are matched through a
# PatternSet (cost per URL independent of the rule count, bounded work) instead of one by one.
_PATTERN_SET_RULES = 256
_PATTERN_SET_PIECES = 512
# The answer (line 0: no file line) when matching would exceed MATCH_WORK_LIMIT: fail closed.
_LIMIT_TEXT = (
    f"more than {MATCH_WORK_LIMIT:,} wildcard pattern pieces would have to be examined to "
    "decide this URL; disallowed (fail closed)"
)


_spec = spec_maker(_SOURCE, _CODE)


# --- the file is not in the ai.txt dialect (nothing in it is read) ------------------------------
MARKDOWN_DIALECT = _spec(
    "markdown-dialect",
    Severity.WARNING,
    "ai.txt is a Markdown or prose document, not ai.txt rules; nothing in it is read",
    "Spawning's ai.txt is a list of robots.txt-style rules (User-Agent, Allow, Disallow). This "
    "file is written for people or language models to read, with headings, lists and prose, "
    "like llms.txt. Whatever it says about AI use, no crawler can read it as a permission or a "
    "reservation.",
    "Move the prose to /llms.txt. To reserve AI training machine-readably, serve ai.txt as "
    "rules (User-Agent: * then Disallow: /), or use robots.txt, TDMRep or Content-Usage.",
    "# About this site\n## Permissions\n- Citation: allowed\n- Training: not allowed",
)
KEY_VALUE_DIALECT = _spec(
    "key-value-dialect",
    Severity.ERROR,
    "ai.txt is an ad-hoc Key: value policy, not ai.txt rules; nothing in it is read",
    "The file states its policy as Key: value lines (Training: deny, AI-Policy: <url>, "
    "Allow: <prose>...). No specification defines these keys, and Allow/Disallow values that are "
    "not paths match nothing, so no crawler can read them as a permission or a reservation.",
    "Write the rules Spawning's format understands: a User-Agent line, then Allow or Disallow "
    "lines whose values are paths or patterns (Disallow: / reserves everything). Keep the other "
    "statements as # comments, or state them with TDMRep or Content-Usage.",
    "User-Agent: *\nTraining: deny\nAllow: AI training and indexing",
)
HTML_CONTENT = _spec(
    "html-content",
    Severity.WARNING,
    "/ai.txt answered with an HTML page; it is not read",
    "The response is an HTML document (by its Content-Type or by its first bytes), typically a "
    "'page not found' page or a single-page app's index served with status 200. It is not an "
    "ai.txt file, so nothing is reserved or allowed by it.",
    "If you publish no ai.txt, answer /ai.txt with 404. If you do, serve the file itself as "
    "text/plain.",
    "HTTP/1.1 200 OK\nContent-Type: text/html\n\n<!doctype html><title>Not found</title>",
)
UNKNOWN_DIALECT = _spec(
    "unknown-dialect",
    Severity.ERROR,
    "ai.txt is neither ai.txt rules nor a recognisable document; it is not read",
    "The body is binary data, XML, or text without any ai.txt rule, Key: value line or Markdown "
    "structure. Nothing in it can be read as a permission or a reservation.",
    "Serve a text/plain file of ai.txt rules (User-Agent, Allow, Disallow), or answer 404.",
    "\\x89PNG\\r\\n\\x1a\\n... (an image served at /ai.txt)",
)
EMPTY_FILE = _spec(
    "empty-file",
    Severity.INFO,
    "ai.txt has no rules: it is empty or holds only comments",
    "An ai.txt without User-Agent/Allow/Disallow lines states nothing: AI use of the site is "
    "neither reserved nor allowed by it.",
    "Add rules (User-Agent: * and Disallow: / to reserve everything), or remove the file and "
    "answer 404.",
    "# Spawning AI\n",
)

# --- line-level findings in a file that is read -------------------------------------------------
STRAY_SLASH_LINE = _spec(
    "stray-slash-line",
    Severity.INFO,
    "A line consisting of just '/' is ignored",
    "Spawning's WordPress plugin writes a line holding only '/' after its header and after "
    "'User-agent: *'. It is not a directive: readers skip it. It changes nothing, but stricter "
    "parsers may report the file as malformed.",
    "Delete the line.",
    "# Spawning AI\n/\n\nUser-agent: *\n/\nDisallow: *.jpg",
)
RULES_BEFORE_USER_AGENT = _spec(
    "rules-before-user-agent",
    Severity.WARNING,
    "An Allow or Disallow line comes before any User-Agent line and applies to no one",
    "As in robots.txt (RFC 9309 section 2.1), a rule belongs to the group of the User-Agent "
    "lines above it. A rule above the first User-Agent line is in no group, so it is ignored.",
    "Put 'User-Agent: *' (or the product tokens you mean) above the rules.",
    "Disallow: /\n# no User-Agent line above",
)
UNKNOWN_DIRECTIVE = _spec(
    "unknown-directive",
    Severity.WARNING,
    "A Key: value line is not an ai.txt directive and is ignored",
    "ai.txt understands User-Agent, Allow and Disallow. Other keys (ai-training: disallowed, "
    "Training-Opt-Out: true, Contact: ...) have no defined meaning, so no crawler acts on them "
    "even when they look like a reservation.",
    "Express the intent as Allow/Disallow rules, keep the rest as # comments, or state it with "
    "TDMRep or a Content-Usage header.",
    "ai-training: disallowed",
)
ROBOTS_TXT_RECORD = _spec(
    "robots-txt-record",
    Severity.INFO,
    "A robots.txt record (Sitemap, Crawl-delay, Content-Usage...) in ai.txt is ignored",
    "Sitemap, Crawl-delay, Host, Content-Usage, Content-Signal and License are robots.txt "
    "records. In ai.txt nobody reads them: a Content-Usage or Content-Signal preference written "
    "here reserves nothing.",
    "Move the line to /robots.txt (Content-Usage and Content-Signal inside the user-agent group "
    "they are meant for).",
    "User-Agent: *\nAllow: /\nContent-Usage: train-ai=n",
)
INVALID_PATTERN = _spec(
    "invalid-pattern",
    Severity.WARNING,
    "An Allow or Disallow value is not a path pattern and matches nothing",
    "Rule values are URL paths or patterns: they start with '/' (Disallow: /private/) or with "
    "'*' (Disallow: *.jpg). A value such as 'AI training and indexing' or 'private/' matches no "
    "URL, so the rule has no effect.",
    "Write a path starting with '/' or a pattern starting with '*'. Put explanations in # "
    "comments.",
    "Allow: AI training and indexing",
)
INVALID_LINE = _spec(
    "invalid-line",
    Severity.WARNING,
    "A line is neither a directive nor a comment and is ignored",
    "Every line of ai.txt is a 'Key: value' directive, a '#' comment or blank. Prose, list items "
    "or a directive without its colon are not understood.",
    "Add the missing colon, or start the line with '#'.",
    "Disallow /private",
)

# --- tokenizing -------------------------------------------------------------------------------

_USER_AGENT = "user-agent"
_ALLOW = "allow"
_DISALLOW = "disallow"
_ROBOTS_RECORDS = frozenset(
    {"sitemap", "crawl-delay", "host", "clean-param", "content-usage", "content-signal", "license"}
)
# A field name as people write them in Key: value files ("Site-Name", "App Store", "llm_training")
_FIELD_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]*(?: [A-Za-z0-9_.\-]+){0,3}")
_MD_HEADING = re.compile(r"#{2,6}[ \t]+\S")
_LIST_ITEM = re.compile(r"(?:[-*+]|\d{1,3}[.)])[ \t]+\S")
_INI_SECTION = re.compile(r"\[[^\]]+\]")
_MD_INLINE = re.compile(r"\]\(|\*\*\S|`[^`]+`")
# Spawning's generator writes one "*.ext" pattern per file extension.
_EXTENSION_PATTERN = re.compile(r"\*\.[A-Za-z0-9]+")
_SPAWNING_HEADER = "spawning ai"
_TOKEN_PREFIX = re.compile(r"[a-z_-]+")
_HTML_MEDIA_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# WHATWG MIME Sniffing §7.1 "rules for identifying an unknown MIME type": the HTML patterns,
# each followed by a tag-terminating byte (space or ">").
_SNIFF_WHITESPACE = "\t\n\x0c\r "
_BINARY_SAMPLE = 8192
_BINARY_RATIO = 0.05


@dataclass(frozen=True, slots=True)
class _Line:
    number: int
    text: str  # the line without its line break and surrounding whitespace
    key: str | None = None  # lower-cased directive/field name when the line is "key: value"
    value: str = ""  # comment removed, stripped
    # blank, comment, heading ("## x"), slash ("/"), field ("key: value"), list-field (a field
    # whose empty value a list continues), continuation, list, section ("[x]"), markdown, prose
    kind: str = "prose"


@dataclass(frozen=True, slots=True)
class AiTxtRule:
    """One Allow/Disallow line of a group."""

    allow: bool
    pattern: PathPattern
    line: int
    raw: str


@dataclass(frozen=True, slots=True)
class AiTxtGroup:
    """User-Agent lines and the rules under them."""

    agents: tuple[str, ...]  # product tokens as written
    lines: tuple[int, ...]  # line numbers of the User-Agent lines
    rules: tuple[AiTxtRule, ...]


@dataclass(frozen=True, slots=True)
class AiTxtMatch:
    """The rule that decided a URL for an agent."""

    allowed: bool
    line: int
    raw: str  # the rule line as written
    agent_group: str  # the User-Agent value whose group applied, as written ("*" for the default)
    pattern: str = ""  # the normalized pattern that matched


@dataclass(frozen=True, slots=True)
class _Selection:
    agent_group: str
    # best first (longest pattern, allow before disallow): tests that return the (immutable,
    # built once) answer of the first rule they match, or None; one test per rule, or per run
    # of "*.ext" rules
    finders: tuple[Callable[[str], AiTxtMatch | None], ...]


@dataclass(frozen=True, slots=True)
class AiTxt:
    """A parsed ``/ai.txt``: its dialect, its groups when it has rules, and what was noticed."""

    dialect: str
    findings: tuple[Finding, ...] = ()
    groups: tuple[AiTxtGroup, ...] = ()
    _by_agent: Mapping[str, _Selection] = field(
        default_factory=lambda: MappingProxyType({}), repr=False, compare=False
    )
    # queried agent, as given -> its selection (a memo of _select; bounded)
    _selected: dict[str, _Selection | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def interpretable(self) -> bool:
        """Only the ``spawning`` and ``robots`` dialects are read as permissions."""
        return self.dialect in INTERPRETABLE_DIALECTS

    def agent_group(self, agent: str) -> str | None:
        """The User-Agent value (as written) whose group applies to ``agent``, or None."""
        selection = self._select(agent)
        return selection.agent_group if selection else None

    def match(self, url: str, agent: str) -> AiTxtMatch | None:
        """The rule deciding ``url`` for the product token ``agent``; None when none applies.

        Group selection as RFC 9309 §2.2.1 (case-insensitive token, else the ``*`` groups, all
        groups of one token merged); longest pattern wins, allow wins a tie (§2.2.2).
        """
        selection = self._select(agent)
        if selection is None:
            return None
        path = normalize_url_path(url)
        for find in selection.finders:
            answer = find(path)
            if answer is not None:
                return answer
        return None

    def _select(self, agent: str) -> _Selection | None:
        selected = self._selected
        selection = selected.get(agent, _UNSEEN)
        if selection is _UNSEEN:
            if not self.interpretable:
                selection = None
            else:
                selection = self._by_agent.get(_agent_key(agent) or "*")
                if selection is None:
                    selection = self._by_agent.get("*")
            if len(selected) >= _SELECTED_AGENTS:
                selected.clear()
            selected[agent] = selection
        return selection  # type: ignore[return-value]


def _agent_key(agent: str) -> str:
    """How a queried agent is compared: case-folded; a version is dropped ("GPTBot/1.2")."""
    agent = agent.strip()
    if agent != "*":
        agent = agent.split("/", 1)[0].strip()
    return agent.casefold()


# --- parsing -----------------------------------------------------------------------------------


def parse(body: bytes | str, *, content_type: str | None = None) -> AiTxt:
    """Read one ``/ai.txt`` response body. Never raises on content."""
    if content_type is not None and _media_type(content_type) in _HTML_MEDIA_TYPES:
        return AiTxt("html", (HTML_CONTENT(f"/ai.txt is served as {_media_type(content_type)}"),))
    text, binary = _decode(body)
    if binary:
        return AiTxt("unknown", (UNKNOWN_DIALECT("ai.txt holds binary data, not text"),))
    if not text.strip(_SNIFF_WHITESPACE + "\x0b"):
        return AiTxt("empty", (EMPTY_FILE("ai.txt is empty"),))
    sniffed = _sniff_markup(text)
    if sniffed == "html":
        return AiTxt("html", (HTML_CONTENT("/ai.txt holds an HTML document"),))
    if sniffed == "xml":
        return AiTxt("unknown", (UNKNOWN_DIALECT("ai.txt holds an XML document"),))

    lines = _tokenize(text)
    if any(_is_rule(line) for line in lines):
        return _parse_rules(lines)
    return _classify_other(lines)


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _decode(body: bytes | str) -> tuple[str, bool]:
    """The text (BOM removed) and whether it looks binary."""
    if isinstance(body, bytes):
        if b"\x00" in body[:_BINARY_SAMPLE]:
            return "", True
        text = body.decode("utf-8", errors="replace")
    else:
        text = body
    text = text.removeprefix("\ufeff")
    sample = text[:_BINARY_SAMPLE]
    if not sample:
        return text, False
    odd = sum(
        1
        for ch in sample
        if ch == "\ufffd" or ch == "\x00" or (ch < " " and ch not in "\t\n\r\f\v")
    )
    return text, odd > _BINARY_RATIO * len(sample)


def _sniff_markup(text: str) -> str | None:
    head = text[:1024].lstrip(_SNIFF_WHITESPACE).lower()
    if head.startswith("<?xml"):
        return "html" if "<html" in head else "xml"
    return "html" if looks_like_html(head) else None


def _split_lines(text: str) -> list[str]:
    # RFC 9309 §2.2: lines end with CR, LF or CRLF (str.splitlines would also split on \x0c...).
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _tokenize(text: str) -> list[_Line]:
    lines: list[_Line] = []
    in_list_of: str | None = None  # the field whose empty value a YAML-ish list continues
    for number, raw_line in enumerate(_split_lines(text), start=1):
        stripped = raw_line.strip()
        indented = raw_line[:1] in (" ", "\t")
        if not stripped:
            lines.append(_Line(number, stripped, kind="blank"))
            in_list_of = None
            continue
        if stripped.startswith("#"):
            kind = "heading" if _MD_HEADING.match(stripped) else "comment"
            lines.append(_Line(number, stripped, kind=kind))
            continue
        if in_list_of is not None and (indented or _LIST_ITEM.match(stripped)):
            lines.append(_Line(number, stripped, kind="continuation"))
            continue
        in_list_of = None
        content = stripped.split("#", 1)[0].strip()
        if content == "/":
            lines.append(_Line(number, stripped, kind="slash"))
            continue
        if _LIST_ITEM.match(stripped):
            lines.append(_Line(number, stripped, kind="list"))
            continue
        if _INI_SECTION.fullmatch(stripped):
            lines.append(_Line(number, stripped, kind="section"))
            continue
        if stripped.startswith(("```", "|", ">")):
            lines.append(_Line(number, stripped, kind="markdown"))
            continue
        key, colon, value = content.partition(":")
        key = key.strip()
        value = value.strip()
        if colon and _FIELD_KEY.fullmatch(key) and not value.startswith("//"):
            lines.append(_Line(number, stripped, key=key.lower(), value=value, kind="field"))
            if not value:
                in_list_of = key
            continue
        lines.append(_Line(number, stripped, kind="prose"))
    return _mark_list_fields(lines)


def _mark_list_fields(lines: list[_Line]) -> list[_Line]:
    """A field with an empty value followed by a list ('Allow:' then '- x') is not a rule."""
    out = list(lines)
    for index, line in enumerate(out):
        if line.kind == "field" and not line.value:
            following = out[index + 1] if index + 1 < len(out) else None
            if following is not None and following.kind == "continuation":
                out[index] = _Line(
                    line.number, line.text, key=line.key, value="", kind="list-field"
                )
    return out


def _is_rule(line: _Line) -> bool:
    """An Allow/Disallow line with a path pattern (or empty value): the mark of the dialect."""
    return (
        line.kind == "field"
        and line.key in (_ALLOW, _DISALLOW)
        and (not line.value or line.value[0] in "/*")
    )


def _parse_rules(lines: list[_Line]) -> AiTxt:
    findings: list[Finding] = []
    groups: list[tuple[list[str], list[int], list[AiTxtRule]]] = []
    current: tuple[list[str], list[int], list[AiTxtRule]] | None = None
    last_was_agent = False
    spawning = False
    for line in lines:
        kind = line.kind
        if kind in ("blank",):
            continue
        if kind in ("comment", "heading"):
            spawning = spawning or line.text.lstrip("#").strip().lower().startswith(
                _SPAWNING_HEADER
            )
            continue
        if kind == "slash":
            findings.append(STRAY_SLASH_LINE(line=line.number))
            continue
        if kind not in ("field", "list-field"):
            findings.append(
                INVALID_LINE(f"line {line.number} is not a directive", line=line.number)
            )
            continue
        key = line.key
        if key == _USER_AGENT:
            if not last_was_agent or current is None:
                current = ([], [], [])
                groups.append(current)
            current[0].append(line.value)
            current[1].append(line.number)
            last_was_agent = True
            continue
        if key in (_ALLOW, _DISALLOW):
            last_was_agent = False
            rule = _rule(line, findings)
            if current is None:
                findings.append(RULES_BEFORE_USER_AGENT(line=line.number))
            elif rule is not None:
                current[2].append(rule)
            continue
        # RFC 9309 §2.2.4: other records do not end a group or start one.
        if key in _ROBOTS_RECORDS:
            findings.append(
                ROBOTS_TXT_RECORD(
                    f"'{line.text}' is a robots.txt record; in ai.txt it is ignored",
                    line=line.number,
                )
            )
        else:
            findings.append(
                UNKNOWN_DIRECTIVE(
                    f"'{line.key}' is not an ai.txt directive; the line is ignored",
                    line=line.number,
                )
            )
    frozen = tuple(
        AiTxtGroup(tuple(agents), tuple(numbers), tuple(rules)) for agents, numbers, rules in groups
    )
    spawning = spawning or _generator_shape(frozen)
    return AiTxt(
        "spawning" if spawning else "robots",
        tuple(findings),
        frozen,
        MappingProxyType(_index(frozen)),
    )


def _rule(line: _Line, findings: list[Finding]) -> AiTxtRule | None:
    value = line.value
    if not value:
        return None  # "Disallow:" with no value matches nothing (RFC 9309 §2.2.2)
    if value[0] not in "/*":
        findings.append(
            INVALID_PATTERN(
                f"'{value}' is not a path pattern; the rule matches nothing", line=line.number
            )
        )
        return None
    # Spawning writes "*.jpg": with its leading "*" it matches anywhere, see docs/aitxt.md.
    return AiTxtRule(
        allow=line.key == _ALLOW, pattern=compile_pattern(value), line=line.number, raw=line.text
    )


def _generator_shape(groups: Iterable[AiTxtGroup]) -> bool:
    """Spawning's generator: '*.ext' patterns, or its block-all pair 'Disallow: *' + '/'."""
    for group in groups:
        patterns: dict[bool, set[str]] = {True: set(), False: set()}
        for rule in group.rules:
            if _EXTENSION_PATTERN.fullmatch(rule.pattern.raw):
                return True
            patterns[rule.allow].add(rule.pattern.raw)
        if any({"*", "/"} <= raw for raw in patterns.values()):
            return True
    return False


def _index(groups: tuple[AiTxtGroup, ...]) -> dict[str, _Selection]:
    """Per agent (case-folded): the merged rules of all its groups, best first."""
    merged: dict[str, tuple[str, list[AiTxtRule]]] = {}
    for group in groups:
        for agent in group.agents:
            for key in _value_keys(agent):
                _, rules = merged.setdefault(key, (agent, []))
                rules.extend(group.rules)
    return {
        key: _Selection(written, _finders(sorted(rules, key=_precedence), written))
        for key, (written, rules) in merged.items()
    }


def _finders(
    rules: list[AiTxtRule], agent_group: str
) -> tuple[Callable[[str], AiTxtMatch | None], ...]:
    """The match tests of rules sorted best first; runs of "*.ext" rules become one test."""
    pieces = sum(len(rule.pattern.pieces or ()) for rule in rules)
    if len(rules) > _PATTERN_SET_RULES or pieces > _PATTERN_SET_PIECES:
        return (_indexed_finder(rules, agent_group),)
    finders: list[Callable[[str], AiTxtMatch | None]] = []
    run: list[tuple[str, AiTxtMatch]] = []
    for rule in rules:
        answer = _answer(rule, agent_group)
        piece = _dot_piece(rule.pattern)
        if piece is not None:
            run.append((piece, answer))
            continue
        finders.extend(_run_finders(run))
        run = []
        finders.append(_finder(rule.pattern, answer))
    finders.extend(_run_finders(run))
    return tuple(finders)


def _indexed_finder(rules: list[AiTxtRule], agent_group: str) -> Callable[[str], AiTxtMatch | None]:
    """One test for all the rules (sorted best first) through a PatternSet."""
    answers = [_answer(rule, agent_group) for rule in rules]
    first = PatternSet([rule.pattern for rule in rules]).first
    over_limit = AiTxtMatch(False, 0, _LIMIT_TEXT, agent_group)

    def find(path: str) -> AiTxtMatch | None:
        index = first(path)
        if index is None:
            return None
        if index is WORK_LIMIT_EXCEEDED:
            return over_limit
        return answers[index]  # type: ignore[index]

    return find


def _dot_piece(pattern: PathPattern) -> str | None:
    """The piece of an unanchored "*.ext" pattern ("*.jpg" -> ".jpg"), else None."""
    pieces = pattern.pieces
    if pattern.prefix == "" and not pattern.anchored and pieces is not None and len(pieces) == 1:
        piece = pieces[0]
        if piece.startswith("."):
            return piece
    return None


def _run_finders(run: list[tuple[str, AiTxtMatch]]) -> list[Callable[[str], AiTxtMatch | None]]:
    """One test for a run of "*.ext" rules (best first) instead of one per rule.

    The first rule of the run whose piece occurs in the path wins. Every piece starts with
    ".", so each occurrence starts at a "." of the path: look up the path's text at each "."
    for each piece length, rather than searching the path once per rule.
    """
    if len(run) < _RUN_MIN:
        return [_finder_in(piece, answer) for piece, answer in run]
    table: dict[str, tuple[int, AiTxtMatch]] = {}
    for index, (piece, answer) in enumerate(run):
        table.setdefault(piece, (index, answer))
    lengths = tuple(sorted({len(piece) for piece in table}))

    def find(path: str) -> AiTxtMatch | None:
        dot = path.find(".")
        best: tuple[int, AiTxtMatch] | None = None
        while dot >= 0:
            for length in lengths:
                hit = table.get(path[dot : dot + length])
                if hit is not None and (best is None or hit[0] < best[0]):
                    best = hit
            dot = path.find(".", dot + 1)
        return None if best is None else best[1]

    return [find]


def _finder_in(piece: str, answer: AiTxtMatch) -> Callable[[str], AiTxtMatch | None]:
    return lambda path: answer if piece in path else None


def _finder(pattern: PathPattern, answer: AiTxtMatch) -> Callable[[str], AiTxtMatch | None]:
    """``pattern.matches`` returning ``answer``, with the shapes ai.txt is made of ("/", "*",
    "*.jpg$") inlined: a call per rule would dominate ``match``."""
    prefix, pieces, anchored = pattern.prefix, pattern.pieces, pattern.anchored
    if pieces is None and not anchored:
        return lambda path: answer if path.startswith(prefix) else None
    if prefix == "" and pieces == ():
        return lambda path: answer
    if prefix == "" and pieces is not None and len(pieces) == 1:
        (piece,) = pieces
        if anchored:
            return lambda path: answer if path.endswith(piece) else None
        return _finder_in(piece, answer)
    matches = pattern.matches
    return lambda path: answer if matches(path) else None


def _answer(rule: AiTxtRule, agent_group: str) -> AiTxtMatch:
    return AiTxtMatch(
        allowed=rule.allow,
        line=rule.line,
        raw=rule.raw,
        agent_group=agent_group,
        pattern=rule.pattern.normalized,
    )


def _value_keys(value: str) -> tuple[str, ...]:
    """The case-folded tokens a User-Agent value names, read as robots.py reads them: the whole
    value, and its leading run of letters, "-" and "_" ("GPTBot/1.1" and "Foo Bar" name
    "gptbot" and "foo"; "AI2Bot" names itself). A value starting with "*" is the default group.
    """
    if value.startswith("*"):
        return ("*",)
    folded = value.casefold()
    prefix = _TOKEN_PREFIX.match(folded)
    token = prefix.group(0) if prefix else ""
    if token and token != folded:
        return (folded, token)
    return (folded,) if folded else ()


def _precedence(rule: AiTxtRule) -> tuple[int, bool, int]:
    # RFC 9309 §2.2.2: the longest match wins; on equal length allow wins; then file order.
    return (-rule.pattern.priority, not rule.allow, rule.line)


def _classify_other(lines: list[_Line]) -> AiTxt:
    """The dialect of a file without rules: empty, markdown, key-value or unknown."""
    fields = [line for line in lines if line.kind in ("field", "list-field")]
    document = [
        line for line in lines if line.kind in ("heading", "list", "section", "markdown", "prose")
    ]
    markdown = [
        line
        for line in lines
        if line.kind in ("heading", "list", "section", "markdown")
        or (line.kind == "prose" and _MD_INLINE.search(line.text))
    ]
    if not fields and not document:
        return AiTxt("empty", (EMPTY_FILE("ai.txt holds only comments"),))
    if markdown and len(document) > len(fields):
        first = markdown[0]
        return AiTxt(
            "markdown",
            (
                MARKDOWN_DIALECT(
                    f"ai.txt is a Markdown/prose document (e.g. line {first.number}: "
                    f"'{_shorten(first.text)}'), not ai.txt rules",
                    line=first.number,
                ),
            ),
        )
    if fields:
        return AiTxt(
            "key-value", (KEY_VALUE_DIALECT(_key_value_message(fields), line=fields[0].number),)
        )
    return AiTxt(
        "unknown",
        (
            UNKNOWN_DIALECT(
                "ai.txt holds text without rules, fields or structure", line=document[0].number
            ),
        ),
    )


def _key_value_message(fields: list[_Line]) -> str:
    bad_rule = next((f for f in fields if f.key in (_ALLOW, _DISALLOW)), None)
    if bad_rule is not None:
        return (
            f"ai.txt is a Key: value policy, not ai.txt rules: line {bad_rule.number} "
            f"'{_shorten(bad_rule.text)}' has no path, so it matches nothing"
        )
    keys: list[str] = []
    for line in fields:
        if line.key not in keys and line.key != _USER_AGENT:
            keys.append(line.key or "")
    shown = listing(keys, limit=4)
    return f"ai.txt is a Key: value policy ({shown}), not ai.txt rules"


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
