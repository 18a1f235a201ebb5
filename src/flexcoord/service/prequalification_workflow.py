"""The prequalification workflow, one table for product and grid prequalification alike.

``requested`` → ``in_progress`` → ``approved``, ``conditionally_approved`` or ``rejected``; an
approval may be ``suspended`` and a suspension lifted (approved again) or ended by a rejection;
``rejected`` is final. The deciding operator moves a record along :data:`TRANSITIONS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from flexcoord.service.market_schemas import PrequalificationStatus

__all__ = ["TRANSITIONS"]

S = PrequalificationStatus
#: The statuses each status may move to (by the deciding operator).
TRANSITIONS: Final[Mapping[S, frozenset[S]]] = MappingProxyType(
    {
        S.REQUESTED: frozenset({S.IN_PROGRESS, S.APPROVED, S.CONDITIONALLY_APPROVED, S.REJECTED}),
        S.IN_PROGRESS: frozenset({S.APPROVED, S.CONDITIONALLY_APPROVED, S.REJECTED}),
        S.APPROVED: frozenset({S.SUSPENDED, S.REJECTED}),
        S.CONDITIONALLY_APPROVED: frozenset({S.SUSPENDED, S.REJECTED}),
        S.SUSPENDED: frozenset({S.APPROVED, S.CONDITIONALLY_APPROVED, S.REJECTED}),
        S.REJECTED: frozenset(),
    }
)
