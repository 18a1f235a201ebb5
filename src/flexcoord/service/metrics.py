"""Prometheus metrics of the service: requests, bid intake, gate refusals, clearing, outbox.

Each app holds one :class:`ServiceMetrics` with a registry of its own (``Services.metrics``),
not the process-global one: tests build many apps in one process, and two apps in one process
must not add to each other's counters. ``GET /metrics`` (:mod:`.routes_metrics`) prints the
registry in the Prometheus text format. The metrics (every name starts with ``flexcoord_``):

* ``requests_total{operation, status}`` and ``request_duration_seconds{operation}`` (histogram)
  for every request; ``operation`` is the route's name (``bid.submit``, ``health``) or
  ``unmatched`` for a path no route serves, so a scanner cannot grow the label set;
* ``bids_accepted_total{operation}``: bids stored by ``bid.submit``, ``bid.submit_bulk`` (a
  4,000-bid document adds 4,000) and ``bid.replace``; an idempotent replay stores nothing and
  adds nothing;
* ``bid_requests_refused_total{operation, reason}``: refused bid intake requests (a refused
  document counts once, as it stores nothing); ``reason`` is one of :class:`RefusalReason`;
* ``gate_refusals_total{operation}``: changes of any kind (bids, needs) refused because the
  session is sealed;
* ``clearing_duration_seconds{scheme, outcome}`` (:meth:`ServiceMetrics.observe_clearing`),
  ``clearing_in_progress`` (a gauge the clearing worker raises and lowers) and
  ``outbox_messages{status}`` (:meth:`ServiceMetrics.set_outbox`), for the worker and the
  outbox to feed;
* the process's CPU, memory and file descriptors (``process_*``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

from flexcoord.errors import InvalidInputError, Issue

__all__ = [
    "BID_INTAKE_OPERATIONS",
    "UNMATCHED",
    "RefusalReason",
    "ServiceMetrics",
    "refusal_reason",
]

#: The operation label of a request no route serves.
UNMATCHED: Final = "unmatched"
#: The operations that store bids (their refusals are counted by reason).
BID_INTAKE_OPERATIONS: Final = frozenset({"bid.submit", "bid.submit_bulk", "bid.replace"})
#: Request latency buckets (seconds): a bid should answer in milliseconds, a 4,000-bid
#: document in about a second.
_REQUEST_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Clearing duration buckets (seconds): from a small session to a large grid-constrained one.
_CLEARING_BUCKETS: Final = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
_GATE_FIELDS: Final = {"gate_closes_at": "gate_closed", "gate_opens_at": "gate_not_open"}


class RefusalReason(StrEnum):
    """Why a bid intake request was refused, as the metrics count it."""

    GATE_CLOSED = "gate_closed"  # 409: the session is sealed
    GATE_NOT_OPEN = "gate_not_open"  # 409: the gate has not opened yet
    INVALID = "invalid"  # 422: schema or domain rules, a bad Idempotency-Key
    UNAUTHORISED = "unauthorised"  # 401 or 403
    NOT_FOUND = "not_found"  # 404: no such session or bid (or another party's)
    CONFLICT = "conflict"  # 409: a bid id used, a withdrawn bid, a racing key
    ERROR = "error"  # 5xx: the service failed


def refusal_reason(status: int, issues: Sequence[Issue]) -> RefusalReason:
    """The reason a refusal with ``status`` and ``issues`` is counted under.

    A 409 naming a session's gate field (``gate_closes_at``, ``gate_opens_at``) is a gate
    refusal, as ``docs/service.md`` promises the answer names it.

    Example:
        >>> gate = Issue(kind="MarketSession", object_id="s1", field="gate_closes_at",
        ...              value="2026-06-01T10:00:00+00:00", message="has passed")
        >>> refusal_reason(409, [gate]).value, refusal_reason(403, []).value
        ('gate_closed', 'unauthorised')
    """
    if status == 409:
        for issue in issues:
            if issue.kind == "MarketSession" and issue.field in _GATE_FIELDS:
                return RefusalReason(_GATE_FIELDS[issue.field])
        return RefusalReason.CONFLICT
    if status in (401, 403):
        return RefusalReason.UNAUTHORISED
    if status == 404:
        return RefusalReason.NOT_FOUND
    return RefusalReason.ERROR if status >= 500 else RefusalReason.INVALID


def _issue(field_name: str, value: object, message: str) -> InvalidInputError:
    return InvalidInputError(
        [Issue(kind="metric", object_id="", field=field_name, value=value, message=message)]
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceMetrics:
    """The metric objects of one app, on a registry of their own.

    Example:
        >>> metrics = ServiceMetrics()
        >>> metrics.observe_clearing(1.5, scheme="common-tso-dso", outcome="cleared")
        >>> b'flexcoord_clearing_duration_seconds_count' in metrics.exposition()
        True
    """

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    requests: Counter = field(init=False)
    request_seconds: Histogram = field(init=False)
    bids_accepted: Counter = field(init=False)
    bid_refusals: Counter = field(init=False)
    gate_refusals: Counter = field(init=False)
    clearing_seconds: Histogram = field(init=False)
    clearing_in_progress: Gauge = field(init=False)
    """Clearings running now: ``with metrics.clearing_in_progress.track_inprogress(): ...``."""
    outbox: Gauge = field(init=False)

    def __post_init__(self) -> None:
        r = self.registry
        made = {
            "requests": Counter(
                "flexcoord_requests",
                "Requests answered, by operation and HTTP status.",
                ["operation", "status"],
                registry=r,
            ),
            "request_seconds": Histogram(
                "flexcoord_request_duration_seconds",
                "Time from receiving a request to its answer, by operation.",
                ["operation"],
                buckets=_REQUEST_BUCKETS,
                registry=r,
            ),
            "bids_accepted": Counter(
                "flexcoord_bids_accepted",
                "Bids stored (each bid of a bulk document counts), by operation.",
                ["operation"],
                registry=r,
            ),
            "bid_refusals": Counter(
                "flexcoord_bid_requests_refused",
                "Refused bid intake requests (a document counts once), by operation and reason.",
                ["operation", "reason"],
                registry=r,
            ),
            "gate_refusals": Counter(
                "flexcoord_gate_refusals",
                "Changes refused because the session's gate has closed, by operation.",
                ["operation"],
                registry=r,
            ),
            "clearing_seconds": Histogram(
                "flexcoord_clearing_duration_seconds",
                "Wall time of one session's clearing, by coordination scheme and outcome.",
                ["scheme", "outcome"],
                buckets=_CLEARING_BUCKETS,
                registry=r,
            ),
            "clearing_in_progress": Gauge(
                "flexcoord_clearing_in_progress", "Clearings running now.", registry=r
            ),
            "outbox": Gauge(
                "flexcoord_outbox_messages",
                "Messages in the outbox, by delivery status.",
                ["status"],
                registry=r,
            ),
        }
        for name, metric in made.items():
            object.__setattr__(self, name, metric)
        ProcessCollector(registry=r)

    def observe_request(self, operation: str, status: int, seconds: float) -> None:
        """Count one answered request and its latency."""
        self.requests.labels(operation=operation, status=str(status)).inc()
        self.request_seconds.labels(operation=operation).observe(max(seconds, 0.0))

    def accept_bids(self, operation: str, count: int) -> None:
        """Count ``count`` bids stored by one accepted request of ``operation``."""
        self.bids_accepted.labels(operation=operation).inc(count)

    def refuse(self, operation: str, status: int, issues: Sequence[Issue]) -> None:
        """Count a refused request: under its reason if it was bid intake, and as a gate
        refusal if the session was sealed."""
        reason = refusal_reason(status, issues)
        if operation in BID_INTAKE_OPERATIONS:
            self.bid_refusals.labels(operation=operation, reason=reason.value).inc()
        if reason is RefusalReason.GATE_CLOSED:
            self.gate_refusals.labels(operation=operation).inc()

    def observe_clearing(self, seconds: float, *, scheme: str, outcome: str) -> None:
        """Record one clearing of a session: its wall time in seconds, the coordination
        scheme it ran under (a preset id) and its outcome (``cleared``, ``failed``, ...).

        Raises:
            InvalidInputError: ``seconds`` is negative or not finite, or a label is empty.
        """
        if not (math.isfinite(seconds) and seconds >= 0):
            raise _issue("seconds", seconds, "must be a finite number of seconds >= 0")
        for name, value in (("scheme", scheme), ("outcome", outcome)):
            if not value:
                raise _issue(name, value, "must be a non-empty label")
        self.clearing_seconds.labels(scheme=scheme, outcome=outcome).observe(seconds)

    def set_outbox(self, status: str, count: int) -> None:
        """Set how many outbox messages are in ``status`` now (``pending``, ``delivered``,
        ``acknowledged``, ``failed``, ...).

        Raises:
            InvalidInputError: ``count`` is negative or ``status`` empty.
        """
        if not status:
            raise _issue("status", status, "must be a non-empty label")
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise _issue("count", count, "must be an integer >= 0")
        self.outbox.labels(status=status).set(count)

    def exposition(self) -> bytes:
        """The registry in the Prometheus text format (version 0.0.4)."""
        return generate_latest(self.registry)
