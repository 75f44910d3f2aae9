"""Testing helpers: the local fixture web used by tests, ``demo`` and the benchmarks.

Names are imported lazily, so ``python -m reservation_crawler.testing.fixtureweb`` runs its
module only once.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reservation_crawler.testing.fixtureweb import (
        FixtureWeb,
        FixtureWebProcess,
        expected_decisions,
        read_ground_truth,
        write_ground_truth,
    )
    from reservation_crawler.testing.sites import (
        AGENTS,
        KINDS,
        PAGES,
        PROFILES,
        PURPOSES,
        Recipe,
        RobotsCorpus,
        every_variant,
        generate_recipes,
        recipe,
    )
    from reservation_crawler.testing.truth import site_truth

_HOMES = {
    "FixtureWeb": "fixtureweb",
    "FixtureWebProcess": "fixtureweb",
    "expected_decisions": "fixtureweb",
    "read_ground_truth": "fixtureweb",
    "write_ground_truth": "fixtureweb",
    "AGENTS": "sites",
    "KINDS": "sites",
    "PAGES": "sites",
    "PROFILES": "sites",
    "PURPOSES": "sites",
    "Recipe": "sites",
    "RobotsCorpus": "sites",
    "every_variant": "sites",
    "generate_recipes": "sites",
    "recipe": "sites",
    "site_truth": "truth",
}

__all__ = [
    "AGENTS",
    "KINDS",
    "PAGES",
    "PROFILES",
    "PURPOSES",
    "FixtureWeb",
    "FixtureWebProcess",
    "Recipe",
    "RobotsCorpus",
    "every_variant",
    "expected_decisions",
    "generate_recipes",
    "read_ground_truth",
    "recipe",
    "site_truth",
    "write_ground_truth",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)


def __dir__() -> list[str]:
    return __all__
