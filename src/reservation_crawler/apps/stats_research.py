"""Figures as studies publish them: per-agent robots.txt rates under a named definition, grouped
by country, region or a column of the input list, and over time across several crawls.

Everything here reads the per-site bits of :class:`stats.SiteStats` (no second pass over the
records), so grouping keeps ``stats`` bounded in memory. Definitions: ``docs/stats.md``.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from reservation_crawler.apps.stats import (
    ALL_AGENTS,
    ALLOWED,
    RESERVED,
    TRAIN_AI,
    Features,
    SiteStats,
    Tally,
    _cell,
    _pct,
    _share,
    _table,
    fetched_range,
)
from reservation_crawler.errors import ConfigError, InputError

RATES_SCHEMA = "reservation-stats-rates/1"
TREND_SCHEMA = "reservation-stats-trend/1"

FULL, PARTIAL, OPEN, UNKNOWN = "full", "partial", "open", "unknown"
VERDICTS = (FULL, PARTIAL, OPEN, UNKNOWN)
_RESTRICTION = {FULL: 3, PARTIAL: 2, OPEN: 1, UNKNOWN: 0}  # the stronger verdict wins a group


# --- definitions -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Definition:
    """How a study reads robots.txt for one agent (every axis is documented in docs/stats.md).

    ``pages``: ``all-pages`` (every record of the site) or ``home-page`` (its home-page record);
    ``groups``: ``fallback`` (RFC 9309 §2.2.1: the agent's group, else ``*``) or ``named`` (only
    a group naming the agent counts; what ``*`` says is read as open); ``no_rules``: ``open``
    (RFC 9309 §2.2.2: no matching rule allows) or ``unknown`` (a 2xx robots.txt that is empty or
    an HTML page is no answer).
    """

    name: str
    pages: str
    groups: str
    no_rules: str
    description: str = ""


AXES: dict[str, tuple[str, ...]] = {
    "pages": ("all-pages", "home-page"),
    "groups": ("fallback", "named"),
    "no_rules": ("open", "unknown"),
}

DEFINITIONS: dict[str, Definition] = {
    d.name: d
    for d in (
        Definition(
            "rfc9309",
            "all-pages",
            "fallback",
            "open",
            "what a crawler obeying RFC 9309 may fetch, over every page crawled",
        ),
        Definition(
            "home-page",
            "home-page",
            "fallback",
            "open",
            "can the agent fetch the home page (RFC 9309 matching, the '*' group as fallback)",
        ),
        Definition(
            "named-groups",
            "all-pages",
            "named",
            "open",
            "only groups that name the agent count, as block-list trackers read robots.txt",
        ),
        Definition(
            "named-home-strict",
            "home-page",
            "named",
            "unknown",
            "a group naming the agent disallows the home page; empty or HTML robots.txt unknown",
        ),
    )
}
DEFAULT_DEFINITION = "rfc9309"


def parse_definition(text: str | None) -> Definition:
    """A definition by name, or a name followed by ``,axis=value`` overrides.

    ``home-page,no_rules=unknown`` is the ``home-page`` definition with empty robots.txt files
    unknown. Raises :class:`InputError` naming the choices.
    """
    parts = [p.strip() for p in (text or DEFAULT_DEFINITION).split(",") if p.strip()]
    name = parts[0] if parts and "=" not in parts[0] else DEFAULT_DEFINITION
    if name not in DEFINITIONS:
        raise InputError(f"unknown definition {name!r}; one of {', '.join(DEFINITIONS)}")
    definition = DEFINITIONS[name]
    overrides = {}
    for part in parts:
        if "=" not in part:
            if part != name:
                raise InputError(f"--definition: {part!r} is neither a name nor axis=value")
            continue
        axis, _, value = part.partition("=")
        axis = axis.strip().replace("-", "_")
        value = value.strip()
        if axis not in AXES or value not in AXES[axis]:
            choices = "; ".join(f"{a}={'|'.join(v)}" for a, v in AXES.items())
            raise InputError(f"--definition: bad {part!r} (axes: {choices})")
        overrides[axis] = value
    if overrides:
        label = ",".join([name, *(f"{a}={v}" for a, v in overrides.items())])
        definition = replace(definition, name=label, **overrides)
    return definition


# --- per-site verdicts -------------------------------------------------------------------------


def _bit(features: Features, key: tuple[str, ...], shift: int) -> int:
    index = features.index(*key)
    return 0 if index is None else 1 << (2 * index + shift)


@dataclass(frozen=True, slots=True)
class _AgentBits:
    """The bits one agent's verdict reads, in one view (all pages or home page)."""

    evaluated: int
    disallowed_named: int
    disallowed_fallback: int
    allowed_named: int
    allowed_fallback: int
    mention: int


