"""What every IEC 62325-451 document shares: parties, the header, and a reader that names
the element of every problem it finds.

A :class:`Reader` reads one document's elements into values and, instead of raising, files a
:class:`Problem` for each element that is missing, malformed or outside its code list, named by
its path (``Bid_TimeSeries[2]/Period[1]/Point[3]/quantity.quantity``) with the reason code the
acknowledgement will carry. A document with any problem is rejected whole.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Final, TypeVar

from lxml import etree

from flexcoord.domain import Interval
from flexcoord.domain.validation import IssueCollector
from flexcoord.errors import InvalidInputError, Issue
from flexcoord.standards.iec62325._xml import (
    child,
    instant_text,
    minute_text,
    parse_duration,
)

__all__ = [
    "CODING_SCHEMES",
    "Header",
    "Party",
    "Problem",
    "Reader",
    "read_header",
    "write_header",
]

T = TypeVar("T")

#: Party and resource coding schemes accepted (EIC, GS1, CGM and the national schemes).
CODING_SCHEMES: Final = frozenset(
    {"A01", "A02", "A10"}
    | {
        f"N{c}"
        for c in (
            "AT",
            "BE",
            "CH",
            "DE",
            "DK",
            "ES",
            "FI",
            "FR",
            "GB",
            "IT",
            "NL",
            "NO",
            "PL",
            "PT",
            "SE",
            "SI",
        )
    }
)
#: Market roles flexcoord writes or reads (ENTSO-E role codes).
ROLES: Final = frozenset({"A04", "A11", "A18", "A27", "A34", "A39", "A46", "A50"})
PARTY_ID_CHARS: Final = 16
AREA_ID_CHARS: Final = 18
ID_CHARS: Final = 60
REASON_TEXT_CHARS: Final = 512
_VERSION = re.compile(r"[1-9][0-9]{0,2}")
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_MINUTE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z")


def _check_area(c: IssueCollector, field_: str, code: str) -> None:
    """An area code (an EIC ``AreaID_String``): an identifier of at most 18 characters."""
    c.identifier(field_, code)
    c.check(
        len(code) <= AREA_ID_CHARS,
        field_,
        code,
        f"must be at most {AREA_ID_CHARS} characters (an AreaID_String)",
    )


def area_code_issues(code: str) -> list[Issue]:
    """What keeps ``code`` from being a document's area (``domain.mRID``); empty if nothing.

    Example:
        >>> [i.message for i in area_code_issues("10YNL----------L")], len(area_code_issues(""))
        ([], 1)
    """
    c = IssueCollector("Area", code)
    _check_area(c, "domain_id", code)
    return c.issues


@dataclass(frozen=True, slots=True, kw_only=True)
class Party:
    """A market participant as a document names it.

    Attributes:
        id: Its code (an EIC of 16 characters, or a code of ``coding_scheme``; at most 16).
        role: ENTSO-E role code: ``A46`` balancing service provider, ``A04`` system operator,
            ``A50`` DSO, ``A34`` reserve allocator, ``A11`` market operator, ``A27`` resource
            provider, ``A39`` data provider, ``A18`` grid operator.
        coding_scheme: ``A01`` EIC (default), ``A10`` GS1, ``A02`` CGM, or ``N`` + country.
    """

    id: str
    role: str
    coding_scheme: str = "A01"

    def __post_init__(self) -> None:
        c = IssueCollector("Party", self.id)
        c.identifier("id", self.id)
        c.check(
            len(self.id) <= PARTY_ID_CHARS,
            "id",
            self.id,
            f"must be at most {PARTY_ID_CHARS} characters (a PartyID_String)",
        )
        c.check(self.role in ROLES, "role", self.role, f"must be one of {sorted(ROLES)}")
        c.check(
            self.coding_scheme in CODING_SCHEMES,
            "coding_scheme",
            self.coding_scheme,
            f"must be one of {sorted(CODING_SCHEMES)}",
        )
        c.raise_if_any()


@dataclass(frozen=True, slots=True, kw_only=True)
class Header:
    """The header of a document: identity, parties, creation time.

    Attributes:
        document_id: The document's mRID (at most 60 characters; a UUID is usual).
        created_at: When it was created (aware; written in UTC to the second).
        sender: Who sends it.
        receiver: Who it is for.
        domain_id: The EIC of the area it concerns (at most 18 characters).
        revision: Its revision number (1-999).
        process_type: ENTSO-E process code (``A47`` mFRR, ``A51`` aFRR, ...), or ``None``.
    """

    document_id: str
    created_at: datetime
    sender: Party
    receiver: Party
    domain_id: str
    revision: int = 1
    process_type: str | None = None

    def __post_init__(self) -> None:
        c = IssueCollector("Header", self.document_id)
        c.identifier("document_id", self.document_id)
        c.check(
            len(self.document_id) <= ID_CHARS,
            "document_id",
            self.document_id,
            f"must be at most {ID_CHARS} characters",
        )
        created = c.utc("created_at", self.created_at)
        if created is not None:
            c.check(
                created.microsecond == 0,
                "created_at",
                self.created_at,
                "must be a whole second (ESMP_DateTime)",
            )
        _check_area(c, "domain_id", self.domain_id)
        c.check(1 <= self.revision <= 999, "revision", self.revision, "must be 1 to 999")
        c.raise_if_any()
        if created is not None:
            object.__setattr__(self, "created_at", created)


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a document is rejected: the element (a path), the reason, the reason code."""

    element: str
    reason: str
    code: str = "999"

    def text(self) -> str:
        """The acknowledgement's reason text (at most 512 characters)."""
        text = f"{self.element}: {self.reason}"
        return text if len(text) <= REASON_TEXT_CHARS else text[: REASON_TEXT_CHARS - 1] + "…"


