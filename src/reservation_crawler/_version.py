"""The version, the product token and the User-Agent every fetcher sends."""

from __future__ import annotations

__version__ = "0.2.0"
PRODUCT_TOKEN = "reservation-crawler"
APP_NAME = PRODUCT_TOKEN  # the user data directory's name (platformdirs): caches, registry, logs
USER_AGENT = (
    f"{PRODUCT_TOKEN}/{__version__} (+https://github.com/reservation-crawler/reservation-crawler)"
)
