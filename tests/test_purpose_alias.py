"""Purpose ``ai-input`` became ``ai-use`` (draft-ietf-aipref-vocab-08): every input path still
reads the old name as ``ai-use`` and says so; stored registrations are migrated; output uses the
new name only. docs/record.md, "Purposes"."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio
import sqlalchemy as sa

from reservation_crawler import cli
from reservation_crawler.apps.server import create_app
from reservation_crawler.apps.stats import SiteStats, normalize_record
from reservation_crawler.drivers.lookup import AsyncChecker
from reservation_crawler.drivers.registry import RegistryStore, database_url
from reservation_crawler.model.record import PURPOSES, Purpose, ReservationRecord
from reservation_crawler.model.registry import Registration, feed_header, parse_feed
from reservation_crawler.testing import FixtureWeb, recipe


def test_the_purposes_are_those_of_aipref_vocab_08_plus_crawl() -> None:
    assert [str(p) for p in PURPOSES] == ["crawl", "train-ai", "ai-use", "search"]
    assert Purpose("ai-input") is Purpose.AI_USE
    with pytest.raises(ValueError):
        Purpose("ai-inference")


def test_a_record_written_before_the_rename_decodes_with_ai_use() -> None:
    cells = {
        "crawl": "allowed",
        "train-ai": "reserved",
        "ai-input": "reserved",
        "search": "allowed",
    }
    old = {
        "schema": "reservation-record/1",
        "url": "https://a.test/",
        "origin": "https://a.test",
        "fetched_at": "2026-01-01T00:00:00Z",
        "sources": {},
        "decisions": {"*": cells},
        "evidence": [
            {
                "agent": "*",
                "purposes": ["train-ai", "ai-input"],
                "effect": "reserved",
                "signal": "noai",
                "source": "meta",
                "scope": "*",
                "raw": "noai",
            }
        ],
        "findings": [],
    }
    record = ReservationRecord.from_json(old)
    assert record.decision("*", "ai-use") == "reserved"
    assert record.evidence[0].purposes == (Purpose.TRAIN_AI, Purpose.AI_USE)
    assert "ai-input" not in json.dumps(record.to_json())
    # stats counts the old cell under the new name
    stats = SiteStats()
    stats.add(normalize_record(old))
    assert stats.features.index("decision", "*", "ai-use", "reserved") is not None
    assert stats.features.index("decision", "*", "ai-input", "reserved") is None


@pytest.fixture
def old_registry(registry_url: str) -> Iterator[str]:
    """A registry database at migration 0001 holding one registration for ai-input."""
    from alembic import command
    from alembic.config import Config

    from reservation_crawler.drivers import registry as registry_module

    engine = sa.create_engine(database_url(registry_url))
    config = Config()
    config.set_main_option("script_location", str(registry_module._MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(
            sa.text(
                "INSERT INTO registry_registrations (id, seq, kind, target, origin, agents, "
                "purposes, status, contact, created_at, updated_at, token, secret_hash) VALUES "
                "('r1', 1, 'origin', 'https://a.test', 'https://a.test', '[\"*\"]', "
                "'[\"train-ai\", \"ai-input\"]', 'claimed', 'c', '2026-01-01T00:00:00Z', "
                "'2026-01-01T00:00:00Z', 't', 'h')"
            )
        )
        connection.execute(sa.text("UPDATE registry_counter SET seq = 1"))
    engine.dispose()
    yield registry_url


def test_the_migration_renames_stored_purposes(old_registry: str) -> None:
    with RegistryStore(old_registry) as store:
        assert store.get("r1").purposes == (Purpose.TRAIN_AI, Purpose.AI_USE)
        assert store.last_seq() == 1  # a rename, not a change for the feed
    engine = sa.create_engine(database_url(old_registry))
    with engine.connect() as connection:
        stored = connection.execute(
            sa.text("SELECT purposes FROM registry_registrations WHERE id = 'r1'")
        ).scalar_one()
        version = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    assert json.loads(stored) == ["train-ai", "ai-use"] and version == "0002"


def test_registry_add_and_feed_import_read_ai_input_as_ai_use(
    registry_url: str, capsys, tmp_path
) -> None:
    code = cli.main(
        ["registry", "add", "--registry", registry_url, "--json", "--contact", "c@a.test",
         "--origin", "https://a.test", "--purpose", "ai-input"]
    )  # fmt: skip
    assert code == 0
    assert json.loads(capsys.readouterr().out)["registration"]["purposes"] == ["ai-use"]
    line = {
        "id": "x1", "kind": "origin", "target": "https://b.test", "agents": ["*"],
        "purposes": ["ai-input"], "status": "claimed", "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z", "seq": 7,
    }  # fmt: skip
    feed = tmp_path / "old-feed.jsonl"
    feed.write_text(json.dumps(feed_header(0, 7)) + "\n" + json.dumps(line) + "\n")
    assert cli.main(["registry", "import", str(feed), "--registry", registry_url]) == 0
    with RegistryStore(registry_url) as store:
        assert store.get("x1").purposes == (Purpose.AI_USE,)
    assert parse_feed(feed.read_text().splitlines())[1][0].purposes == (Purpose.AI_USE,)
    assert Registration.from_json(line).to_json(public=True)["purposes"] == ["ai-use"]


@pytest.fixture(scope="module")
def web() -> Iterator[FixtureWeb]:
    with FixtureWeb.from_recipes([recipe("robots-ai-block")], corpus=False) as fixture_web:
        yield fixture_web


@pytest_asyncio.fixture
async def api(redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    checker = AsyncChecker(redis_url=redis_url, allow_private=True)
    app = create_app(checker)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        yield client
    await checker.aclose()


async def test_serve_answers_ai_input_for_ai_use_with_a_note(
    api: httpx.AsyncClient, web: FixtureWeb
) -> None:
    url = web.url(0, "/")
    asked = {"url": url, "agent": "GPTBot"}
    old = await api.get("/v1/check", params={**asked, "purpose": "ai-input"})
    new = await api.get("/v1/check", params={**asked, "purpose": "ai-use"})
    assert old.status_code == new.status_code == 200
    assert old.json()["purpose"] == new.json()["purpose"] == "ai-use"
    assert old.json()["decision"] == new.json()["decision"] == "reserved"
    assert "earlier name of 'ai-use'" in old.json()["note"] and "note" not in new.json()
    batch = await api.post(
        "/v1/check",
        json=[{"url": url, "agent": "GPTBot", "purpose": "ai-input"}, {"url": url}],
    )
    first, second = batch.json()["results"]
    assert first["purpose"] == "ai-use" and "note" in first and "note" not in second
    refused = await api.get("/v1/check", params={"url": url, "purpose": "ai-inference"})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid-purpose"


async def test_registry_http_reads_ai_input_as_ai_use(registry_url: str, redis_url: str) -> None:
    checker = AsyncChecker(redis_url=redis_url, allow_private=True, registry=registry_url)
    app = create_app(checker, registry=registry_url)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        created = await client.post(
            "/v1/registry",
            json={"contact": "me@x.test", "kind": "origin", "target": "https://c.test",
                  "purposes": ["ai-input", "train-ai"]},
        )  # fmt: skip
        assert created.status_code == 201, created.text
        shown = await client.get(f"/v1/registry/{created.json()['id']}")
        assert shown.json()["purposes"] == ["train-ai", "ai-use"]
    await checker.aclose()
    app.state.registry_api.close()