def export_issue(kind: str, object_id: str, field_: str, value: object, message: str) -> Issue:
    """An issue that stops an export (a value the document cannot hold)."""
    return Issue(kind=kind, object_id=object_id, field=field_, value=value, message=message)


def raise_export_issues(issues: list[Issue]) -> None:
    """Raise one :class:`InvalidInputError` with every issue, if any."""
    if issues:
        raise InvalidInputError(issues)


@dataclass
class Reader:
    """Reads the elements of one namespace, filing a :class:`Problem` for each bad one."""

    namespace: str
    problems: list[Problem] = field(default_factory=list)

    def tag(self, name: str) -> str:
        return f"{{{self.namespace}}}{name}"

    def problem(self, element: str, reason: str, code: str = "999") -> None:
        self.problems.append(Problem(element, reason, code))

    def children(
        self, el: etree._Element, path: str, name: str
    ) -> list[tuple[str, etree._Element]]:
        """Every ``name`` child of ``el`` with its path (1-based index)."""
        prefix = f"{path}/" if path else ""
        found = el.findall(self.tag(name))
        return [(f"{prefix}{name}[{i}]", c) for i, c in enumerate(found, start=1)]

    def _element(
        self, el: etree._Element, path: str, name: str, required: bool
    ) -> tuple[str, etree._Element | None]:
        where = f"{path}/{name}" if path else name
        found = el.findall(self.tag(name))
        if len(found) > 1:
            self.problem(where, "appears more than once")
        if not found:
            if required:
                self.problem(where, "is required and missing")
            return where, None
        return where, found[0]

    def text(
        self,
        el: etree._Element,
        path: str,
        name: str,
        *,
        required: bool = True,
        max_chars: int = ID_CHARS,
    ) -> str | None:
        where, found = self._element(el, path, name, required)
        if found is None:
            return None
        value = (found.text or "").strip()
        if not value:
            self.problem(where, "is empty")
            return None
        if len(value) > max_chars:
            self.problem(where, f"is {len(value)} characters, more than {max_chars}")
            return None
        return value

    def party(
        self,
        el: etree._Element,
        path: str,
        name: str,
        *,
        required: bool = True,
        max_chars: int = PARTY_ID_CHARS,
    ) -> str | None:
        """A coded id (``codingScheme`` attribute required and known)."""
        value = self.text(el, path, name, required=required, max_chars=max_chars)
        if value is None:
            return None
        where = f"{path}/{name}" if path else name
        scheme = el.find(self.tag(name)).get("codingScheme")
        if scheme not in CODING_SCHEMES:
            self.problem(f"{where}@codingScheme", f"is {scheme!r}, not a known coding scheme")
            return None
        return value

    def code(  # noqa: PLR0913 - element, path, name, code list, then keywords
        self,
        el: etree._Element,
        path: str,
        name: str,
        allowed: Mapping[str, T],
        *,
        required: bool = True,
        reason_code: str = "999",
    ) -> T | None:
        value = self.text(el, path, name, required=required)
        if value is None:
            return None
        if value not in allowed:
            where = f"{path}/{name}" if path else name
            self.problem(where, f"is {value!r}, expected one of {sorted(allowed)}", reason_code)
            return None
        return allowed[value]

    def decimal(
        self,
        el: etree._Element,
        path: str,
        name: str,
        *,
        required: bool = True,
        reason_code: str = "A42",
    ) -> float | None:
        value = self.text(el, path, name, required=required, max_chars=40)
        if value is None:
            return None
        try:
            number = Decimal(value)
        except InvalidOperation:
            number = Decimal("NaN")
        if not number.is_finite() or "e" in value.lower():
            self.problem(f"{path}/{name}", f"is {value!r}, not a decimal number", reason_code)
            return None
        return float(number)

    def integer(self, el: etree._Element, path: str, name: str, low: int, high: int) -> int | None:
        value = self.text(el, path, name, max_chars=10)
        if value is None:
            return None
        if not value.isdigit() or not low <= int(value) <= high:
            self.problem(f"{path}/{name}", f"is {value!r}, expected an integer {low} to {high}")
            return None
        return int(value)

    def instant(
        self,
        el: etree._Element,
        path: str,
        name: str,
        *,
        required: bool = True,
    ) -> datetime | None:
        """An ESMP_DateTime (``YYYY-MM-DDThh:mm:ssZ``)."""
        return self._time(el, path, name, _INSTANT, "%Y-%m-%dT%H:%M:%SZ", required)

    def minute(self, el: etree._Element, path: str, name: str) -> datetime | None:
        """A YMDHM_DateTime (``YYYY-MM-DDThh:mmZ``)."""
        return self._time(el, path, name, _MINUTE, "%Y-%m-%dT%H:%MZ", True)

    def _time(  # noqa: PLR0913 - element, path, name, then the format it must have
        self,
        el: etree._Element,
        path: str,
        name: str,
        shape: re.Pattern[str],
        fmt: str,
        required: bool,
    ) -> datetime | None:
        value = self.text(el, path, name, required=required, max_chars=30)
        if value is None:
            return None
        try:
            if not shape.fullmatch(value):
                raise ValueError
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            example = "2026-06-01T10:00:00Z" if shape is _INSTANT else "2026-06-01T10:00Z"
            self.problem(f"{path}/{name}", f"is {value!r}, not a UTC time like {example}", "A04")
            return None

    def interval(self, el: etree._Element, path: str, name: str) -> Interval | None:
        where, found = self._element(el, path, name, True)
        if found is None:
            return None
        start = self.minute(found, where, "start")
        end = self.minute(found, where, "end")
        if start is None or end is None:
            return None
        if end <= start:
            self.problem(where, f"ends ({minute_text(end)}) before it starts", "A04")
            return None
        return Interval(start=start, end=end)

    def duration(self, el: etree._Element, path: str, name: str) -> timedelta | None:
        value = self.text(el, path, name, max_chars=30)
        if value is None:
            return None
        parsed = parse_duration(value)
        if parsed is None or parsed <= timedelta(0):
            self.problem(
                f"{path}/{name}", f"is {value!r}, not a positive duration like PT15M", "A41"
            )
            return None
        return parsed


