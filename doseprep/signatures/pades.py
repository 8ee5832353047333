"""A PAdES B-B signature (ETSI.CAdES.detached, SHA-256) appended to a PDF doseprep wrote.

Why not pyHanko's signer: pyHanko 0.38 imports its HTTP timestamp client (aiohttp) and its
certificate-path machinery with any part of ``pyhanko.sign``, about 200 ms of every worksheet
command (issue 13), for a signature that needs none of it. This module makes the same signature
with the two libraries pyHanko itself builds on — ``cryptography`` for the key and
``asn1crypto`` for the CMS structure — and ``doseprep verify`` still checks every signature with
pyHanko's validator, so an independent implementation holds this one to the standard (the tests
sign with this module and verify with pyHanko, including every tampering case).

What is written, as an incremental update after the document's last byte (ISO 32000-1 §12.8,
ETSI EN 319 142-1 B-B):

- a signature dictionary: ``/Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached``,
  ``/ByteRange`` covering the whole file except ``/Contents``, ``/M``, ``/Reason``,
  ``/Location``;
- an invisible signature field and widget on page 1 (``/F 132``: print, locked), listed in a new
  ``/AcroForm`` (``/SigFlags 3``) of a new version of the catalog;
- the CMS SignedData in ``/Contents``: signed attributes content-type, message-digest and
  ESS signing-certificate-v2 (no signing-time: PAdES takes the time from ``/M``); the signer's
  certificate and its chain embedded.

Only the classic cross-reference tables reportlab writes are read; anything else is refused
rather than guessed at.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

#: Bytes reserved in /Contents beyond the certificates and the signature value: the CMS
#: structure, the three signed attributes (about 600 bytes with a long issuer name) and room.
CMS_OVERHEAD = 2048
_BYTE_RANGE_WIDTH = 10  # digits per /ByteRange number, padded so that filling it moves nothing


class PdfStructureError(ValueError):
    """The PDF is not one this signer can append to (not written by reportlab)."""


@dataclass(frozen=True)
class SigningMaterial:
    """A private key (``cryptography``), its certificate and the rest of its chain (DER)."""

    key: Any
    certificate_der: bytes
    chain_der: tuple[bytes, ...] = ()


def _pdf_string(text: str) -> bytes:
    """A PDF literal string: PDFDocEncoding-safe text as UTF-16BE with a BOM when not ASCII."""
    if text.isascii():
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        return b"(" + escaped.encode("ascii") + b")"
    return b"<feff" + text.encode("utf-16-be").hex().encode("ascii") + b">"


def _pdf_date(moment: datetime) -> bytes:
    return b"(D:" + moment.astimezone(UTC).strftime("%Y%m%d%H%M%S").encode() + b"+00'00')"


class _Original:
    """What the incremental update needs from the original file: its last cross-reference
    section, the trailer's entries, the catalog and the first page."""

    def __init__(self, pdf: bytes) -> None:
        self.pdf = pdf
        tail = pdf[-1024:]
        found = re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", tail)
        if not found:
            raise PdfStructureError("no startxref at the end of the PDF")
        self.prev_xref = int(found.group(1))
        if pdf[self.prev_xref:self.prev_xref + 4] != b"xref":
            raise PdfStructureError("the PDF's cross-reference is not a classic table")
        trailer_at = pdf.find(b"trailer", self.prev_xref)
        if trailer_at < 0:
            raise PdfStructureError("the PDF has no trailer")
        trailer = pdf[trailer_at:len(pdf) - len(tail) + found.start()]
        self.size = int(self._entry(rb"/Size\s+(\d+)", trailer))
        self.root = int(self._entry(rb"/Root\s+(\d+)\s+0\s+R", trailer))
        info = re.search(rb"/Info\s+(\d+)\s+0\s+R", trailer)
        self.info = int(info.group(1)) if info else None
        first_id = re.search(rb"/ID\s*\[\s*<([0-9A-Fa-f]+)>", trailer)
        self.first_id = first_id.group(1) if first_id else None
        self.catalog = self.dictionary(self.root)
        if b"/AcroForm" in self.catalog:
            raise PdfStructureError("the PDF already has a form")
        pages = int(self._entry(rb"/Pages\s+(\d+)\s+0\s+R", self.catalog))
        kids = self._entry(rb"/Kids\s*\[\s*(\d+)\s+0\s+R", self.dictionary(pages))
        self.first_page = int(kids)
        self.page = self.dictionary(self.first_page)
        if b"/Annots" in self.page:
            raise PdfStructureError("the first page already has annotations")

    @staticmethod
    def _entry(pattern: bytes, data: bytes) -> bytes:
        found = re.search(pattern, data)
        if not found:
            raise PdfStructureError(f"missing {pattern.decode()} in the PDF")
        return found.group(1)

    def dictionary(self, number: int) -> bytes:
        """The text of object ``number``'s dictionary, ``<<`` … ``>>`` (a plain dictionary
        object, as reportlab writes its catalog and pages)."""
        # The last definition is the object's current version (incremental updates append).
        versions = list(re.finditer(rb"(?:^|\n)%d 0 obj\s*(<<.*?>>)\s*endobj" % number,
                                    self.pdf, re.S))
        found = versions[-1] if versions else None
        if not found or b"endobj" in found.group(1) or b"stream" in found.group(1):
            raise PdfStructureError(f"object {number} is not a plain dictionary")
        return found.group(1)


