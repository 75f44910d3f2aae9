"""The HTTP download handler: Scrapy's HTTP/1.1 handler with short-lived idle connections, which
notes each response's status as soon as its head arrives.

A crawl visits each host in one short burst (its policy files, then its pages) and never comes
back. Twisted keeps an idle keep-alive connection for 240 s, so at a few hundred hosts a second
a crawl would hold thousands of open sockets (and their memory) for hosts it is done with.
Idle connections are closed after ``RC_KEEPALIVE_TIMEOUT`` seconds (default 5) instead.

A download that fails after the head (a timeout mid-body) loses Scrapy's response; the status
kept in ``request.meta[HEAD_STATUS]`` lets the spider still read the head and the part of the
body that arrived (``scrapy/fetching.py``), as ``check`` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler, _ScrapyAgent
from scrapy.utils._download_handlers import wrap_twisted_exceptions
from scrapy.utils.defer import maybe_deferred_to_future

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

DEFAULT_KEEPALIVE_TIMEOUT = 5.0
HEAD_STATUS = "rc_head_status"  # request.meta key: the status of the response head received


class _HeadNotingAgent(_ScrapyAgent):
    """Scrapy's agent, noting the status line before the body is read (and the
    ``headers_received`` signal sent)."""

    def _cb_bodyready(self, txresponse: Any, request: Request) -> Any:
        request.meta[HEAD_STATUS] = int(txresponse.code)
        return super()._cb_bodyready(txresponse, request)


class ShortKeepAliveHTTP11DownloadHandler(HTTP11DownloadHandler):
    """``HTTP11DownloadHandler`` whose connection pool drops idle connections quickly, and whose
    agent notes each response head's status (see the module docstring)."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        # Twisted annotates this as int but hands it to callLater, which takes seconds as float.
        self._pool.cachedConnectionTimeout = crawler.settings.getfloat(  # type: ignore[assignment]
            "RC_KEEPALIVE_TIMEOUT", DEFAULT_KEEPALIVE_TIMEOUT
        )

    async def download_request(self, request: Request) -> Response:
        # HTTP11DownloadHandler.download_request with the agent above (the spider sets no
        # download_maxsize attribute, and DOWNLOAD_FAIL_ON_DATALOSS is off: settings.py).
        agent = _HeadNotingAgent(
            contextFactory=self._contextFactory,
            bindAddress=self._bind_address,
            pool=self._pool,
            maxsize=self._default_maxsize,
            warnsize=self._default_warnsize,
            fail_on_dataloss=self._fail_on_dataloss,
            crawler=self._crawler,
            tls_verbose_logging=self._tls_verbose_logging,
        )
        with wrap_twisted_exceptions():
            return await maybe_deferred_to_future(agent.download_request(request))
