"""The registry over HTTP, mounted by ``serve --registry`` (docs/registry.md):

- ``POST /v1/registry`` creates a registration: the id, how to verify it, and the withdrawal
  secret (returned this once);
- ``GET /v1/registry/{id}`` its public form; ``DELETE`` withdraws it with the secret
  (``Authorization: Bearer <secret>`` or ``{"secret": …}``);
- ``POST /v1/registry/{id}/verify`` fetches the proof from the origin;
- ``GET /v1/registry/feed?since=N`` the public feed (JSON Lines, ETag; never a contact).

The store is synchronous (SQLAlchemy): every call runs in Starlette's thread pool.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reservation_crawler.drivers.fetch import Fetcher
from reservation_crawler.drivers.registry import RegistryStore
from reservation_crawler.drivers.registry.feed import feed_lines
from reservation_crawler.drivers.registry.verify import check_proof, instructions
from reservation_crawler.errors import (
    InvalidRegistration,
    RegistrationNotFound,
    RegistryUnavailable,
    WrongSecret,
)
from reservation_crawler.model.registry import Status

__all__ = ["FEED_MEDIA_TYPE", "RegistryAPI"]

FEED_MEDIA_TYPE = "application/jsonl"
MAX_BODY = 65_536
_CREATE_FIELDS = {"contact", "kind", "target", "agents", "purposes", "name", "jurisdiction", "note"}
_OPTIONAL_TEXT = ("name", "jurisdiction", "note")

Handler = Callable[[Request], Awaitable[Response]]


def _problem(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    # The same error shape as the rest of the service (apps/server.py).
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status_code=status)


def _answers_errors(handler: Handler) -> Handler:
    """The registry's exceptions as HTTP answers: 400 naming the field, 403, 404, 503."""

    async def wrapper(request: Request) -> Response:
        try:
            return await handler(request)
        except InvalidRegistration as exc:
            return _problem(400, "invalid-field", str(exc), field=exc.field)
        except WrongSecret as exc:
            return _problem(403, "wrong-secret", str(exc))
        except RegistrationNotFound as exc:
            return _problem(404, "not-found", str(exc))
        except RegistryUnavailable as exc:
            return _problem(503, "registry-unavailable", str(exc))

    return wrapper


class RegistryAPI:
    """The registry's routes over one store (opened on first use, closed by :meth:`close`)."""

    def __init__(self, location: str | None, *, allow_private: bool = False) -> None:
        self.location = location
        self.allow_private = allow_private
        self._store: RegistryStore | None = None

    def store(self) -> RegistryStore:
        if self._store is None:
            self._store = RegistryStore(self.location)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def routes(self) -> list[Route]:
        return [
            # The feed first: "/v1/registry/feed" would otherwise be read as an id.
            Route("/v1/registry/feed", _answers_errors(self.feed), methods=["GET"]),
            Route("/v1/registry", _answers_errors(self.create), methods=["POST"]),
            Route("/v1/registry/{id}/verify", _answers_errors(self.verify), methods=["POST"]),
            Route("/v1/registry/{id}", _answers_errors(self.one), methods=["GET", "DELETE"]),
        ]

    async def create(self, request: Request) -> Response:
        data = await _json_object(request)
        unknown = sorted(set(data) - _CREATE_FIELDS)
        if unknown:
            raise InvalidRegistration(unknown[0], "unknown field")
        for name in ("contact", "kind", "target"):
            if not isinstance(data.get(name), str):
                raise InvalidRegistration(name, "required, a string")
        for name in _OPTIONAL_TEXT:
            if data.get(name) is not None and not isinstance(data[name], str):
                raise InvalidRegistration(name, "a string")
        lists = {}
        for name, default in (("agents", ["*"]), ("purposes", ["train-ai", "ai-use"])):
            value = data.get(name, default)
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise InvalidRegistration(name, "a list of strings")
            lists[name] = value
        registration, secret = await run_in_threadpool(
            self.store().create,
            contact=data["contact"],
            kind=data["kind"],
            target=data["target"],
            agents=lists["agents"],
            purposes=lists["purposes"],
            **{name: data.get(name) for name in _OPTIONAL_TEXT},
        )
        body = {
            "id": registration.id,
            "registration": registration.to_json(),
            "verification": instructions(registration),
            "withdrawal_secret": secret,
        }
        return JSONResponse(
            body, status_code=201, headers={"Location": f"/v1/registry/{registration.id}"}
        )

    async def one(self, request: Request) -> Response:
        registration_id = request.path_params["id"]
        if request.method == "DELETE":
            secret = await _secret(request)
            registration = await run_in_threadpool(self.store().withdraw, registration_id, secret)
        else:
            registration = await run_in_threadpool(self.store().get, registration_id)
        return JSONResponse(registration.to_json(public=True))

    async def verify(self, request: Request) -> Response:
        registration_id = request.path_params["id"]
        return JSONResponse(await run_in_threadpool(self.verify_now, registration_id))

    def verify_now(self, registration_id: str) -> dict[str, Any]:
        """Fetch the proof and mark the registration verified when it is served (blocking)."""
        store = self.store()
        registration = store.get(registration_id)
        with Fetcher(allow_private=self.allow_private) as fetcher:
            found = check_proof(fetcher, registration)
        if found.verified:
            registration = store.set_status(registration.id, Status.VERIFIED)
        return {"registration": registration.to_json(public=True), "verification": found.to_json()}

    async def feed(self, request: Request) -> Response:
        raw = request.query_params.get("since", "0")
        try:
            since = int(raw)
        except ValueError:
            raise InvalidRegistration("since", f"{raw!r} is not a change number") from None
        if since < 0:
            raise InvalidRegistration("since", "a change number is >= 0")
        last = await run_in_threadpool(self.store().last_seq)
        # The feed since N is a function of (N, the last change): that pair is its validator.
        etag = f'"{since}-{last}"'
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        if etag in _etags(request.headers.get("if-none-match", "")):
            return Response(status_code=304, headers=headers)
        lines = await run_in_threadpool(lambda: list(feed_lines(self.store(), since)))
        body = "".join(line + "\n" for line in lines)
        return Response(body, media_type=FEED_MEDIA_TYPE, headers=headers)


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


