"""Purpose ``ai-input`` is now ``ai-use`` (draft-ietf-aipref-vocab-08; docs/registry.md).

Registrations store their purposes as a JSON list of names; this rewrites the old name in
place. Nothing else changes (not ``seq``: mirrors run this migration on their own copies, and
feeds from servers not yet upgraded are read with ``ai-input`` as an alias of ``ai-use``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_OLD, _NEW = '"ai-input"', '"ai-use"'


def _rename(old: str, new: str) -> None:
    registrations = sa.table("registry_registrations", sa.column("purposes", sa.Text))
    op.execute(
        registrations.update()
        .where(registrations.c.purposes.contains(old, autoescape=True))
        .values(purposes=sa.func.replace(registrations.c.purposes, old, new))
    )


def upgrade() -> None:
    _rename(_OLD, _NEW)


def downgrade() -> None:
    _rename(_NEW, _OLD)
