"""Scrapy integration: settings, items, pipelines, resolver, feed exporters and the spider
(docs/crawler.md), and the downloader middleware for other spiders (docs/checker.md).

Importing this package does not import Scrapy; each module does, so the rest of the package
stays usable (and fast to import) without it. ``ReservationMiddleware`` is loaded on first use,
so ``DOWNLOADER_MIDDLEWARES = {"reservation_crawler.scrapy.ReservationMiddleware": 100}`` works.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ReservationMiddleware"]


def __getattr__(name: str) -> Any:
    if name == "ReservationMiddleware":
        from reservation_crawler.scrapy.middleware import ReservationMiddleware

        return ReservationMiddleware
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
