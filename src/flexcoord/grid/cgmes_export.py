"""CGMES datasets written by an independent tool (PowSyBl, through ``pypowsybl``), the round
trip SimBench → PowSyBl → CGMES → flexcoord compared with pandapower on the original grid, and
:func:`export_cgmes` (``flexcoord grid export-cgmes``): any grid flexcoord loads written as CGMES
by that same conversion.

PowSyBl (RTE's open grid toolbox) is the tool that writes the datasets the CGMES tests and
``docs/cgmes.md`` use: its bundled networks, or a pandapower network through
``pypowsybl.network.convert_from_pandapower``. Each is solved by PowSyBl's own AC load flow
(OpenLoadFlow, one slack at the largest generator, no distributed slack so the SSH set points
stay the solved ones, no reactive limits as in pandapower's) and saved with its SV profile.
``pypowsybl`` is the optional ``cgmes`` extra.

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
  live end is lost, a few kvar);
- bus-bus switches the converter would put into the wrong voltage level are removed, their two
  buses fused when the switch is closed: pypowsybl 1.16.1 numbers a switch's voltage level after
  its bus's position among the switches' buses instead of after its nominal voltage
  (``create_switches_between_buses``), which fails on most SimBench MV grids ("Bus bus_N not
  found in voltage level sub_0", "Voltage level 'sub_2' does not exist"). Grids where the
  numbering happens to come out right (1-MV-rural--0-sw) keep their switches;
- the ``scaling`` of loads, static generators, storage and generators is multiplied into their
  set points (the converter ignores it);
- one ``ext_grid`` per island stays the slack, every other becomes a voltage-controlled ``gen`` at
  the power it supplies in pandapower's solution (:func:`_one_slack`; the converter would make
  it a generator at 0 MW), and PowSyBl's load flow solves every island with its slack named at
  that ``ext_grid``.
"""

from __future__ import annotations

import copy
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from flexcoord.errors import NO_VALUE, GridError, InvalidInputError, Issue, NotFoundError
from flexcoord.grid.cgmes import CgmesImport, check_cgmes
from flexcoord.grid.cgmes_check import run_power_flow

