"""Datasets: the provenance manifest and card of a crawl, their verification, and the re-check.

``crawl`` calls :func:`write_manifest` when it ends: one manifest row per record of the dataset
(Parquet, :func:`manifest_schema`), a dataset card (JSON and Markdown) with the counts and the
SHA-256 of the manifest. :func:`verify` checks a manifest against its card. :func:`recheck`
re-checks every URL of a manifest through the Checker and writes the then/now diff and the drop
list. See docs/datasets.md.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from reservation_crawler._version import __version__
from reservation_crawler.apps.stats import MalformedRecord, normalize_record
from reservation_crawler.errors import InputError, UsageError
from reservation_crawler.model.record import PURPOSES, SCHEMA, Access, Decision, Outcome

if TYPE_CHECKING:
    import pyarrow as pa

MANIFEST_SCHEMA = "reservation-manifest/1"
CARD_SCHEMA = "reservation-dataset-card/1"
RECHECK_SCHEMA = "reservation-recheck/1"
# The sources of a record and their manifest columns (a dot-free name: SQL engines read it bare).
SOURCE_COLUMNS: Mapping[str, str] = {
    "robots.txt": "robots_txt",
    "ai.txt": "ai_txt",
    "tdmrep.json": "tdmrep_json",
    "page": "page",
}
POLICY_FILES = ("robots.txt", "ai.txt", "tdmrep.json")
_BATCH = 2000

# The then/now changes of one (URL, agent, purpose), docs/datasets.md "recheck".
NEWLY_RESERVED = "newly-reserved"
LIFTED = "lifted"
UNCHANGED = "unchanged"
CHANGED = "changed"  # allowed <-> unspecified: not a reservation either way
UNREACHABLE_NOW = "unreachable-now"
CHANGES = (NEWLY_RESERVED, LIFTED, UNCHANGED, CHANGED, UNREACHABLE_NOW)
DROP_PURPOSE = "train-ai"


# --- reading datasets and manifests ----------------------------------------------------------


def iter_records(path: Path) -> Iterator[dict[str, Any]]:
    """The records of a dataset file (JSON Lines or Parquet), in file order, normalized
    (``apps.stats.normalize_record``); ``InputError`` naming the first one that is not a record."""
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        rows: Iterable[Any] = (
            row for batch in pq.ParquetFile(path).iter_batches(_BATCH) for row in batch.to_pylist()
        )
    else:
        rows = _jsonl_rows(path)
    for position, raw in enumerate(rows, 1):
        try:
            record = normalize_record(raw)
        except MalformedRecord as exc:
            raise InputError(f"{path}: record {position}: {exc}") from exc
        record["fetched_at"] = raw.get("fetched_at")
        yield record


def _jsonl_rows(path: Path) -> Iterator[Any]:
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(f"{path}: line {number}: not JSON ({exc})") from exc


def open_manifest(path: Path) -> Any:
    """The manifest as a ``pyarrow.parquet.ParquetFile``; ``InputError`` when it is not one."""
    import pyarrow.parquet as pq

    try:
        handle = pq.ParquetFile(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable Parquet manifest ({exc})") from exc
    metadata = handle.schema_arrow.metadata or {}
    if metadata.get(b"schema") != MANIFEST_SCHEMA.encode():
        raise InputError(f"{path}: not a {MANIFEST_SCHEMA} manifest")
    missing = [n for n in manifest_schema().names if n not in handle.schema_arrow.names]
    if missing:
        raise InputError(f"{path}: not a {MANIFEST_SCHEMA} manifest (no {', '.join(missing)})")
    return handle


def iter_manifest(path: Path) -> Iterator[dict[str, Any]]:
    """The rows of a manifest (maps as dicts); ``InputError`` when it is not one."""
    handle = open_manifest(path)
    for batch in handle.iter_batches(_BATCH):
        for row in batch.to_pylist():
            row["decisions"] = {agent: cells for agent, cells in row["decisions"] or ()}
            row["deciding"] = {agent: cells for agent, cells in row["deciding"] or ()}
            yield row


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(functools.partial(handle.read, 1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- the manifest ------------------------------------------------------------------------------


@functools.cache
def manifest_schema() -> pa.Schema:
    """One row per URL: decisions per agent x purpose, the signals that decided each, and the
    fetch of each source (docs/datasets.md, "The manifest")."""
    import pyarrow as pa

    cells = pa.struct([(str(p), pa.string()) for p in PURPOSES])
    reasons = pa.struct([(str(p), pa.list_(pa.string())) for p in PURPOSES])
    source = pa.struct(
        [
            ("url", pa.string()),
            ("outcome", pa.string()),
            ("status", pa.int32()),
            ("access", pa.string()),
            ("sha256", pa.string()),
            ("fetched_at", pa.string()),
        ]
    )
    fields = [
        ("url", pa.string()),
        ("origin", pa.string()),
        ("fetched_at", pa.string()),
        ("decisions", pa.map_(pa.string(), cells)),
        ("deciding", pa.map_(pa.string(), reasons)),
        *((column, source) for column in SOURCE_COLUMNS.values()),
    ]
    return pa.schema(fields, metadata={"schema": MANIFEST_SCHEMA, "record_schema": SCHEMA})


def _reason(evidence: Mapping[str, Any]) -> str:
    """``robots (robots.txt, scope GPTBot): Disallow: /`` -- one deciding signal."""
    return (
        f"{evidence.get('signal')} ({evidence.get('source')}, scope {evidence.get('scope')}): "
        f"{evidence.get('raw')}"
    )


def manifest_row(record: Mapping[str, Any]) -> dict[str, Any]:
    """A normalized record (with ``fetched_at``) as a manifest row."""
    decisions = record["decisions"]
    deciding: dict[str, dict[str, list[str]]] = {}
    for agent, cells in decisions.items():
        deciding[agent] = {
            str(p): [
                _reason(e)
                for e in record["evidence"]
                if e.get("agent") == agent and str(p) in (e.get("purposes") or ())
                if e.get("effect") == cells.get(str(p))
            ]
            for p in PURPOSES
        }
    fetched_at = record.get("fetched_at")
    row: dict[str, Any] = {
        "url": record["url"],
        "origin": record["origin"],
        "fetched_at": fetched_at,
        "decisions": [(a, {str(p): c.get(str(p)) for p in PURPOSES}) for a, c in decisions.items()],
        "deciding": list(deciding.items()),
    }
    for name, column in SOURCE_COLUMNS.items():
        source = record["sources"].get(name)
        row[column] = None
        if source is not None:
            row[column] = {
                "url": source.get("url"),
                "outcome": source.get("outcome"),
                "status": source.get("status"),
                "access": source.get("access"),
                "sha256": source.get("sha256"),
                # The three policy files are fetched together, at the policy's time (the
                # record's fetched_at); a page's own time is not recorded.
                "fetched_at": fetched_at if name in POLICY_FILES else None,
            }
    return row


@dataclass
class Counts:
    """What a card states about its manifest, computed the same way when writing and verifying."""

    rows: int = 0
    origins: set[str] = field(default_factory=set)
    first: str | None = None
    last: str | None = None
    decisions: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    sources: Counter[tuple[str, str]] = field(default_factory=Counter)
    access: Counter[tuple[str, str]] = field(default_factory=Counter)
    agents: dict[str, None] = field(default_factory=dict)

    def add(self, row: Mapping[str, Any]) -> None:
        self.rows += 1
        self.origins.add(row["origin"])
        when = row.get("fetched_at")
        if isinstance(when, str):
            self.first = when if self.first is None else min(self.first, when)
            self.last = when if self.last is None else max(self.last, when)
        decisions = row["decisions"]
        items = decisions.items() if isinstance(decisions, Mapping) else decisions
        for agent, cells in items:
            self.agents.setdefault(agent, None)
            for purpose in PURPOSES:
                self.decisions[(agent, str(purpose), str(cells.get(str(purpose))))] += 1
        for name, column in SOURCE_COLUMNS.items():
            source = row.get(column)
            if source is not None:
                self.sources[(name, str(source.get("outcome")))] += 1
                if source.get("access") is not None:
                    self.access[(name, str(source["access"]))] += 1

    def to_json(self) -> dict[str, Any]:
        """The card's ``counts``: every number the card states about its manifest."""
        rows = self.rows
        return {
            "urls": rows,
            "origins": len(self.origins),
            "date_range": {"first_fetched_at": self.first, "last_fetched_at": self.last},
            "decisions": {
                agent: {
                    str(p): {
                        str(d): _share(self.decisions[(agent, str(p), str(d))], rows)
                        for d in Decision
                    }
                    for p in PURPOSES
                }
                for agent in self.agents
            },
            "sources": {
                name: {str(o): self.sources[(name, str(o))] for o in Outcome}
                for name in SOURCE_COLUMNS
            },
            "access": {
                name: {str(a): self.access[(name, str(a))] for a in Access}
                for name in SOURCE_COLUMNS
            },
        }


