"""The items the ``reservations`` spider yields.

Plain ``dict`` subclasses so Scrapy's exporters and itemadapter treat them as dicts, while feeds
(``FEEDS[...]["item_classes"]``) and pipelines can tell them apart:

- :class:`RecordItem` is ``ReservationRecord.to_json()`` (docs/record.md): the dataset row;
- :class:`PolicyItem` is ``{"origin", "policy": OriginPolicy.to_json(), "failed"}``: for Redis;
- :class:`SiteItem` closes one origin: ``{"origin", "status": "done"|"failed", "reason",
  "records", "pages_fetched"}``: for the summary and the job ledger.
"""

from __future__ import annotations

from typing import Any


class RecordItem(dict[str, Any]):
    """One reservation record (``ReservationRecord.to_json()``)."""


class PolicyItem(dict[str, Any]):
    """One origin's policy files as fetched (``OriginPolicy.to_json()`` under ``policy``)."""


class SiteItem(dict[str, Any]):
    """The end of one origin's crawl: how it went and how many records it produced."""


SITE_DONE = "done"
SITE_FAILED = "failed"