@dataclass(frozen=True, slots=True)
class _SiteBits:
    read: int
    no_rules: int
    policy_unknown: int


def _agent_bits(features: Features, agent: str, shift: int) -> _AgentBits:
    def bit(*key: str) -> int:
        return _bit(features, key, shift)

    return _AgentBits(
        evaluated=bit("evaluated", agent),
        disallowed_named=bit("robots", agent, RESERVED, "named"),
        disallowed_fallback=bit("robots", agent, RESERVED, "fallback"),
        allowed_named=bit("robots", agent, ALLOWED, "named"),
        allowed_fallback=bit("robots", agent, ALLOWED, "fallback"),
        mention=bit("mention", agent),
    )


def site_verdict(state: int, bits: _AgentBits, site: _SiteBits, definition: Definition) -> str:
    """``full`` / ``partial`` / ``open`` / ``unknown`` for one agent on one site.

    full: every URL read disallows the agent; partial: some do, some do not; open: none does;
    unknown: robots.txt gave no answer (or, with ``no_rules=unknown``, a 2xx without rules).
    """
    if not state & site.read or state & site.policy_unknown:
        return UNKNOWN
    if definition.no_rules == UNKNOWN and state & site.no_rules:
        return UNKNOWN
    if definition.groups == "named":
        disallowed = bool(state & bits.disallowed_named)
        # A URL governed by '*' is open under this reading, whatever '*' says.
        allowed = bool(
            state & (bits.allowed_named | bits.allowed_fallback | bits.disallowed_fallback)
        )
    else:
        disallowed = bool(state & (bits.disallowed_named | bits.disallowed_fallback))
        allowed = bool(state & (bits.allowed_named | bits.allowed_fallback))
    if not disallowed:
        return OPEN
    return PARTIAL if allowed else FULL


# --- agent rows and agent groups (registry operators and purposes) ----------------------------


@dataclass(slots=True)
class _Row:
    """Site counts of one agent, or of one group of agents (operator, purpose)."""

    sites: int = 0
    mentioned: int = 0
    verdicts: Counter[str] | None = None

    def add(self, verdict: str, mentioned: bool, count: int) -> None:
        if self.verdicts is None:
            self.verdicts = Counter()
        self.sites += count
        self.verdicts[verdict] += count
        self.mentioned += count * mentioned

    def as_json(self) -> dict[str, Any]:
        verdicts = self.verdicts or Counter()
        return {
            "sites": self.sites,
            "full_disallow": _share(verdicts[FULL], self.sites),
            "partial_disallow": _share(verdicts[PARTIAL], self.sites),
            "open": _share(verdicts[OPEN], self.sites),
            "unknown": _share(verdicts[UNKNOWN], self.sites),
            "mentioned": _share(self.mentioned, self.sites),
        }


@dataclass(frozen=True, slots=True)
class _AgentInfo:
    folded: str
    token: str
    operator: str | None
    purposes: tuple[str, ...]


def _agent_infos(stats: SiteStats) -> list[_AgentInfo]:
    from reservation_crawler.signals import agents as registry

    infos = []
    for folded, spelling in stats.agent_names.items():
        if folded == ALL_AGENTS:
            continue
        known = registry.get_agent(spelling)
        infos.append(
            _AgentInfo(
                folded,
                known.token if known is not None else spelling,
                known.operator if known is not None else None,
                tuple(sorted(known.purposes)) if known is not None else (),
            )
        )
    infos.sort(key=lambda a: a.token.casefold())
    return infos


