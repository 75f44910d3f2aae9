"""A Parquet feed exporter for reservation records (``FEED_EXPORTERS = {"parquet": ...}``).

One row per record, with the JSON record's field names and nested types (not JSON strings), so
DuckDB, pandas or Spark query it directly:

- ``schema``, ``url``, ``origin``, ``fetched_at``: string;
- ``sources``: map<string, struct<url, outcome, status int32, content_type, size int64, sha256,
  error, redirects list<string>, access, access_rule, access_detail, price, license_url>>
  keyed by ``robots.txt`` / ``ai.txt`` / ``tdmrep.json`` / ``page``;
- ``decisions``: map<string (agent), struct<crawl, train-ai, ai-use, search>> of
  ``reserved`` / ``allowed`` / ``unspecified``;
- ``evidence``: list<struct<agent, purposes list<string>, effect, signal, source, scope, raw,
  line int32, location>>;
- ``findings``: list<struct<code, severity, source, message, line int32, location>>.
- ``aipref_vocab``: string, the aipref vocabulary revision applied (docs/record.md).

Rows are written in row groups of ``batch_size`` records (zstd-compressed).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO

from scrapy.exporters import BaseItemExporter

from reservation_crawler.model.record import PURPOSES

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq

SOURCE_FIELDS = (
    "url", "outcome", "status", "content_type", "size", "sha256", "error", "redirects",
    "access", "access_rule", "access_detail", "price", "license_url",
)  # fmt: skip
EVIDENCE_FIELDS = (
    "agent", "purposes", "effect", "signal", "source", "scope", "raw", "line", "location",
)  # fmt: skip
FINDING_FIELDS = ("code", "severity", "source", "message", "line", "location")


@functools.cache
def record_schema() -> pa.Schema:
    """The Arrow schema of a record row (pyarrow is imported on first use: a JSON Lines crawl
    does not pay for it)."""
    import pyarrow as pa

    source = pa.struct(
        [
            ("url", pa.string()),
            ("outcome", pa.string()),
            ("status", pa.int32()),
            ("content_type", pa.string()),
            ("size", pa.int64()),
            ("sha256", pa.string()),
            ("error", pa.string()),
            ("redirects", pa.list_(pa.string())),
            ("access", pa.string()),
            ("access_rule", pa.string()),
            ("access_detail", pa.string()),
            ("price", pa.string()),
            ("license_url", pa.string()),
        ]
    )
    cells = pa.struct([(str(p), pa.string()) for p in PURPOSES])
    evidence = pa.struct(
        [
            ("agent", pa.string()),
            ("purposes", pa.list_(pa.string())),
            ("effect", pa.string()),
            ("signal", pa.string()),
            ("source", pa.string()),
            ("scope", pa.string()),
            ("raw", pa.string()),
            ("line", pa.int32()),
            ("location", pa.string()),
        ]
    )
    finding = pa.struct(
        [
            ("code", pa.string()),
            ("severity", pa.string()),
            ("source", pa.string()),
            ("message", pa.string()),
            ("line", pa.int32()),
            ("location", pa.string()),
        ]
    )
    return pa.schema(
        [
            ("schema", pa.string()),
            ("url", pa.string()),
            ("origin", pa.string()),
            ("fetched_at", pa.string()),
            ("sources", pa.map_(pa.string(), source)),
            ("decisions", pa.map_(pa.string(), cells)),
            ("evidence", pa.list_(evidence)),
            ("findings", pa.list_(finding)),
            ("aipref_vocab", pa.string()),
        ]
    )


def _pick(data: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {name: data.get(name) for name in names}


def record_row(record: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON record (docs/record.md) as a row of :func:`record_schema`."""
    return {
        "schema": record.get("schema"),
        "url": record.get("url"),
        "origin": record.get("origin"),
        "fetched_at": record.get("fetched_at"),
        "sources": [
            (name, _pick(source, SOURCE_FIELDS))
            for name, source in (record.get("sources") or {}).items()
        ],
        "decisions": [
            (agent, {str(p): cells.get(str(p)) for p in PURPOSES})
            for agent, cells in (record.get("decisions") or {}).items()
        ],
        "evidence": [_pick(e, EVIDENCE_FIELDS) for e in record.get("evidence") or ()],
        "findings": [_pick(f, FINDING_FIELDS) for f in record.get("findings") or ()],
        "aipref_vocab": record.get("aipref_vocab"),
    }


class ParquetItemExporter(BaseItemExporter):
    """Writes reservation records to a Parquet file, ``batch_size`` records per row group."""

    def __init__(self, file: BinaryIO, *, batch_size: int = 2000, **kwargs: Any) -> None:
        super().__init__(dont_fail=True, **kwargs)
        self.file = file
        self.batch_size = max(1, batch_size)
        self._rows: list[dict[str, Any]] = []
        self._writer: pq.ParquetWriter | None = None

    def start_exporting(self) -> None:
        import pyarrow.parquet as pq

        self._writer = pq.ParquetWriter(self.file, record_schema(), compression="zstd")

    def export_item(self, item: Any) -> None:
        self._rows.append(record_row(item))
        if len(self._rows) >= self.batch_size:
            self._flush()

    def _flush(self) -> None:
        if not self._rows:
            return
        if self._writer is None:
            self.start_exporting()
        assert self._writer is not None
        import pyarrow as pa

        self._writer.write_table(pa.Table.from_pylist(self._rows, schema=record_schema()))
        self._rows = []

    def finish_exporting(self) -> None:
        if self._writer is None:
            self.start_exporting()
        self._flush()
        assert self._writer is not None
        self._writer.close()
        self._writer = None


def __getattr__(name: str) -> Any:
    # RECORD_SCHEMA, built on first access (pyarrow is imported then, not at import time).
    if name == "RECORD_SCHEMA":
        return record_schema()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