def write_header(  # noqa: PLR0913 - root, namespace, header, type, then the period
    root: etree._Element,
    ns: str,
    header: Header,
    message_type: str,
    *,
    period_name: str,
    period: Interval,
) -> None:
    """The header elements, in the order every document's schema puts them."""
    child(root, ns, "mRID", header.document_id)
    child(root, ns, "revisionNumber", str(header.revision))
    child(root, ns, "type", message_type)
    if header.process_type is not None:
        child(root, ns, "process.processType", header.process_type)
    for side, party in (("sender", header.sender), ("receiver", header.receiver)):
        child(root, ns, f"{side}_MarketParticipant.mRID", party.id).set(
            "codingScheme", party.coding_scheme
        )
        child(root, ns, f"{side}_MarketParticipant.marketRole.type", party.role)
    child(root, ns, "createdDateTime", instant_text(header.created_at))
    span = child(root, ns, period_name)
    child(span, ns, "start", minute_text(period.start))
    child(span, ns, "end", minute_text(period.end))


def _party_of(r: Reader, root: etree._Element, side: str) -> Party | None:
    name = f"{side}_MarketParticipant.mRID"
    pid = r.party(root, "", name)
    role = r.code(root, "", f"{side}_MarketParticipant.marketRole.type", {c: c for c in ROLES})
    if pid is None or role is None:
        return None
    scheme = root.find(r.tag(name)).get("codingScheme")
    return Party(id=pid, role=role, coding_scheme=scheme or "A01")


def read_header(
    r: Reader,
    root: etree._Element,
    message_types: Mapping[str, str],
    *,
    period_name: str,
    domain_required: bool = True,
) -> tuple[Header | None, str | None, Interval | None]:
    """The header, the message type and the document's period; problems filed on ``r``."""
    document_id = r.text(root, "", "mRID")
    version = r.text(root, "", "revisionNumber", max_chars=3)
    if version is not None and not _VERSION.fullmatch(version):
        r.problem("revisionNumber", f"is {version!r}, expected 1 to 999")
        version = None
    message_type = r.code(root, "", "type", message_types, reason_code="999")
    process = r.text(root, "", "process.processType", required=False, max_chars=3)
    sender = _party_of(r, root, "sender")
    receiver = _party_of(r, root, "receiver")
    created = r.instant(root, "", "createdDateTime")
    period = r.interval(root, "", period_name)
    domain = r.party(root, "", "domain.mRID", required=domain_required, max_chars=AREA_ID_CHARS)
    if None in (document_id, version, sender, receiver, created) or (
        domain is None and domain_required
    ):
        return None, message_type, period
    header = Header(
        document_id=document_id,  # type: ignore[arg-type]
        created_at=created,  # type: ignore[arg-type]
        sender=sender,  # type: ignore[arg-type]
        receiver=receiver,  # type: ignore[arg-type]
        domain_id=domain or "",
        revision=int(version),  # type: ignore[arg-type]
        process_type=process,
    )
    return header, message_type, period