class RateCounter:
    """Per-agent and per-agent-group verdict counts over site states, for one definition."""

    def __init__(self, stats: SiteStats, definition: Definition) -> None:
        shift = 1 if definition.pages == "home-page" else 0
        features = stats.features
        self.definition = definition
        self.shift = shift
        self.site = _SiteBits(
            _bit(features, ("robots-read",), shift),
            _bit(features, ("robots-no-rules",), shift),
            _bit(features, ("robots-policy-unknown",), shift),
        )
        self.seen = _bit(features, ("seen",), shift)
        self.agents = _agent_infos(stats)
        self.bits = [_agent_bits(features, a.folded, shift) for a in self.agents]
        self.operators: dict[str, list[int]] = {}
        self.purposes: dict[str, list[int]] = {}
        for i, agent in enumerate(self.agents):
            if agent.operator:
                self.operators.setdefault(agent.operator, []).append(i)
            for purpose in agent.purposes:
                self.purposes.setdefault(purpose, []).append(i)

    def count(self, states: Mapping[int, int]) -> dict[str, Any]:
        """The rates over ``states`` (site count per state) as JSON-ready rows."""
        agent_rows = [_Row() for _ in self.agents]
        operator_rows = {name: _Row() for name in self.operators}
        purpose_rows = {name: _Row() for name in self.purposes}
        for state, count in states.items():
            if not state & self.seen:
                continue
            verdicts: list[tuple[str, bool] | None] = []
            for bits, row in zip(self.bits, agent_rows, strict=True):
                if not state & bits.evaluated:
                    verdicts.append(None)
                    continue
                verdict = site_verdict(state, bits, self.site, self.definition)
                mentioned = bool(state & bits.mention)
                row.add(verdict, mentioned, count)
                verdicts.append((verdict, mentioned))
            for members, rows in ((self.operators, operator_rows), (self.purposes, purpose_rows)):
                for name, indexes in members.items():
                    picked = [v for v in (verdicts[i] for i in indexes) if v is not None]
                    if picked:
                        strongest = max((v for v, _ in picked), key=_RESTRICTION.__getitem__)
                        rows[name].add(strongest, any(m for _, m in picked), count)
        return {
            "agents": [
                {
                    "agent": a.token,
                    "operator": a.operator,
                    "purposes": list(a.purposes),
                    **row.as_json(),
                }
                for a, row in zip(self.agents, agent_rows, strict=True)
            ],
            "operators": _group_rows(self.operators, operator_rows, self.agents, "operator"),
            "purposes": _group_rows(self.purposes, purpose_rows, self.agents, "purpose"),
        }


def _group_rows(
    members: Mapping[str, list[int]],
    rows: Mapping[str, _Row],
    agents: Sequence[_AgentInfo],
    key: str,
) -> list[dict[str, Any]]:
    out = [
        {key: name, "agents": [agents[i].token for i in members[name]], **rows[name].as_json()}
        for name in members
    ]
    out.sort(key=lambda r: (-r["full_disallow"]["count"], str(r[key]).casefold()))
    return out


def definition_json(definition: Definition) -> dict[str, Any]:
    return asdict(definition)


def agent_rates(stats: SiteStats, definition: Definition) -> dict[str, Any]:
    """Per-agent rates over every site of ``stats`` (the ``agent_rates`` of ``--json``)."""
    counter = RateCounter(stats, definition)
    return {
        "schema": RATES_SCHEMA,
        "definition": definition_json(definition),
        **counter.count(Counter(stats.sites.values())),
    }


# --- grouping: country, region, a column of the input list ------------------------------------


@cache
def _extractor() -> Any:
    import tldextract

    # The Public Suffix List snapshot bundled with tldextract: no network at run time.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


# ccTLDs whose ISO 3166-1 alpha-2 code differs (IANA root zone vs ISO 3166).
_CCTLD_TO_ISO = {"uk": "GB"}
NO_COUNTRY = "(no country)"


def host_of(origin: str) -> str:
    """``scheme://host[:port]`` (or a bare ``host[:port]/path``) -> ``host[:port]``, lower-cased
    (the join key of --targets)."""
    rest = origin.partition("://")[2] or origin
    return rest.split("/", 1)[0].lower()


