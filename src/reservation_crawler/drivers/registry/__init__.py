"""The registry's durable store: SQLAlchemy Core over SQLite (default) or PostgreSQL.

The schema is created and upgraded by Alembic migrations (``migrations/``) when a store
opens. Every change takes the next number of one counter row in the same transaction, so
change numbers (``seq``) are unique, increase in commit order, and "changes since N" never
skips a change committed later with a smaller number (writers queue on the counter row).
SQLAlchemy errors become :class:`RegistryUnavailable` here, at the boundary.
"""

from __future__ import annotations

import builtins
import json
import secrets
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import platformdirs
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from reservation_crawler._version import APP_NAME
from reservation_crawler.errors import (
    InvalidRegistration,
    RegistrationNotFound,
    RegistryUnavailable,
    WrongSecret,
)
from reservation_crawler.model.record import Purpose
from reservation_crawler.model.registry import (
    Registration,
    Status,
    Target,
    TargetKind,
    hash_secret,
    make_target,
    normalize_agents,
    normalize_purposes,
    secret_matches,
)

__all__ = ["RegistryStore", "database_url", "default_db_path", "now_iso"]

DB_FILENAME = "registry.sqlite3"
_MIGRATIONS = Path(__file__).parent / "migrations"

_metadata = sa.MetaData()
_registrations = sa.Table(
    "registry_registrations",
    _metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("origin", sa.Text),
    sa.Column("agents", sa.Text, nullable=False),
    sa.Column("purposes", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("contact", sa.Text, nullable=False),
    sa.Column("name", sa.Text),
    sa.Column("jurisdiction", sa.Text),
    sa.Column("note", sa.Text),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
    sa.Column("withdrawn_at", sa.String(32)),
    sa.Column("token", sa.String(128), nullable=False),
    sa.Column("secret_hash", sa.String(64), nullable=False),
)
_counter = sa.Table(
    "registry_counter",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
)


def default_db_path() -> Path:
    """``<user data dir>/registry.sqlite3`` (platformdirs; honours ``XDG_DATA_HOME``)."""
    return Path(platformdirs.user_data_dir(APP_NAME)) / DB_FILENAME


def database_url(location: str | None) -> str:
    """A SQLAlchemy URL from what a user types: None or ``default`` (the default file), a file
    path, ``sqlite:///…`` or ``postgresql://…`` (driven by psycopg 3)."""
    if not location or location == "default":
        path = default_db_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    for prefix in ("postgresql://", "postgres://"):
        if location.startswith(prefix):
            return "postgresql+psycopg://" + location.removeprefix(prefix)
    if "://" in location:
        return location
    return f"sqlite:///{Path(location).expanduser().resolve()}"


# The advisory lock serializing migrations (an arbitrary constant: "rc-registry" as an int).
_LOCK = int.from_bytes(b"rc-regst", "big") & 0x7FFF_FFFF_FFFF_FFFF


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class RegistryStore:
    """Registrations in a database; ``location`` as :func:`database_url` reads it."""

    def __init__(self, location: str | None = None) -> None:
        self.url = database_url(location)
        try:
            self._engine = sa.create_engine(self.url, future=True)
            self._migrate()
        except SQLAlchemyError as exc:
            raise RegistryUnavailable(f"registry database {self._shown()}: {exc}") from exc
        except ImportError as exc:  # a driver that is not installed
            raise RegistryUnavailable(f"registry database {self._shown()}: {exc}") from exc

    def _shown(self) -> str:
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    def _migrate(self) -> None:
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        with self._engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Replicas starting together on an empty database would each create the
                # tables (UniqueViolation): one migrates at a time, the others then find the
                # schema at head. The lock ends with this transaction (DDL is transactional).
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> RegistryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sa.Connection]:
        try:
            with self._engine.begin() as connection:
                yield connection
        except SQLAlchemyError as exc:
            raise RegistryUnavailable(f"registry database {self._shown()}: {exc}") from exc

    # -- writes

    def create(
        self,
        *,
        contact: str,
        kind: str,
        target: str,
        agents: Sequence[str] = ("*",),
        purposes: Sequence[str] = (Purpose.TRAIN_AI, Purpose.AI_USE),
        name: str | None = None,
        jurisdiction: str | None = None,
        note: str | None = None,
    ) -> tuple[Registration, str]:
        """A new ``claimed`` registration and its withdrawal secret (returned this once)."""
        if not contact.strip():
            raise InvalidRegistration("contact", "required (an e-mail address or another way)")
        secret = secrets.token_urlsafe(32)
        now = now_iso()
        registration = Registration(
            id=uuid.uuid4().hex,
            target=make_target(kind, target),
            agents=normalize_agents(agents),
            purposes=normalize_purposes(purposes),
            status=Status.CLAIMED,
            created_at=now,
            updated_at=now,
            contact=contact.strip(),
            name=name or None,
            jurisdiction=jurisdiction or None,
            note=note or None,
            token=secrets.token_urlsafe(24),
            secret_hash=hash_secret(secret),
        )
        with self._transaction() as connection:
            seq = _next_seq(connection)
            registration = _with_seq(registration, seq)
            connection.execute(_registrations.insert().values(**_row(registration)))
        return registration, secret

    def set_status(self, registration_id: str, status: Status) -> Registration:
        """Mark a registration verified (or claimed again); a withdrawn one stays withdrawn."""
        with self._transaction() as connection:
            current = self._get(connection, registration_id, lock=True)
            if current.status is Status.WITHDRAWN or current.status is status:
                return current
            return self._save(connection, current.with_status(status, now_iso()))

    def withdraw(self, registration_id: str, secret: str) -> Registration:
        """Withdraw with the secret handed out at creation (:class:`WrongSecret` otherwise)."""
        with self._transaction() as connection:
            current = self._get(connection, registration_id, lock=True)
            if not current.secret_hash or not secret_matches(secret, current.secret_hash):
                raise WrongSecret(f"wrong withdrawal secret for registration {registration_id}")
            if current.status is Status.WITHDRAWN:
                return current
            return self._save(connection, current.with_status(Status.WITHDRAWN, now_iso()))

    def import_registrations(self, incoming: Iterable[Registration]) -> int:
        """Mirror registrations read from another registry's feed; returns how many changed.

        Kept as the source states them (status included), under a local change number; one
        whose ``updated_at`` is not newer than the copy held is skipped. A mirrored copy has
        no contact, token or secret: it is withdrawn where it was registered.
        """
        changed = 0
        with self._transaction() as connection:
            for registration in incoming:
                held = connection.execute(
                    sa.select(_registrations.c.updated_at).where(
                        _registrations.c.id == registration.id
                    )
                ).scalar_one_or_none()
                if held is not None and held >= registration.updated_at:
                    continue
                copy = _with_seq(registration, _next_seq(connection))
                values = _row(copy)
                if held is None:
                    connection.execute(_registrations.insert().values(**values))
                else:
                    connection.execute(
                        _registrations.update()
                        .where(_registrations.c.id == registration.id)
                        .values(**values)
                    )
                changed += 1
        return changed

    # -- reads

    def get(self, registration_id: str) -> Registration:
        with self._transaction() as connection:
            return self._get(connection, registration_id)

    def list(
        self, *, status: Status | None = None, origin: str | None = None
    ) -> list[Registration]:
        """Every registration (in change order), optionally of one status or origin."""
        query = sa.select(_registrations).order_by(_registrations.c.seq)
        if status is not None:
            query = query.where(_registrations.c.status == str(status))
        if origin is not None:
            query = query.where(_registrations.c.origin == origin)
        with self._transaction() as connection:
            return [_registration(row) for row in connection.execute(query).mappings()]

    # builtins.list: the method list above shadows the name inside the class
    def changes_since(self, seq: int, limit: int | None = None) -> builtins.list[Registration]:
        """The registrations changed after change ``seq``, in change order."""
        query = (
            sa.select(_registrations)
            .where(_registrations.c.seq > seq)
            .order_by(_registrations.c.seq)
        )
        if limit is not None:
            query = query.limit(limit)
        with self._transaction() as connection:
            return [_registration(row) for row in connection.execute(query).mappings()]

    def last_seq(self) -> int:
        with self._transaction() as connection:
            return int(connection.execute(sa.select(_counter.c.seq)).scalar_one())

    def _get(
        self, connection: sa.Connection, registration_id: str, *, lock: bool = False
    ) -> Registration:
        query = sa.select(_registrations).where(_registrations.c.id == registration_id)
        if lock:
            query = query.with_for_update()  # ignored by SQLite, whose writers are serialized
        row = connection.execute(query).mappings().one_or_none()
        if row is None:
            raise RegistrationNotFound(f"no registration {registration_id!r}")
        return _registration(row)

    def _save(self, connection: sa.Connection, registration: Registration) -> Registration:
        registration = _with_seq(registration, _next_seq(connection))
        connection.execute(
            _registrations.update()
            .where(_registrations.c.id == registration.id)
            .values(**_row(registration))
        )
        return registration


