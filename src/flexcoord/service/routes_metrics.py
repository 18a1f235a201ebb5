"""``GET /metrics``: the app's Prometheus metrics (:mod:`.metrics`), for administrators only.

Who may read them: the ``admin`` role (operation ``metrics.read``), with an API key as every
other call. The counters tell how many bids each intake operation took and refused and when,
which during an open session is market information no FSP or operator should watch live; an
unauthenticated endpoint "on the loopback only" would be open to everyone once a reverse proxy
on the same host forwards to the service. Prometheus sends the key with
``authorization: {credentials_file: ...}`` in its scrape configuration (``docs/service.md``).
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Depends, Response

from flexcoord.service.calls import Call, call_of
from flexcoord.service.problems import problem_responses
from flexcoord.service.roles import Operation

__all__ = ["TEXT_FORMAT", "router"]

router = APIRouter(responses=problem_responses(401, 403, 422))
#: The text exposition format every Prometheus reads (the metric names are plain ASCII, so the
#: text is the same in format 1.0.0).
TEXT_FORMAT: Final = "text/plain; version=0.0.4; charset=utf-8"


@router.get(
    "/metrics",
    name=Operation.METRICS_READ,
    response_class=Response,
    responses={200: {"content": {TEXT_FORMAT: {"schema": {"type": "string"}}}}},
    tags=["health"],
)
def read_metrics(call: Annotated[Call, Depends(call_of(Operation.METRICS_READ))]) -> Response:
    """The service's metrics in the Prometheus text exposition format (version 0.0.4)."""
    return Response(call.services.metrics.exposition(), media_type=TEXT_FORMAT)
