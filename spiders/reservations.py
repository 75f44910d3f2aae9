"""The ``reservations`` spider, for ``scrapy`` commands run from the repository root::

    scrapy crawl reservations -a targets=example.com,example.org -o records.jsonl
    scrapy runspider spiders/reservations.py -a input=tranco.csv -o records.parquet

The implementation is ``reservation_crawler.scrapy.spider.ReservationsSpider`` (installed with
the package, which is what ``scrapy crawl`` loads through ``SPIDER_MODULES``); this subclass
only makes the file runnable by ``scrapy runspider``.
"""

from reservation_crawler.scrapy.spider import ReservationsSpider as _ReservationsSpider


class ReservationsSpider(_ReservationsSpider):
    name = "reservations"


__all__ = ["ReservationsSpider"]
