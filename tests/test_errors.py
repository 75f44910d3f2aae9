"""One exception root: every exception class the package defines is a ReservationCrawlerError.

``reservation_crawler.testing`` (the fixture web) is left out: it imports nothing of the
package, by design (tests/test_architecture.py).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import reservation_crawler
from reservation_crawler.errors import ReservationCrawlerError, ReservationError


def _modules():
    for info in pkgutil.walk_packages(reservation_crawler.__path__, "reservation_crawler."):
        name = info.name
        if name.startswith("reservation_crawler.testing") or name.endswith("__main__"):
            continue
        yield importlib.import_module(name)


def test_every_exception_defined_in_the_package_is_under_the_root():
    defined = {
        cls
        for module in _modules()
        for cls in vars(module).values()
        if inspect.isclass(cls)
        and issubclass(cls, BaseException)
        and cls.__module__ == module.__name__
    }
    assert len(defined) >= 10  # the walk found them (errors.py alone defines 7)
    outside = sorted(c.__qualname__ for c in defined if not issubclass(c, ReservationCrawlerError))
    assert outside == []


def test_the_tree_is_drawn_in_the_docstring():
    import reservation_crawler.errors as errors

    for name in errors.__all__:
        if name != "ReservationError":
            assert name in errors.__doc__, name
    assert ReservationError is ReservationCrawlerError


def test_config_errors_stay_value_errors_for_0_1_callers():
    from reservation_crawler.signals import robots

    try:
        robots.parse(b"", profile="bing")
    except ValueError as exc:
        assert isinstance(exc, ReservationCrawlerError)
    else:
        raise AssertionError("an unknown profile must be refused")
