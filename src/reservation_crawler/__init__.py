"""reservation-crawler: reads every machine-readable AI / TDM rights reservation on the web."""

from __future__ import annotations

__version__ = "0.1.0"