__all__ = [
    "CGMES_VERSIONS",
    "EXPORT_MAX_DPQ_MW",
    "EXPORT_MAX_DV_PU",
    "POWSYBL_EXAMPLES",
    "CgmesExport",
    "RoundTripComparison",
    "compare_round_trip",
    "compare_solved_state",
    "export_cgmes",
    "export_issues",
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
#: The CGMES versions :func:`export_cgmes` writes.
CGMES_VERSIONS = tuple(_CIM_VERSION)


def _not_the_opf_notice(record: logging.LogRecord) -> bool:
    """pypowsybl warns at import that its optional ``opf`` extra is missing; flexcoord runs no
    PowSyBl OPF, so the notice is only noise on every export."""
    return "'opf' extra dependencies" not in record.getMessage()


logging.getLogger("powsybl").addFilter(_not_the_opf_notice)


#: The largest gaps an export may show when read back (measured: 1e-14 pu and MW on SimBench).
EXPORT_MAX_DV_PU = 1e-6
EXPORT_MAX_DPQ_MW = 1e-3


def _solve_and_save(
    network: Any,
    path: Path,
    cgmes_version: str = "2.4.15",
    slack_buses: tuple[str, ...] = (),
) -> None:
    """Solve ``network`` with OpenLoadFlow (every island; the slack of each at ``slack_buses``,
    bus-view ids, else at its largest generator) and save it as CGMES with its SV profile."""
    import pypowsybl.loadflow as lf  # noqa: PLC0415  (lazy: the optional cgmes extra)

    slack = (
        {"slackBusSelectionMode": "NAME", "slackBusesIds": ",".join(slack_buses)}
        if slack_buses
        else {"slackBusSelectionMode": "LARGEST_GENERATOR"}
    )
    parameters = lf.Parameters(
        distributed_slack=False,
        # pandapower's power flow, which the read-back and every flexcoord tool run, holds each
        # voltage set point without reactive limits; PowSyBl applies them by default, and on
        # 1-EHV-mixed--0-sw (338 voltage-controlled plants) its Newton-Raphson then cycles
        # between PV and PQ buses without converging (26 iterations; 4 without limits)
        use_reactive_limits=False,
        component_mode=lf.ComponentMode.ALL_CONNECTED,  # every island, a slack in each
        provider_parameters=slack,
    )
    results = lf.run_ac(network, parameters)
    for result in results:
        if str(result.status) not in (
            "ComponentStatus.CONVERGED",
            "ComponentStatus.NO_CALCULATION",
        ):
            raise GridError(f"PowSyBl's load flow did not converge: {result.status_text}")
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
    for table in ("load", "sgen", "gen", "storage"):  # the converter ignores the scaling
        frame = out[table]
        if "scaling" in frame.columns and len(frame):
            scaling = frame.scaling.astype(float).fillna(1.0)
            for column in ("p_mw", "q_mvar") if table != "gen" else ("p_mw",):
                if column in frame.columns:
                    frame[column] = frame[column].astype(float) * scaling
            frame["scaling"] = 1.0
    _one_slack(out)
    for table in ("ext_grid", "gen", "sgen"):
        frame = out[table]
        for column, value in (("min_q_mvar", -1e4), ("max_q_mvar", 1e4)):
            if column in frame.columns:
                frame[column] = frame[column].astype(float).fillna(value)
            elif table == "ext_grid":
                frame[column] = value
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
    if _misplaced_bus_switches(out):
        _fuse_bus_switches(out)
    return out


def _one_slack(net: Any) -> None:
    """Keep one slack in ``net`` (a copy): with several in-service ``ext_grid``s, pandapower
    solves the grid first and every ``ext_grid`` but the one exchanging the most active power
    (supplied or taken) becomes a voltage-controlled ``gen`` at its voltage set point and the
    active power it supplies in that solution. The solved state is the same (each former slack
    holds its voltage and sends the power it sent, so the angles follow); PowSyBl's converter,
    which keeps one slack and turns the others into generators at 0 MW, then has nothing to drop.

    The largest exchange stays at the slack because Newton-Raphson from a flat or DC start has to
    find it: on 1-EHV-mixed--0-sw, whose seven ``ext_grid``s take up to 4.8 GW, pandapower
    converges in 6 iterations with the 4.8 GW one as the slack and in none of the 30 with any
    other (the largest supplier, 1.8 GW, among them).

    Raises:
        GridError: pandapower's power flow of the grid does not converge.
    """
    import pandapower as pp  # noqa: PLC0415
    import pandapower.topology as top  # noqa: PLC0415

    live = net.ext_grid[net.ext_grid.in_service.astype(bool)]
    if len(live) < 2:
        return
    island = {
        b: i
        for i, buses in enumerate(top.connected_components(top.create_nxgraph(net)))
        for b in buses
    }
    if len({island.get(int(b)) for b in live.bus}) == len(live):
        return  # one slack per island already
    try:
        solved = run_power_flow(net)  # the solution the read-back is compared with
    except GridError as exc:
        name = net.get("name") or "the grid"
        raise GridError(
            f"{name} has {len(live)} external grids and pandapower's power flow of it does not "
            "converge, so they cannot be turned into one slack and generators"
        ) from exc
    supplied = solved.res_ext_grid.loc[live.index, "p_mw"].astype(float)
    islands = live.bus.map(lambda b: island.get(int(b)))
    others = live.drop(index=supplied.abs().groupby(islands).idxmax().to_numpy())
    p_mw = supplied.loc[others.index].to_numpy()
    pp.create_gens(
        net,
        others.bus.to_numpy(),
        p_mw=p_mw,
        vm_pu=others.vm_pu.astype(float).to_numpy(),
        name=[f"{n} (ext_grid {i})" for n, i in zip(others.name, others.index, strict=True)],
        min_p_mw=np.minimum(p_mw, 0.0),
        max_p_mw=np.maximum(p_mw, 0.0),
        min_q_mvar=np.full(len(others), -1e4),
        max_q_mvar=np.full(len(others), 1e4),
    )
    net.ext_grid = net.ext_grid.drop(index=others.index)


def _misplaced_bus_switches(net: Any) -> bool:
    """Whether pypowsybl 1.16.1's converter would put a bus-bus switch into a voltage level of
    another nominal voltage (see the module docstring)."""
    import pandas as pd  # noqa: PLC0415

    switch = net.switch[net.switch.et == "b"]
    if not len(switch):
        return False
    by_position = {b: i for i, b in enumerate(pd.unique(switch.bus.astype(int)))}
    by_voltage = {v: i for i, v in enumerate(pd.unique(net.bus.vn_kv))}
    return any(by_position[int(b)] != by_voltage[net.bus.vn_kv.at[int(b)]] for b in switch.bus)


def _fuse_bus_switches(net: Any) -> None:
    """Remove every bus-bus switch of ``net`` (a prepared copy), fusing the buses of the closed
    ones: the same circuit without switches.

    One pass over the element tables for all couplers: each group of buses joined by closed
    switches goes into its lowest-numbered bus. This is pandapower's ``toolbox.fuse_buses`` (the
    same element columns, measurements, dropped buses and inner branches) done once for every
    group instead of once per switch (2,514 couplers of 1-EHV-mixed--0-sw: 21 s switch by switch,
    0.04 s in one pass).
    """
    import networkx as nx  # noqa: PLC0415
    from pandapower import toolbox  # noqa: PLC0415

    switch = net.switch[net.switch.et == "b"]
    net.switch = net.switch.drop(index=switch.index)
    closed = switch[switch.closed.astype(bool)]
    joined = nx.Graph()
    joined.add_edges_from(zip(closed.bus.astype(int), closed.element.astype(int), strict=True))
    into = {
        bus: root
        for group in nx.connected_components(joined)
        for root in (min(group),)
        for bus in group
        if bus != root
    }
    if not into:
        return

    def rerouted(buses: Any) -> Any:
        return buses.map(lambda bus: into.get(bus, bus)).astype(buses.dtype)

    for element, column in toolbox.element_bus_tuples():
        frame = net[element]
        if len(frame):
            frame[column] = rerouted(frame[column])
    measurement = net.measurement
    if len(measurement):
        at_bus = measurement.element_type == "bus"
        measurement.loc[at_bus, "element"] = rerouted(measurement.loc[at_bus, "element"])
    toolbox.drop_buses(net, list(into), drop_elements=False)
    for element, columns in toolbox.branch_element_bus_dict().items():
        frame = net[element]  # a branch between two fused buses now joins a bus to itself
        loop = frame.index[(frame[columns].nunique(axis=1) == 1).to_numpy()] if len(frame) else []
        if len(loop) and element == "line":
            toolbox.drop_lines(net, loop)
        elif len(loop) and element.startswith("trafo"):
            toolbox.drop_trafos(net, loop, table=element)
        elif len(loop):
            net[element] = frame.drop(index=loop)
    if len(net.measurement):
        toolbox.drop_duplicated_measurements(net, buses=sorted(set(into.values())))


def write_pandapower_cgmes(net: Any, path: Path, *, cgmes_version: str = "2.4.15") -> Any:
    """Convert ``net`` with PowSyBl, solve it there and write it as CGMES to ``path``.

    Returns:
        The prepared copy of ``net`` that went to PowSyBl (the round trip's reference).
    """
    import pypowsybl.network as pn  # noqa: PLC0415  (lazy: the optional cgmes extra)
    from pypowsybl import PyPowsyblError  # noqa: PLC0415

    reference = prepare_for_powsybl(net)
    try:
        network = pn.convert_from_pandapower(reference)
    except PyPowsyblError as exc:
        name = net.get("name") or "the grid"
        raise GridError(f"PowSyBl cannot convert {name}: {exc}") from exc
    # the slack of each island at its ext_grid: the converter makes every ext_grid and static
    # generator a generator of 4,999 MW at most, so the "largest generator" would be a tie
    view = network.get_bus_breaker_view_buses()
    wanted = {
        f"bus_{int(b)}" for b in reference.ext_grid.bus[reference.ext_grid.in_service.astype(bool)]
    }
    slack_buses = tuple(sorted(set(view.loc[view.index.isin(wanted), "bus_id"].dropna())))
    _solve_and_save(network, path, cgmes_version, slack_buses)
    return reference


@dataclass(frozen=True, slots=True, kw_only=True)
class CgmesExport:
    """A grid written as CGMES by :func:`export_cgmes`.

    ``reference`` is the prepared copy of the network that went to PowSyBl (see the module
    docstring for what that changes); :func:`compare_solved_state` compares it with the file read
    back.
    """

    code: str
    path: Path
    cgmes_version: str
    buses: int
    lines: int
    transformers: int
    size_bytes: int
    members: tuple[str, ...]
    written_s: float
    check: RoundTripComparison
    reference: Any


def _out_issue(path: Path, message: str) -> Issue:
    return Issue(kind="", object_id="", field="", value=NO_VALUE, message=message, source=str(path))


def export_issues(path: Path, *, force: bool = False) -> list[Issue]:
    """What the export's own rules refuse in ``path`` (a ``.zip``, not replacing a file without
    ``force``), found before any work is done. Whether its folder can be written is the CLI's
    output check (:class:`flexcoord.cli.edge.OutputFile`, which tries a file there) and, for
    a library caller, the temporary folder :func:`export_cgmes` makes beside ``path`` first."""
    issues: list[Issue] = []
    if path.suffix.lower() != ".zip":
        issues.append(_out_issue(path, "must end in .zip (a CGMES dataset is a zip)"))
    if path.exists() and not path.is_dir() and not force:
        issues.append(_out_issue(path, "exists already; pass --force to replace it"))
    return issues


def export_cgmes(
    code: str, path: Path, *, force: bool = False, cgmes_version: str = "2.4.15"
) -> CgmesExport:
    """Write the grid ``code`` (anything :func:`~flexcoord.grid.loading.load_network` takes) as a
    CGMES ``cgmes_version`` zip (EQ, TP, SSH, SV) at ``path``, through PowSyBl's pandapower
    converter, solved by its load flow (the SV profile).

    The zip is written beside ``path`` under a temporary name, checked to hold the four profiles,
    and only then renamed onto ``path``: an error leaves nothing behind and an existing file as
    it was.

    Raises:
        NotFoundError: no grid ``code``.
        InvalidInputError: ``path`` does not end in .zip, exists (without ``force``) or cannot be
            written, or the version is unknown.
        GridError: PowSyBl cannot convert the grid, or its load flow does not converge.
    """
    from flexcoord.grid.loading import load_network  # noqa: PLC0415  (loading imports this module)

    issues = export_issues(path, force=force)
    if cgmes_version not in _CIM_VERSION:
        issues.append(
            Issue(
                kind="",
                object_id="",
                field="cgmes_version",
                value=cgmes_version,
                message=f"is not one of {', '.join(CGMES_VERSIONS)}",
            )
        )
    if issues:
        raise InvalidInputError(issues)
    net = load_network(code)
    started = time.perf_counter()
    try:
        folder = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    except OSError as exc:  # no such folder, not a folder, no write access: nothing written
        raise InvalidInputError(
            [_out_issue(path, f"cannot be written: {exc.strerror or exc} ({str(path.parent)!r})")]
        ) from exc
    try:
        target = folder / path.name  # PowSyBl names the members after the file: OUT_EQ.xml, ...
        reference = write_pandapower_cgmes(net, target, cgmes_version=cgmes_version)
        check = _read_back(reference, target)
        os.replace(target, path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    import zipfile  # noqa: PLC0415

    with zipfile.ZipFile(path) as archive:
        members = tuple(sorted(archive.namelist()))
    return CgmesExport(
        code=str(net.get("name") or code),
        path=path,
        cgmes_version=cgmes_version,
        buses=len(reference.bus),
        lines=int(reference.line.in_service.sum()),
        transformers=int(reference.trafo.in_service.sum()),
        size_bytes=path.stat().st_size,
        members=members,
        written_s=time.perf_counter() - started,
        check=check,
        reference=reference,
    )


def _max_gap(values: Any, reference: Any) -> float:
    """``max |values - reference|`` over the buses solved on both sides; ``inf`` when a bus is
    solved on one side only (cut off from supply on the other)."""
    one_sided = np.isnan(values) != np.isnan(reference)
    if one_sided.any():
        return float("inf")
    return float(np.nanmax(np.abs(values - reference)))


def _slack_position(solved: Any, buses: list[int]) -> int | None:
    ext = solved.ext_grid[solved.ext_grid.in_service.to_numpy(dtype=bool)]
    slack = int(ext.bus.iloc[0]) if len(ext) else None
    return buses.index(slack) if slack in buses else None


def _trailing_int(origin_id: object) -> int:
    return int(str(origin_id).rsplit("_", 1)[-1])


def _read_back(reference: Any, path: Path) -> RoundTripComparison:
    """The written file through flexcoord's import (the PQ form a ``cgmes:`` grid loads in),
    solved and compared with ``reference``; refused when the state differs."""
    from flexcoord.grid.cgmes import import_cgmes  # noqa: PLC0415
    from flexcoord.grid.cgmes_check import pq_form  # noqa: PLC0415

    problems = check_cgmes(path)
    if problems:
        raise InvalidInputError(problems)
    imported = import_cgmes(path).net
    check = compare_solved_state(reference, pq_form(imported))
    if _within_export_gaps(check):
        return check
    gaps = (
        f"max |dV| {check.max_abs_dv_pu:.2g} pu, |dP| {check.max_abs_dp_mw:.2g} MW, |dQ| "
        f"{check.max_abs_dq_mvar:.2g} Mvar"
    )
    as_written = compare_solved_state(reference, imported)
    if _within_export_gaps(as_written):  # the file is right; its fixed-injection form is not
        raise GridError(
            f"the CGMES file holds the grid's state with its generators voltage-controlled (max "
            f"|dV| {as_written.max_abs_dv_pu:.2g} pu), but in the form a cgmes: grid loads in "
            f"(each generator a fixed P and Q) pandapower's power flow finds another solution "
            f"({gaps}); nothing was written"
        )
    raise GridError(
        f"the CGMES file read back does not solve to the grid's state ({gaps}): PowSyBl's "
        "conversion loses part of this grid; nothing was written"
    )


def _within_export_gaps(check: RoundTripComparison) -> bool:
    return (
        check.max_abs_dv_pu <= EXPORT_MAX_DV_PU
        and check.max_abs_dp_mw <= EXPORT_MAX_DPQ_MW
        and check.max_abs_dq_mvar <= EXPORT_MAX_DPQ_MW
    )


def compare_round_trip(reference: Any, imported: CgmesImport) -> RoundTripComparison:
    """pandapower's power flow on ``reference`` against the one on the grid that came back."""
    return compare_solved_state(reference, imported.net)


def compare_solved_state(reference: Any, net: Any) -> RoundTripComparison:
    """pandapower's power flow on ``reference`` against the one on ``net``, a CGMES import of it
    (as :func:`~flexcoord.grid.cgmes.import_cgmes` gives it, or loaded as ``cgmes:PATH.zip``).

    Elements are matched through PowSyBl's ids of a converted pandapower network: bus ``bus_N``
    is bus ``N``, line ``F_T_I`` is line ``I``, transformer ``H_L_I`` is transformer
    ``I - len(line)``.
    """
    before = run_power_flow(reference)
    after = run_power_flow(net)
    node = after.bus["cim_topnode"] if "cim_topnode" in after.bus.columns else after.bus.origin_id
    original_bus = [_trailing_int(o) for o in node]
    vm = after.res_bus.vm_pu.to_numpy(dtype=float)
    va = after.res_bus.va_degree.to_numpy(dtype=float)
    vm0 = before.res_bus.vm_pu.reindex(original_bus).to_numpy(dtype=float)
    va0 = before.res_bus.va_degree.reindex(original_bus).to_numpy(dtype=float)
    slack = _slack_position(before, original_bus)
    if slack is not None:  # CGMES carries no slack angle: compare angles relative to the slack
        va, va0 = va - va[slack], va0 - va0[slack]
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
        max_abs_dv_pu=_max_gap(vm, vm0),
        max_abs_dva_degree=float(np.nanmax(np.abs(va - va0))),
        branches_compared=len(dp) // 2,
        max_abs_dp_mw=float(max(dp)),
        max_abs_dq_mvar=float(max(dq)),
        max_abs_p_mw=float(max(p_ref)),
    )