def _next_seq(connection: sa.Connection) -> int:
    # The UPDATE takes the counter row's lock until commit: changes are numbered in commit order.
    connection.execute(_counter.update().where(_counter.c.id == 1).values(seq=_counter.c.seq + 1))
    return int(connection.execute(sa.select(_counter.c.seq)).scalar_one())


def _with_seq(registration: Registration, seq: int) -> Registration:
    return replace(registration, seq=seq)


def _row(registration: Registration) -> dict[str, Any]:
    target = registration.target
    return {
        "id": registration.id,
        "seq": registration.seq,
        "kind": str(target.kind),
        "target": target.value,
        "origin": target.origin,
        "agents": json.dumps(list(registration.agents)),
        "purposes": json.dumps([str(p) for p in registration.purposes]),
        "status": str(registration.status),
        "contact": registration.contact,
        "name": registration.name,
        "jurisdiction": registration.jurisdiction,
        "note": registration.note,
        "created_at": registration.created_at,
        "updated_at": registration.updated_at,
        "withdrawn_at": registration.withdrawn_at,
        "token": registration.token,
        "secret_hash": registration.secret_hash,
    }


def _registration(row: Any) -> Registration:
    return Registration(
        id=row["id"],
        target=Target(TargetKind(row["kind"]), row["target"]),
        agents=tuple(json.loads(row["agents"])),
        purposes=tuple(Purpose(p) for p in json.loads(row["purposes"])),
        status=Status(row["status"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        contact=row["contact"],
        name=row["name"],
        jurisdiction=row["jurisdiction"],
        note=row["note"],
        withdrawn_at=row["withdrawn_at"],
        token=row["token"],
        secret_hash=row["secret_hash"],
        seq=int(row["seq"]),
    )