def country_of_origin(origin: str) -> str | None:
    """The ISO 3166-1 alpha-2 country of a country-code TLD (``bbc.co.uk`` -> GB), else None.

    The suffix comes from the Public Suffix List; a generic TLD (.com, .org), a regional one
    (.eu, .asia) or a country code used generically (.tv, .io, ... ``generic_cctlds`` in
    ``apps/data/regions.json``) names no country.
    """
    host = host_of(origin).rsplit(":", 1)[0]
    suffix = _extractor()(host).suffix
    tld = suffix.rsplit(".", 1)[-1] if suffix else ""
    if len(tld) != 2 or not (tld.isascii() and tld.isalpha()) or tld == "eu":
        return None
    if tld in _region_table()["generic_cctlds"]["tlds"]:
        return None
    return _CCTLD_TO_ISO.get(tld, tld.upper())


def normalize_country(value: str) -> str | None:
    """A country given in a column: ISO alpha-2 (any case) or a flag emoji; else None."""
    value = value.strip()
    letters = [chr(ord(c) - 0x1F1E6 + ord("A")) for c in value if 0x1F1E6 <= ord(c) <= 0x1F1FF]
    if len(letters) == 2:
        return "".join(letters)
    if len(value) == 2 and value.isascii() and value.isalpha():
        return "GB" if value.upper() == "UK" else value.upper()
    return None


@dataclass(frozen=True, slots=True)
class Targets:
    """The input list: its columns, and per site (keyed by ``host[:port]``) the cells of the
    ``kept`` columns only, values shared between rows (memory: one small tuple per site)."""

    path: str
    columns: tuple[str, ...]
    kept: tuple[str, ...]
    rows: Mapping[str, tuple[str, ...]]

    def value(self, origin: str, column: str) -> str | None:
        """The site's cell in ``column`` (a kept one); None when the site has no row."""
        row = self.rows.get(host_of(origin))
        return None if row is None else row[self.kept.index(column)]


_SITE_COLUMNS = ("origin", "url", "domain", "site", "host")


def rank_band(rank: str) -> str:
    """``"42"`` -> ``"top-100"``: the smallest power of ten not below the rank; ``""`` for a
    cell that is not a positive whole number."""
    if not rank.isdigit() or int(rank) < 1:
        return ""
    band = 10
    while band < int(rank):
        band *= 10
    return f"top-{band:,}"


def read_targets(path: str | Path, keep: Sequence[str] | None = None) -> Targets:
    """The input list: a CSV with a header, the site in the first of the columns origin, url,
    domain, site, host; or a headerless ``rank,domain`` file such as Tranco's (columns ``rank``
    and ``domain``). A ``rank`` column without ``rank_band`` gets a derived ``rank_band``.
    ``keep``: the columns to keep (default all); a name that is no column is left for
    :func:`grouper` to report.

    Raises :class:`InputError` when the file cannot be read or names no site.
    """
    try:
        handle = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    with handle:
        reader = csv.reader(handle)
        header = [c.strip() for c in next(reader, [])]
        body: Iterable[list[str]] = reader
        if len(header) == 2 and header[0].isdigit():  # Tranco: "1,google.com", no header
            body = [header, *reader]
            header = ["rank", "domain"]
        lowered = {c.lower(): i for i, c in reversed(list(enumerate(header)))}
        site_index = next((lowered[c] for c in _SITE_COLUMNS if c in lowered), None)
        if site_index is None:
            raise InputError(
                f"{path}: no site column (one of {', '.join(_SITE_COLUMNS)}) in the header"
            )
        derive_band = "rank" in header and "rank_band" not in header
        columns = (*header, "rank_band") if derive_band else tuple(header)
        kept = tuple(c for c in (columns if keep is None else keep) if c in columns)
        indexes = [header.index(c) if c in header else -1 for c in kept]  # -1: rank_band
        rank_index = header.index("rank") if derive_band else -1
        shared: dict[str, str] = {}
        rows: dict[str, tuple[str, ...]] = {}
        for cells in body:
            if len(cells) <= site_index or not cells[site_index].strip():
                continue
            row = []
            for i in indexes:
                if i < 0:
                    cell = rank_band(cells[rank_index].strip() if rank_index < len(cells) else "")
                else:
                    cell = cells[i].strip() if i < len(cells) else ""
                row.append(shared.setdefault(cell, cell))
            rows.setdefault(host_of(cells[site_index].strip()), tuple(row))
    return Targets(str(path), columns, kept, rows)