def _share(count: int, denominator: int) -> dict[str, Any]:
    share = round(count / denominator, 6) if denominator else None
    return {"count": count, "share": share}


@dataclass(frozen=True)
class ManifestPaths:
    """Where the manifest and card of a dataset go: beside it, named after it."""

    manifest: Path
    card_json: Path
    card_md: Path

    @classmethod
    def of(cls, dataset: Path) -> ManifestPaths:
        stem = dataset.parent / dataset.name.split(".")[0]
        return cls(
            Path(f"{stem}.manifest.parquet"), Path(f"{stem}.card.json"), Path(f"{stem}.card.md")
        )


def write_manifest(
    dataset: Path,
    *,
    options: Mapping[str, Any],
    complete: bool,
    inputs: Mapping[str, Any] | None = None,
) -> tuple[ManifestPaths, dict[str, Any]]:
    """Write the manifest and the card of ``dataset`` (read back from the file, so a resumed or
    interrupted crawl's manifest holds exactly the records of its dataset)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    paths = ManifestPaths.of(dataset)
    counts = Counts()
    partial = paths.manifest.with_name(paths.manifest.name + ".partial")
    schema = manifest_schema()
    with pq.ParquetWriter(partial, schema, compression="zstd") as writer:
        batch: list[dict[str, Any]] = []
        for record in iter_records(dataset):
            row = manifest_row(record)
            counts.add(row)
            batch.append(row)
            if len(batch) >= _BATCH:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                batch = []
        writer.write_table(pa.Table.from_pylist(batch, schema=schema))
    os.replace(partial, paths.manifest)
    card = {
        "schema": CARD_SCHEMA,
        "created_at": _now(),
        "tool": {"name": "reservation-crawler", "version": __version__},
        "complete": complete,
        "dataset": {
            "file": dataset.name,
            "format": "parquet" if dataset.suffix.lower() == ".parquet" else "jsonlines",
            "sha256": sha256_of(dataset),
            "bytes": dataset.stat().st_size,
            "record_schema": SCHEMA,
        },
        "manifest": {
            "file": paths.manifest.name,
            "schema": MANIFEST_SCHEMA,
            "sha256": sha256_of(paths.manifest),
            "rows": counts.rows,
        },
        "inputs": dict(inputs or {}),
        "options": dict(options),
        "counts": counts.to_json(),
    }
    _write_text(paths.card_json, json.dumps(card, indent=1, ensure_ascii=False) + "\n")
    _write_text(paths.card_md, card_markdown(card))
    return paths, card


def _write_text(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _pct(share: Mapping[str, Any]) -> str:
    value = share.get("share")
    return "–" if value is None else f"{share['count']:,} ({value:.1%})"


def card_markdown(card: Mapping[str, Any]) -> str:
    """The card for people: what the dataset is, how it was made, how to cite and verify it."""
    counts = card["counts"]
    dates = counts["date_range"]
    manifest = card["manifest"]
    lines = [
        f"# Dataset card: {card['dataset']['file']}",
        "",
        f"Made by {card['tool']['name']} {card['tool']['version']} on {card['created_at']}"
        + ("" if card["complete"] else " — **incomplete: the crawl was interrupted**")
        + ".",
        "",
        f"- records: {counts['urls']:,} URLs of {counts['origins']:,} origins",
        f"- fetched: {dates['first_fetched_at']} to {dates['last_fetched_at']}",
        f"- dataset: `{card['dataset']['file']}` ({card['dataset']['format']}, "
        f"SHA-256 `{card['dataset']['sha256']}`)",
        f"- manifest: `{manifest['file']}` ({manifest['rows']:,} rows, {manifest['schema']}), "
        f"SHA-256 `{manifest['sha256']}`",
        "",
        "Cite the manifest by its SHA-256; check it with "
        f"`reservation-crawler manifest verify {manifest['file']}`.",
        "",
        "## Decisions (share of URLs)",
        "",
        "| agent | purpose | reserved | allowed | unspecified |",
        "|---|---|---|---|---|",
    ]
    for agent, purposes in counts["decisions"].items():
        for purpose, cells in purposes.items():
            lines.append(
                f"| `{agent}` | {purpose} | {_pct(cells['reserved'])} | "
                f"{_pct(cells['allowed'])} | {_pct(cells['unspecified'])} |"
            )
    lines += ["", "## Sources (records per outcome)", ""]
    outcomes = [str(o) for o in Outcome]
    lines += ["| source | " + " | ".join(outcomes) + " |", "|---" * (len(outcomes) + 1) + "|"]
    for name, values in counts["sources"].items():
        lines.append(f"| {name} | " + " | ".join(f"{values[o]:,}" for o in outcomes) + " |")
    lines += ["", "## Access (records per what the origin did)", ""]
    accesses = [str(a) for a in Access]
    lines += ["| source | " + " | ".join(accesses) + " |", "|---" * (len(accesses) + 1) + "|"]
    for name, values in counts["access"].items():
        lines.append(f"| {name} | " + " | ".join(f"{values[a]:,}" for a in accesses) + " |")
    lines += ["", "## Inputs and options", "", "```json"]
    lines.append(json.dumps({"inputs": card["inputs"], "options": card["options"]}, indent=1))
    lines += ["```", ""]
    return "\n".join(lines)


# --- verify ------------------------------------------------------------------------------------


def card_path_of(manifest: Path) -> Path:
    """The card beside ``x.manifest.parquet``: ``x.card.json``."""
    return ManifestPaths.of(manifest).card_json


def verify(manifest: Path, card_path: Path | None = None) -> tuple[list[str], dict[str, Any]]:
    """Differences between a manifest and its card (empty: they agree), and the card."""
    card_path = card_path or card_path_of(manifest)
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the card {card_path}: {exc}") from exc
    if not isinstance(card, dict) or card.get("schema") != CARD_SCHEMA:
        raise InputError(f"{card_path}: not a {CARD_SCHEMA} card")
    problems: list[str] = []
    digest = sha256_of(manifest)
    if digest != card.get("manifest", {}).get("sha256"):
        problems.append(
            f"manifest sha256: card {card.get('manifest', {}).get('sha256')}, file {digest}"
        )
    counts = Counts()
    for row in iter_manifest(manifest):
        counts.add(row)
    if counts.rows != card.get("manifest", {}).get("rows"):
        problems.append(f"manifest rows: card {card['manifest'].get('rows')}, file {counts.rows}")
    problems += _differences("counts", card.get("counts"), counts.to_json())
    return problems, card


def _differences(where: str, stated: Any, actual: Any) -> list[str]:
    """Every leaf where the card (``stated``) and the recount (``actual``) differ, by path."""
    if isinstance(stated, dict) and isinstance(actual, dict):
        out: list[str] = []
        for key in sorted(set(stated) | set(actual), key=str):
            out += _differences(f"{where}.{key}", stated.get(key), actual.get(key))
        return out
    return [] if stated == actual else [f"{where}: card {stated!r}, manifest {actual!r}"]


# --- recheck -----------------------------------------------------------------------------------


@dataclass
class RecheckOptions:
    manifest: Path
    output: Path
    agents: Sequence[str] = ()
    redis_url: str | None = None
    concurrency: int = 16
    allow_private: bool = False
    timeout: float = 10.0
    max_age: float | None = None
    progress: bool = False


@dataclass
class RecheckResult:
    summary: dict[str, Any]
    complete: bool


class _State:
    """The resumable state: ``recheck-state.jsonl`` in the output directory, one line per URL
    done (after a header naming the manifest and agents). A rerun skips the URLs it holds."""

    def __init__(self, path: Path, header: dict[str, Any]) -> None:
        self.path = path
        self.done: dict[str, dict[str, Any]] = {}
        if path.exists():
            lines = path.read_text(encoding="utf-8").splitlines()
            first = json.loads(lines[0]) if lines else None
            if first != header:
                raise UsageError(
                    f"{path} belongs to another re-check (manifest or agents differ): use another "
                    "-o directory, or delete it to start over"
                )
            for line in lines[1:]:
                try:
                    entry = json.loads(line)
                except ValueError:  # a line cut by a kill: that URL is done again
                    continue
                self.done[entry["url"]] = entry
            self.handle: TextIO = open(path, "a", encoding="utf-8")  # noqa: SIM115
        else:
            self.handle = open(path, "w", encoding="utf-8")  # noqa: SIM115
            self.handle.write(json.dumps(header) + "\n")
            self.handle.flush()

    def add(self, entry: dict[str, Any]) -> None:
        self.done[entry["url"]] = entry
        self.handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self.handle.flush()

    def close(self) -> None:
        self.handle.close()


def _unknown_why(record: Any, stale: bool) -> str | None:
    """Why the policy of an origin is unknown now (robots.txt not read), or None."""
    robots = record.sources["robots.txt"]
    if stale:
        return (
            "robots.txt unreachable now; the Checker answers from the last good copy "
            "(RFC 9309 §2.4)"
        )
    if robots.access is Access.CHALLENGE:
        return f"robots.txt: {robots.access_detail}"
    if robots.outcome in (Outcome.UNREACHABLE, Outcome.ERROR, Outcome.REFUSED):
        return f"robots.txt {robots.outcome}: {robots.error or f'HTTP {robots.status}'}"
    return None


def _read(status: Any) -> bool:
    """Whether a page response was read for its signals (a 2xx head: ``collect.read_page``)."""
    return isinstance(status, int) and 200 <= status < 300


async def _recheck_url(
    checker: Any, url: str, agents: Sequence[str], page_then: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The state now of one URL, through the Checker (its cache, then a fetch).

    ``page_then``: the manifest's page column. When the crawl read the page, the page is read
    again, so page signals are compared with page signals; when it cannot be read now (robots.txt
    now disallows our crawler, or no 2xx answer) its signals are unknown, and so is the URL.
    """
    from reservation_crawler._version import PRODUCT_TOKEN
    from reservation_crawler.core.fetching import access_of
    from reservation_crawler.errors import InvalidOrigin

    try:
        checked = await checker.record(url, [a for a in agents if a != "*"])
    except InvalidOrigin as exc:
        return {"url": url, "unknown": str(exc), "now": {}, "level": "none"}
    record = checked.record
    now = {a: {str(p): str(record.decisions[a][p]) for p in PURPOSES} for a in agents}
    unknown = _unknown_why(record, checked.stale)
    level = "origin"
    page_access = None
    fetched_then = (page_then or {}).get("outcome") not in (None, str(Outcome.NOT_FETCHED))
    read_then = _read((page_then or {}).get("status"))
    if fetched_then and unknown is None:
        crawl = await checker.check(url, PRODUCT_TOKEN, "crawl")
        if crawl.reserved:
            if read_then:
                unknown = "robots.txt now disallows our crawler: the page's signals are unknown"
        else:
            result = await checker.fetcher.fetch(url)
            reading = access_of(result)
            page_access = reading.access
            level = "page"
            if read_then and not _read(result.status):
                why = reading.detail or result.error or f"HTTP {result.status}"
                unknown = f"the page could not be read now ({why})"
            for agent in agents:
                verdicts = await checker.check_response_many(
                    url, result.status, result.headers, result.body, agent, PURPOSES
                )
                now[agent] = {str(v.purpose): str(v.decision) for v in verdicts}
    robots_access = record.sources["robots.txt"].access
    return {
        "url": url,
        "now": now,
        "unknown": unknown,
        "level": level,
        "policy_source": str(checked.source),
        "policy_fetched_at": record.fetched_at,
        "robots_access": None if robots_access is None else str(robots_access),
        "page_access": None if page_access is None else str(page_access),
    }


