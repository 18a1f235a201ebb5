"""The import entry points: one per document type, each answering with an acknowledgement."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from flexcoord.domain import Bid
from flexcoord.errors import NO_VALUE, InvalidInputError, Issue
from flexcoord.operations.activation import ActivationOrder
from flexcoord.operations.events import OrderEvent
from flexcoord.standards.iec62325._acknowledgement import Acknowledgement, read_acknowledgement
from flexcoord.standards.iec62325._activation import (
    read_activation_orders,
    read_activation_responses,
)
from flexcoord.standards.iec62325._allocation import AllocationResult, read_allocation
from flexcoord.standards.iec62325._bids import read_reserve_bids
from flexcoord.standards.iec62325._common import Party
from flexcoord.standards.iec62325._importing import Imported, import_with
from flexcoord.standards.iec62325._xml import (
    MAX_DOCUMENT_BYTES,
    HostileDocumentError,
    parse_document,
)
from flexcoord.standards.iec62325._xsd import schema_problems

__all__ = [
    "import_activation_orders",
    "import_activation_responses",
    "import_allocation_result",
    "import_reserve_bids",
    "parse_acknowledgement",
    "schema_violations",
]


def import_reserve_bids(  # noqa: PLR0913 - the document, then the answer's keywords
    data: bytes,
    *,
    acknowledger: Party,
    acknowledgement_id: str,
    now: datetime,
    schema_dir: Path | None = None,
    gate_closure: datetime | None = None,
    max_bytes: int = MAX_DOCUMENT_BYTES,
) -> Imported[Bid]:
    """The bids of a ReserveBid_MarketDocument, and the acknowledgement that answers it.

    Args:
        data: The document's bytes (untrusted: read with a hardened parser, size-limited).
        acknowledger: Who answers (the document's receiver).
        acknowledgement_id: The acknowledgement's mRID.
        now: The acknowledgement's creation time.
        schema_dir: A folder of the official XSDs: the document is validated against its
            schema first (see :data:`XSD_FILES`); ``None`` checks the elements flexcoord reads.
        gate_closure: When given, a document created after it is rejected (reason ``A57``).
        max_bytes: The largest document read.

    Returns:
        The outcome: an accepted document's bids (``submitted_at`` = its ``createdDateTime``)
        and an ``A01`` acknowledgement, or no bids and an ``A02`` acknowledgement whose reasons
        name every element at fault.

    Example:
        >>> from datetime import datetime, UTC
        >>> me = Party(id="10X1001A1001A361", role="A04")
        >>> out = import_reserve_bids(b"<ReserveBid_MarketDocument/>", acknowledger=me,
        ...                           acknowledgement_id="ack-1", now=datetime.now(UTC))
        >>> out.accepted, out.objects, out.acknowledgement.reasons[1].code
        (False, (), '999')
        >>> out.problems[0][:65]
        'ReserveBid_MarketDocument: is not a ReserveBid_MarketDocument of '

    """
    return import_with(
        data,
        lambda root: read_reserve_bids(root, gate_closure=gate_closure),
        acknowledger=acknowledger,
        acknowledgement_id=acknowledgement_id,
        now=now,
        schema_dir=schema_dir,
        max_bytes=max_bytes,
    )


def import_activation_orders(  # noqa: PLR0913 - the document, then the answer's keywords
    data: bytes,
    *,
    acknowledger: Party,
    acknowledgement_id: str,
    now: datetime,
    schema_dir: Path | None = None,
    max_bytes: int = MAX_DOCUMENT_BYTES,
) -> Imported[ActivationOrder]:
    """The orders of an Activation_MarketDocument (type ``A40``), as
    :func:`import_reserve_bids` (each order's ``issued_at`` is the ``createdDateTime``)."""
    return import_with(
        data,
        read_activation_orders,
        acknowledger=acknowledger,
        acknowledgement_id=acknowledgement_id,
        now=now,
        schema_dir=schema_dir,
        max_bytes=max_bytes,
    )


def import_activation_responses(  # noqa: PLR0913 - the document, then the answer's keywords
    data: bytes,
    *,
    acknowledger: Party,
    acknowledgement_id: str,
    now: datetime,
    schema_dir: Path | None = None,
    max_bytes: int = MAX_DOCUMENT_BYTES,
) -> Imported[OrderEvent]:
    """An FSP's activation response (type ``A41``) as order events (acknowledged or failed,
    at the document's ``createdDateTime``), as :func:`import_reserve_bids`."""
    return import_with(
        data,
        read_activation_responses,
        acknowledger=acknowledger,
        acknowledgement_id=acknowledgement_id,
        now=now,
        schema_dir=schema_dir,
        max_bytes=max_bytes,
    )


def import_allocation_result(  # noqa: PLR0913 - the document, then the answer's keywords
    data: bytes,
    *,
    acknowledger: Party,
    acknowledgement_id: str,
    now: datetime,
    schema_dir: Path | None = None,
    max_bytes: int = MAX_DOCUMENT_BYTES,
) -> Imported[AllocationResult]:
    """The awards and rejections of a ReserveAllocationResult_MarketDocument (one
    :class:`AllocationResult` in ``objects``), as :func:`import_reserve_bids`."""
    return import_with(
        data,
        read_allocation,
        acknowledger=acknowledger,
        acknowledgement_id=acknowledgement_id,
        now=now,
        schema_dir=schema_dir,
        max_bytes=max_bytes,
    )


def _document_issue(
    element: str, reason: str, document: str = "Acknowledgement_MarketDocument"
) -> Issue:
    return Issue(
        kind="document",
        object_id=document,
        field=element,
        value=NO_VALUE,
        message=reason,
    )


def parse_acknowledgement(data: bytes, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> Acknowledgement:
    """An Acknowledgement_MarketDocument received (hardened parse).

    Raises:
        InvalidInputError: The document is hostile, malformed or not an acknowledgement; each
            issue names the element.
    """
    try:
        root = parse_document(data, max_bytes=max_bytes)
    except HostileDocumentError as err:
        raise InvalidInputError([_document_issue(err.element, err.reason)]) from None
    ack, problems = read_acknowledgement(root)
    if ack is None:
        raise InvalidInputError([_document_issue(p.element, p.reason) for p in problems])
    return ack


def schema_violations(xml: bytes, schema_dir: Path) -> tuple[str, ...]:
    """Every violation of a document against its official XSD (``element: reason``); empty
    when it is valid.

    Raises:
        InvalidInputError: The document cannot be parsed safely, or the folder lacks its schema.
    """
    try:
        root = parse_document(xml)
    except HostileDocumentError as err:
        # not yet known which document it is: the one given to be checked
        raise InvalidInputError([_document_issue(err.element, err.reason, "given")]) from None
    return tuple(p.text() for p in schema_problems(root, schema_dir))
