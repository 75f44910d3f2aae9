"""The HTTP service: ``reservation-crawler serve``, the same AsyncChecker behind a JSON API.

Endpoints (OpenAPI 3.1 at ``/openapi.json``; reference in ``docs/checker.md``):

- ``GET  /v1/check?url=&agent=&purpose=`` -- one verdict (origin level);
- ``POST /v1/check`` -- a JSON array of ``{url, agent, purpose}`` (capped), verdicts in order;
- ``GET  /v1/record?url=&agent=`` -- the full reservation record (``docs/record.md``);
- ``GET  /healthz`` -- 200 when Redis answers, else 503;
- ``GET  /metrics`` -- Prometheus metrics (``apps/metrics.py``);
- ``GET  /v1/audit?origin=&since=&agent=`` -- the audit log's entries about an origin, behind
  the ``X-API-Key`` header (``docs/audit.md``; off without a configured key).

Input is validated (URL length, http(s), agent, purpose; body size and batch length capped) and
refused with a 4xx JSON error ``{"error": {"code", "message"}}``. Private, loopback and
link-local targets are refused (403) unless the service runs with ``--allow-private``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import json
import logging
import signal
import socket
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from reservation_crawler._version import __version__
from reservation_crawler.apps.metrics import MetricsMiddleware, ServeMetrics, log_config
from reservation_crawler.core.urls import origin_of, target_url
from reservation_crawler.drivers.audit import AuditSink, query_sink
from reservation_crawler.drivers.fetch import AddressGuard, is_localhost_name
from reservation_crawler.drivers.lookup import AsyncChecker
from reservation_crawler.errors import (
    CacheUnavailable,
    ConfigError,
    InvalidOrigin,
    ReservationCrawlerError,
)
from reservation_crawler.model.record import (
    PURPOSE_ALIASES,
    PURPOSES,
    Purpose,
    purpose_alias_note,
)
from reservation_crawler.signals.useragent import agent_token

__all__ = ["ServiceLimits", "address_of", "create_app", "listen", "openapi_schema", "serve"]

logger = logging.getLogger(__name__)
ROUTE_PATHS = ("/v1/check", "/v1/record", "/healthz", "/openapi.json", "/metrics")

# Worker threads that run the checks' decision step (matching, evidence), off the event loop.
# Matching is pure Python and holds the GIL, so more threads add no throughput; they only let
# cheap checks pass a costly one. Few threads keep the loop's share of the GIL (and so
# /healthz and request parsing) large: with 4 busy workers the loop still gets the GIL back
# at each switch interval (5 ms).
DECISION_THREADS = 4
JSON_TYPES = ("application/json", "application/problem+json")


@dataclass(frozen=True, slots=True)
class ServiceLimits:
    """Request caps. URLs longer than ``max_url_length`` characters are refused (browsers and
    sitemaps.org use 2,048; we allow twice that)."""

    max_body_bytes: int = 1_048_576
    max_batch: int = 1000
    max_url_length: int = 4096
    max_agent_length: int = 128
    max_agents: int = 16
    body_timeout: float = 10.0  # seconds to receive a whole request body (then 408)

    def __post_init__(self) -> None:
        if min(self.max_body_bytes, self.max_batch, self.max_url_length) < 1:
            raise ConfigError("service limits must be >= 1")
        if not self.body_timeout > 0:
            raise ConfigError("body_timeout must be > 0")


@dataclass(frozen=True, slots=True)
class ServerTimeouts:
    """Connection-level bounds for slow or stalled clients (``serve``)."""

    header: float = 10.0  # from the connection's (or the next request's) first byte to its head
    keep_alive: int = 5  # an idle keep-alive connection is closed after this many seconds
    shutdown: int = 10  # SIGTERM waits at most this long for requests in flight

    def __post_init__(self) -> None:
        if not (self.header > 0 and self.keep_alive > 0 and self.shutdown >= 0):
            raise ConfigError("server timeouts must be > 0")


class _BadInput(ReservationCrawlerError):
    """A request the service refuses: becomes a JSON error with ``status``."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.extra = extra


