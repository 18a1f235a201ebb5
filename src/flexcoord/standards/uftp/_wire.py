"""UFTP on the wire: XML through shapeshifter-uftp's serializer and parser (after a hardened
pre-parse), validation against the official Shapeshifter XSDs, and libsodium signing.

flexcoord does not ship the XSDs: point ``schema_dir`` (or ``$FLEXCOORD_UFTP_XSD_DIR``) at the
``xsd/`` folder of https://github.com/shapeshifter/shapeshifter-specification (``UFTP-agr.xsd``
and ``UFTP-dso.xsd`` include every AGR↔DSO message).
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path
from typing import Final

from lxml import etree

from flexcoord.errors import InvalidInputError, Issue
from flexcoord.standards.schemas import folder_from_environment, load_schema

__all__ = [
    "MAX_MESSAGE_BYTES",
    "XSD_DIR_VARIABLE",
    "generate_keypair",
    "parse_xml",
    "public_key_of",
    "schema_dir_from_environment",
    "schema_violations",
    "seal",
    "to_xml",
    "unseal",
]

MAX_MESSAGE_BYTES: Final = 4_000_000
XSD_DIR_VARIABLE: Final = "FLEXCOORD_UFTP_XSD_DIR"
_DOCTYPE: Final = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
#: The schema that declares both sides' messages (agr includes agr-dso, common and metering).
_ROOT_SCHEMA: Final = "UFTP-agr.xsd"


def _issue(field_name: str, value: object, message: str) -> Issue:
    return Issue(kind="UFTP", object_id="message", field=field_name, value=value, message=message)


def to_xml(message: object) -> bytes:
    """A shapeshifter-uftp message as UTF-8 XML (the package's serializer)."""
    from shapeshifter_uftp import transport  # noqa: PLC0415 - the package loads on first use

    xml: str = transport.to_xml(message)
    return xml.encode("utf-8")


def _hardened(data: bytes, max_bytes: int) -> None:
    if len(data) > max_bytes:
        raise InvalidInputError([_issue("message", len(data), f"is over {max_bytes:,} bytes")])
    if _DOCTYPE.search(data):
        raise InvalidInputError([_issue("message", "DOCTYPE", "declares a DTD or entity")])
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as err:
        raise InvalidInputError([_issue(f"line {err.lineno}", None, err.msg)]) from None


def parse_xml(data: bytes, *, max_bytes: int = MAX_MESSAGE_BYTES) -> object:
    """A UFTP message from its XML: refused before parsing when it is too large, declares a
    DTD or an entity, or is not well-formed; then read by the package's parser.

    Raises:
        InvalidInputError: The message is hostile, malformed or not a UFTP message.
    """
    from shapeshifter_uftp import transport  # noqa: PLC0415 - the package loads on first use

    _hardened(data, max_bytes)
    try:
        return transport.from_xml(data)
    except Exception as err:  # the package raises xsdata's and builtins' errors alike
        raise InvalidInputError([_issue("message", type(err).__name__, str(err)[:300])]) from None


def schema_dir_from_environment() -> Path | None:
    """``$FLEXCOORD_UFTP_XSD_DIR`` as a path, or ``None`` when unset or empty."""
    return folder_from_environment(XSD_DIR_VARIABLE)


def schema_violations(xml: bytes, schema_dir: Path, root: str = _ROOT_SCHEMA) -> tuple[str, ...]:
    """Every violation of ``xml`` against the official UFTP XSD (``line N: reason``); empty
    when it is valid. ``root`` is the schema file read: ``UFTP-agr.xsd`` (the AGR's messages
    with the DSO and the CRO) or ``UFTP-cro.xsd`` (the CRO's with the AGR and the DSO).

    Raises:
        InvalidInputError: The folder lacks the schema.
    """
    path = schema_dir / root
    if not path.is_file():
        raise InvalidInputError([_issue("schema_dir", str(schema_dir), f"has no {root}")])
    schema = load_schema(str(path))
    _hardened(xml, MAX_MESSAGE_BYTES)
    document = etree.fromstring(
        xml, parser=etree.XMLParser(resolve_entities=False, no_network=True)
    )
    if schema.validate(document):
        return ()
    return tuple(f"line {e.line}: {e.message}" for e in schema.error_log)


def generate_keypair() -> tuple[str, str]:
    """A new Ed25519 key pair (libsodium): ``(private_key, public_key)``, base64 as UFTP
    publishes them (the private key is the 64-byte libsodium secret key)."""
    from nacl.signing import SigningKey  # noqa: PLC0415 - PyNaCl loads on first use

    key = SigningKey.generate()
    secret = bytes(key) + bytes(key.verify_key)
    return base64.b64encode(secret).decode(), base64.b64encode(bytes(key.verify_key)).decode()


def public_key_of(private_key: str) -> str:
    """The public key (base64) of a base64 libsodium secret key, derived from its seed.

    Raises:
        InvalidInputError: ``private_key`` is not the base64 of a 64-byte libsodium secret key
            (field ``private_key``), or its second half is not the seed's public key.
    """
    from nacl.signing import SigningKey  # noqa: PLC0415 - PyNaCl loads on first use

    try:
        secret = base64.b64decode(private_key.strip(), validate=True)
    except (binascii.Error, ValueError):
        secret = b""
    if len(secret) != 64:
        raise InvalidInputError([_issue("private_key", None, "is not a 64-byte libsodium key")])
    public = bytes(SigningKey(secret[:32]).verify_key)
    if public != secret[32:]:
        raise InvalidInputError(
            [_issue("private_key", None, "does not end with its seed's public key")]
        )
    return base64.b64encode(public).decode()


def seal(message: object, private_key: str) -> bytes:
    """The signed body of ``message`` (libsodium ``crypto_sign``: signature + XML), through
    the package's ``seal_message``."""
    from shapeshifter_uftp import transport  # noqa: PLC0415 - the package loads on first use

    return bytes(transport.seal_message(message, private_key))


def unseal(body: bytes, public_key: str) -> object:
    """The message of a signed body, verified with the sender's ``public_key``.

    Raises:
        InvalidInputError: The signature does not verify (field ``signature``) or the inner
            message is not a UFTP message (field ``message``).
    """
    from nacl.bindings import crypto_sign_open  # noqa: PLC0415 - PyNaCl loads on first use
    from nacl.exceptions import BadSignatureError  # noqa: PLC0415

    try:
        inner = crypto_sign_open(body, base64.b64decode(public_key))
    except (BadSignatureError, ValueError, TypeError):
        raise InvalidInputError(
            [_issue("signature", None, "does not verify with the sender's public key")]
        ) from None
    return parse_xml(inner)