def change_of(then: str | None, now: str | None, unknown: bool) -> str:
    """The change of one cell (docs/datasets.md, "recheck")."""
    if unknown:
        return UNREACHABLE_NOW
    if then == now:
        return UNCHANGED
    if now == Decision.RESERVED:
        return NEWLY_RESERVED
    if then == Decision.RESERVED:
        return LIFTED
    return CHANGED


def recheck(options: RecheckOptions, *, stderr: TextIO = sys.stderr) -> RecheckResult:
    """Re-check every URL of the manifest; write state, diff, drop list and summary."""
    import anyio

    # Three streaming passes over the manifest (its agents; the work; the diff): memory holds
    # the URLs to do and the state, not the manifest's rows.
    known_agents = _manifest_agents(options.manifest)
    agents = list(options.agents) or known_agents
    missing = [a for a in agents if a not in known_agents]
    if missing:
        raise UsageError(
            f"the manifest has no decisions for {', '.join(missing)} (it has "
            f"{', '.join(known_agents)}): a re-check compares the same agents"
        )
    if options.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    options.output.mkdir(parents=True, exist_ok=True)
    header = {
        "schema": RECHECK_SCHEMA,
        "manifest_sha256": sha256_of(options.manifest),
        "agents": agents,
    }
    state = _State(options.output / "recheck-state.jsonl", header)
    by_origin: dict[str, list[tuple[str, dict[str, Any] | None]]] = {}
    total = 0
    for row in iter_manifest(options.manifest):
        total += 1
        if row["url"] not in state.done:
            by_origin.setdefault(row["origin"], []).append((row["url"], row.get("page")))
    progress = _RecheckProgress(options.progress, stderr, total, len(state.done))
    complete = False
    try:
        anyio.run(_run_recheck, options, agents, by_origin, state, progress)
        complete = True
    except KeyboardInterrupt:
        complete = False
    finally:
        state.close()
        progress.finish()
    rows = iter_manifest(options.manifest)
    summary = _write_diff(options, rows, agents, state.done, header, complete)
    return RecheckResult(summary, complete)