def _error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def _error(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse(_error_body(code, message, **extra), status_code=status, headers=headers)


# --- validation ---------------------------------------------------------------------------------


def _valid_url(value: Any, limits: ServiceLimits, guard: AddressGuard, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _BadInput(400, "missing-url", f"{where}: 'url' is required (an http(s) URL or host)")
    url = value.strip()
    if len(url) > limits.max_url_length:
        raise _BadInput(
            414 if where == "query" else 400,
            "url-too-long",
            f"{where}: the URL has {len(url)} characters; the limit is {limits.max_url_length}",
        )
    try:  # the validation every command uses: a bare host gets https://, as on the command line
        url = target_url(url)
    except InvalidOrigin as exc:
        raise _BadInput(400, "invalid-url", f"{where} 'url': {exc}", field="url") from exc
    origin = origin_of(url)
    blocked = _blocked_host(origin, guard)
    if blocked:
        raise _BadInput(
            403,
            "blocked-address",
            f"{where}: {blocked} is a private, loopback or link-local address; this service "
            "does not fetch those (start it with --allow-private to allow them)",
        )
    return url


def _blocked_host(origin: str, guard: AddressGuard) -> str | None:
    """The host when it is known without DNS to be non-public (IP literal, ``*.localhost``)."""
    host = origin.split("://", 1)[1]
    if host.startswith("["):
        host = host[1 : host.index("]")]
    elif ":" in host:
        host = host.rsplit(":", 1)[0]
    if is_localhost_name(host):
        return host if guard.blocks("127.0.0.1") else None
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None  # a DNS name: the fetcher's guard checks the address it connects to
    return host if guard.blocks(host) else None


def _valid_agent(value: Any, limits: ServiceLimits, where: str) -> str:
    if value is None:
        return "*"
    if not isinstance(value, str) or not value.strip():
        raise _BadInput(400, "invalid-agent", f"{where}: 'agent' must be a non-empty string")
    agent = value.strip()
    if len(agent) > limits.max_agent_length:
        raise _BadInput(
            400,
            "invalid-agent",
            f"{where}: 'agent' is longer than {limits.max_agent_length} characters",
        )
    if any(not (" " <= ch <= "~") for ch in agent):
        raise _BadInput(
            400, "invalid-agent", f"{where}: 'agent' must be printable ASCII (a product token)"
        )
    found = agent_token(agent)
    if found.token is None:  # a browser's User-Agent, say: never answered as "*"
        raise _BadInput(400, "invalid-agent", f"{where}: 'agent' {found.problem}")
    return agent


def _valid_purpose(value: Any, where: str) -> Purpose:
    if value is None:
        return Purpose.TRAIN_AI
    try:
        return Purpose(value)
    except ValueError:
        choices = ", ".join(str(p) for p in PURPOSES)
        raise _BadInput(
            400, "invalid-purpose", f"{where}: 'purpose' must be one of {choices}"
        ) from None


def _with_purpose_note(body: dict[str, Any], value: Any) -> dict[str, Any]:
    """A verdict's JSON, with a ``note`` when the purpose was asked by an earlier name
    (``ai-input``: answered for ``ai-use``, which the verdict's ``purpose`` names)."""
    note = purpose_alias_note(value) if isinstance(value, str) else None
    if note is not None:
        body["note"] = note
    return body


def _single(request: Request, name: str) -> str | None:
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise _BadInput(400, "repeated-parameter", f"query: '{name}' given {len(values)} times")
    return values[0] if values else None


async def _read_body(request: Request, limits: ServiceLimits) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise _BadInput(
                400, "invalid-content-length", "Content-Length is not a number"
            ) from None
        if size > limits.max_body_bytes:
            raise _body_too_large(limits)
    chunks: list[bytes] = []
    total = 0
    try:
        with anyio.fail_after(limits.body_timeout):  # a trickled body holds no worker forever
            async for chunk in request.stream():
                total += len(chunk)
                if total > limits.max_body_bytes:
                    raise _body_too_large(limits)
                chunks.append(chunk)
    except TimeoutError:
        raise _BadInput(
            408, "request-timeout", f"the body did not arrive within {limits.body_timeout:g} s"
        ) from None
    return b"".join(chunks)


def _body_too_large(limits: ServiceLimits) -> _BadInput:
    return _BadInput(
        413, "body-too-large", f"the request body exceeds {limits.max_body_bytes} bytes"
    )


# --- the app ------------------------------------------------------------------------------------


class _Service:
    """The request handlers, holding the checker and the limits."""

    def __init__(
        self,
        checker: AsyncChecker | None,
        *,
        redis_url: str | None,
        allow_private: bool,
        fail_closed: bool,
        limits: ServiceLimits,
        audit: AuditSink | None = None,
        audit_required: bool = False,
        audit_api_key: str | None = None,
        registry: str | None = None,
    ) -> None:
        self.registry = registry
        self.checker = checker
        self.audit = audit
        self.audit_required = audit_required
        self.audit_api_key = audit_api_key
        self.owns_checker = checker is None
        self.redis_url = redis_url
        self.allow_private = allow_private
        self.fail_closed = fail_closed
        self.limits = limits
        self.guard = AddressGuard(allow_private=allow_private)
        self.decision_threads = anyio.CapacityLimiter(DECISION_THREADS)
        self.metrics = ServeMetrics(ROUTE_PATHS)

    def valid_url(self, value: Any, where: str) -> str:
        """``value`` as a URL this service may fetch (``_BadInput`` otherwise): the web front's
        forms go through the same checks and address guard as the API."""
        return _valid_url(value, self.limits, self.guard, where)

    def valid_agent(self, value: Any, where: str) -> str:
        return _valid_agent(value, self.limits, where)

    def get_checker(self) -> AsyncChecker:
        if self.checker is None:  # first request (lifespan not run, e.g. a bare ASGI transport)
            self.checker = AsyncChecker(
                redis_url=self.redis_url,
                allow_private=self.allow_private,
                fail_closed=self.fail_closed,
                audit=self.audit,
                audit_required=self.audit_required,
                registry=self.registry,
            )
        if self.checker.offload is None:
            self.checker.offload = self.decide_in_thread
        return self.checker

    async def decide_in_thread(self, step: Callable[..., Any], *args: Any) -> Any:
        """A checker's decision step on one of DECISION_THREADS worker threads."""
        return await anyio.to_thread.run_sync(step, *args, limiter=self.decision_threads)

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self.get_checker()
        try:
            yield
        finally:
            if self.owns_checker and self.checker is not None:
                await self.checker.aclose()
                self.checker = None

    async def check(self, request: Request) -> Response:
        if request.method == "POST":
            return await self.check_batch(request)
        return await self.check_one(request)

    async def check_one(self, request: Request) -> Response:
        url = _valid_url(_single(request, "url"), self.limits, self.guard, "query")
        agent = _valid_agent(_single(request, "agent"), self.limits, "query")
        asked = _single(request, "purpose")
        purpose = _valid_purpose(asked, "query")
        verdict = await self.get_checker().check(url, agent, purpose)
        self.metrics.observe_verdicts((verdict,))
        return JSONResponse(_with_purpose_note(verdict.to_json(), asked))

    async def check_batch(self, request: Request) -> Response:
        media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media and media not in JSON_TYPES:
            raise _BadInput(415, "unsupported-media-type", "send the batch as application/json")
        body = await _read_body(request, self.limits)
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise _BadInput(400, "invalid-json", f"the body is not JSON: {exc}") from exc
        except RecursionError:  # "[[[[…" nested deeper than the JSON decoder's recursion limit
            raise _BadInput(400, "invalid-json", "the body is nested too deeply") from None
        if not isinstance(data, list):
            raise _BadInput(400, "invalid-batch", "the body must be a JSON array of checks")
        if len(data) > self.limits.max_batch:
            raise _BadInput(
                413,
                "batch-too-large",
                f"{len(data)} checks in one batch; the limit is {self.limits.max_batch}",
            )
        # Each item is answered on its own: a bad item gets its error in its place, and the
        # others their verdicts (one bad URL must not cost a crawler the whole batch).
        results: list[dict[str, Any] | None] = [None] * len(data)
        items = []
        positions = []
        for index, raw in enumerate(data):
            try:
                items.append(self._batch_item(raw, f"item {index}"))
            except _BadInput as exc:
                results[index] = _error_body(exc.code, str(exc), index=index, **exc.extra)
                continue
            positions.append(index)
        verdicts = await self.get_checker().check_many(items) if items else []
        self.metrics.observe_verdicts(verdicts)
        for index, verdict in zip(positions, verdicts, strict=True):
            results[index] = _with_purpose_note(verdict.to_json(), data[index].get("purpose"))
        errors = len(data) - len(positions)
        return JSONResponse({"results": results, "errors": errors})

    def _batch_item(self, raw: Any, where: str) -> tuple[str, str, Purpose]:
        if not isinstance(raw, Mapping):
            raise _BadInput(400, "invalid-item", f"{where}: must be an object")
        unknown = sorted(set(raw) - {"url", "agent", "purpose"})
        if unknown:
            raise _BadInput(400, "invalid-item", f"{where}: unknown field(s) {', '.join(unknown)}")
        return (
            _valid_url(raw.get("url"), self.limits, self.guard, where),
            _valid_agent(raw.get("agent"), self.limits, where),
            _valid_purpose(raw.get("purpose"), where),
        )

    async def record(self, request: Request) -> Response:
        url = _valid_url(_single(request, "url"), self.limits, self.guard, "query")
        raw_agents = request.query_params.getlist("agent")
        if len(raw_agents) > self.limits.max_agents:
            raise _BadInput(
                400, "too-many-agents", f"at most {self.limits.max_agents} 'agent' parameters"
            )
        agents = [_valid_agent(a, self.limits, "query") for a in raw_agents]
        checked = await self.get_checker().record(url, agents)
        return JSONResponse(checked.to_json())

    async def health(self, request: Request) -> Response:
        try:
            await self.get_checker().ping()
        except CacheUnavailable as exc:
            return JSONResponse(
                {"status": "unavailable", "redis": "unreachable", "error": str(exc)},
                status_code=503,
            )
        return JSONResponse({"status": "ok", "redis": "reachable", "version": __version__})

    async def prometheus(self, request: Request) -> Response:
        body, media_type = self.metrics.exposition()
        return Response(body, media_type=media_type)

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(openapi_schema(self.limits, registry=self.registry is not None))

    async def audit_log(self, request: Request) -> Response:
        """What a rights holder asks: who checked this origin, when, and what was decided."""
        if self.audit is None or not self.audit_api_key:
            raise _BadInput(404, "audit-disabled", "no audit log, or no API key configured")
        given = request.headers.get("x-api-key", "")
        if not hmac.compare_digest(given.encode(), self.audit_api_key.encode()):
            raise _BadInput(401, "unauthorized", "a valid X-API-Key header is required")
        origin = _single(request, "origin")
        if not origin:
            raise _BadInput(400, "invalid-origin", "query: 'origin' is required")
        try:
            origin = origin_of(origin)
        except InvalidOrigin as exc:
            raise _BadInput(400, "invalid-origin", f"query: {exc}") from exc
        since, agent = _single(request, "since"), _single(request, "agent")
        sink = self.audit
        found = await asyncio.to_thread(query_sink, sink, origin, since, agent)
        return JSONResponse({"origin": origin, **found, **sink.stats()})


def create_app(
    checker: AsyncChecker | None = None,
    *,
    redis_url: str | None = None,
    allow_private: bool | None = None,
    fail_closed: bool = False,
    limits: ServiceLimits | None = None,
    audit: AuditSink | None = None,
    audit_required: bool = False,
    audit_api_key: str | None = None,
    registry: str | None = None,
    web: bool = True,
    web_secret: str | None = None,
) -> Starlette:
    """The ASGI app. Without ``checker`` one is made (on ``redis_url``, with ``allow_private``,
    ``fail_closed`` and ``audit``) and closed on shutdown; a given checker is the caller's to
    close, and its fetcher's guard decides ``allow_private``. The app runs the checker's decision
    step on its worker threads (sets ``checker.offload`` when it is None). ``audit`` (the
    caller's to close) also answers ``GET /v1/audit`` to requests carrying ``audit_api_key``.
    ``registry`` (a database location) mounts the registry's endpoints (apps/registry_api.py)
    and makes a made checker consult it. ``web`` mounts the web front (apps/web: ``/``,
    ``/register``, ``/audit``, ``/static``); ``web_secret`` signs its CSRF tokens."""
    if checker is not None:
        own = _checker_allows_private(checker)
        if allow_private is not None and allow_private != own:
            raise ConfigError("allow_private must match the given checker's fetcher")
        allow_private = own
    service = _Service(
        checker,
        redis_url=redis_url,
        allow_private=bool(allow_private),
        fail_closed=fail_closed,
        limits=limits or ServiceLimits(),
        audit=audit if checker is None else checker.audit,
        audit_required=audit_required,
        audit_api_key=audit_api_key,
        registry=registry,
    )

    async def bad_input(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, _BadInput)
        return _error(exc.status, exc.code, str(exc), **exc.extra)

    async def cache_down(request: Request, exc: Exception) -> Response:
        return _error(503, "cache-unavailable", str(exc))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        allow = (exc.headers or {}).get("Allow")
        if allow:  # RFC 9110 §15.5.6: a 405 response MUST carry Allow
            return _error(exc.status_code, code, str(exc.detail), {"Allow": allow}, allow=allow)
        return _error(exc.status_code, code, str(exc.detail))

    async def internal(request: Request, exc: Exception) -> Response:
        logger.exception("unhandled error on %s", request.url.path, exc_info=exc)
        return _error(500, "internal", "internal error; see the service log")

    routes: list[BaseRoute] = [
        # One route per path, so a 405 lists every method of the path (two routes for one
        # path made Starlette answer "Allow: GET" to a DELETE though POST works too).
        Route("/v1/check", service.check, methods=["GET", "POST"]),
        Route("/v1/record", service.record, methods=["GET"]),
        Route("/healthz", service.health, methods=["GET"]),
        Route("/openapi.json", service.openapi, methods=["GET"]),
        Route("/v1/audit", service.audit_log, methods=["GET"]),
        Route("/metrics", service.prometheus, methods=["GET"]),
    ]
    lifespan = service.lifespan
    registry_api = None
    if registry is not None:
        from reservation_crawler.apps.registry_api import RegistryAPI

        registry_api = RegistryAPI(registry, allow_private=bool(allow_private))
        routes += registry_api.routes()
    if web:
        from reservation_crawler.apps.web import WebFront

        routes += WebFront(service, registry_api, secret=web_secret).routes()
    if registry_api is not None:

        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            try:
                async with service.lifespan(app):
                    yield
            finally:
                assert registry_api is not None
                registry_api.close()

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            _BadInput: bad_input,
            CacheUnavailable: cache_down,
            HTTPException: http_error,
            Exception: internal,
        },
    )
    app.add_middleware(MetricsMiddleware, metrics=service.metrics)
    app.state.service = service
    if registry_api is not None:
        app.state.registry_api = registry_api
    return app


