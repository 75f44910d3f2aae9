"""The registry store on real SQLite and real PostgreSQL: migrations, seq, withdrawal."""

from __future__ import annotations

import pytest

from reservation_crawler.drivers.registry import RegistryStore
from reservation_crawler.errors import (
    InvalidRegistration,
    RegistrationNotFound,
    RegistryUnavailable,
    WrongSecret,
)
from reservation_crawler.model.registry import Status


def test_create_get_list_and_changes_since(registry_url):
    with RegistryStore(registry_url) as store:
        a, secret = store.create(contact="a@x.test", kind="origin", target="https://a.test")
        b, _ = store.create(
            contact="b@x.test", kind="prefix", target="https://b.test/w/", agents=["GPTBot"]
        )
        assert (a.seq, b.seq) == (1, 2) and a.status is Status.CLAIMED
        assert store.get(a.id) == a
        assert a.secret_hash and secret not in a.secret_hash
        assert [r.id for r in store.list()] == [a.id, b.id]
        assert [r.id for r in store.list(origin="https://b.test")] == [b.id]
        verified = store.set_status(a.id, Status.VERIFIED)
        assert verified.seq == 3 and verified.status is Status.VERIFIED
        assert [r.id for r in store.changes_since(1)] == [b.id, a.id]
        assert store.last_seq() == 3
    # Reopened: the data is durable and the migrations do not run twice.
    with RegistryStore(registry_url) as store:
        assert store.get(a.id).status is Status.VERIFIED


def test_withdraw_needs_the_secret(registry_url):
    with RegistryStore(registry_url) as store:
        reg, secret = store.create(contact="a@x.test", kind="url", target="https://a.test/x")
        with pytest.raises(WrongSecret):
            store.withdraw(reg.id, "not-it")
        gone = store.withdraw(reg.id, secret)
        assert gone.status is Status.WITHDRAWN and gone.withdrawn_at
        assert store.set_status(reg.id, Status.VERIFIED).status is Status.WITHDRAWN
        with pytest.raises(RegistrationNotFound):
            store.get("nope")


def test_bad_input_names_the_field(registry_url):
    with RegistryStore(registry_url) as store:
        with pytest.raises(InvalidRegistration) as caught:
            store.create(contact="", kind="origin", target="https://a.test")
        assert caught.value.field == "contact"
        with pytest.raises(InvalidRegistration) as caught:
            store.create(contact="a", kind="origin", target="https://a.test", purposes=["eat"])
        assert caught.value.field == "purposes"
        assert store.list() == []


def test_import_mirrors_and_skips_what_it_has(registry_url, second_registry_url):
    with RegistryStore(registry_url) as source, RegistryStore(second_registry_url) as mirror:
        reg, _ = source.create(contact="a@x.test", kind="sha256", target="b" * 64)
        public = [type(reg).from_json(r.to_json(public=True)) for r in source.changes_since(0)]
        assert mirror.import_registrations(public) == 1
        assert mirror.import_registrations(public) == 0
        copy = mirror.get(reg.id)
        assert copy.target == reg.target and copy.contact == "" and copy.secret_hash == ""


def test_unreachable_database_is_a_registry_error():
    with pytest.raises(RegistryUnavailable):
        RegistryStore("postgresql://postgres@127.0.0.1:1/none")


def test_an_external_adapter_is_mirrored_incrementally(registry_url):
    from reservation_crawler.drivers.registry.adapter import RegistryAdapter, mirror
    from reservation_crawler.model.record import Purpose
    from reservation_crawler.model.registry import Registration, make_target

    class Listed(RegistryAdapter):
        """An external list: cursor = how many entries were read."""

        name = "listed"

        def __init__(self) -> None:
            self.entries: list[Registration] = []

        def changes(self, cursor):
            start = int(cursor or 0)
            return self.entries[start:], str(len(self.entries))

    def entry(n: int, updated: str) -> Registration:
        return Registration(
            id=f"listed-{n}",
            target=make_target("origin", f"https://w{n}.test"),
            agents=("*",),
            purposes=(Purpose.TRAIN_AI,),
            status=Status.VERIFIED,
            created_at="2026-01-01T00:00:00Z",
            updated_at=updated,
        )

    source = Listed()
    source.entries += [entry(1, "2026-01-01T00:00:00Z"), entry(2, "2026-01-01T00:00:00Z")]
    with RegistryStore(registry_url) as store:
        assert mirror(source, store) == (2, 2, "2")
        source.entries.append(entry(1, "2026-02-01T00:00:00Z"))
        assert mirror(source, store, "2") == (1, 1, "3")
        assert store.get("listed-1").updated_at == "2026-02-01T00:00:00Z"
        assert store.get("listed-1").status is Status.VERIFIED


def test_replicas_opening_an_empty_database_together_all_start(registry_url):
    """serve replicas starting at once on a fresh database: one migrates, the others wait and
    find the schema at head (PostgreSQL: an advisory lock; never a UniqueViolation)."""
    import threading

    if not registry_url.startswith("postgresql"):
        pytest.skip("SQLite: one host, one file; the race is a PostgreSQL deployment's")
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def open_store() -> None:
        start.wait()
        try:
            RegistryStore(registry_url).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with RegistryStore(registry_url) as store:
        store.create(contact="a@x.test", kind="origin", target="https://a.test")
        assert len(store.list()) == 1
