"""The sans-I/O core: the per-origin policy, ``decide()`` and the fetch / lookup flows.

Imports: ``signals``, ``model`` and below. No networking, no Redis.
"""