def _checker_allows_private(checker: AsyncChecker) -> bool:
    return bool(checker.fetcher.guard.allow_private)


# --- OpenAPI ------------------------------------------------------------------------------------


def openapi_schema(
    limits: ServiceLimits | None = None, *, registry: bool = False
) -> dict[str, Any]:
    """The OpenAPI 3.1 description of the service (served at ``/openapi.json``); with
    ``registry``, the registry's paths too (``serve --registry``)."""
    schema = _openapi_schema(limits)
    if registry:
        from reservation_crawler.apps.registry_api import openapi_paths

        schema["paths"].update(openapi_paths())
    return schema


def _openapi_schema(limits: ServiceLimits | None) -> dict[str, Any]:
    limits = limits or ServiceLimits()
    purposes = [str(p) for p in PURPOSES]
    decisions = ["reserved", "allowed", "unspecified"]
    ref = "#/components/schemas/"

    def error_response(description: str) -> dict[str, Any]:
        return {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": ref + "Error"}}},
        }

    def json_response(description: str, schema: str) -> dict[str, Any]:
        return {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": ref + schema}}},
        }

    url_param = {
        "name": "url",
        "in": "query",
        "required": True,
        "description": "absolute http(s) URL",
        "schema": {"type": "string", "maxLength": limits.max_url_length},
    }
    agent_schema = {
        "type": "string",
        "maxLength": limits.max_agent_length,
        "default": "*",
        "description": "robots.txt product token (e.g. GPTBot), or * for any agent",
    }
    purpose_schema = {
        "type": "string",
        "enum": purposes + list(PURPOSE_ALIASES),
        "default": "train-ai",
        "description": "ai-input: the earlier name of ai-use, answered for ai-use with a note",
    }
    refusals = {
        "400": error_response("invalid input"),
        "403": error_response("private, loopback or link-local target refused"),
        "503": error_response("Redis unreachable (and the service does not fail closed)"),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "reservation-crawler",
            "version": __version__,
            "summary": "Is this URL reserved for this AI agent and purpose, and why?",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "paths": {
            "/v1/check": {
                "get": {
                    "operationId": "check",
                    "summary": "The origin-level verdict for one URL, agent and purpose",
                    "parameters": [
                        url_param,
                        {"name": "agent", "in": "query", "schema": agent_schema},
                        {"name": "purpose", "in": "query", "schema": purpose_schema},
                    ],
                    "responses": {
                        "200": json_response("the verdict", "Verdict"),
                        **refusals,
                        "414": error_response("URL too long"),
                    },
                },
                "post": {
                    "operationId": "checkBatch",
                    "summary": f"Verdicts for up to {limits.max_batch} checks, in order",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "array",
                                    "maxItems": limits.max_batch,
                                    "items": {"$ref": ref + "CheckItem"},
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": json_response(
                            "one verdict (or the item's own error) per item, in order",
                            "BatchResult",
                        ),
                        **refusals,
                        "413": error_response(
                            f"body over {limits.max_body_bytes} bytes or batch too long"
                        ),
                        "415": error_response("body not application/json"),
                    },
                },
            },
            "/v1/record": {
                "get": {
                    "operationId": "record",
                    "summary": "The full origin-level reservation record (reservation-record/1)",
                    "parameters": [
                        url_param,
                        {
                            "name": "agent",
                            "in": "query",
                            "description": "agents besides * (repeatable, "
                            f"at most {limits.max_agents})",
                            "schema": {"type": "array", "items": agent_schema},
                            "style": "form",
                            "explode": True,
                        },
                    ],
                    "responses": {
                        "200": json_response("the record", "RecordResult"),
                        **refusals,
                    },
                }
            },
            "/healthz": {
                "get": {
                    "operationId": "health",
                    "summary": "Whether Redis answers",
                    "responses": {
                        "200": json_response("Redis reachable", "Health"),
                        "503": json_response("Redis unreachable", "Health"),
                    },
                }
            },
            "/v1/audit": {
                "get": {
                    "operationId": "audit",
                    "summary": "The audit log's checks of an origin: who checked, when, what "
                    "was decided, on what evidence (docs/audit.md)",
                    "parameters": [
                        {
                            "name": "X-API-Key",
                            "in": "header",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "origin",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "since",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string", "description": "ISO time, UTC"},
                        },
                        {
                            "name": "agent",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string"},
                        },
                    ],
                    "responses": {
                        "200": json_response("the entries and each chain's verification", "Audit"),
                        "400": error_response("invalid origin"),
                        "401": error_response("missing or wrong X-API-Key"),
                        "404": error_response("no audit log or no API key configured"),
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This description",
                    "responses": {"200": {"description": "OpenAPI 3.1 document"}},
                }
            },
            "/metrics": {
                "get": {
                    "operationId": "metrics",
                    "summary": "Prometheus metrics (docs/checker.md)",
                    "responses": {
                        "200": {
                            "description": "Prometheus text exposition format",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "Audit": {
                    "type": "object",
                    "required": ["origin", "entries", "chains"],
                    "properties": {
                        "origin": {"type": "string"},
                        "entries": {
                            "type": "array",
                            "items": {"type": "object"},
                            "description": "check entries, oldest first (docs/audit.md)",
                        },
                        "chains": {
                            "type": "object",
                            "description": "each chain's verification: ok, entries, head, "
                            "broken, torn",
                        },
                        "written": {"type": "integer"},
                        "dropped": {
                            "type": "integer",
                            "description": "entries lost to a full queue since the service started",
                        },
                        "queued": {"type": "integer"},
                    },
                },
                "CheckItem": {
                    "type": "object",
                    "required": ["url"],
                    "additionalProperties": False,
                    "properties": {
                        "url": {"type": "string", "maxLength": limits.max_url_length},
                        "agent": agent_schema,
                        "purpose": purpose_schema,
                    },
                },
                "Evidence": {
                    "type": "object",
                    "required": ["agent", "purposes", "effect", "signal", "source", "scope", "raw"],
                    "properties": {
                        "agent": {"type": "string"},
                        "purposes": {"type": "array", "items": {"enum": purposes}},
                        "effect": {"enum": decisions},
                        "signal": {"type": "string"},
                        "source": {"type": "string"},
                        "scope": {"type": "string"},
                        "raw": {"type": "string"},
                        "line": {"type": "integer"},
                        "location": {"type": "string"},
                    },
                },
                "Verdict": {
                    "type": "object",
                    "required": ["url", "agent", "purpose", "decision", "evidence", "source"],
                    "properties": {
                        "url": {"type": "string"},
                        "agent": {"type": "string"},
                        "purpose": {"enum": purposes},
                        "decision": {"enum": decisions},
                        "level": {"enum": ["origin", "page"]},
                        "final": {
                            "type": "boolean",
                            "description": "no page signal can change this answer",
                        },
                        "decisions": {
                            "type": "object",
                            "additionalProperties": {"enum": decisions},
                            "description": "every purpose, for this agent",
                        },
                        "evidence": {"type": "array", "items": {"$ref": ref + "Evidence"}},
                        "source": {"enum": ["memory", "redis", "fetch", "fail-closed"]},
                        "note": {
                            "type": "string",
                            "description": "the purpose was asked by an earlier name (ai-input)",
                        },
                        "age": {
                            "type": ["number", "null"],
                            "description": "seconds since the policy files were fetched",
                        },
                        "fetched_at": {"type": ["string", "null"], "format": "date-time"},
                        "stale": {
                            "type": "boolean",
                            "description": "a last good copy served while the origin is "
                            "unreachable (RFC 9309 §2.4)",
                        },
                    },
                },
                "BatchResult": {
                    "type": "object",
                    "required": ["results", "errors"],
                    "properties": {
                        "results": {
                            "type": "array",
                            "description": "one entry per item, in order: its verdict, or "
                            "the error that item alone got (with its index)",
                            "items": {
                                "oneOf": [{"$ref": ref + "Verdict"}, {"$ref": ref + "Error"}]
                            },
                        },
                        "errors": {"type": "integer", "description": "items answered by an error"},
                    },
                },
                "RecordResult": {
                    "type": "object",
                    "required": ["record", "source"],
                    "properties": {
                        "record": {
                            "type": "object",
                            "description": "reservation-record/1 (docs/record.md)",
                        },
                        "source": {"enum": ["memory", "redis", "fetch", "fail-closed"]},
                        "age": {"type": ["number", "null"]},
                        "stale": {"type": "boolean"},
                    },
                },
                "Health": {
                    "type": "object",
                    "required": ["status", "redis"],
                    "properties": {
                        "status": {"enum": ["ok", "unavailable"]},
                        "redis": {"enum": ["reachable", "unreachable"]},
                        "version": {"type": "string"},
                        "error": {"type": "string"},
                    },
                },
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                                "index": {
                                    "type": "integer",
                                    "description": "the offending batch item",
                                },
                            },
                        }
                    },
                },
            }
        },
    }


