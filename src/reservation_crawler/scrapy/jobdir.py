"""The job ledger of a resumable crawl (``--job-dir DIR``).

Two append-only JSON Lines files, flushed after every line so that even ``kill -9`` loses at
most the line being written (a torn last line is cut off when the ledger is reopened):

- ``DIR/records.jsonl``: every record written, once (the dataset; ``-o`` is produced from it
  when the crawl completes);
- ``DIR/sites.jsonl``: one line per finished origin (``SiteItem``), written after its records;
- ``DIR/job.json``: the options that decide what the dataset holds (targets, agents, pages per
  site, scheme, private addresses). A run with other options is refused (``JobMismatch``), so a
  job directory never silently hands back a dataset made for other options.

On resume, finished origins are skipped and records of unfinished ones already in the ledger
are dropped, so no record is lost or written twice. We do not rely on Scrapy's ``JOBDIR``
queues: they are consistent only after a graceful shutdown, and every request of ours carries
its origin's whole state, so the target list minus the finished origins *is* the frontier.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from reservation_crawler.errors import ConfigError

RECORDS_FILE = "records.jsonl"
SITES_FILE = "sites.jsonl"
OPTIONS_FILE = "job.json"
OPTIONS_SCHEMA = "crawl-job/1"
_ATTR = "_rc_job_ledger"


class JobMismatch(ConfigError):
    """The job directory was started with options that make a different dataset."""


def check_job_options(directory: str | os.PathLike[str], options: Mapping[str, Any]) -> bool:
    """Record ``options`` in a new job directory, or check them against the recorded ones.

    True when the directory already holds a job with the same options (a resume). Raises
    ``JobMismatch`` naming every option that differs, or when a ledger has no options record.
    """
    path = Path(directory) / OPTIONS_FILE
    wanted = {"schema": OPTIONS_SCHEMA, **options}
    if path.exists():
        recorded = json.loads(path.read_text(encoding="utf-8"))
        differences = [
            f"{name}: {_show(recorded.get(name))} then, {_show(wanted.get(name))} now"
            for name in sorted(set(recorded) | set(wanted))
            if name != "schema" and recorded.get(name) != wanted.get(name)
        ]
        if differences:
            raise JobMismatch(
                f"the job directory {directory} holds a crawl made with other options ("
                + "; ".join(differences)
                + "): run with the same options to resume it, or give a new --job-dir"
            )
        return True
    ledger = [Path(directory) / name for name in (RECORDS_FILE, SITES_FILE)]
    if any(f.exists() and f.stat().st_size for f in ledger):
        raise JobMismatch(
            f"the job directory {directory} has a ledger but no {OPTIONS_FILE} (made before "
            "0.2), so its options are unknown: give a new --job-dir"
        )
    Path(directory).mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(wanted, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, path)
    return False


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]" if value else "none"
    return "none" if value is None else str(value)


def _complete_lines(path: Path) -> Iterator[bytes]:
    """The complete lines of a JSON Lines file; a torn last line is cut off the file."""
    if not path.exists():
        return
    with open(path, "r+b") as handle:
        data = handle.read()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            handle.truncate(end)
    for line in data[:end].splitlines():
        if line.strip():
            yield line


def _dumps(item: Mapping[str, Any]) -> bytes:
    return (json.dumps(dict(item), ensure_ascii=False, separators=(",", ":")) + "\n").encode()


class JobLedger:
    """What a crawl with ``--job-dir`` has durably written so far."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.records_path = self.directory / RECORDS_FILE
        self.sites_path = self.directory / SITES_FILE
        self.written_urls: set[str] = set()
        for line in _complete_lines(self.records_path):
            self.written_urls.add(json.loads(line)["url"])
        self.previous_sites: dict[str, dict[str, Any]] = {}
        for line in _complete_lines(self.sites_path):
            site = json.loads(line)
            self.previous_sites[site["origin"]] = site
        self.previous_records = len(self.written_urls)
        self._records = open(self.records_path, "ab")  # noqa: SIM115 - closed in close()
        self._sites = open(self.sites_path, "ab")  # noqa: SIM115

    @property
    def done_origins(self) -> frozenset[str]:
        return frozenset(self.previous_sites)

    @property
    def resuming(self) -> bool:
        return bool(self.previous_sites or self.written_urls)

    def previous_counts(self) -> Counter[str]:
        """Sites finished before this run: ``done`` and ``failed/<reason>``."""
        counts: Counter[str] = Counter()
        for site in self.previous_sites.values():
            if site["status"] == "done":
                counts["done"] += 1
            else:
                counts[f"failed/{site.get('reason') or 'unknown'}"] += 1
        return counts

    def write_record(self, record: Mapping[str, Any]) -> bool:
        """Append a record unless its URL is already in the ledger; True when written."""
        url = record["url"]
        if url in self.written_urls:
            return False
        self._records.write(_dumps(record))
        self._records.flush()
        self.written_urls.add(url)
        return True

    def write_site(self, site: Mapping[str, Any]) -> None:
        self._sites.write(_dumps(site))
        self._sites.flush()

    def iter_records(self) -> Iterator[dict[str, Any]]:
        self._records.flush()
        for line in _complete_lines(self.records_path):
            yield json.loads(line)

    def close(self) -> None:
        for handle in (self._records, self._sites):
            if not handle.closed:
                handle.flush()
                os.fsync(handle.fileno())
                handle.close()


def ledger_for(crawler: Any) -> JobLedger | None:
    """The crawler's ledger (opened once, shared by the spider and the pipeline), or None
    without ``RC_JOB_DIR``."""
    ledger = getattr(crawler, _ATTR, None)
    if ledger is None:
        directory = crawler.settings.get("RC_JOB_DIR")
        if not directory:
            return None
        ledger = JobLedger(directory)
        setattr(crawler, _ATTR, ledger)
    return ledger
