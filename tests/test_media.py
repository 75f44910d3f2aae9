"""Rights metadata embedded in images and PDFs (signals/media.py), read through parse_page and
decided by decide(): IPTC plus:DataMining in XMP (the IPTC 2023.1 values: URIs, bare codes and
the English labels of IPTC's table / ExifTool) and C2PA / CAWG training-mining assertions read
by c2pa-python from a manifest signed here (testing/media.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reservation_crawler.core.decide import decide
from reservation_crawler.core.fetching import fetch_result
from reservation_crawler.core.policy import OriginPolicy
from reservation_crawler.drivers.collect import read_page
from reservation_crawler.model.record import Decision, Purpose
from reservation_crawler.signals.media import DMI_CODES, read_media
from reservation_crawler.signals.page import parse_page
from reservation_crawler.testing.media import (
    JPEG_1X1,
    c2pa_jpeg,
    jpeg_with_xmp,
    pdf_with_xmp,
    png_with_xmp,
    training_mining,
    xmp_packet,
)

DATA = Path(__file__).parent / "data" / "media"
URL = "https://example.com/img/1.jpg"
R, A, U = Decision.RESERVED, Decision.ALLOWED, Decision.UNSPECIFIED
CASES = json.loads((DATA / "iptc-data-mining.json").read_text())


@pytest.mark.parametrize("case", CASES["values"], ids=[c["value"] for c in CASES["values"]])
@pytest.mark.parametrize("form", ["element", "attribute", "resource"])
def test_iptc_data_mining_values(case: dict, form: str) -> None:
    """Every value of IPTC's table, in each XMP form: URI, bare code and label read alike."""
    body = jpeg_with_xmp(xmp_packet(case["value"], form=form))
    decisions = _decisions("image/jpeg", body)
    assert {str(p): str(d) for p, d in decisions.items()} == case["decisions"]


def test_the_table_covers_every_plus_code() -> None:
    codes = {
        c["value"].rsplit("/", 1)[-1] for c in CASES["values"] if c["value"].startswith("http")
    }
    assert codes == set(DMI_CODES)


def test_an_unknown_value_is_a_finding_and_decides_nothing() -> None:
    media = read_media("image/png", png_with_xmp(xmp_packet("no-ai-please")))
    assert media.entries == ()
    assert [f.code for f in media.findings] == ["media.unknown-data-mining-value"]


def test_a_hostile_xmp_packet_is_refused() -> None:
    packet = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><!DOCTYPE x [<!ENTITY a "aaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;">]><r>&b;</r></x:xmpmeta>'
    )
    media = read_media("image/jpeg", jpeg_with_xmp(packet))
    assert media.entries == ()
    assert [f.code for f in media.findings] == ["media.unreadable-xmp"]


def test_pdf_metadata_stream() -> None:
    code = "http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-AIMLTRAINING"
    assert _decisions("application/pdf", pdf_with_xmp(xmp_packet(code)))[Purpose.TRAIN_AI] is R
    compressed = read_media("application/pdf", pdf_with_xmp(xmp_packet(code), compressed=True))
    assert compressed.entries == ()
    assert [f.code for f in compressed.findings] == ["media.compressed-pdf-metadata"]


def test_html_pages_are_not_read_as_media() -> None:
    body = b"<html><head></head><body>" + xmp_packet("DMI-PROHIBITED") + b"</body></html>"
    page = parse_page(URL, 200, [("Content-Type", "text/html")], body)
    assert page.media.entries == ()


# --- C2PA / CAWG ------------------------------------------------------------------------------

CAWG = training_mining(
    "cawg.training-mining",
    {
        "cawg.ai_generative_training": {"use": "notAllowed"},
        "cawg.ai_inference": {"use": "allowed"},
        "cawg.data_mining": {"use": "constrained", "constraints_info": "https://ex.com/tdm"},
        "com.example.custom": {"use": "notAllowed"},  # a custom entry: no known use
    },
)


@pytest.fixture(scope="module")
def signed() -> bytes:
    return c2pa_jpeg(CAWG)


