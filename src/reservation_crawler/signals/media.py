"""Rights metadata embedded in images and PDFs: IPTC/PLUS ``plus:DataMining`` (XMP) and the
C2PA / CAWG training-and-data-mining assertion.

Implemented revisions: IPTC Photo Metadata Standard 2023.1 (property "Data Mining",
``plus:DataMining``, PLUS LDF vocabulary ``http://ns.useplus.org/ldf/vocab/DMI-*``; the English
labels are those ExifTool prints and accepts for the tag); CAWG Training and Data Mining
assertion 1.1 (``cawg.training-mining``) and its C2PA 1.x predecessor (``c2pa.training-mining``).

What is read, and what is not (docs/media.md):

- XMP: every uncompressed ``<x:xmpmeta>`` packet in the bytes read (JPEG APP1, PNG iTXt, WebP,
  TIFF, a PDF's uncompressed metadata stream), parsed with ``defusedxml``. A PDF metadata stream
  compressed with FlateDecode is not inflated: not read (a finding says a PDF had no readable
  XMP only when the bytes show a compressed one).
- C2PA: the manifest store through ``c2pa-python`` (the C2PA reference implementation), from the
  bytes in memory, offline; the active manifest's assertions. Its validation state is kept:
  an ``Invalid`` manifest is shown, not applied.
- Only the bytes the page fetch read (its size cap): metadata after the cap is not seen.

Pure (no I/O); never raises on content.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from reservation_crawler.model.findings import Finding, Severity, spec_maker

__all__ = [
    "CAWG_LABELS",
    "DMI_CODES",
    "MediaEntry",
    "MediaSignals",
    "is_media_type",
    "read_media",
]

PLUS_NS: Final = "http://ns.useplus.org/ldf/xmp/1.0/"
RDF_NS: Final = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
DMI_PREFIX: Final = "http://ns.useplus.org/ldf/vocab/"
MAX_XMP_PACKETS: Final = 8
MAX_XMP_BYTES: Final = 256_000

# PLUS LDF "Data Mining" codes -> (what it says, the uses it prohibits / allows). The uses are
# this module's vocabulary, mapped onto purposes by core/decide.py.
USES: Final = ("ai-training", "genai-training", "ai-inference", "data-mining", "search-indexing")
_ALL_BUT_SEARCH = ("ai-training", "genai-training", "ai-inference", "data-mining")
DMI_CODES: Final[dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]]] = {
    # code: (ExifTool's English label, prohibited uses, allowed uses)
    "DMI-UNSPECIFIED": ("Unspecified - no prohibition defined", (), ()),
    "DMI-ALLOWED": ("Allowed", (), (*_ALL_BUT_SEARCH, "search-indexing")),
    "DMI-PROHIBITED-AIMLTRAINING": ("Prohibited for AI/ML training", ("ai-training",), ()),
    "DMI-PROHIBITED-GENAIMLTRAINING": (
        "Prohibited for Generative AI/ML training",
        ("genai-training",),
        (),
    ),
    "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING": (
        "Prohibited except for search engine indexing",
        _ALL_BUT_SEARCH,
        ("search-indexing",),
    ),
    "DMI-PROHIBITED": ("Prohibited", (*_ALL_BUT_SEARCH, "search-indexing"), ()),
    # "Prohibited, see <rights expression>": the base is prohibited; the expression (not read)
    # may grant exceptions. Read as prohibited: fail closed, the raw value says where to look.
    "DMI-PROHIBITED-SEECONSTRAINT": (
        "Prohibited, see plus:OtherConstraints",
        (*_ALL_BUT_SEARCH, "search-indexing"),
        (),
    ),
    "DMI-PROHIBITED-SEEEMBEDDEDRIGHTSEXPR": (
        "Prohibited, see iptcExt:EmbdEncRightsExpr",
        (*_ALL_BUT_SEARCH, "search-indexing"),
        (),
    ),
    "DMI-PROHIBITED-SEELINKEDRIGHTSEXPR": (
        "Prohibited, see iptcExt:LinkedEncRightsExpr",
        (*_ALL_BUT_SEARCH, "search-indexing"),
        (),
    ),
}


def _label_key(text: str) -> str:
    """Labels compared without case, with any dash as "-" (IPTC's own table writes an en dash in
    "Unspecified – no prohibition defined", ExifTool a hyphen)."""
    return " ".join(text.replace("\u2013", "-").replace("\u2014", "-").split()).casefold()


_BY_LABEL = {_label_key(label): code for code, (label, _, _) in DMI_CODES.items()}

# CAWG 1.1 / C2PA 1.x entry names (without their prefix) -> the use.
CAWG_LABELS: Final = ("cawg.training-mining", "c2pa.training-mining")
_CAWG_USES: Final = {
    "ai_training": "ai-training",
    "ai_generative_training": "genai-training",
    "ai_inference": "ai-inference",
    "data_mining": "data-mining",
}
# Media types c2pa-python reads (a subset of its list: the web's image formats and PDF).
_C2PA_TYPES: Final = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/avif",
        "image/heic",
        "image/heif",
        "image/tiff",
        "image/gif",
        "image/svg+xml",
        "application/pdf",
    }
)
_XMP_START = re.compile(rb"<x:xmpmeta[\s>]")
_XMP_END = b"</x:xmpmeta>"
_PDF_COMPRESSED_XMP = re.compile(rb"/Type\s*/Metadata[^>]{0,200}/Filter", re.S)

_SOURCE = "media"


_spec = spec_maker(_SOURCE)  # codes "media.<name>", the one helper (model/findings.py)


UNKNOWN_DATA_MINING = _spec(
    "unknown-data-mining-value",
    Severity.WARNING,
    "a plus:DataMining value is not a PLUS Data Mining code",
    "IPTC Photo Metadata 2023.1 takes one of the PLUS LDF codes "
    "(http://ns.useplus.org/ldf/vocab/DMI-…), written as the URI, the bare code or its label. "
    "This value is none of them and is ignored.",
    "Write e.g. http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-AIMLTRAINING.",
    "<plus:DataMining>no-ai</plus:DataMining>",
)
BAD_XMP = _spec(
    "unreadable-xmp",
    Severity.WARNING,
    "an XMP packet in the file could not be read",
    "The packet is not well-formed XML, or declares a DTD or entities (refused: bombs and "
    "external references). Rights in it are not read.",
    "Write the XMP packet with a metadata tool (ExifTool, Adobe Bridge) that produces plain XMP.",
    "<x:xmpmeta><!DOCTYPE x [<!ENTITY …>]>…",
)
COMPRESSED_PDF_XMP = _spec(
    "compressed-pdf-metadata",
    Severity.INFO,
    "the PDF's XMP metadata stream is compressed and was not read",
    "Only uncompressed XMP packets are read from PDFs. A Data Mining value in this stream is not "
    "seen (PDF/A keeps the metadata stream uncompressed for this reason).",
    "Store the document's metadata stream uncompressed.",
    "<< /Type /Metadata /Subtype /XML /Filter /FlateDecode >>",
)
C2PA_INVALID = _spec(
    "c2pa-invalid",
    Severity.WARNING,
    "the C2PA manifest does not validate: its training-mining assertion is not applied",
    "The C2PA reference implementation reports the manifest Invalid (a hash or signature does "
    "not match: the file was changed after signing, or the manifest is forged). Its assertions "
    "are shown with effect unspecified.",
    "Re-sign the asset after the last change to its bytes.",
    "an image edited after its C2PA manifest was signed",
)
C2PA_UNREADABLE = _spec(
    "c2pa-unreadable",
    Severity.WARNING,
    "the file carries C2PA data that could not be read",
    "c2pa-python could not read the manifest store (corrupt, truncated at the size cap, or an "
    "unsupported variant). A training-mining assertion in it is not seen.",
    "Check the file with c2patool; keep signed assets under the crawler's size cap.",
    "a 5 MB JPEG whose manifest store is cut at 2 MB",
)
CONSTRAINED = _spec(
    "constrained-use",
    Severity.INFO,
    "a C2PA/CAWG training-mining entry is 'constrained': read as not allowed",
    "CAWG 1.1: 'constrained' means allowed only under conditions given in constraints_info; a "
    "crawler cannot check them, so the use is reserved (without constraints_info it is "
    "notAllowed outright).",
    "Use 'allowed' or 'notAllowed' when no human-readable condition is meant.",
    '{"cawg.ai_training": {"use": "constrained", "constraints_info": "https://ex.com/tdm"}}',
)


@dataclass(frozen=True, slots=True)
class MediaEntry:
    """One rights statement found in the file.

    ``source``: ``xmp`` (plus:DataMining) or ``c2pa`` (a training-mining assertion); ``key``:
    the property or entry (``plus:DataMining``, ``cawg.ai_training``); ``raw`` as written;
    ``prohibited`` / ``allowed``: the uses (:data:`USES`) it reserves or allows; ``applies``:
    False for an Invalid C2PA manifest (shown, not applied).
    """

    source: str
    key: str
    raw: str
    prohibited: tuple[str, ...]
    allowed: tuple[str, ...]
    applies: bool = True


@dataclass(frozen=True, slots=True)
class MediaSignals:
    entries: tuple[MediaEntry, ...] = ()
    findings: tuple[Finding, ...] = ()
    c2pa_state: str | None = None  # Valid / Trusted / Invalid, when a manifest was read


def is_media_type(media_type: str | None) -> bool:
    """Images and PDF: the responses whose embedded metadata is read."""
    if not media_type:
        return False
    return media_type.startswith("image/") or media_type == "application/pdf"


def read_media(media_type: str, body: bytes, *, location: str | None = None) -> MediaSignals:
    """The rights metadata of one image or PDF (``media_type`` lower-cased, no parameters)."""
    entries: list[MediaEntry] = []
    findings: list[Finding] = []
    for packet in _xmp_packets(body):
        entries.extend(_data_mining(packet, findings, location))
    if media_type == "application/pdf" and not entries and _PDF_COMPRESSED_XMP.search(body):
        findings.append(COMPRESSED_PDF_XMP(location=location))
    state = None
    if media_type in _C2PA_TYPES and (b"jumb" in body or b"c2pa" in body):
        state = _c2pa(media_type, body, entries, findings, location)
    return MediaSignals(tuple(entries), tuple(findings), state)


# --- XMP --------------------------------------------------------------------------------------


def _xmp_packets(body: bytes) -> Iterable[bytes]:
    start = 0
    for _ in range(MAX_XMP_PACKETS):
        found = _XMP_START.search(body, start)
        if found is None:
            return
        end = body.find(_XMP_END, found.start(), found.start() + MAX_XMP_BYTES)
        if end < 0:
            return
        end += len(_XMP_END)
        yield body[found.start() : end]
        start = end


def _dmi_code(value: str) -> str | None:
    text = value.strip()
    if text.startswith(DMI_PREFIX):
        text = text[len(DMI_PREFIX) :]
    if text.upper() in DMI_CODES:
        return text.upper()
    return _BY_LABEL.get(_label_key(text))


def _data_mining(packet: bytes, findings: list[Finding], location: str | None) -> list[MediaEntry]:
    try:
        root = fromstring(packet, forbid_dtd=True)
    except (DefusedXmlException, ParseError, ValueError, RecursionError) as exc:
        findings.append(BAD_XMP(f"an XMP packet could not be read ({exc})", location=location))
        return []
    out = []
    for value in _data_mining_values(root):
        code = _dmi_code(value)
        if code is None:
            findings.append(
                UNKNOWN_DATA_MINING(f"plus:DataMining value {value!r}", location=location)
            )
            continue
        _, prohibited, allowed = DMI_CODES[code]
        out.append(MediaEntry("xmp", "plus:DataMining", value.strip(), prohibited, allowed))
    return out


def _data_mining_values(root: Element) -> list[str]:
    """plus:DataMining as an attribute of rdf:Description, an element's text, or rdf:resource."""
    attribute = f"{{{PLUS_NS}}}DataMining"
    values = []
    for element in root.iter():
        if attribute in element.attrib:
            values.append(element.attrib[attribute])
        if element.tag == attribute:
            resource = element.get(f"{{{RDF_NS}}}resource")
            text = resource if resource is not None else "".join(element.itertext())
            if text.strip():
                values.append(text)
    return values


