"""Verification: the registrant proves control of the origin by serving the token.

Either the token alone in ``<origin>/.well-known/reservation-crawler-verification/<id>.txt``,
or ``<meta name="reservation-crawler-verification" content="<token>">`` on the home page.
Both are fetched with the project's :class:`Fetcher` (its address guard applies); a redirect to
another origin does not count, since control of *this* origin is what is proved.
"""

from __future__ import annotations

from dataclasses import dataclass

from bs4 import BeautifulSoup

from reservation_crawler.drivers.fetch import Fetcher, FetchResult
from reservation_crawler.errors import InvalidRegistration
from reservation_crawler.model import codec
from reservation_crawler.model.registry import (
    VERIFICATION_META,
    VERIFICATION_PATH,
    Registration,
    Status,
    TargetKind,
    split_url,
)

__all__ = ["Verification", "check_proof", "instructions", "proof_url"]


@dataclass(frozen=True, slots=True)
class Verification:
    """What a verification attempt found: ``verified`` and where, or why not."""

    verified: bool
    method: str | None  # "file" or "meta" when verified
    detail: str

    def to_json(self) -> dict[str, object]:
        return codec.to_json(self)


def proof_url(registration: Registration) -> str:
    origin = _origin(registration)
    return f"{origin}{VERIFICATION_PATH}{registration.id}.txt"


def instructions(registration: Registration) -> dict[str, str] | None:
    """How to verify (None for a hash claim, which no origin can verify)."""
    if registration.target.kind is TargetKind.SHA256:
        return None
    return {
        "file": proof_url(registration),
        "file_content": registration.token,
        "meta": f'<meta name="{VERIFICATION_META}" content="{registration.token}">',
        "meta_page": _origin(registration) + "/",
    }


def check_proof(fetcher: Fetcher, registration: Registration) -> Verification:
    """Fetch the proof file, then the home page; verified when either carries the token."""
    if registration.status is Status.WITHDRAWN:
        raise InvalidRegistration("status", "a withdrawn registration cannot be verified")
    if registration.target.kind is TargetKind.SHA256:
        raise InvalidRegistration(
            "kind", "a hash claim names a work, not an origin: it stays claimed (docs/registry.md)"
        )
    if not registration.token:
        raise InvalidRegistration("token", "a mirrored copy is verified where it was registered")
    origin = _origin(registration)
    file = fetcher.fetch(proof_url(registration), max_bytes=4096)
    if _same_origin(file, origin) and file.ok and _text(file) == registration.token:
        return Verification(True, "file", f"token found at {file.final_url}")
    home = fetcher.fetch(origin + "/")
    if _same_origin(home, origin) and home.ok and registration.token in _meta_tokens(home.body):
        return Verification(True, "meta", f"token found in a <meta> of {home.final_url}")
    return Verification(
        False, None, f"{_why(file, origin)}; home page: {_why(home, origin)}, no matching <meta>"
    )


def _origin(registration: Registration) -> str:
    origin = registration.target.origin
    if origin is None:
        raise InvalidRegistration("kind", "a hash claim has no origin")
    return origin


def _text(result: FetchResult) -> str:
    return result.body.decode("utf-8", "replace").strip()


def _same_origin(result: FetchResult, origin: str) -> bool:
    try:
        return split_url(result.final_url)[0] == origin
    except ValueError:
        return False


def _meta_tokens(body: bytes) -> set[str]:
    soup = BeautifulSoup(body, "lxml")
    return {
        str(tag.get("content", "")).strip()
        for tag in soup.find_all("meta", attrs={"name": VERIFICATION_META})
    }


def _why(result: FetchResult, origin: str) -> str:
    if result.error is not None:
        return f"{result.url}: {result.error}"
    if not _same_origin(result, origin):
        return f"{result.url}: redirected off the origin to {result.final_url}"
    if not result.ok:
        return f"{result.url}: HTTP {result.status}"
    return f"{result.url}: no matching token"