async def _json_object(request: Request) -> dict[str, Any]:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise InvalidRegistration("body", f"larger than {MAX_BODY} bytes")
    try:
        data = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRegistration("body", f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidRegistration("body", "a JSON object")
    return data


async def _secret(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    secret = (await _json_object(request)).get("secret")
    if not isinstance(secret, str) or not secret:
        raise InvalidRegistration("secret", "required: 'Authorization: Bearer …' or {\"secret\"}")
    return secret


def openapi_paths() -> dict[str, Any]:
    """The registry's paths for ``/openapi.json`` (merged by apps/server.py when mounted)."""
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    obj = {"content": {"application/json": {"schema": {"type": "object"}}}}
    refusals = {
        "400": {"description": "bad input; error.field names the field", **error},
        "503": {"description": "the registry database cannot be used", **error},
    }
    rid = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
    fields = {
        "contact": {"type": "string"},
        "kind": {"enum": ["url", "prefix", "origin", "sha256"]},
        "target": {"type": "string"},
        "agents": {"type": "array", "items": {"type": "string"}},
        "purposes": {"type": "array", "items": {"type": "string"}},
        "name": {"type": "string"},
        "jurisdiction": {"type": "string"},
        "note": {"type": "string"},
    }
    return {
        "/v1/registry": {
            "post": {
                "operationId": "registryCreate",
                "summary": "Register a reservation; the withdrawal secret is returned only here",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["contact", "kind", "target"],
                                "properties": fields,
                                "additionalProperties": False,
                            }
                        }
                    },
                },
                "responses": {"201": {"description": "created", **obj}, **refusals},
            }
        },
        "/v1/registry/feed": {
            "get": {
                "operationId": "registryFeed",
                "summary": "Public feed of changes since a change number (no contacts)",
                "parameters": [
                    {"name": "since", "in": "query", "schema": {"type": "integer", "minimum": 0}}
                ],
                "responses": {
                    "200": {
                        "description": "JSON Lines: a header, then registrations",
                        "content": {FEED_MEDIA_TYPE: {"schema": {"type": "string"}}},
                    },
                    "304": {"description": "unchanged (If-None-Match)"},
                    **refusals,
                },
            }
        },
        "/v1/registry/{id}/verify": {
            "post": {
                "operationId": "registryVerify",
                "summary": "Fetch the proof from the origin; verified when the token is served",
                "parameters": [rid],
                "responses": {
                    "200": {"description": "the attempt and the registration", **obj},
                    "404": {"description": "no such registration", **error},
                    **refusals,
                },
            }
        },
        "/v1/registry/{id}": {
            "get": {
                "operationId": "registryShow",
                "summary": "A registration, public form",
                "parameters": [rid],
                "responses": {
                    "200": {"description": "the registration", **obj},
                    "404": {"description": "no such registration", **error},
                    **refusals,
                },
            },
            "delete": {
                "operationId": "registryWithdraw",
                "summary": "Withdraw with the secret (Authorization: Bearer, or {secret})",
                "parameters": [rid],
                "responses": {
                    "200": {"description": "the withdrawn registration", **obj},
                    "403": {"description": "wrong secret", **error},
                    "404": {"description": "no such registration", **error},
                    **refusals,
                },
            },
        },
    }
