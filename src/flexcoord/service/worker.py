"""The service's worker: assesses requested grid prequalifications (the traffic light), clears
every sealed session, one at a time, exactly once, and settles the sessions whose settlement
was asked for.

:class:`Worker` polls for claimable sessions (:func:`~flexcoord.service.clearing_job.claim_next`)
and clears each (:func:`~flexcoord.service.clearing_job.clear_claimed`). ``flexcoord serve`` runs
one in a background thread (``--no-worker`` leaves it to ``flexcoord service worker``, which runs
one in the foreground); any number may run against one database, each session is cleared by one
of them. The worker is the only part of the service that loads the grid and the solver; the API
process itself never does (``tests/architecture``).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from flexcoord.service.clearing_job import (
    CLEARING_LEASE,
    ClaimedRun,
    ClearingResult,
    claim_next,
    clear_claimed,
    platform_grid,
)
from flexcoord.service.grid_assessment import assess_pending
from flexcoord.service.logs import LOGGER_NAME
from flexcoord.service.metrics import ServiceMetrics
from flexcoord.service.settings import ServiceSettings
from flexcoord.service.settlement_job import settle_next

if TYPE_CHECKING:
    from flexcoord.service.uftp_endpoint import UftpEndpoint

__all__ = ["Worker"]

_LOG = logging.getLogger(LOGGER_NAME)


def _worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


@dataclass(kw_only=True)
class Worker:
    """Clears sealed sessions of ``engine`` on the settings' grid by the settings' clock.

    ``poll_s`` is the wait between polls when nothing is claimable;
    ``lease`` how long a claim holds before another worker may take the session over (longer
    than a clearing takes); ``metrics`` the app's Prometheus metrics the clearings are recorded
    in (``flexcoord serve`` passes its app's); ``uftp`` flexcoord's UFTP identity, when the
    clearing's FlexOrders and the settlement's FlexSettlements are to be delivered
    (:mod:`~flexcoord.service.uftp_delivery`: enqueued in the results' transaction).
    """

    engine: Engine
    settings: ServiceSettings
    poll_s: float = 1.0
    lease: timedelta = CLEARING_LEASE
    metrics: ServiceMetrics | None = None
    uftp: UftpEndpoint | None = None
    worker_id: str = field(default_factory=_worker_id)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)

    def run_once(self) -> tuple[ClaimedRun, ClearingResult | None] | None:
        """Claim and clear one session: the claim and its result (``None``: the claim was lost
        or the inputs failed, see the run's summary), or ``None`` when nothing was claimable."""
        claimed = claim_next(
            self.engine, worker_id=self.worker_id, now=self.settings.clock(), lease=self.lease
        )
        if claimed is None:
            return None
        _LOG.info(
            "clearing session",
            extra={"session_id": claimed.session_id, "attempt": claimed.attempt},
        )
        started = time.perf_counter()
        if self.metrics is not None:
            self.metrics.clearing_in_progress.inc()
        try:
            result = clear_claimed(
                self.engine,
                claimed,
                self.settings.grid_code,
                clock=self.settings.clock,
                outbound=None if self.uftp is None else self._orders,
            )
        finally:
            if self.metrics is not None:
                self.metrics.clearing_in_progress.dec()
        if self.metrics is not None:
            scheme = "unknown" if result is None else str(result.summary["scheme"])
            outcome = "cleared" if result is not None else "not_cleared"
            self.metrics.observe_clearing(
                time.perf_counter() - started, scheme=scheme, outcome=outcome
            )
        _LOG.info(
            "session cleared" if result is not None else "session not cleared",
            extra={
                "session_id": claimed.session_id,
                "attempt": claimed.attempt,
                **({} if result is None else result.summary),
            },
        )
        return claimed, result

    def _orders(self, session: Session, session_id: str, now: datetime) -> int:
        from flexcoord.service.uftp_delivery import enqueue_orders  # noqa: PLC0415

        assert self.uftp is not None
        return enqueue_orders(session, self.uftp, session_id, now=now)

    def _settlements(self, session: Session, session_id: str, now: datetime) -> int:
        from flexcoord.service.uftp_delivery import enqueue_settlements  # noqa: PLC0415

        assert self.uftp is not None
        return enqueue_settlements(session, self.uftp, session_id, now=now)

    def settle_once(self) -> str | None:
        """Settle the session whose settlement was asked for first (its id), or ``None``."""
        settled = settle_next(
            self.engine,
            now=self.settings.clock(),
            outbound=None if self.uftp is None else self._settlements,
        )
        if settled is not None:
            _LOG.info("session settled", extra={"session_id": settled})
        return settled

    def assess_once(self) -> int:
        """Assess every requested grid prequalification on the platform grid (the traffic
        light); how many."""
        moved = assess_pending(
            self.engine, platform_grid(self.settings.grid_code), now=self.settings.clock()
        )
        if moved:
            _LOG.info("grid prequalifications assessed", extra={"count": moved})
        return moved

    def _step(self) -> bool:
        """One job (an assessment round, a clearing or a settlement): whether one was done."""
        return (
            self.assess_once() > 0 or self.run_once() is not None or self.settle_once() is not None
        )

    def run_until_idle(self) -> int:
        """Assess, clear and settle until nothing waits; the jobs done."""
        n = 0
        while self._step():
            n += 1
        return n

    def run_forever(self) -> None:
        """Poll and clear until :meth:`stop`; an unexpected error is logged and the loop goes
        on (its claim is retried once the lease expires)."""
        while not self._stop.is_set():
            try:
                if self._step():
                    continue
            except Exception:
                _LOG.exception("clearing failed")
            self._stop.wait(self.poll_s)

    def start(self) -> None:
        """Run :meth:`run_forever` in a daemon thread."""
        self._thread = threading.Thread(
            target=self.run_forever, name="flexcoord-worker", daemon=True
        )
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop the loop (a clearing under way finishes first, up to ``timeout_s``)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
