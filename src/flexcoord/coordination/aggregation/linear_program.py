"""The HiGHS plumbing of the aggregation LPs: numpy / scipy.sparse blocks straight into ``highspy``.

As the clearing engine does (:mod:`flexcoord.clearing.solve`), the problems are handed over as
arrays in one ``HighsLp``; no modelling layer. A model is passed once and re-solved with changed
costs or bounds, so HiGHS restarts from the previous basis (warm start).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from flexcoord.errors import SolverError

__all__ = [
    "LpArrays",
    "csc_of_dense",
    "highs_from_arrays",
    "is_infeasible",
    "is_optimal",
    "new_highs",
    "solution",
]

FloatArray = NDArray[np.float64]
INF = highspy.kHighsInf
_OPTIMAL = highspy.HighsModelStatus.kOptimal  # looked up once: the status is read ~10^5 times
_INFEASIBLE = highspy.HighsModelStatus.kInfeasible


@dataclass(frozen=True, slots=True, kw_only=True)
class LpArrays:
    """``min cost·x`` s.t. ``row_lower ≤ A x ≤ row_upper``, ``col_lower ≤ x ≤ col_upper``.

    ``col_names`` / ``row_names`` map columns and rows back to domain objects
    (``unit-dp[sgen:3]``, ``branch-flow[line:12,cut3]``).
    """

    cost: FloatArray
    col_lower: FloatArray
    col_upper: FloatArray
    a: sp.csc_matrix
    row_lower: FloatArray
    row_upper: FloatArray
    col_names: tuple[str, ...]
    row_names: tuple[str, ...]
    integrality: NDArray[np.uint8] | None = None

    def highs_lp(self) -> Any:
        """The ``highspy.HighsLp`` of these arrays."""
        lp = highspy.HighsLp()
        n_row, n_col = self.a.shape
        lp.num_col_ = n_col
        lp.num_row_ = n_row
        lp.col_cost_ = self.cost
        lp.col_lower_ = self.col_lower
        lp.col_upper_ = self.col_upper
        lp.row_lower_ = self.row_lower
        lp.row_upper_ = self.row_upper
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = self.a.indptr.astype(np.int32, copy=False)
        lp.a_matrix_.index_ = self.a.indices.astype(np.int32, copy=False)
        lp.a_matrix_.value_ = self.a.data
        lp.a_matrix_.num_col_ = n_col
        lp.a_matrix_.num_row_ = n_row
        if self.integrality is not None:
            lp.integrality_ = [highspy.HighsVarType(int(v)) for v in self.integrality]
        return lp


def csc_of_dense(a: FloatArray) -> sp.csc_matrix:
    """``scipy.sparse.csc_matrix(a)`` of a dense 2-D array, built directly: the same nonzeros
    in the same order (by column, rows ascending) without the detour over a COO matrix, which
    costs more than the small LPs of an offer curve take to solve.

    >>> m = csc_of_dense(np.array([[0.0, 2.0], [3.0, 0.0], [0.0, 5.0]]))
    >>> m.indptr.tolist(), m.indices.tolist(), m.data.tolist()
    ([0, 1, 3], [1, 0, 2], [3.0, 2.0, 5.0])
    """
    at = a.T
    cols, rows = np.nonzero(at)
    indptr = np.zeros(a.shape[1] + 1, dtype=np.int32)
    np.cumsum(np.count_nonzero(at, axis=1), out=indptr[1:])
    return sp.csc_matrix((at[cols, rows], rows.astype(np.int32), indptr), shape=a.shape)


def new_highs(*, threads: int = 1) -> Any:
    """A silent, deterministic ``highspy.Highs`` without a model."""
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", threads)
    h.setOptionValue("random_seed", 0)
    return h


def highs_from_arrays(arrays: LpArrays, *, threads: int = 1, into: Any | None = None) -> Any:
    """A silent, deterministic ``highspy.Highs`` holding ``arrays``.

    ``into``: an instance of :func:`new_highs` to hold them instead of a new one (``threads`` is
    then its own). ``passModel`` replaces its model and clears its basis and solution, so the
    solves are those of a new instance; the thousands of small LPs of the offer curves save
    the instances' construction (tested: the same curves bit for bit).
    """
    h = new_highs(threads=threads) if into is None else into
    a = arrays.a
    n_row, n_col = a.shape
    integrality = (
        np.zeros(n_col, dtype=np.int32)
        if arrays.integrality is None
        else arrays.integrality.astype(np.int32)
    )
    h.passModel(  # the array form: one call, no element-wise conversion (see clearing.solve)
        n_col,
        n_row,
        int(a.nnz),
        int(highspy.MatrixFormat.kColwise),
        int(highspy.ObjSense.kMinimize),
        0.0,
        np.asarray(arrays.cost, dtype=np.float64),
        np.asarray(arrays.col_lower, dtype=np.float64),
        np.asarray(arrays.col_upper, dtype=np.float64),
        np.asarray(arrays.row_lower, dtype=np.float64),
        np.asarray(arrays.row_upper, dtype=np.float64),
        a.indptr.astype(np.int32),
        a.indices.astype(np.int32),
        np.asarray(a.data, dtype=np.float64),
        integrality,
    )
    return h


def is_optimal(h: Any) -> bool:
    """Whether the last run ended optimal."""
    return bool(h.getModelStatus() == _OPTIMAL)


def is_infeasible(h: Any) -> bool:
    """Whether the last run proved the model infeasible."""
    return bool(h.getModelStatus() == _INFEASIBLE)


def solution(h: Any, what: str) -> FloatArray:
    """Column values of an optimal run; anything else but infeasibility raises SolverError."""
    status = h.getModelStatus()
    if status != _OPTIMAL:
        raise SolverError(
            f"HiGHS ended with {h.modelStatusToString(status)!r} while computing "
            f"{what}; the model is bounded and was feasible, so this is a numerical failure"
        )
    return np.asarray(h.getSolution().col_value, dtype=np.float64)