# --- C2PA / CAWG -------------------------------------------------------------------------------


def _c2pa(
    media_type: str,
    body: bytes,
    entries: list[MediaEntry],
    findings: list[Finding],
    location: str | None,
) -> str | None:
    try:
        import c2pa
    except ImportError:  # pragma: no cover - a required dependency
        findings.append(C2PA_UNREADABLE("c2pa-python is not installed", location=location))
        return None
    try:
        with c2pa.Reader(media_type, io.BytesIO(body)) as reader:
            store = json.loads(reader.json())
    except Exception as exc:  # c2pa.C2paError and its subclasses; any failure of the reader
        if "ManifestNotFound" in type(exc).__name__:
            return None  # the bytes "jumb"/"c2pa" occurred by chance: no manifest
        findings.append(C2PA_UNREADABLE(f"{type(exc).__name__}: {exc}", location=location))
        return None
    state = str(store.get("validation_state") or "")
    manifest = (store.get("manifests") or {}).get(store.get("active_manifest") or "") or {}
    applies = state != "Invalid"
    found = False
    for assertion in manifest.get("assertions") or ():
        label = str(assertion.get("label") or "")
        base = label.split("__", 1)[0]  # repeated assertions: "label__1"
        if base not in CAWG_LABELS:
            continue
        found = True
        entries.extend(_training_mining(base, assertion.get("data"), applies, findings, location))
    if found and not applies:
        codes = [s.get("code") for s in store.get("validation_status") or () if isinstance(s, dict)]
        findings.append(
            C2PA_INVALID(f"validation: {', '.join(map(str, codes))}", location=location)
        )
    return state or None


def _training_mining(
    label: str, data: Any, applies: bool, findings: list[Finding], location: str | None
) -> list[MediaEntry]:
    out = []
    items = (data or {}).get("entries") if isinstance(data, dict) else None
    for name, value in (items or {}).items() if isinstance(items, dict) else ():
        prefix, _, entry = str(name).partition(".")
        use = _CAWG_USES.get(entry) if prefix in ("cawg", "c2pa") else None
        choice = value.get("use") if isinstance(value, dict) else None
        if use is None or choice not in ("allowed", "notAllowed", "constrained"):
            continue  # custom entries and unknown values: no known use
        raw = f"{label}: {name}={choice}"
        if choice == "constrained":
            info = value.get("constraints_info")
            raw += f" ({info})" if info else ""
            findings.append(CONSTRAINED(raw, location=location))
        prohibited = (use,) if choice != "allowed" else ()
        allowed = (use,) if choice == "allowed" else ()
        out.append(MediaEntry("c2pa", str(name), raw, prohibited, allowed, applies))
    return out
