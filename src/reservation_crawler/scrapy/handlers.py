"""The HTTP download handler: Scrapy's HTTP/1.1 handler with short-lived idle connections.

A crawl visits each host in one short burst (its policy files, then its pages) and never comes
back. Twisted keeps an idle keep-alive connection for 240 s, so at a few hundred hosts a second
a crawl would hold thousands of open sockets (and their memory) for hosts it is done with.
Idle connections are closed after ``RC_KEEPALIVE_TIMEOUT`` seconds (default 5) instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

DEFAULT_KEEPALIVE_TIMEOUT = 5.0


class ShortKeepAliveHTTP11DownloadHandler(HTTP11DownloadHandler):
    """``HTTP11DownloadHandler`` whose connection pool drops idle connections quickly."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        # Twisted annotates this as int but hands it to callLater, which takes seconds as float.
        self._pool.cachedConnectionTimeout = crawler.settings.getfloat(  # type: ignore[assignment]
            "RC_KEEPALIVE_TIMEOUT", DEFAULT_KEEPALIVE_TIMEOUT
        )
