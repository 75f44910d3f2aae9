"""Alembic migrations of the registry database (run by RegistryStore on open)."""