@cache
def _region_table() -> dict[str, Any]:
    text = resources.files("reservation_crawler.apps").joinpath("data/regions.json").read_text()
    table: dict[str, Any] = json.loads(text)
    return table


def regions() -> dict[str, dict[str, Any]]:
    """The region table (``apps/data/regions.json``): code -> name, members, source."""
    table: dict[str, dict[str, Any]] = _region_table()["regions"]
    return table


GROUP_KINDS = ("country", "region", "tld")
NO_VALUE = "(not in the input list)"


def grouper(
    by: str, targets: Targets | None = None, country_column: str | None = None
) -> Callable[[str], tuple[str, ...]]:
    """A function origin -> the group labels of that site (a site may be in several regions).

    ``by``: ``country``, ``region``, ``tld`` or a column of ``targets``. ``country_column`` names
    the targets column that gives the country of sites under a generic TLD.
    """
    if by not in GROUP_KINDS:
        if targets is None:
            raise InputError(f"--group-by {by}: give the input list with --targets FILE.csv")
        if by not in targets.columns:
            raise InputError(
                f"--group-by {by}: no such column in {targets.path} "
                f"(columns: {', '.join(targets.columns)}; or one of {', '.join(GROUP_KINDS)})"
            )
        if by not in targets.kept:
            raise ConfigError(f"read_targets was not asked to keep column {by!r}")
        rows, position = targets.rows, targets.kept.index(by)

        def column(origin: str) -> tuple[str, ...]:
            row = rows.get(host_of(origin))
            return (row[position] or "(empty)",) if row is not None else (NO_VALUE,)

        return column
    if country_column is not None and (targets is None or country_column not in targets.columns):
        raise InputError(f"--country-column {country_column}: not a column of --targets")

    def country(origin: str) -> str | None:
        found = country_of_origin(origin)
        if found is None and country_column is not None and targets is not None:
            found = normalize_country(targets.value(origin, country_column) or "")
        return found

    if by == "tld":
        return lambda origin: (_extractor()(host_of(origin).rsplit(":", 1)[0]).suffix or "(none)",)
    if by == "country":
        return lambda origin: (country(origin) or NO_COUNTRY,)
    table = regions()
    membership: dict[str, tuple[str, ...]] = {}
    for code, region in table.items():
        for member in region["members"]:
            membership[member] = (*membership.get(member, ()), code)

    def region_of(origin: str) -> tuple[str, ...]:
        code = country(origin)
        return membership.get(code, ("(no region)",)) if code else ("(no region)",)

    return region_of


def group_states(
    stats: SiteStats, key: Callable[[str], tuple[str, ...]]
) -> dict[str, Counter[int]]:
    """Site count per state, per group label (memory: groups x distinct states)."""
    groups: dict[str, Counter[int]] = {}
    for origin, state in stats.sites.items():
        for label in key(origin):
            counter = groups.get(label)
            if counter is None:
                counter = groups[label] = Counter()
            counter[state] += 1
    return groups


def grouped_report(
    stats: SiteStats,
    by: str,
    key: Callable[[str], tuple[str, ...]],
    definition: Definition,
) -> dict[str, Any]:
    """One row per group: sites, train-ai reserved, and the per-agent rates."""
    home = definition.pages == "home-page"
    counter = RateCounter(stats, definition)
    rows = []
    for label, states in group_states(stats, key).items():
        tally = Tally(stats, home_page=home, states=states)
        rows.append(
            {
                "group": label,
                "sites": {
                    "attempted": tally.sites_attempted,
                    "reached": tally.sites_reached,
                },
                "train_ai_reserved": {
                    "any_agent": tally.share("decision-any", TRAIN_AI, RESERVED),
                    "all_agents": tally.share("decision", ALL_AGENTS, TRAIN_AI, RESERVED),
                },
                **counter.count(states),
            }
        )
    rows.sort(key=lambda r: (-r["sites"]["attempted"], r["group"]))
    return {"by": by, "definition": definition_json(definition), "groups": rows}


# --- time: several crawls ------------------------------------------------------------------------


def crawl_label(stats: SiteStats, fallback: str) -> str:
    """A crawl's date (the day of its latest fetched_at), else ``fallback``."""
    return stats.last_fetched[:10] if stats.last_fetched else fallback


