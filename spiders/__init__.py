"""The project's Scrapy spiders (Scrapy project layout; see ``scrapy.cfg``).

The spider code lives in the installed package, ``reservation_crawler.scrapy.spider``, so that
``pip install .`` carries it and ``reservation-crawler crawl`` works from any directory; the
modules here re-export it for ``scrapy crawl`` / ``scrapy runspider`` from the repository root.
"""