def _manifest_agents(path: Path) -> list[str]:
    """The agents a manifest has decisions for, in first-seen order (one column read)."""
    agents: dict[str, None] = {}
    for batch in open_manifest(path).iter_batches(_BATCH, columns=["decisions"]):
        for cells in batch.column(0).to_pylist():
            agents.update(dict.fromkeys(agent for agent, _ in cells or ()))
    return list(agents)


async def _run_recheck(
    options: RecheckOptions,
    agents: Sequence[str],
    by_origin: Mapping[str, list[tuple[str, dict[str, Any] | None]]],
    state: _State,
    progress: _RecheckProgress,
) -> None:
    """One task per origin (its URLs one after the other: per-origin concurrency 1), at most
    ``concurrency`` origins at a time."""
    import anyio

    from reservation_crawler.drivers.fetch import FetchLimits
    from reservation_crawler.drivers.lookup import AsyncChecker

    limiter = anyio.CapacityLimiter(options.concurrency)
    checker = AsyncChecker(
        redis_url=options.redis_url,
        allow_private=options.allow_private,
        limits=FetchLimits(timeout=options.timeout),
        max_concurrent_fetches=options.concurrency,
    )
    if options.max_age is not None:
        checker.not_before = time.time() - options.max_age
    async with checker:

        async def origin_task(urls: list[tuple[str, dict[str, Any] | None]]) -> None:
            async with limiter:
                for url, page_then in urls:
                    state.add(await _recheck_url(checker, url, agents, page_then))
                    progress.step()

        async with anyio.create_task_group() as group:
            for urls in by_origin.values():
                group.start_soon(origin_task, urls)


