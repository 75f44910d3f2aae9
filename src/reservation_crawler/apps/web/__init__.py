"""The web front of ``serve`` (docs/web.md): server-rendered pages for publishers and creators.

- ``GET /`` -- check a site: the ``validate`` report of the site and of its other host forms
  (http/https, www/apex), with the registry consulted; the query string is the permalink;
- ``GET|POST /register`` -- register a reservation (docs/registry.md), then verify or withdraw it;
- ``GET|POST /audit`` -- the audit log's entries about an origin, for a verified registrant (the
  registration's id and withdrawal secret) or an operator (the audit API key).

Plain HTML forms (no JavaScript needed), Jinja2 with autoescaping everywhere, a signed
double-submit CSRF token on every POST, the service's address guard and input checks on every
URL, and a per-client rate limit on the costly actions.
"""

from __future__ import annotations

import hmac
import os
import secrets
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode

import anyio
import anyio.to_thread
import itsdangerous
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from reservation_crawler.apps.registry_api import RegistryAPI
from reservation_crawler.apps.validate import ValidationReport, validate
from reservation_crawler.apps.web.render import PURPOSE_WORDS, render, report_context
from reservation_crawler.apps.web.view import host_variants, variant_differences
from reservation_crawler.core.urls import origin_of
from reservation_crawler.drivers.audit import AuditSink, query_sink
from reservation_crawler.drivers.fetch import AddressGuard, Fetcher
from reservation_crawler.drivers.lookup import AsyncChecker
from reservation_crawler.drivers.registry.verify import instructions
from reservation_crawler.errors import (
    InvalidOrigin,
    InvalidRegistration,
    RegistrationNotFound,
    RegistryUnavailable,
    ReservationCrawlerError,
    WrongSecret,
)
from reservation_crawler.model.registry import Status, secret_matches
from reservation_crawler.signals.agents import well_known_agents

__all__ = ["SECRET_ENV", "RateLimit", "Service", "WebFront"]

SECRET_ENV = "RC_WEB_SECRET"  # signs the CSRF tokens; default: random per process
CSRF_COOKIE = "rc_csrf"
CSRF_MAX_AGE = 2 * 3600  # seconds a form stays valid
MAX_AUDIT_ENTRIES = 500  # newest first
MAX_FIELD = 4096
MAX_FORM_BYTES = 65_536
MAX_AGENTS = 16  # as the API's /v1/record
SECURITY_HEADERS = {
    # No inline script or style on served pages: a publisher's text cannot run here.
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class Service(Protocol):
    """What the web front uses of ``apps.server``'s service (kept apart: no import cycle)."""

    guard: AddressGuard
    allow_private: bool
    audit: AuditSink | None
    audit_api_key: str | None

    def get_checker(self) -> AsyncChecker: ...
    def valid_url(self, value: Any, where: str) -> str: ...
    def valid_agent(self, value: Any, where: str) -> str: ...


class RateLimit:
    """At most ``limit`` actions per ``window`` seconds per client address (sliding window)."""

    def __init__(
        self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ):
        self.limit = limit
        self.window = window
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}

    def retry_after(self, client: str) -> int:
        """0 when ``client`` may act now (and counts it), else the seconds to wait."""
        now = self.clock()
        seen = self._seen.setdefault(client, deque())
        while seen and seen[0] <= now - self.window:
            seen.popleft()
        if len(seen) >= self.limit:
            return max(1, int(seen[0] + self.window - now + 0.999))
        seen.append(now)
        if len(self._seen) > 10_000:  # forget idle clients
            for key in [k for k, v in self._seen.items() if not v]:
                del self._seen[key]
        return 0


