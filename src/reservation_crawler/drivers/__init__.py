"""The I/O edges: the httpx fetcher, the Redis cache and the Checker that run the core's flows.

Imports: ``core`` and below. httpx and redis live here only.
"""
