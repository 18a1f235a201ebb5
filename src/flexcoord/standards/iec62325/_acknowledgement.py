"""Acknowledgement_MarketDocument (IEC 62325-451-1, version 9.0): the answer to every import.

An accepted document is answered with reason ``A01`` (message fully accepted); a rejected one
with ``A02`` (message fully rejected) followed by one reason per problem found, each naming the
element and what is wrong, with the most specific standard code: ``A04`` time interval incorrect,
``A41`` resolution inconsistency, ``A42`` quantity inconsistency, ``A55`` time series
identification conflict, ``A57`` deadline exceeded / gate not open, ``A59`` not compliant to local
market rules, ``999`` errors not specifically identified (a hostile or malformed document, a
schema violation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from lxml import etree

from flexcoord.domain.validation import IssueCollector
from flexcoord.standards.iec62325._common import (
    ROLES,
    Party,
    Problem,
    Reader,
)
from flexcoord.standards.iec62325._xml import child, instant_text

__all__ = [
    "ACKNOWLEDGEMENT_NAMESPACE",
    "REASON_CODES",
    "AckReason",
    "Acknowledgement",
    "acknowledgement_xml",
    "read_acknowledgement",
    "rejection",
]

ACKNOWLEDGEMENT_NAMESPACE: Final = "urn:iec62325.351:tc57wg16:451-1:acknowledgementdocument:9:0"
#: The namespaces read (8.0 has the same elements flexcoord uses).
_READ_NAMESPACES: Final = (
    ACKNOWLEDGEMENT_NAMESPACE,
    "urn:iec62325.351:tc57wg16:451-1:acknowledgementdocument:8:0",
)
#: The reason codes flexcoord writes, with their standard titles.
REASON_CODES: Final = {
    "A01": "Message fully accepted",
    "A02": "Message fully rejected",
    "A03": "Message contains errors at the time series level",
    "A04": "Time interval incorrect",
    "A41": "Resolution inconsistency",
    "A42": "Quantity inconsistency",
    "A55": "Time series identification conflict",
    "A57": "Deadline limit exceeded/Gate not open",
    "A59": "Not compliant to local market rules",
    "999": "Errors not specifically identified",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class AckReason:
    """One reason of an acknowledgement: a standard code and a text (at most 512 characters)."""

    code: str
    text: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Acknowledgement:
    """An Acknowledgement_MarketDocument.

    Attributes:
        document_id: Its mRID.
        created_at: When it was created (UTC, whole seconds).
        sender: Who acknowledges (the receiver of the acknowledged document).
        receiver: Who is answered.
        received_document_id: The acknowledged document's mRID, when it could be read.
        received_revision: Its revision number, when it could be read.
        received_type: Its message type code, when it could be read.
        received_created_at: Its creation time, when it could be read.
        reasons: ``A01`` alone when accepted; ``A02`` then one reason per problem when rejected.
    """

    document_id: str
    created_at: datetime
    sender: Party
    receiver: Party
    reasons: tuple[AckReason, ...]
    received_document_id: str | None = None
    received_revision: int | None = None
    received_type: str | None = None
    received_created_at: datetime | None = None

    def __post_init__(self) -> None:
        c = IssueCollector("Acknowledgement", self.document_id)
        c.identifier("document_id", self.document_id)
        c.utc("created_at", self.created_at)
        c.check(len(self.reasons) >= 1, "reasons", self.reasons, "must hold at least one reason")
        for i, reason in enumerate(self.reasons):
            c.check(
                reason.code in REASON_CODES,
                f"reasons[{i}].code",
                reason.code,
                f"must be one of {sorted(REASON_CODES)}",
            )
        c.raise_if_any()

    @property
    def accepted(self) -> bool:
        """Whether the acknowledged document was accepted (first reason ``A01``)."""
        return self.reasons[0].code == "A01"


def rejection(problems: Sequence[Problem]) -> tuple[AckReason, ...]:
    """``A02`` and one reason per problem (element and reason in the text)."""
    return (
        AckReason(code="A02", text=REASON_CODES["A02"]),
        *(AckReason(code=p.code, text=p.text()) for p in problems),
    )


def acknowledgement_xml(ack: Acknowledgement) -> bytes:
    """The acknowledgement as an XML document (UTF-8, with declaration)."""
    ns = ACKNOWLEDGEMENT_NAMESPACE
    root = etree.Element(f"{{{ns}}}Acknowledgement_MarketDocument", nsmap={None: ns})
    child(root, ns, "mRID", ack.document_id)
    child(root, ns, "createdDateTime", instant_text(ack.created_at))
    for side, party in (("sender", ack.sender), ("receiver", ack.receiver)):
        child(root, ns, f"{side}_MarketParticipant.mRID", party.id).set(
            "codingScheme", party.coding_scheme
        )
        child(root, ns, f"{side}_MarketParticipant.marketRole.type", party.role)
    if ack.received_document_id is not None:
        child(root, ns, "received_MarketDocument.mRID", ack.received_document_id)
    if ack.received_revision is not None:
        child(root, ns, "received_MarketDocument.revisionNumber", str(ack.received_revision))
    if ack.received_type is not None:
        child(root, ns, "received_MarketDocument.type", ack.received_type)
    if ack.received_created_at is not None:
        child(
            root,
            ns,
            "received_MarketDocument.createdDateTime",
            instant_text(ack.received_created_at),
        )
    for reason in ack.reasons:
        el = child(root, ns, "Reason")
        child(el, ns, "code", reason.code)
        if reason.text:
            child(el, ns, "text", reason.text[:512])
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def read_acknowledgement(root: etree._Element) -> tuple[Acknowledgement | None, list[Problem]]:
    """The acknowledgement of a parsed document, or the problems that prevent reading it."""
    ns = etree.QName(root).namespace or ""
    r = Reader(ns if ns in _READ_NAMESPACES else ACKNOWLEDGEMENT_NAMESPACE)
    if (
        etree.QName(root).localname != "Acknowledgement_MarketDocument"
        or ns not in _READ_NAMESPACES
    ):
        r.problem(
            root.tag, f"is not an Acknowledgement_MarketDocument of {ACKNOWLEDGEMENT_NAMESPACE}"
        )
        return None, r.problems
    document_id = r.text(root, "", "mRID")
    created = r.instant(root, "", "createdDateTime")
    parties = []
    for side in ("sender", "receiver"):
        pid = r.party(root, "", f"{side}_MarketParticipant.mRID")
        role = r.code(
            root,
            "",
            f"{side}_MarketParticipant.marketRole.type",
            {c: c for c in ROLES},
            required=side == "sender",
        )
        scheme = root.findtext(r.tag(f"{side}_MarketParticipant.mRID"))
        el = root.find(r.tag(f"{side}_MarketParticipant.mRID"))
        scheme = el.get("codingScheme", "A01") if el is not None else "A01"
        parties.append(
            None if pid is None else Party(id=pid, role=role or "A04", coding_scheme=scheme)
        )
    received_id = r.text(root, "", "received_MarketDocument.mRID", required=False)
    revision = r.text(
        root, "", "received_MarketDocument.revisionNumber", required=False, max_chars=3
    )
    received_type = r.text(root, "", "received_MarketDocument.type", required=False, max_chars=3)
    received_at = r.instant(root, "", "received_MarketDocument.createdDateTime", required=False)
    reasons = []
    for path, el in r.children(root, "", "Reason"):
        code = r.code(el, path, "code", {c: c for c in REASON_CODES})
        text = r.text(el, path, "text", required=False, max_chars=512)
        if code is not None:
            reasons.append(AckReason(code=code, text=text or ""))
    if not reasons:
        r.problem("Reason", "is required and missing")
    if r.problems or document_id is None or created is None or None in parties:
        return None, r.problems
    return Acknowledgement(
        document_id=document_id,
        created_at=created,
        sender=parties[0],  # type: ignore[arg-type]
        receiver=parties[1],  # type: ignore[arg-type]
        reasons=tuple(reasons),
        received_document_id=received_id,
        received_revision=int(revision) if revision and revision.isdigit() else None,
        received_type=received_type,
        received_created_at=received_at,
    ), []