def _with_entries(dictionary: bytes, entries: bytes) -> bytes:
    """``dictionary`` (``<< … >>``) with ``entries`` added before its closing ``>>``."""
    return dictionary[:dictionary.rindex(b">>")].rstrip() + b" " + entries + b"\n>>"


def _signed_attributes(digest: bytes, certificate: Any) -> Any:
    from asn1crypto import cms, tsp, x509

    essid = tsp.ESSCertIDv2({"hash_algorithm": {"algorithm": "sha256"},
                             "cert_hash": hashlib.sha256(certificate.dump()).digest(),
                             "issuer_serial": {
                                 "issuer": x509.GeneralNames([x509.GeneralName(
                                     name="directory_name", value=certificate.issuer)]),
                                 "serial_number": certificate.serial_number}})
    return cms.CMSAttributes([
        cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
        cms.CMSAttribute({"type": "message_digest", "values": [digest]}),
        cms.CMSAttribute({"type": "signing_certificate_v2",
                          "values": [tsp.SigningCertificateV2({"certs": [essid]})]}),
    ])


def digest_name(key: Any) -> str:
    """The digest a signature by ``key`` is made over: SHA-512 for Ed25519 (RFC 8419: a person's
    key, issue 25), SHA-256 for the ECDSA and RSA keys of installations and labs."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return "sha512" if isinstance(key, ed25519.Ed25519PrivateKey) else "sha256"


def _sign(key: Any, data: bytes) -> tuple[bytes, str]:
    """The signature of ``data`` and its CMS algorithm name: ECDSA or RSA PKCS#1 v1.5 with
    SHA-256, or Ed25519 (pure, RFC 8419) for a person's own key."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256())), "sha256_ecdsa"
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256()), "sha256_rsa"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data), "ed25519"
    raise PdfStructureError(f"a {type(key).__name__} cannot sign a worksheet")


