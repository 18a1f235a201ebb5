"""The runner's former names, kept importable (issue 8 split the runner into modules).

:func:`~flexcoord.coordination.scheme.run_scheme` and its outcome live in
:mod:`flexcoord.coordination.scheme`, the joint model in :mod:`flexcoord.coordination.joint`,
the sub-markets in :mod:`flexcoord.coordination.markets` and
:mod:`flexcoord.coordination.market_models`, the conflict rule in
:mod:`flexcoord.coordination.resolution`. New code imports them from the package,
:mod:`flexcoord.coordination`.
"""

from __future__ import annotations

from flexcoord.coordination.joint import JointModel
from flexcoord.coordination.markets import MarketRun
from flexcoord.coordination.resolution import conflict_rule
from flexcoord.coordination.scheme import SchemeOutcome, default_options, run_scheme

__all__ = [
    "JointModel",
    "MarketRun",
    "SchemeOutcome",
    "conflict_rule",
    "default_options",
    "run_scheme",
]