# --- running the service -------------------------------------------------------------------------


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (0: any free port); OSError when it cannot be bound."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto IPPROTO_TCP, not socket.create_server()'s 0: asyncio sets TCP_NODELAY only on
    # connections accepted from a socket whose proto says TCP. Without it, Nagle held every
    # response's body behind its head until the client's delayed ACK: +40 ms per request.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as create_server on POSIX
        sock.bind((host, port))
        sock.listen()
    except OSError:
        sock.close()
        raise
    return sock


def address_of(sock: socket.socket) -> str:
    """The URL a listening socket answers on (``http://[::1]:8000`` for IPv6)."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def serve(
    app: Starlette,
    sock: socket.socket,
    *,
    log_level: str = "warning",
    timeouts: ServerTimeouts | None = None,
    log_format: str = "text",
) -> None:
    """Serve ``app`` (:func:`create_app`) on ``sock`` until SIGINT / SIGTERM, then close it.

    Log lines go to stderr as text or, with ``log_format="json"``, one JSON object per line (an
    access line per request at ``info``)."""
    import uvicorn

    timeouts = timeouts or ServerTimeouts()
    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,  # MetricsMiddleware logs each request, in the chosen format
        log_config=log_config(log_format, log_level),
        lifespan="on",
        http=_header_timed_protocol(timeouts.header),
        timeout_keep_alive=timeouts.keep_alive,
        timeout_graceful_shutdown=timeouts.shutdown,
    )
    server = uvicorn.Server(config)
    # uvicorn shuts down gracefully on SIGINT / SIGTERM, then re-raises the signal to the handler
    # it found: a no-op one here, so a requested stop returns normally.
    previous = {sig: signal.signal(sig, _ignore_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.run(sockets=[sock])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()


def _header_timed_protocol(seconds: float) -> type:
    """uvicorn's h11 protocol with a deadline for a request's head (uvicorn has none: a client
    trickling its headers held a connection, and SIGTERM waited for it, forever)."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderTimedH11Protocol(H11Protocol):
        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            waiting_for_head = self.cycle is None or self.cycle.response_complete
            if not waiting_for_head:
                self._disarm()
            elif self._head_timer is None:
                self._arm()

        def on_response_complete(self) -> None:
            self._disarm()
            super().on_response_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._head_timer = self.loop.call_later(seconds, self._head_too_slow)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_too_slow(self) -> None:
            self._head_timer = None
            if self.cycle is None or self.cycle.response_complete:
                self.transport.close()

    return HeaderTimedH11Protocol


def _ignore_signal(signum: int, frame: Any) -> None:
    """Installed while uvicorn runs; uvicorn's own handlers do the stopping."""
