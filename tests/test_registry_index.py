"""The registry's model and index: normalization, matching, incremental updates."""

from __future__ import annotations

import pytest

from reservation_crawler.core.registry import RegistryIndex
from reservation_crawler.errors import InvalidRegistration
from reservation_crawler.model.record import Purpose
from reservation_crawler.model.registry import Registration, Status, make_target

HASH = "a" * 64


def reg(rid: str, kind: str, value: str, *, seq: int = 1, status: Status = Status.CLAIMED):
    return Registration(
        id=rid,
        target=make_target(kind, value),
        agents=("*",),
        purposes=(Purpose.TRAIN_AI,),
        status=status,
        created_at="2026-01-01T00:00:00Z",
        updated_at="2026-01-01T00:00:00Z",
        seq=seq,
    )


def ids(found):
    return [r.id for r in found]


def test_targets_are_normalized_and_bad_ones_name_the_field():
    assert make_target("origin", "HTTPS://Example.COM:443/").value == "https://example.com"
    assert make_target("url", "http://a.test:8080/x?q=1#frag").value == "http://a.test:8080/x?q=1"
    assert make_target("sha256", "SHA256:" + "A" * 64).value == "a" * 64
    with pytest.raises(InvalidRegistration) as caught:
        make_target("sha256", "abc")
    assert caught.value.field == "target"
    with pytest.raises(InvalidRegistration) as caught:
        make_target("origin", "https://a.test/path")
    assert caught.value.field == "target"
    with pytest.raises(InvalidRegistration) as caught:
        make_target("domain", "a.test")
    assert caught.value.field == "kind"


def test_matching_exact_prefixes_origin_and_hash():
    index = RegistryIndex(
        [
            reg("u", "url", "https://a.test/works/1"),
            reg("p1", "prefix", "https://a.test/works/"),
            reg("p2", "prefix", "https://a.test/"),
            reg("o", "origin", "https://a.test"),
            reg("h", "sha256", HASH),
            reg("other", "origin", "https://b.test"),
        ]
    )
    assert ids(index.matching("https://A.test/works/1")) == ["u", "p1", "p2", "o"]
    assert ids(index.matching("https://a.test/about")) == ["p2", "o"]
    assert ids(index.matching("https://c.test/x", HASH)) == ["h"]
    assert ids(index.matching("http://a.test/works/1")) == []  # another origin (scheme)


def test_incremental_update_withdraws_and_ignores_stale_copies():
    index = RegistryIndex([reg("p", "prefix", "https://a.test/w/", seq=1)])
    assert ids(index.matching("https://a.test/w/x")) == ["p"]
    index.apply([reg("p", "prefix", "https://a.test/w/", seq=3, status=Status.WITHDRAWN)])
    assert ids(index.matching("https://a.test/w/x")) == []
    assert index.seq == 3
    index.apply([reg("p", "prefix", "https://a.test/w/", seq=2)])  # late, older: ignored
    assert ids(index.matching("https://a.test/w/x")) == []
    assert len(index) == 0


def test_json_round_trip_and_public_form_hides_contact():
    r = reg("x", "url", "https://a.test/")
    r = Registration.from_json({**r.to_json(), "contact": "me@a.test", "token": "t"})
    assert r.contact == "me@a.test"
    public = r.to_json(public=True)
    assert "contact" not in public and "token" not in public and "secret_hash" not in public
    assert Registration.from_json(public).target == r.target