class _Refused(ReservationCrawlerError):
    """A form the page answers with an error message and an HTTP status."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.headers = dict(headers or {})


class WebFront:
    """The pages, over the service (checks, guard, audit) and the registry API (when mounted)."""

    def __init__(
        self,
        service: Service,
        registry: RegistryAPI | None,
        *,
        secret: str | None = None,
        checks_per_minute: int = 20,
        writes_per_minute: int = 20,
    ) -> None:
        self.service = service
        self.registry = registry
        key = secret or os.environ.get(SECRET_ENV) or secrets.token_urlsafe(32)
        self.signer = itsdangerous.URLSafeTimedSerializer(key, salt="rc-web-csrf")
        self.check_limit = RateLimit(checks_per_minute)
        self.write_limit = RateLimit(writes_per_minute)
        self.check_threads = anyio.CapacityLimiter(8)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/", self.check_page, methods=["GET"]),
            Route("/register", self.register_page, methods=["GET", "POST"]),
            Route("/register/verify", self.verify_action, methods=["POST"]),
            Route("/register/withdraw", self.withdraw_action, methods=["POST"]),
            Route("/audit", self.audit_page, methods=["GET", "POST"]),
            Mount("/static", StaticFiles(packages=[("reservation_crawler.apps.web", "static")])),
        ]

    # -- plumbing

    def _page(
        self,
        request: Request,
        template: str,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        **context: Any,
    ) -> Response:
        cookie = request.cookies.get(CSRF_COOKIE) or ""
        fresh = not _well_formed(cookie)
        if fresh:
            cookie = secrets.token_urlsafe(32)
        body = render(template, standalone=False, csrf=self.signer.dumps(cookie), **context)
        response = HTMLResponse(
            body, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})}
        )
        if fresh:
            response.set_cookie(
                CSRF_COOKIE,
                cookie,
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
                path="/",
            )
        return response

    async def _form(self, request: Request) -> dict[str, str]:
        """The POSTed fields (the first value of each, bounded; every value of a repeated field
        in ``request.state.lists``), after the CSRF check."""
        # The forms send application/x-www-form-urlencoded (a file is hashed in the browser,
        # never sent): read with the standard library, bounded.
        media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media != "application/x-www-form-urlencoded":
            raise _Refused(415, "Send the form as application/x-www-form-urlencoded.")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                raise _Refused(413, f"The form is larger than {MAX_FORM_BYTES} bytes.")
        try:
            pairs = parse_qsl(body.decode(), keep_blank_values=True, max_num_fields=200)
        except (UnicodeDecodeError, ValueError) as exc:
            raise _Refused(400, f"The form cannot be read: {exc}") from None
        fields: dict[str, str] = {}
        lists: dict[str, list[str]] = {}
        for name, value in pairs:
            fields.setdefault(name, value[:MAX_FIELD])
            lists.setdefault(name, []).append(value[:MAX_FIELD])
        cookie = request.cookies.get(CSRF_COOKIE, "")
        try:
            signed = self.signer.loads(fields.get("csrf", ""), max_age=CSRF_MAX_AGE)
        except itsdangerous.BadData:
            signed = None
        if not (isinstance(signed, str) and cookie and hmac.compare_digest(signed, cookie)):
            raise _Refused(
                403,
                "The form expired or did not come from this site (the CSRF check failed). "
                "Reload the page and send it again.",
            )
        request.state.lists = lists
        return fields

    def _limit(self, limit: RateLimit, request: Request) -> None:
        client = request.client.host if request.client else "unknown"
        wait = limit.retry_after(client)
        if wait:
            raise _Refused(
                429,
                f"Too many requests from your address; try again in {wait} seconds.",
                {"Retry-After": str(wait)},
            )

    # -- GET / : check a site

    async def check_page(self, request: Request) -> Response:
        site = (request.query_params.get("site") or "").strip()
        raw_agents = (request.query_params.get("agents") or "").strip()
        context: dict[str, Any] = {"nav": "check", "site": site, "agents": raw_agents}
        if not site:
            return self._page(request, "index.html.j2", title="Check a site", **context)
        try:
            self._limit(self.check_limit, request)
            url = self._valid_url(site, "site")
            tokens = raw_agents.replace(",", " ").split()
            if len(tokens) > MAX_AGENTS:
                raise _Refused(400, f"agents: at most {MAX_AGENTS} product tokens")
            agents = [self._valid_agent(a, "agents") for a in tokens]
            report, variants = await self._check(url, agents)
        except _Refused as exc:
            return self._page(
                request,
                "index.html.j2",
                exc.status,
                exc.headers,
                title="Check a site",
                error=str(exc),
                **context,
            )
        query = {"site": site, **({"agents": raw_agents} if raw_agents else {})}
        permalink = "/?" + urlencode(query)
        return self._page(
            request,
            "index.html.j2",
            title=f"AI reservations of {report.origin}",
            **context,
            **report_context(report, permalink=permalink, variants=variants),
        )

    def _valid_url(self, value: str, where: str) -> str:
        try:
            return self.service.valid_url(value, where)
        except ReservationCrawlerError as exc:
            raise _Refused(getattr(exc, "status", 400), str(exc)) from exc

    def _valid_agent(self, value: str, where: str) -> str:
        try:
            return self.service.valid_agent(value, where)
        except ReservationCrawlerError as exc:
            raise _Refused(getattr(exc, "status", 400), str(exc)) from exc

    async def _check(self, url: str, agents: Sequence[str]) -> tuple[ValidationReport, list[Any]]:
        """The report of ``url`` and of each of its host variants, fetched concurrently."""
        checker = self.service.get_checker()
        index = await anyio.to_thread.run_sync(lambda: checker.registry_index(fresh=True))
        allow_private = self.service.allow_private
        urls = host_variants(url)
        results: dict[str, ValidationReport | str] = {}

        def one(target: str) -> None:
            try:
                with Fetcher(allow_private=allow_private) as fetcher:
                    results[target] = validate(
                        target,
                        agents=agents,
                        fetcher=fetcher,
                        registry=index,
                        keep_files=target == url,
                    )
            except (InvalidOrigin, OSError) as exc:
                results[target] = str(exc)

        async with anyio.create_task_group() as group:
            for target in urls:
                group.start_soon(self._in_thread, one, target)
        report = results[url]
        if isinstance(report, str):
            raise _Refused(400, report)
        others = [(u, results[u]) for u in urls[1:]]
        return report, variant_differences(report, others)

    async def _in_thread(self, function: Callable[[str], None], argument: str) -> None:
        await anyio.to_thread.run_sync(function, argument, limiter=self.check_threads)

    # -- /register

    def _store_or_refuse(self) -> RegistryAPI:
        if self.registry is None:
            raise _Refused(
                404,
                "This service keeps no registry (start it with serve --registry LOCATION).",
            )
        return self.registry

    def _register_context(self, **extra: Any) -> dict[str, Any]:
        return {
            "nav": "register",
            "title": "Register a reservation",
            "registry_on": self.registry is not None,
            "well_known": well_known_agents(),
            "purpose_words": PURPOSE_WORDS,
            **extra,
        }

    async def register_page(self, request: Request) -> Response:
        if request.method == "GET":
            return self._page(request, "register.html.j2", **self._register_context(form={}))
        form: dict[str, str] = {}
        try:
            form = await self._form(request)
            self._limit(self.write_limit, request)
            api = self._store_or_refuse()
            lists = request.state.lists
            kind = form.get("kind", "")
            target = form.get("sha256", "") if kind == "sha256" else form.get("target", "")
            if kind != "sha256" and target.strip():  # the address guard, as for a check
                target = self._valid_url(target, "target")
            agents = lists.get("agent") or ["*"]
            purposes = lists.get("purpose") or []
            if not purposes:
                raise InvalidRegistration("purpose", "choose at least one use to reserve")
            registration, secret = await anyio.to_thread.run_sync(
                lambda: api.store().create(
                    contact=form.get("contact", ""),
                    kind=kind,
                    target=target.strip(),
                    agents=agents,
                    purposes=purposes,
                    name=form.get("name") or None,
                    jurisdiction=form.get("jurisdiction") or None,
                    note=form.get("note") or None,
                )
            )
        except InvalidRegistration as exc:
            return self._page(
                request,
                "register.html.j2",
                400,
                **self._register_context(form=form, error=str(exc), field=exc.field),
            )
        except (_Refused, RegistryUnavailable) as exc:
            status = exc.status if isinstance(exc, _Refused) else 503
            headers = exc.headers if isinstance(exc, _Refused) else {}
            return self._page(
                request,
                "register.html.j2",
                status,
                headers,
                **self._register_context(form=form, error=str(exc)),
            )
        return self._page(
            request,
            "registered.html.j2",
            201,
            {"Cache-Control": "no-store"},  # the secret is shown this once
            **self._register_context(
                registration=registration.to_json(public=True),
                secret=secret,
                how=instructions(registration),
            ),
        )

    async def verify_action(self, request: Request) -> Response:
        return await self._registry_action(request, "verify")

    async def withdraw_action(self, request: Request) -> Response:
        return await self._registry_action(request, "withdraw")

    async def _registry_action(self, request: Request, action: str) -> Response:
        form: dict[str, str] = {}
        try:
            form = await self._form(request)
            self._limit(self.write_limit, request)
            api = self._store_or_refuse()
            registration_id = form.get("id", "").strip()
            if action == "verify":
                answer = await anyio.to_thread.run_sync(api.verify_now, registration_id)
                registration, found = answer["registration"], answer["verification"]
            else:
                withdrawn = await anyio.to_thread.run_sync(
                    api.store().withdraw, registration_id, form.get("secret", "").strip()
                )
                registration, found = withdrawn.to_json(public=True), None
        except (InvalidRegistration, WrongSecret, RegistrationNotFound, RegistryUnavailable) as exc:
            status = {WrongSecret: 403, RegistrationNotFound: 404, RegistryUnavailable: 503}
            return self._page(
                request,
                "register.html.j2",
                status.get(type(exc), 400),
                **self._register_context(form={}, error=str(exc), action=action),
            )
        except _Refused as exc:
            return self._page(
                request,
                "register.html.j2",
                exc.status,
                exc.headers,
                **self._register_context(form={}, error=str(exc), action=action),
            )
        return self._page(
            request,
            "register.html.j2",
            **self._register_context(form={}, action=action, done=registration, verification=found),
        )

    # -- /audit

    async def audit_page(self, request: Request) -> Response:
        context: dict[str, Any] = {
            "nav": "audit",
            "title": "Who checked my site",
            "audit_on": self.service.audit is not None,
            "form": {},
        }
        if request.method == "GET":
            return self._page(request, "audit.html.j2", **context)
        try:
            form = await self._form(request)
            context["form"] = {k: v for k, v in form.items() if k in ("id", "origin", "agent")}
            self._limit(self.write_limit, request)
            sink = self.service.audit
            if sink is None:
                raise _Refused(404, "This service keeps no audit log.")
            origin = await self._audit_origin(form)
            agent = form.get("agent", "").strip() or None
            found = await anyio.to_thread.run_sync(query_sink, sink, origin, None, agent)
        except _Refused as exc:
            return self._page(
                request, "audit.html.j2", exc.status, exc.headers, error=str(exc), **context
            )
        entries = list(reversed(found.get("entries", [])))
        return self._page(
            request,
            "audit.html.j2",
            200,
            {"Cache-Control": "no-store"},
            origin=origin,
            entries=entries[:MAX_AUDIT_ENTRIES],
            total=len(entries),
            chains=found.get("chains", {}),
            **context,
        )

    async def _audit_origin(self, form: Mapping[str, str]) -> str:
        """The origin the form may see: a verified registration's (its id and secret), or any
        origin with the operator's API key."""
        key = form.get("api_key", "").strip()
        if key:
            expected = self.service.audit_api_key
            if not expected or not hmac.compare_digest(key.encode(), expected.encode()):
                raise _Refused(401, "Wrong API key (or no API key is configured on this service).")
            try:
                return origin_of(self._valid_origin_text(form.get("origin", "")))
            except InvalidOrigin as exc:
                raise _Refused(400, str(exc)) from exc
        registration_id, secret = form.get("id", "").strip(), form.get("secret", "").strip()
        if not registration_id or not secret:
            raise _Refused(
                400, "Give your registration's id and withdrawal secret, or an operator API key."
            )
        api = self._store_or_refuse()
        try:
            registration = await anyio.to_thread.run_sync(api.store().get, registration_id)
        except RegistrationNotFound as exc:
            raise _Refused(404, str(exc)) from exc
        except RegistryUnavailable as exc:
            raise _Refused(503, str(exc)) from exc
        if not registration.secret_hash or not secret_matches(secret, registration.secret_hash):
            raise _Refused(403, f"Wrong secret for registration {registration_id}.")
        origin = registration.target.origin
        if registration.status is not Status.VERIFIED or origin is None:
            raise _Refused(
                403,
                "Only a verified registration of a URL, prefix or site proves an origin; "
                f"registration {registration_id} is {registration.status}.",
            )
        return origin

    @staticmethod
    def _valid_origin_text(value: str) -> str:
        value = value.strip()
        if not value:
            raise InvalidOrigin("the origin is required (https://example.com)")
        return value if "://" in value else f"https://{value}"


def _well_formed(cookie: str) -> bool:
    return 20 <= len(cookie) <= 100 and all(c.isalnum() or c in "-_" for c in cookie)