class _RecheckProgress:
    """A progress line on stderr (a bar on a terminal, a log line every 10 s otherwise)."""

    def __init__(self, enabled: bool, stream: TextIO, total: int, done: int) -> None:
        self.enabled = enabled
        self.stream = stream
        self.total = total
        self.done = done
        self.started = time.monotonic()
        self.first = done
        self.last = 0.0
        self.tty = stream.isatty()

    def step(self) -> None:
        self.done += 1
        now = time.monotonic()
        if not self.enabled or now - self.last < (0.5 if self.tty else 10.0):
            return
        self.last = now
        self._show(now)

    def _show(self, now: float) -> None:
        rate = (self.done - self.first) / max(now - self.started, 1e-9)
        share = self.done / self.total if self.total else 1.0
        text = f"recheck: {self.done:,}/{self.total:,} URLs ({share:.0%}), {rate:.1f} URLs/s"
        if self.tty:
            width = 20
            bar = "#" * int(share * width)
            self.stream.write(f"\r[{bar:<{width}}] {text}")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self._show(time.monotonic())
            if self.tty:
                self.stream.write("\n")
            self.stream.flush()


def _write_diff(
    options: RecheckOptions,
    rows: Iterable[Mapping[str, Any]],
    agents: Sequence[str],
    done: Mapping[str, Mapping[str, Any]],
    header: Mapping[str, Any],
    complete: bool,
) -> dict[str, Any]:
    """diff.jsonl (one line per URL, agent and purpose), drop-list.txt, summary.json."""
    changes: Counter[tuple[str, str, str]] = Counter()
    drop: list[str] = []
    unknown_urls = total = 0
    diff_path = options.output / "diff.jsonl"
    with open(diff_path, "w", encoding="utf-8") as diff:
        for row in rows:
            total += 1
            entry = done.get(row["url"])
            if entry is None:
                continue
            unknown = entry.get("unknown")
            unknown_urls += unknown is not None
            dropped = False
            for agent in agents:
                for purpose in PURPOSES:
                    then = row["decisions"].get(agent, {}).get(str(purpose))
                    now = entry["now"].get(agent, {}).get(str(purpose))
                    change = change_of(then, now, unknown is not None)
                    changes[(agent, str(purpose), change)] += 1
                    line = {
                        "url": row["url"],
                        "agent": agent,
                        "purpose": str(purpose),
                        "then": then,
                        "now": None if unknown is not None else now,
                        "change": change,
                    }
                    if unknown is not None:
                        line["why"] = unknown
                    diff.write(json.dumps(line, ensure_ascii=False) + "\n")
                    if str(purpose) == DROP_PURPOSE and (
                        unknown is not None or now == Decision.RESERVED
                    ):
                        dropped = True
            if dropped:
                drop.append(row["url"])
    drop_path = options.output / "drop-list.txt"
    _write_text(drop_path, "".join(f"{url}\n" for url in drop))
    summary = {
        "schema": RECHECK_SCHEMA,
        "manifest": str(options.manifest),
        "manifest_sha256": header["manifest_sha256"],
        "rechecked_at": _now(),
        "complete": complete,
        "urls": total,
        "urls_rechecked": len(done),
        "urls_unknown_now": unknown_urls,
        "agents": list(agents),
        "changes": {
            agent: {
                str(p): {change: changes[(agent, str(p), change)] for change in CHANGES}
                for p in PURPOSES
            }
            for agent in agents
        },
        "drop_list": {"file": str(drop_path), "urls": len(drop), "purpose": DROP_PURPOSE},
        "diff": str(diff_path),
        "state": str(options.output / "recheck-state.jsonl"),
    }
    _write_text(options.output / "summary.json", json.dumps(summary, indent=1) + "\n")
    return summary


def format_recheck(summary: Mapping[str, Any]) -> str:
    """The summary for people."""
    lines = [
        f"re-checked {summary['urls_rechecked']:,} of {summary['urls']:,} URLs"
        + ("" if summary["complete"] else " (interrupted: run the same command to resume)"),
        f"unknown now (robots.txt or the page could not be read): "
        f"{summary['urls_unknown_now']:,} URLs",
        "",
        f"{'agent':<14} {'purpose':<10} " + " ".join(f"{c:>15}" for c in CHANGES),
    ]
    for agent, purposes in summary["changes"].items():
        for purpose, counts in purposes.items():
            lines.append(
                f"{agent:<14} {purpose:<10} " + " ".join(f"{counts[c]:>15,}" for c in CHANGES)
            )
    drop = summary["drop_list"]
    lines += [
        "",
        f"drop list ({drop['purpose']} reserved now or unknown, for {', '.join(summary['agents'])}"
        f"): {drop['urls']:,} URLs in {drop['file']}",
        f"diff: {summary['diff']}",
    ]
    return "\n".join(lines)