def _reserve(material: SigningMaterial) -> int:
    """The bytes /Contents must hold: the certificates, the longest signature the key can make
    and :data:`CMS_OVERHEAD` (too little space is an error at signing, never a cut signature)."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    key = material.key
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.key_size // 8
    elif isinstance(key, ed25519.Ed25519PrivateKey):
        signature = 64
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        signature = 2 * ((key.curve.key_size + 7) // 8) + 9  # DER SEQUENCE of two INTEGERs
    else:
        _sign(key, b"")  # refuses it by name
        signature = 0
    return (CMS_OVERHEAD + signature + len(material.certificate_der)
            + sum(len(der) for der in material.chain_der))


def cms_signature(digest: bytes, material: SigningMaterial) -> bytes:
    """The DER CMS ContentInfo (SignedData, detached) over ``digest`` (made with
    :func:`digest_name` of the key)."""
    from asn1crypto import cms, x509

    algorithm_name = digest_name(material.key)
    certificate = x509.Certificate.load(material.certificate_der)
    attributes = _signed_attributes(digest, certificate)
    signature, algorithm = _sign(material.key, attributes.dump())
    signer = cms.SignerInfo({
        "version": "v1",
        "sid": cms.SignerIdentifier({"issuer_and_serial_number": {
            "issuer": certificate.issuer, "serial_number": certificate.serial_number}}),
        "digest_algorithm": {"algorithm": algorithm_name},
        "signed_attrs": attributes,
        "signature_algorithm": {"algorithm": algorithm},
        "signature": signature,
    })
    certificates = [certificate] + [x509.Certificate.load(der) for der in material.chain_der]
    signed = cms.SignedData({
        "version": "v1", "digest_algorithms": [{"algorithm": algorithm_name}],
        "encap_content_info": {"content_type": "data"},
        "certificates": certificates, "signer_infos": [signer]})
    return cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump()


def sign(pdf: bytes, material: SigningMaterial, *, field_name: str, reason: str,
         location: str, moment: datetime | None = None) -> bytes:
    """``pdf`` with a PAdES B-B signature appended as an incremental update."""
    original = _Original(pdf)
    moment = moment or datetime.now(UTC)
    reserve = _reserve(material)
    sig, widget, size = original.size, original.size + 1, original.size + 2
    placeholder_range = b"/ByteRange [" + b" ".join(
        [b"0".rjust(_BYTE_RANGE_WIDTH)] * 4) + b"]"
    objects = {
        sig: (b"<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached "
              + placeholder_range + b" /Contents <" + b"0" * (2 * reserve) + b"> /M "
              + _pdf_date(moment) + b" /Reason " + _pdf_string(reason) + b" /Location "
              + _pdf_string(location) + b" >>"),
        widget: (b"<< /Type /Annot /Subtype /Widget /FT /Sig /T " + _pdf_string(field_name)
                 + b" /V %d 0 R /F 132 /Rect [0 0 0 0] /P %d 0 R >>"
                 % (sig, original.first_page)),
        original.root: _with_entries(original.catalog,
                                     b"/AcroForm << /Fields [%d 0 R] /SigFlags 3 >>" % widget),
        original.first_page: _with_entries(original.page, b"/Annots [%d 0 R]" % widget),
    }
    body = bytearray(pdf if pdf.endswith(b"\n") else pdf + b"\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(body)
        body += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    xref_at = len(body)
    body += b"xref\n"
    for number in sorted(offsets):
        body += b"%d 1\n%010d 00000 n \n" % (number, offsets[number])
    new_id = hashlib.md5(bytes(body), usedforsecurity=False).hexdigest().encode()
    ids = b"/ID [<%s> <%s>] " % (original.first_id or new_id, new_id)
    info = b"/Info %d 0 R " % original.info if original.info is not None else b""
    body += (b"trailer\n<< /Size %d /Root %d 0 R %s%s/Prev %d >>\nstartxref\n%d\n%%%%EOF\n"
             % (size, original.root, info, ids, original.prev_xref, xref_at))

    # The byte range: everything but the hex string of /Contents, its angle brackets included.
    contents = body.index(b"/Contents <", offsets[sig]) + len(b"/Contents ")
    after = contents + 2 * reserve + 2
    numbers = (0, contents, after, len(body) - after)
    filled = b"/ByteRange [" + b" ".join(
        str(n).encode().rjust(_BYTE_RANGE_WIDTH) for n in numbers) + b"]"
    at = body.index(placeholder_range, offsets[sig])
    body[at:at + len(filled)] = filled
    digest = hashlib.new(digest_name(material.key),
                         bytes(body[:contents]) + bytes(body[after:])).digest()
    signature = cms_signature(digest, material).hex().encode()
    if len(signature) > 2 * reserve:
        raise PdfStructureError("the signature is larger than the space reserved for it")
    body[contents + 1:contents + 1 + len(signature)] = signature
    return bytes(body)
