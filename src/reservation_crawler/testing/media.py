"""Small media files with rights metadata, made in code (no binaries in the repository): a JPEG
or PNG carrying an XMP packet, a PDF with an uncompressed (or compressed) metadata stream, and a
JPEG signed with a C2PA manifest holding a training-mining assertion (c2pa-python, a throwaway
certificate chain generated here (Ed25519: fixed-size signatures, so the
file's size is the same on every run); the manifest validates, its signer is untrusted).

Imports nothing of the package (the fixture web's rule).
"""

from __future__ import annotations

import datetime
import io
import json
import struct
import zlib
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

# A valid 1x1 baseline JPEG (made with Pillow), served at /img/1.jpg.
JPEG_1X1 = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300100b0c0e0c0a100e0d0e1211101318281a18161618"
    "3123251d283a333d3c3933383740485c4e404457453738506d51575f626768673e4d71797064785c656763ffdb00"
    "43011112121815182f1a1a2f634238426363636363636363636363636363636363636363636363636363636363"
    "636363636363636363636363636363636363636363ffc00011080001000103012200021101031101ffc4001f00"
    "00010501010101010100000000000000000102030405060708090a0bffc400b510000201030302040305050404"
    "0000017d01020300041105122131410613516107227114328191a1082342b1c11552d1f0243362728209"
    "0a161718191a25262728292a3435363738393a434445464748494a535455565758595a636465666768696a7374"
    "75767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5"
    "c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffc4001f01000301010101"
    "01010101010000000000000102030405060708090a0bffc400b5110002010204040304070504040001027700"
    "0102031104052131061241510761711322328108144291a1b1c109233352f0156272d10a162434e125f1171819"
    "1a262728292a35363738393a434445464748494a535455565758595a636465666768696a737475767778797a82"
    "838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2"
    "d3d4d5d6d7d8d9dae2e3e4e5e6e7e8e9eaf2f3f4f5f6f7f8f9faffda000c03010002110311003f00ad451457987b"
    "c7ffd9"
)
XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"  # the APP1 identifier of an XMP packet (XMP pt 3)


def xmp_packet(data_mining: str, *, form: str = "element") -> bytes:
    """An XMP packet whose rdf:Description carries ``plus:DataMining`` as an element (the IPTC
    2023.1 form), an attribute (the short form ExifTool writes) or an ``rdf:resource``."""
    ns = (
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns:plus="http://ns.useplus.org/ldf/xmp/1.0/"'
    )
    if form == "attribute":
        body = f'<rdf:Description rdf:about="" {ns} plus:DataMining="{data_mining}"/>'
    elif form == "resource":
        body = (
            f'<rdf:Description rdf:about="" {ns}>'
            f'<plus:DataMining rdf:resource="{data_mining}"/></rdf:Description>'
        )
    else:
        body = (
            f'<rdf:Description rdf:about="" {ns}>'
            f"<plus:DataMining>{data_mining}</plus:DataMining></rdf:Description>"
        )
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f"{body}</rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    ).encode()


def jpeg_with_xmp(packet: bytes, jpeg: bytes = JPEG_1X1) -> bytes:
    """``jpeg`` with an APP1 XMP segment right after SOI."""
    payload = XMP_HEADER + packet
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return jpeg[:2] + segment + jpeg[2:]


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_with_xmp(packet: bytes) -> bytes:
    """A 1x1 grey PNG with the XMP packet in an iTXt chunk (keyword XML:com.adobe.xmp)."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x80")
    itxt = b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + packet
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"iTXt", itxt)
        + _png_chunk(b"IDAT", pixels)
        + _png_chunk(b"IEND", b"")
    )


def pdf_with_xmp(packet: bytes, *, compressed: bool = False) -> bytes:
    """A one-page PDF whose catalog names a metadata stream holding ``packet``."""
    stream = zlib.compress(packet) if compressed else packet
    extra = " /Filter /FlateDecode" if compressed else ""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /Metadata 4 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>",
        f"<< /Type /Metadata /Subtype /XML /Length {len(stream)}{extra} >>\nstream\n".encode()
        + stream
        + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


def training_mining(label: str, entries: Mapping[str, Any]) -> dict[str, Any]:
    """A training-mining assertion (CAWG 1.1 ``cawg.training-mining``, C2PA 1.x
    ``c2pa.training-mining``): ``entries`` maps entry names to ``{"use": ...}``."""
    return {"label": label, "data": {"entries": dict(entries)}}


@lru_cache(maxsize=16)
def _signed(assertion_json: str, jpeg: bytes) -> bytes:
    import c2pa
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(common: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, common),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "reservation-crawler fixture web"),
            ]
        )

    def usage(*, sign_certs: bool) -> x509.KeyUsage:
        return x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=sign_certs,
            crl_sign=sign_certs, encipher_only=False, decipher_only=False,
        )  # fmt: skip

    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    end = start + datetime.timedelta(days=3650)
    ca_key = ed25519.Ed25519PrivateKey.generate()
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("fixture CA"))
        .issuer_name(name("fixture CA"))
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(usage(sign_certs=True), critical=True)
        .sign(ca_key, None)
    )
    key = ed25519.Ed25519PrivateKey.generate()
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name("fixture signer"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage(sign_certs=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, None)
    )
    chain = leaf.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(
        serialization.Encoding.PEM
    )
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    signer = c2pa.Signer.from_info(
        c2pa.C2paSignerInfo(alg=b"ed25519", sign_cert=chain, private_key=private, ta_url=None)
    )
    manifest = {
        "claim_generator_info": [{"name": "reservation-crawler fixture web", "version": "1"}],
        "title": "fixture image",
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": (
                                "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
                            ),
                        }
                    ]
                },
            },
            json.loads(assertion_json),
        ],
    }
    output = io.BytesIO()
    with c2pa.Builder(json.dumps(manifest)) as builder:
        builder.sign(signer, "image/jpeg", io.BytesIO(jpeg), output)
    return output.getvalue()


def c2pa_jpeg(assertion: Mapping[str, Any], jpeg: bytes = JPEG_1X1) -> bytes:
    """``jpeg`` signed with a C2PA manifest holding ``assertion`` (see :func:`training_mining`)."""
    return _signed(json.dumps(assertion, sort_keys=True), jpeg)
