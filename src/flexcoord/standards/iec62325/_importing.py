"""One import path for every document: hardened parse → (official schema) → reader →
domain objects, answered by an acknowledgement. A document with any problem gives no object."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Generic, TypeVar

from lxml import etree

from flexcoord.standards.iec62325._acknowledgement import (
    REASON_CODES,
    Acknowledgement,
    AckReason,
    rejection,
)
from flexcoord.standards.iec62325._common import Header, Party, Problem
from flexcoord.standards.iec62325._xml import (
    MAX_DOCUMENT_BYTES,
    HostileDocumentError,
    parse_document,
)
from flexcoord.standards.iec62325._xsd import schema_problems

__all__ = ["Exported", "Imported", "ReadOutcome", "import_with", "refused"]

T = TypeVar("T")
#: Message types an acknowledgement may echo for a document it could not read.
_KNOWN_TYPES = frozenset({"A17", "A24", "A37", "A38", "A39", "A40", "A41"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Exported:
    """A document written by flexcoord.

    Attributes:
        xml: The document (UTF-8 XML with declaration).
        root: Its root element name (``ReserveBid_MarketDocument``, ...).
        not_carried: What the document cannot hold of the objects given (one issue per object
            and field; empty when nothing is lost).
    """

    xml: bytes
    root: str
    not_carried: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Imported(Generic[T]):
    """The outcome of an import: the acknowledgement to send back, and the objects read.

    ``objects`` is empty whenever the document is rejected: nothing of a rejected document is
    taken.
    """

    acknowledgement: Acknowledgement
    objects: tuple[T, ...]
    header: Header | None = None

    @property
    def accepted(self) -> bool:
        """Whether the document was accepted (acknowledgement ``A01``)."""
        return self.acknowledgement.accepted

    @property
    def problems(self) -> tuple[str, ...]:
        """The reasons of a rejection, one line each (element: reason); empty if accepted."""
        return tuple(r.text for r in self.acknowledgement.reasons[1:])


@dataclass(frozen=True, slots=True)
class ReadOutcome(Generic[T]):
    """What a document reader returns: the header, the message type, objects and problems."""

    header: Header | None
    message_type: str | None
    objects: tuple[T, ...]
    problems: list[Problem]


def _received_fields(root: etree._Element | None) -> tuple[str | None, str | None]:
    """The received document's mRID and type, read leniently (for a rejection's header)."""
    if root is None:
        return None, None
    ns = etree.QName(root).namespace or ""
    mrid = (root.findtext(f"{{{ns}}}mRID") or "").strip()[:60] or None
    kind = (root.findtext(f"{{{ns}}}type") or "").strip()
    return mrid, kind if kind in _KNOWN_TYPES else None


def import_with(  # noqa: PLR0913 - the document, the reader, then the answer's keywords
    data: bytes,
    read: Callable[[etree._Element], ReadOutcome[T]],
    *,
    acknowledger: Party,
    acknowledgement_id: str,
    now: datetime,
    schema_dir: Path | None,
    max_bytes: int = MAX_DOCUMENT_BYTES,
) -> Imported[T]:
    """Parse ``data`` hardened, check it (against its schema when ``schema_dir`` is given),
    read it with ``read`` and answer it; a document with a problem gives no objects."""
    root: etree._Element | None = None
    problems: list[Problem] = []
    outcome: ReadOutcome[T] | None = None
    try:
        root = parse_document(data, max_bytes=max_bytes)
    except HostileDocumentError as err:
        problems.append(Problem(err.element, err.reason, "999"))
    if root is not None and schema_dir is not None:
        problems += schema_problems(root, schema_dir)
    if root is not None:
        outcome = read(root)
        problems += outcome.problems
    header = outcome.header if outcome is not None else None
    received_id, received_type = _received_fields(root)
    ack = Acknowledgement(
        document_id=acknowledgement_id,
        created_at=now.replace(microsecond=0),
        sender=acknowledger,
        receiver=header.sender if header is not None else acknowledger,
        reasons=rejection(problems)
        if problems
        else (AckReason(code="A01", text=REASON_CODES["A01"]),),
        received_document_id=header.document_id if header is not None else received_id,
        received_revision=header.revision if header is not None else None,
        received_type=outcome.message_type
        if outcome is not None and outcome.message_type
        else received_type,
        received_created_at=header.created_at if header is not None else None,
    )
    objects = outcome.objects if outcome is not None and not problems else ()
    return Imported(acknowledgement=ack, objects=objects, header=header if not problems else None)


def refused(outcome: Imported[T], problems: Sequence[Problem]) -> Imported[T]:
    """``outcome`` rejected after all, for ``problems`` found by the receiver's own rules (a
    closed gate, an unknown unit, a bid id already used): ``A02`` with one reason per problem,
    the received document's fields kept, no objects. ``outcome`` itself when there are none.

    Example:
        >>> from datetime import datetime, UTC
        >>> me = Party(id="10X1001A1001A361", role="A04")
        >>> out = import_with(b"<x/>", lambda root: ReadOutcome(None, None, (), []),
        ...                   acknowledger=me, acknowledgement_id="ack-1",
        ...                   now=datetime(2026, 6, 1, tzinfo=UTC), schema_dir=None)
        >>> no = refused(out, [Problem("Bid_TimeSeries[1]", "unit u-9 is not registered", "A59")])
        >>> no.accepted, no.problems
        (False, ('Bid_TimeSeries[1]: unit u-9 is not registered',))
    """
    if not problems:
        return outcome
    ack = replace(outcome.acknowledgement, reasons=rejection(problems))
    return Imported(acknowledgement=ack, objects=(), header=None)
