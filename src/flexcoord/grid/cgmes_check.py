"""Checking an imported CGMES grid: its pandapower power flow against the dataset's SV profile.

The SV profile holds the state the exporting tool's own load flow found (``SvVoltage`` per
topological node, ``SvPowerFlow`` per terminal). Running pandapower's Newton-Raphson on the
imported network from the same SSH set points must land on the same state; the differences are
the import's error: a wrong impedance, tap, shunt or set point shows as a voltage or flow gap.

Angles are compared relative to the slack bus (the SV's own reference may sit elsewhere). An
``SvInjection`` (the power the exporting load flow put on a slack bus without a generator) is
added to the compared network as a static generator at its bus: it is part of the state SV
describes, and pandapower's slack then carries only its own share.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from flexcoord.errors import GridError
from flexcoord.grid.cgmes import CgmesImport

__all__ = [
    "SV_INJECTION_TYPE",
    "SvComparison",
    "compare_with_sv",
    "pq_form",
    "run_power_flow",
    "with_sv_injections",
]

#: The ``type`` of the static generator an ``SvInjection`` becomes: the power the exporting load
#: flow put on a bus without equipment for it (a boundary or slack equivalent), not a unit.
SV_INJECTION_TYPE = "SvInjection"


@dataclass(frozen=True, slots=True, kw_only=True)
class SvComparison:
    """Power flow of the imported grid against the SV profile: the largest and mean gaps.

    Flow gaps are ``nan`` when the SV profile has no ``SvPowerFlow`` on a line or transformer.
    """

    buses_compared: int
    max_abs_dv_pu: float
    mean_abs_dv_pu: float
    max_abs_dva_degree: float
    branch_ends_compared: int
    max_abs_dp_mw: float
    max_abs_dq_mvar: float
    mean_abs_dp_mw: float
    max_abs_sv_p_mw: float
    slack: str
    sv_injections: int
    sv_injection_p_mw: float
    sv_injection_sign: str

    def as_dict(self) -> dict[str, float | int | str]:
        """The fields by name (JSON-serialisable)."""
        return {name: getattr(self, name) for name in self.__slots__}


def run_power_flow(net: Any) -> Any:
    """A copy of ``net`` with pandapower's AC power flow results (angles and phase shifts on).

    Raises:
        GridError: the power flow does not converge.
    """
    import pandapower as pp  # noqa: PLC0415  (lazy: loads pandapower)

    solved = copy.deepcopy(net)
    try:
        pp.runpp(solved, calculate_voltage_angles=True, init="dc", max_iteration=30)
    except pp.LoadflowNotConverged as exc:
        raise GridError(f"the AC power flow of the imported grid does not converge: {exc}") from exc
    return solved


def pq_form(net: Any) -> Any:
    """A copy of ``net`` whose generators are fixed injections at its solved operating point.

    The slack generator becomes an ``ext_grid`` (the solved voltage and angle of its bus), every
    other in-service generator a static generator (``type="SM"``) with its P set point and the Q
    the power flow gave it; out-of-service generators are left out; loads without a connection
    type are ``"wye"`` and a transformer without a tap changer gets a neutral one (what
    power-grid-model-io needs to read them). The copy's power flow lands
    on the same state, and power-grid-model (which has no voltage-controlled generators) can take
    it: this is the form a CGMES grid is loaded in (``cgmes:PATH.zip``), so the time series,
    clearing and coordination run on it.

    Raises:
        GridError: the power flow does not converge.
    """
    import pandapower as pp  # noqa: PLC0415  (lazy: loads pandapower)

    out = copy.deepcopy(net)
    for table in ("bus", "line", "trafo", "load", "sgen", "shunt", "switch", "ward", "ext_grid"):
        frame = out[table]
        for column in frame.columns:  # cim2pp's pandas string columns: plain objects for pgm-io
            if isinstance(frame[column].dtype, pd.StringDtype):
                frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    if "type" in out.load.columns:  # cim2pp leaves None, power-grid-model-io needs a connection
        out.load["type"] = out.load["type"].where(out.load["type"].notna(), "wye")
    untapped = out.trafo.tap_side.isna() if "tap_side" in out.trafo.columns else None
    if untapped is not None and untapped.any():  # no tap changer: a neutral one, ratio unchanged
        out.trafo.loc[untapped, "tap_side"] = "hv"
        for column in ("tap_pos", "tap_neutral", "tap_min", "tap_max", "tap_step_percent"):
            if column in out.trafo.columns:
                out.trafo[column] = out.trafo[column].astype(float)
                out.trafo.loc[untapped, column] = 0.0
    if not len(out.gen):
        return out
    solved = run_power_flow(net)
    gen = out.gen
    for idx in gen.index[gen.in_service.astype(bool)]:
        bus = int(gen.bus.at[idx])
        name = gen.name.at[idx]
        if bool(gen.slack.at[idx]):
            pp.create_ext_grid(
                out,
                bus,
                vm_pu=float(solved.res_bus.vm_pu.at[bus]),
                va_degree=float(solved.res_bus.va_degree.at[bus]),
                name=name,
            )
        else:
            pp.create_sgen(
                out,
                bus,
                p_mw=float(solved.res_gen.p_mw.at[idx]),
                q_mvar=float(solved.res_gen.q_mvar.at[idx]),
                name=name,
                type="SM",
            )
    out.gen = gen.iloc[0:0]
    return out


def with_sv_injections(imported: CgmesImport) -> Any:
    """A copy of ``imported.net`` with each ``SvInjection`` as a static generator at its bus
    (``name="SvInjection"``, ``type`` :data:`SV_INJECTION_TYPE`, generator sign)."""
    import pandapower as pp  # noqa: PLC0415  (lazy: loads pandapower)

    out = copy.deepcopy(imported.net)
    sv = imported.sv
    for bus, p_mw, q_mvar in zip(
        sv.injection_bus, sv.injection_p_mw, sv.injection_q_mvar, strict=True
    ):
        pp.create_sgen(
            out, bus, p_mw=p_mw, q_mvar=q_mvar, name="SvInjection", type=SV_INJECTION_TYPE
        )
    return out


def compare_with_sv(imported: CgmesImport) -> SvComparison:
    """Run the power flow on ``imported.net`` (a copy) and compare it with ``imported.sv``.

    Raises:
        GridError: the power flow does not converge, or the SV profile names no bus of the grid.
    """
    sv = imported.sv
    if not sv.bus:
        raise GridError(
            f"{imported.source}: the SV profile has no SvVoltage on any bus of the grid"
        )
    solved = run_power_flow(with_sv_injections(imported) if sv.injection_bus else imported.net)
    bus = np.asarray(sv.bus, dtype=np.int64)
    vm = solved.res_bus.vm_pu.reindex(bus).to_numpy(dtype=float)
    va = solved.res_bus.va_degree.reindex(bus).to_numpy(dtype=float)
    sv_vm = np.asarray(sv.bus_vm_pu)
    sv_va = np.asarray(sv.bus_va_degree)
    ref = _slack_bus(solved)
    position = {int(b): i for i, b in enumerate(bus)}
    if ref in position:
        va, sv_va = va - va[position[ref]], sv_va - sv_va[position[ref]]
    dv = np.abs(vm - sv_vm)
    dva = np.abs((va - sv_va + 180.0) % 360.0 - 180.0)
    dp, dq, sv_p = _flow_gaps(solved, imported)
    return SvComparison(
        buses_compared=len(bus),
        max_abs_dv_pu=float(np.nanmax(dv)),
        mean_abs_dv_pu=float(np.nanmean(dv)),
        max_abs_dva_degree=float(np.nanmax(dva)),
        branch_ends_compared=len(dp),
        max_abs_dp_mw=float(np.max(dp)) if len(dp) else float("nan"),
        max_abs_dq_mvar=float(np.max(dq)) if len(dq) else float("nan"),
        mean_abs_dp_mw=float(np.mean(dp)) if len(dp) else float("nan"),
        max_abs_sv_p_mw=float(np.max(np.abs(sv_p))) if len(sv_p) else float("nan"),
        slack=imported.slack,
        sv_injections=len(sv.injection_bus),
        sv_injection_p_mw=float(np.sum(sv.injection_p_mw)),
        sv_injection_sign=sv.injection_sign,
    )


def _slack_bus(net: Any) -> int:
    ext = net.ext_grid[net.ext_grid.in_service.to_numpy(dtype=bool)]
    if len(ext):
        return int(ext.bus.iloc[0])
    gen = net.gen[net.gen.slack.fillna(False).astype(bool) & net.gen.in_service.astype(bool)]
    return int(gen.bus.iloc[0])


def _flow_gaps(solved: Any, imported: CgmesImport) -> tuple[Any, Any, Any]:
    sv = imported.sv
    dp: list[float] = []
    dq: list[float] = []
    sv_p: list[float] = []
    for table, index, side, p_mw, q_mvar in zip(
        sv.branch_table,
        sv.branch_index,
        sv.branch_side,
        sv.branch_p_mw,
        sv.branch_q_mvar,
        strict=True,
    ):
        result = solved[f"res_{table}"]
        if index not in result.index or not bool(solved[table].in_service.at[index]):
            continue
        dp.append(abs(float(result.at[index, f"p_{side}_mw"]) - p_mw))
        dq.append(abs(float(result.at[index, f"q_{side}_mvar"]) - q_mvar))
        sv_p.append(p_mw)
    return np.asarray(dp), np.asarray(dq), np.asarray(sv_p)
