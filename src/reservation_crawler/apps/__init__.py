"""Applications on top of the drivers: validate, stats, the HTTP service and the crawl.

Imports: every layer below, never ``cli``.
"""
