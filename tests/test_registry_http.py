"""The registry's HTTP endpoints under ``serve`` (ASGI, real databases, a loopback site)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from registry_site import Site

from reservation_crawler.apps.server import create_app
from reservation_crawler.drivers.lookup import AsyncChecker


@pytest.fixture
async def api(registry_url: str, redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    checker = AsyncChecker(
        redis_url=redis_url, allow_private=True, registry=registry_url, registry_refresh=0
    )
    app = create_app(checker, registry=registry_url)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        yield client
    await checker.aclose()
    app.state.registry_api.close()


async def test_create_verify_check_withdraw(api: httpx.AsyncClient) -> None:
    with Site() as site:
        site.put("/", "<html><body>home</body></html>")
        created = await api.post(
            "/v1/registry",
            json={"contact": "me@x.test", "kind": "origin", "target": site.origin,
                  "agents": ["GPTBot"], "name": "An Illustrator"},
        )  # fmt: skip
        assert created.status_code == 201
        body = created.json()
        rid, secret = body["id"], body["withdrawal_secret"]
        assert created.headers["location"] == f"/v1/registry/{rid}"
        assert body["verification"]["file"] == (
            f"{site.origin}/.well-known/reservation-crawler-verification/{rid}.txt"
        )

        shown = await api.get(f"/v1/registry/{rid}")
        assert shown.status_code == 200 and shown.json()["status"] == "claimed"
        assert "contact" not in shown.json() and "token" not in shown.json()

        failed = await api.post(f"/v1/registry/{rid}/verify")
        assert failed.status_code == 200 and failed.json()["verification"]["verified"] is False
        site.put("/", f"<html><head>{body['verification']['meta']}</head></html>")
        verified = await api.post(f"/v1/registry/{rid}/verify")
        assert verified.json()["registration"]["status"] == "verified"

        check = await api.get(
            "/v1/check",
            params={"url": site.origin + "/a", "agent": "GPTBot", "purpose": "train-ai"},
        )
        assert check.json()["decision"] == "reserved"
        assert any(e["signal"] == "registry" for e in check.json()["evidence"])

        wrong = await api.request("DELETE", f"/v1/registry/{rid}", json={"secret": "no"})
        assert wrong.status_code == 403
        gone = await api.delete(
            f"/v1/registry/{rid}", headers={"Authorization": f"Bearer {secret}"}
        )
        assert gone.status_code == 200 and gone.json()["status"] == "withdrawn"
        check = await api.get(
            "/v1/check",
            params={"url": site.origin + "/a", "agent": "GPTBot", "purpose": "train-ai"},
        )
        assert check.json()["decision"] == "unspecified"


async def test_feed_is_incremental_with_etag_and_no_contacts(api: httpx.AsyncClient) -> None:
    for n in range(3):
        response = await api.post(
            "/v1/registry",
            json={"contact": f"c{n}@x.test", "kind": "url", "target": f"https://a.test/{n}"},
        )
        assert response.status_code == 201
    feed = await api.get("/v1/registry/feed")
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("application/jsonl")
    assert "@x.test" not in feed.text
    header, *lines = [json.loads(line) for line in feed.text.splitlines()]
    assert header["seq"] == 3 and [r["target"] for r in lines] == [
        f"https://a.test/{n}" for n in range(3)
    ]
    since = await api.get("/v1/registry/feed", params={"since": 2})
    assert [json.loads(x)["target"] for x in since.text.splitlines()[1:]] == ["https://a.test/2"]
    etag = feed.headers["etag"]
    same = await api.get("/v1/registry/feed", headers={"If-None-Match": etag})
    assert same.status_code == 304
    await api.post(
        "/v1/registry", json={"contact": "c", "kind": "url", "target": "https://b.test/"}
    )
    changed = await api.get("/v1/registry/feed", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "url", "target": "https://a.test/"}, "contact"),
        ({"contact": "c", "kind": "domain", "target": "a.test"}, "kind"),
        ({"contact": "c", "kind": "sha256", "target": "zz"}, "target"),
        (
            {"contact": "c", "kind": "url", "target": "https://a.test/", "agents": "GPTBot"},
            "agents",
        ),
        (
            {"contact": "c", "kind": "url", "target": "https://a.test/", "purposes": ["x"]},
            "purposes",
        ),
        ({"contact": "c", "kind": "url", "target": "https://a.test/", "colour": "red"}, "colour"),
    ],
)
async def test_bad_input_gets_a_400_naming_the_field(api, body, field) -> None:
    response = await api.post("/v1/registry", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field


async def test_unknown_ids_and_bad_since(api: httpx.AsyncClient) -> None:
    assert (await api.get("/v1/registry/nope")).status_code == 404
    bad = await api.get("/v1/registry/feed", params={"since": "x"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "since"


async def test_openapi_describes_the_registry_routes(api: httpx.AsyncClient, registry_url) -> None:
    spec = (await api.get("/openapi.json")).json()
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    app = create_app(  # the JSON API's routes; the web pages are docs/web.md's
        AsyncChecker(redis_url="redis://127.0.0.1:1/0"), registry=registry_url, web=False
    )
    served = {
        (route.path, method)
        for route in app.routes
        for method in (route.methods or ())  # type: ignore[attr-defined]
        if method != "HEAD"
    }
    assert served == documented
    assert ("/v1/registry/feed", "GET") in documented
