"""CGMES datasets written by an independent tool (PowSyBl, through ``pypowsybl``), and the round
trip SimBench → PowSyBl → CGMES → flexcoord compared with pandapower on the original grid.

PowSyBl (RTE's open grid toolbox) is the tool that writes the datasets the CGMES tests and
``docs/cgmes.md`` use: its bundled networks, or a pandapower network through
``pypowsybl.network.convert_from_pandapower``. Each is solved by PowSyBl's own AC load flow
(OpenLoadFlow, one slack at the largest generator, no distributed slack so the SSH set points
stay the solved ones) and saved with its SV profile. ``pypowsybl`` is the optional ``cgmes`` extra.

What the round trip has to change in the SimBench network before handing it to PowSyBl, on the
reference copy too (so both sides solve the same model):

- ``min_q_mvar``/``max_q_mvar`` and ``min_p_mw``/``max_p_mw`` left empty by SimBench are filled
  (±10 000 Mvar; the set point itself for P), which the converter requires;
- the transformers' magnetising branch is zeroed (``pfe_kw``, ``i0_percent``): pypowsybl 1.16.1
  scales ``pfe_kw`` by the system base but ``i0_percent`` not, which gives a NaN susceptance on
  SimBench's transformers;
- the phase shift is zeroed (``shift_degree``): the converter drops it, which only rotates the
  angles below a transformer of a radial grid;
- a line with an open line switch is taken out of service: the converter keeps only bus-bus
  switches, so the open points of SimBench's MV rings would close (the line's charging from its
  live end is lost, a few kvar).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from flexcoord.errors import NotFoundError
from flexcoord.grid.cgmes import CgmesImport
from flexcoord.grid.cgmes_check import run_power_flow

__all__ = [
    "POWSYBL_EXAMPLES",
    "RoundTripComparison",
    "compare_round_trip",
    "prepare_for_powsybl",
    "write_pandapower_cgmes",
    "write_powsybl_example",
]

#: PowSyBl's bundled networks that export to a self-contained CGMES dataset, by name.
POWSYBL_EXAMPLES: dict[str, str] = {
    "eurostag": "create_eurostag_tutorial_example1_network",
    "ieee9": "create_ieee9",
    "ieee57": "create_ieee57",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class RoundTripComparison:
    """pandapower on the original grid against pandapower on the grid that came back."""

    buses_compared: int
    max_abs_dv_pu: float
    max_abs_dva_degree: float
    branches_compared: int
    max_abs_dp_mw: float
    max_abs_dq_mvar: float
    max_abs_p_mw: float

    def as_dict(self) -> dict[str, float | int]:
        """The fields by name (JSON-serialisable)."""
        return {name: getattr(self, name) for name in self.__slots__}


#: CGMES version → PowSyBl's ``iidm.export.cgmes.cim-version``.
_CIM_VERSION = {"2.4.15": "16", "3.0": "100"}


def _solve_and_save(network: Any, path: Path, cgmes_version: str = "2.4.15") -> None:
    import pypowsybl.loadflow as lf  # noqa: PLC0415  (lazy: the optional cgmes extra)

    parameters = lf.Parameters(
        distributed_slack=False,
        provider_parameters={"slackBusSelectionMode": "LARGEST_GENERATOR"},
    )
    results = lf.run_ac(network, parameters)
    if str(results[0].status) != "ComponentStatus.CONVERGED":
        raise RuntimeError(f"PowSyBl's load flow did not converge: {results[0].status_text}")
    network.save(
        str(path),
        format="CGMES",
        parameters={"iidm.export.cgmes.cim-version": _CIM_VERSION[cgmes_version]},
    )


def write_powsybl_example(name: str, path: Path, *, cgmes_version: str = "2.4.15") -> Path:
    """Write PowSyBl's bundled network ``name`` (:data:`POWSYBL_EXAMPLES`), solved, as CGMES
    ``cgmes_version`` (``"2.4.15"`` or ``"3.0"``).

    Raises:
        NotFoundError: no such example.
    """
    if name not in POWSYBL_EXAMPLES:
        raise NotFoundError(f"no PowSyBl example {name!r}; examples: {sorted(POWSYBL_EXAMPLES)}")
    import pypowsybl.network as pn  # noqa: PLC0415  (lazy: the optional cgmes extra)

    _solve_and_save(getattr(pn, POWSYBL_EXAMPLES[name])(), path, cgmes_version)
    return path


def prepare_for_powsybl(net: Any) -> Any:
    """A copy of ``net`` with the changes of the module docstring (the round trip's reference)."""
    out = copy.deepcopy(net)
    for table in ("ext_grid", "gen", "sgen"):
        frame = out[table]
        for column, value in (("min_q_mvar", -1e4), ("max_q_mvar", 1e4)):
            if column in frame.columns or table == "ext_grid":
                frame[column] = frame.get(column, np.nan).astype(float).fillna(value)
    for table in ("gen", "sgen"):
        frame = out[table]
        p_mw = frame.p_mw.astype(float)
        if "min_p_mw" in frame.columns:
            frame["min_p_mw"] = frame.min_p_mw.astype(float).fillna(np.minimum(p_mw, 0.0))
        if "max_p_mw" in frame.columns:
            frame["max_p_mw"] = frame.max_p_mw.astype(float).fillna(np.maximum(p_mw, 0.0))
    switch = out.switch
    open_line = switch[(switch.et == "l") & ~switch.closed.astype(bool)]
    out.line.loc[open_line.element.astype(int).unique(), "in_service"] = False
    out.switch = switch.drop(index=open_line.index)
    out.trafo["pfe_kw"] = 0.0
    out.trafo["i0_percent"] = 0.0
    out.trafo["shift_degree"] = 0.0
    return out


def write_pandapower_cgmes(net: Any, path: Path) -> Any:
    """Convert ``net`` with PowSyBl, solve it there and write it as CGMES to ``path``.

    Returns:
        The prepared copy of ``net`` that went to PowSyBl (the round trip's reference).
    """
    import pypowsybl.network as pn  # noqa: PLC0415  (lazy: the optional cgmes extra)

    reference = prepare_for_powsybl(net)
    _solve_and_save(pn.convert_from_pandapower(reference), path)
    return reference


def _trailing_int(origin_id: object) -> int:
    return int(str(origin_id).rsplit("_", 1)[-1])


def compare_round_trip(reference: Any, imported: CgmesImport) -> RoundTripComparison:
    """pandapower's power flow on ``reference`` against the one on the grid that came back.

    Elements are matched through PowSyBl's ids of a converted pandapower network: bus ``bus_N``
    is bus ``N``, line ``F_T_I`` is line ``I``, transformer ``H_L_I`` is transformer
    ``I - len(line)``.
    """
    before = run_power_flow(reference)
    after = run_power_flow(imported.net)
    original_bus = [_trailing_int(o) for o in after.bus.origin_id]
    vm = after.res_bus.vm_pu.to_numpy(dtype=float)
    va = after.res_bus.va_degree.to_numpy(dtype=float)
    vm0 = before.res_bus.vm_pu.reindex(original_bus).to_numpy(dtype=float)
    va0 = before.res_bus.va_degree.reindex(original_bus).to_numpy(dtype=float)
    dp: list[float] = []
    dq: list[float] = []
    p_ref: list[float] = []
    for table, offset, sides in (
        ("line", 0, ("from", "to")),
        ("trafo", len(reference.line), ("hv", "lv")),
    ):
        for index, origin in zip(after[table].index, after[table].origin_id, strict=True):
            original = _trailing_int(origin) - offset
            for side in sides:
                p0 = float(before[f"res_{table}"].at[original, f"p_{side}_mw"])
                q0 = float(before[f"res_{table}"].at[original, f"q_{side}_mvar"])
                dp.append(abs(float(after[f"res_{table}"].at[index, f"p_{side}_mw"]) - p0))
                dq.append(abs(float(after[f"res_{table}"].at[index, f"q_{side}_mvar"]) - q0))
                p_ref.append(abs(p0))
    return RoundTripComparison(
        buses_compared=len(original_bus),
        max_abs_dv_pu=float(np.nanmax(np.abs(vm - vm0))),
        max_abs_dva_degree=float(np.nanmax(np.abs(va - va0))),
        branches_compared=len(dp) // 2,
        max_abs_dp_mw=float(max(dp)),
        max_abs_dq_mvar=float(max(dq)),
        max_abs_p_mw=float(max(p_ref)),
    )
