"""The data model: the reservation record, findings and the one JSON codec.

Imports: ``errors`` and the standard library only.
"""