def trend_point(
    stats: SiteStats, label: str, inputs: Sequence[str], definition: Definition
) -> dict[str, Any]:
    """One crawl's row of the trend table."""
    tally = Tally(stats, home_page=definition.pages == "home-page")
    return {
        "label": label,
        "inputs": list(inputs),
        "fetched_at_range": fetched_range(stats),
        "sites": {"attempted": tally.sites_attempted, "reached": tally.sites_reached},
        "train_ai_reserved_any_agent": tally.share("decision-any", TRAIN_AI, RESERVED),
        **RateCounter(stats, definition).count(Counter(stats.sites.values())),
    }


def build_trend(points: Iterable[dict[str, Any]], definition: Definition) -> dict[str, Any]:
    points = list(points)
    agents: list[str] = []
    for point in points:
        for row in point["agents"]:
            if row["agent"] not in agents:
                agents.append(row["agent"])
    return {
        "schema": TREND_SCHEMA,
        "definition": definition_json(definition),
        "agents": agents,
        "crawls": points,
    }


# --- text output -------------------------------------------------------------------------------


def _definition_line(definition: Mapping[str, Any]) -> str:
    return (
        f"definition {definition['name']}: pages={definition['pages']}, "
        f"groups={definition['groups']}, no_rules={definition['no_rules']} (docs/stats.md)"
    )


def _rate_cells(row: Mapping[str, Any]) -> list[str]:
    return [
        f"{row['sites']:,}",
        _cell(row["full_disallow"]),
        _cell(row["partial_disallow"]),
        _cell(row["open"]),
        _cell(row["unknown"]),
        _cell(row["mentioned"]),
    ]


_RATE_HEADERS = ["sites", "full disallow", "partial", "open", "unknown", "named group"]


def format_rates(rates: Mapping[str, Any], *, max_rows: int = 40) -> str:
    """The ``agent_rates`` block as tables: agents, then operators and purposes."""
    out = [
        "robots.txt per agent (share of the sites where the agent was evaluated)",
        "  " + _definition_line(rates["definition"]),
    ]
    if not rates["agents"]:
        out.append("  no agent besides * in the records (crawl with --agent TOKEN)")
        return "\n".join(out) + "\n"
    for title, rows, key in (
        ("agent", rates["agents"], "agent"),
        ("operator", rates["operators"], "operator"),
        ("registry purpose", rates["purposes"], "purpose"),
    ):
        if not rows:
            continue
        shown = rows[:max_rows]
        out += _table([title, *_RATE_HEADERS], [[r[key], *_rate_cells(r)] for r in shown])
        if len(rows) > len(shown):
            out.append(f"  ... {len(rows) - len(shown)} more in --json")
        out.append("")
    return "\n".join(out)


def format_groups(groups: Mapping[str, Any], *, max_agents: int = 6, max_rows: int = 60) -> str:
    """One table: per group, sites, train-ai reserved and each agent's full-disallow share."""
    rows = groups["groups"]
    agents = [a["agent"] for a in rows[0]["agents"][:max_agents]] if rows else []
    out = [
        f"By {groups['by']} ({len(rows)} groups; shares of each group's sites)",
        "  " + _definition_line(groups["definition"]),
    ]
    body = []
    for row in rows[:max_rows]:
        by_agent = {a["agent"]: a for a in row["agents"]}
        body.append(
            [
                row["group"],
                f"{row['sites']['attempted']:,}",
                f"{row['sites']['reached']:,}",
                _pct(row["train_ai_reserved"]["any_agent"]),
                *(_pct(by_agent[a]["full_disallow"]) if a in by_agent else "" for a in agents),
            ]
        )
    out += _table(
        [groups["by"], "sites", "reached", "train-ai reserved", *(f"{a} full" for a in agents)],
        body,
    )
    if len(rows) > max_rows:
        out.append(f"  ... {len(rows) - max_rows} more groups in --json")
    return "\n".join(out) + "\n"