def test_cawg_assertion_in_a_signed_manifest(signed: bytes) -> None:
    media = read_media("image/jpeg", signed)
    assert media.c2pa_state == "Valid"  # the signer is untrusted; the manifest validates
    assert [(e.key, e.prohibited, e.allowed) for e in media.entries] == [
        ("cawg.ai_generative_training", ("genai-training",), ()),
        ("cawg.ai_inference", (), ("ai-inference",)),
        ("cawg.data_mining", ("data-mining",), ()),
    ]
    assert [f.code for f in media.findings] == ["media.constrained-use"]
    decisions = _decisions("image/jpeg", signed)
    # data_mining constrained reserves ai-use too: any reserved wins over ai_inference allowed
    assert (decisions[Purpose.TRAIN_AI], decisions[Purpose.AI_USE]) == (R, R)
    assert decisions[Purpose.SEARCH] is U


def test_legacy_c2pa_label() -> None:
    body = c2pa_jpeg(
        training_mining("c2pa.training-mining", {"c2pa.ai_training": {"use": "allowed"}})
    )
    decisions = _decisions("image/jpeg", body)
    assert (decisions[Purpose.TRAIN_AI], decisions[Purpose.AI_USE]) == (A, U)


def test_an_invalid_manifest_is_shown_not_applied(signed: bytes) -> None:
    tampered = bytearray(signed)
    scan = signed.find(b"\xff\xda")  # the image data, covered by the manifest's hash
    tampered[scan + 40] ^= 0xFF
    media = read_media("image/jpeg", bytes(tampered))
    assert media.c2pa_state == "Invalid"
    assert media.entries and not any(e.applies for e in media.entries)
    assert "media.c2pa-invalid" in [f.code for f in media.findings]
    record = _record("image/jpeg", bytes(tampered))
    assert record.decision("*", Purpose.TRAIN_AI) is U
    rows = [e for e in record.evidence if e.signal == "media"]
    assert rows and {e.effect for e in rows} == {U}


def test_a_manifest_cut_at_the_size_cap_is_a_finding(signed: bytes) -> None:
    media = read_media("image/jpeg", signed[: len(signed) // 2])
    assert media.entries == ()
    assert [f.code for f in media.findings] == ["media.c2pa-unreadable"]


def test_a_plain_jpeg_has_no_media_signal() -> None:
    assert read_media("image/jpeg", JPEG_1X1).entries == ()


def test_evidence_row_names_the_metadata(signed: bytes) -> None:
    record = _record("image/jpeg", signed)
    rows = [e for e in record.evidence_for("*", Purpose.TRAIN_AI) if e.signal == "media"]
    assert {(e.source, e.effect) for e in rows} == {("c2pa", R)}
    assert any("cawg.ai_generative_training=notAllowed" in e.raw for e in rows)
    assert all(e.location and e.location.startswith(URL) for e in rows)


# --- helpers -----------------------------------------------------------------------------------


def _policy() -> OriginPolicy:
    def result(path: str, status: int, body: bytes = b"") -> object:
        url = "https://example.com" + path
        return fetch_result(url, url, status=status, body=body)

    return OriginPolicy.from_fetches(
        "https://example.com",
        "2026-12-02T00:00:00Z",
        result("/robots.txt", 200, b"User-agent: *\nAllow: /\n"),  # type: ignore[arg-type]
        result("/ai.txt", 404),  # type: ignore[arg-type]
        result("/.well-known/tdmrep.json", 404),  # type: ignore[arg-type]
    )


def _record(media_type: str, body: bytes):  # type: ignore[no-untyped-def]
    fetched = fetch_result(URL, URL, status=200, headers=(("Content-Type", media_type),), body=body)
    page = read_page(fetched)
    assert page.signals is not None
    return decide(URL, [], _policy(), page.signals, page_source=page.source)


def _decisions(media_type: str, body: bytes) -> dict[Purpose, Decision]:
    return dict(_record(media_type, body).decisions["*"])