def format_trend(trend: Mapping[str, Any], *, max_agents: int = 8) -> str:
    """Crawls in order; per agent the full-disallow share."""
    agents = trend["agents"][:max_agents]
    out = [
        f"Over {len(trend['crawls'])} crawls: full-disallow share per agent",
        "  " + _definition_line(trend["definition"]),
    ]
    body = []
    for point in trend["crawls"]:
        by_agent = {a["agent"]: a for a in point["agents"]}
        body.append(
            [
                point["label"],
                f"{point['sites']['attempted']:,}",
                _pct(point["train_ai_reserved_any_agent"]),
                *(_pct(by_agent[a]["full_disallow"]) if a in by_agent else "" for a in agents),
            ]
        )
    out += _table(["crawl", "sites", "train-ai reserved", *agents], body)
    if len(trend["agents"]) > len(agents):
        out.append(f"  ... {len(trend['agents']) - len(agents)} more agents in --json")
    return "\n".join(out) + "\n"


# --- charts ------------------------------------------------------------------------------------


def write_trend_plot(
    trend: Mapping[str, Any],
    directory: Path,
    *,
    formats: Sequence[str] = ("png",),
    max_agents: int = 8,
) -> list[Path]:
    """A line per agent: its full-disallow share over the crawls, in the order given."""
    from matplotlib.figure import Figure

    from reservation_crawler.apps.stats import OKABE_ITO, plot_subtitle, save_figure

    directory.mkdir(parents=True, exist_ok=True)
    crawls = trend["crawls"]
    labels = [c["label"] for c in crawls]
    fig = Figure(figsize=(10, 5.5), layout="constrained")
    ax = fig.subplots()
    markers = "osD^vP*X"
    for k, agent in enumerate(trend["agents"][:max_agents]):
        values = []
        for crawl in crawls:
            row = next((a for a in crawl["agents"] if a["agent"] == agent), None)
            share = row["full_disallow"]["share"] if row is not None else None
            values.append(None if share is None else 100 * share)
        ax.plot(
            range(len(labels)),
            [float("nan") if v is None else v for v in values],
            marker=markers[k % len(markers)],
            color=OKABE_ITO[k % len(OKABE_ITO)],
            label=agent,
        )
    ax.set_xticks(range(len(labels)), labels, rotation=30 if len(labels) > 6 else 0)
    ax.set_ylabel("% of sites: full disallow")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    inputs = [i for c in crawls for i in c["inputs"]]
    ranges = [c["fetched_at_range"] for c in crawls]
    first = min((r["first"] for r in ranges if r["first"]), default=None)
    last = max((r["last"] for r in ranges if r["last"]), default=None)
    ax.set_title(
        f"robots.txt full disallow per agent over {len(crawls)} crawls "
        f"(definition {trend['definition']['name']})\n"
        f"{plot_subtitle(inputs, {'first': first, 'last': last})}",
        fontsize=10,
    )
    if trend["agents"]:
        ax.legend(loc="upper left", fontsize=8, ncols=2)
    return save_figure(fig, directory, "trend-agents", formats)


def write_group_plots(
    report: Mapping[str, Any],
    directory: Path,
    *,
    formats: Sequence[str] = ("png",),
    max_groups: int = 30,
    max_agents: int = 4,
) -> list[Path]:
    """Per ``--group-by`` key, ``groups-<key>.*``: each group's full-disallow share for the
    first agents (the groups with the most sites first)."""
    from reservation_crawler.apps.stats import _bar_chart, plot_subtitle

    written: list[Path] = []
    for grouping in report.get("groups", ()):
        rows = grouping["groups"][:max_groups]
        if not rows:
            continue
        agents = [a["agent"] for a in rows[0]["agents"][:max_agents]]
        by = grouping["by"]
        series = [
            (
                f"{agent}: full disallow",
                [
                    next((a["full_disallow"] for a in r["agents"] if a["agent"] == agent), None)
                    or _share(0, 0)
                    for r in rows
                ],
            )
            for agent in agents
        ]
        written += _bar_chart(
            directory,
            "groups-" + "".join(c if c.isalnum() or c in "-_" else "_" for c in by),
            f"robots.txt full disallow by {by} (definition {grouping['definition']['name']})\n"
            f"{plot_subtitle(report['inputs'], report.get('fetched_at_range'))}",
            [f"{r['group']} (n = {r['sites']['attempted']:,})" for r in rows],
            series,
            formats,
        )
    return written
