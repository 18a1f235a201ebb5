"""Importing a CGMES 2.4.15 / 3.0 dataset (EQ, SSH, TP, SV) into a pandapower network.

The conversion itself is pandapower's ``cim2pp`` (the same library as the rest of the grid layer;
see ``docs/cgmes.md`` for why not ``cgmes2pgm-converter``). This module adds what a flexcoord grid
needs around it:

- **checks before conversion**: the file exists and is a zip (or a list of XML files), every member
  is well-formed XML with one ``md:FullModel`` header naming its profile, and the four profiles
  EQ, SSH, TP and SV are all there; each problem is an :class:`~flexcoord.errors.Issue` naming the
  file (and member) and what is missing, raised together as one ``InvalidInputError``;
- **a slack bus**: an IGM exported without ``referencePriority`` has no ``ext_grid`` and no slack
  generator in pandapower; the generator at the SV profile's angle reference (the
  ``TopologicalIsland.AngleRefTopologicalNode``, else the bus whose ``SvVoltage.angle`` is 0: the
  reference of the load flow that wrote SV) becomes the slack, else the generator with the
  largest ``max_p_mw``;
- **transformer sides**: cim2pp puts winding end 1 on ``hv_bus`` even for a step-up transformer
  whose end 1 is the lower voltage; such transformers are turned round (every ``*_hv``/``*_lv``
  column pair swapped, ``tap_side`` and the sign of ``shift_degree`` with them), so ``hv_bus`` is
  the higher voltage, as the TSO–DSO split and the coupling points expect;
- **control areas** (:mod:`flexcoord.grid.cgmes_areas`): a model with two or more
  ``ControlArea``s labels every bus with its control area (``control_area``): the network is cut
  at the terminals of the ``TieFlow``s, and each part belongs to the area whose tie-flow
  terminals or ``ControlAreaGeneratingUnit``s lie in it;
  :func:`~flexcoord.grid.areas.split_areas` then cuts the TSO/DSO areas by it (tie lines turned
  round so their from-bus is the TSO side);
- **regions**: every bus gets a ``region`` label, the name of its substation's
  ``SubGeographicalRegion`` (else its ``GeographicalRegion``);
  :func:`~flexcoord.grid.areas.split_areas` names DSO areas after it;
- **the SV profile**: ``SvVoltage`` per bus, ``SvPowerFlow`` per line/transformer end and
  ``SvInjection`` per bus (the slack's injection where the slack bus has no generator), kept on
  the result so :mod:`flexcoord.grid.cgmes_check` can compare a power flow against them.

A grid reference ``cgmes:PATH.zip`` is accepted wherever a grid code is (see
:func:`flexcoord.grid.loading.resolve_grid_code`).
"""

from __future__ import annotations

import os
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from flexcoord.errors import NO_VALUE, InvalidInputError, Issue
from flexcoord.grid.cgmes_areas import label_control_areas
from flexcoord.grid.cgmes_rdf import cim_rows, strip_id, terminal_nodes

__all__ = [
    "CGMES_PREFIX",
    "REQUIRED_PROFILES",
    "CgmesImport",
    "SvState",
    "check_cgmes",
    "import_cgmes",
]

#: The prefix of a CGMES grid reference: ``cgmes:path/to/model.zip``.
CGMES_PREFIX = "cgmes:"
#: The profiles an import needs, by their short names.
REQUIRED_PROFILES = ("EQ", "SSH", "TP", "SV")

_MD = "{http://iec.ch/TC57/61970-552/ModelDescription/1#}"
_CIM_VERSIONS = {
    "http://iec.ch/TC57/2013/CIM-schema-cim16#": "2.4.15",
    "http://iec.ch/TC57/CIM100#": "3.0",
}
# Profile URI fragments → short name (the order matters: boundary before its core profile).
_PROFILE_KEYS = (
    ("EquipmentBoundary", "EQ_BD"),
    ("TopologyBoundary", "TP_BD"),
    ("EquipmentCore", "EQ"),
    ("EquipmentOperation", "EQ"),
    ("EquipmentShortCircuit", "EQ"),
    ("CoreEquipment-EU", "EQ"),
    ("SteadyStateHypothesis", "SSH"),
    ("StateVariables", "SV"),
    ("Topology", "TP"),
    ("DiagramLayout", "DL"),
    ("GeographicalLocation", "GL"),
    ("Operation-EU", "OP"),
    ("ShortCircuit-EU", "SC"),
    ("Dynamics", "DY"),
)
_MAX_MEMBER_BYTES = 512 * 1024 * 1024
_MAX_TOTAL_BYTES = 2 * 1024 * 1024 * 1024  # a zip bomb is refused before it is inflated


@dataclass(frozen=True, slots=True, kw_only=True)
class SvState:
    """The SV profile mapped onto the imported network's element indices.

    ``bus_*`` are aligned arrays over the buses that have an ``SvVoltage``; ``branch_*`` over the
    line and transformer ends that have an ``SvPowerFlow`` (``branch_table`` is ``"line"`` or
    ``"trafo"``, ``branch_side`` is ``"from"``/``"to"`` for lines and ``"hv"``/``"lv"`` for
    transformers). Powers follow CGMES's load sign convention, like pandapower's ``res_line``:
    positive flows from the bus into the branch. ``angle_reference_bus`` is the bus of the first
    ``TopologicalIsland.AngleRefTopologicalNode``, when SV names one.

    ``injection_*`` are the ``SvInjection``s (the power a load flow put on a slack bus that has no
    generator), in generator sign: positive into the bus. CGMES defines ``pInjection`` that way;
    PowSyBl writes it in load sign (powsybl-core issue 1099), so the sign is read off SV itself:
    the one that balances the node's ``SvPowerFlow``s (``injection_sign`` is ``"cim"`` or
    ``"load"``; ``"cim"`` when the node has no terminal flows to tell).
    """

    angle_reference_bus: int | None
    bus: tuple[int, ...]
    bus_vm_pu: tuple[float, ...]
    bus_va_degree: tuple[float, ...]
    branch_table: tuple[str, ...]
    branch_index: tuple[int, ...]
    branch_side: tuple[str, ...]
    branch_p_mw: tuple[float, ...]
    branch_q_mvar: tuple[float, ...]
    injection_bus: tuple[int, ...]
    injection_p_mw: tuple[float, ...]
    injection_q_mvar: tuple[float, ...]
    injection_sign: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CgmesImport:
    """A CGMES dataset converted to pandapower, with its SV profile and how the slack was chosen.

    ``net`` belongs to the caller. ``profiles`` maps each profile found to its file (a zip member
    is named ``archive.zip!member.xml``).
    """

    source: str
    cgmes_version: str
    profiles: dict[str, str]
    net: Any
    sv: SvState
    slack: str
    regions: tuple[str, ...]
    control_areas: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Member:
    label: str
    data: bytes


def _issue(source: str, message: str, *, field: str = "", value: object = NO_VALUE) -> Issue:
    return Issue(kind="", object_id="", field=field, value=value, message=message, source=source)


def _members(path: Path) -> tuple[list[_Member], list[Issue]]:
    """The XML members of a zip (or the file itself when it is XML), or the issues."""
    source = str(path)
    if not path.exists():
        return [], [_issue(source, "no such file")]
    if not path.is_file():
        return [], [_issue(source, "is not a file")]
    if path.suffix.lower() in (".xml", ".rdf"):
        return [_Member(source, path.read_bytes())], []
    if not zipfile.is_zipfile(path):
        return [], [_issue(source, "is not a zip archive (a CGMES dataset is a zip of XML files)")]
    members: list[_Member] = []
    issues: list[Issue] = []
    try:
        with zipfile.ZipFile(path) as archive:
            total = sum(i.file_size for i in archive.infolist())
            if total > _MAX_TOTAL_BYTES:
                return [], [
                    _issue(source, "inflates to more than 2 GiB", value=total, field="size")
                ]
            for info in archive.infolist():
                if info.is_dir() or not info.filename.lower().endswith((".xml", ".rdf")):
                    continue
                label = f"{source}!{info.filename}"
                if info.file_size > _MAX_MEMBER_BYTES:
                    issues.append(_issue(label, "is larger than 512 MiB"))
                    continue
                members.append(_Member(label, archive.read(info)))
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        return [], [_issue(source, f"cannot be read as a zip archive: {exc}")]
    if not members and not issues:
        issues.append(_issue(source, "holds no XML file"))
    return members, issues


def _header(member: _Member) -> tuple[str, str, Issue | None]:
    """``(profile, cgmes version)`` of one member from its ``md:FullModel`` header."""
    try:
        root = ET.fromstring(member.data)
    except ET.ParseError as exc:
        return "", "", _issue(member.label, f"is not well-formed XML: {exc}")
    version = next(
        (v for ns, v in _CIM_VERSIONS.items() if root.find(f"{{{ns}}}*") is not None), ""
    )
    models = root.findall(f"{_MD}FullModel")
    if len(models) != 1:
        return "", version, _issue(member.label, "needs exactly one md:FullModel header")
    uris = [e.text or "" for e in models[0].findall(f"{_MD}Model.profile")]
    for key, short in _PROFILE_KEYS:
        if any(f"/{key}/" in uri or f"/{key}-EU/" in uri for uri in uris):
            return short, version, None
    return (
        "",
        version,
        _issue(
            member.label, "names no CGMES profile in md:Model.profile", field="profile", value=uris
        ),
    )


def _profiles(paths: Sequence[Path]) -> tuple[dict[str, _Member], str, list[Issue]]:
    found: dict[str, _Member] = {}
    versions: set[str] = set()
    issues: list[Issue] = []
    for path in paths:
        members, member_issues = _members(path)
        issues += member_issues
        for member in members:
            profile, version, issue = _header(member)
            if issue is not None:
                issues.append(issue)
                continue
            if version:
                versions.add(version)
            if profile in REQUIRED_PROFILES and profile in found:
                issues.append(
                    _issue(
                        member.label,
                        f"is a second {profile} profile (first: {found[profile].label})",
                    )
                )
                continue
            found.setdefault(profile, member)
    where = ", ".join(str(p) for p in paths)
    missing = [p for p in REQUIRED_PROFILES if p not in found]
    if missing and not issues:
        issues.append(
            _issue(
                where,
                f"lacks the {'/'.join(missing)} profile(s); "
                "a CGMES import needs EQ, SSH, TP and SV",
            )
        )
    if len(versions) > 1:
        issues.append(
            _issue(where, "mixes CGMES versions", field="versions", value=sorted(versions))
        )
    if not versions and not issues:
        issues.append(
            _issue(where, "uses no known CIM namespace (CGMES 2.4.15 cim16 or 3.0 CIM100)")
        )
    return found, next(iter(versions), ""), issues


def check_cgmes(paths: Path | Sequence[Path]) -> list[Issue]:
    """Every problem that stops ``paths`` from being imported; empty when none.

    Example:
        >>> [str(i) for i in check_cgmes(Path("missing.zip"))]
        ['missing.zip: no such file']
    """
    return _profiles(_as_list(paths))[2]


def _as_list(paths: Path | Sequence[Path]) -> list[Path]:
    return [paths] if isinstance(paths, Path) else [Path(p) for p in paths]


def import_cgmes(paths: Path | Sequence[Path]) -> CgmesImport:
    """Convert a CGMES dataset (a zip, or XML files) to a pandapower network with its SV state.

    Raises:
        InvalidInputError: a file is missing, not a zip, not well-formed XML, or a profile among
            EQ, SSH, TP and SV is missing; every issue names its file.
    """
    files = _as_list(paths)
    found, version, issues = _profiles(files)
    if issues:
        raise InvalidInputError(issues)
    with tempfile.TemporaryDirectory(prefix="flexcoord-cgmes-") as tmp:
        written = []
        for profile, member in sorted(found.items()):
            target = Path(tmp) / f"{profile}.xml"
            target.write_bytes(member.data)
            written.append(str(target))
        net = _quiet(lambda: _convert(written, version))
    source = ", ".join(str(p) for p in files)
    _check_base_voltages(net, found["TP"].label)
    _orient_transformers(net)
    regions = _label_regions(net)
    control_areas = label_control_areas(net, found["EQ"].data, found["TP"].data)
    sv = _sv_state(net, found["SV"], found["TP"])
    slack = _ensure_slack(net, sv)
    return CgmesImport(
        source=source,
        cgmes_version=version,
        profiles={p: m.label for p, m in sorted(found.items())},
        net=net,
        sv=sv,
        slack=slack,
        regions=regions,
        control_areas=control_areas,
    )


def _convert(files: list[str], version: str) -> Any:
    """cim2pp on ``files``. CGMES 3.0 makes ``Equipment.inService`` optional in SSH (absent: in
    service, the terminals' ``connected`` decide); cim2pp 3.5 fails on an ACLineSegment without it
    and takes a machine or load without it as out of service, so an absent one is ``true``."""
    from pandapower.converter.cim.cim2pp.from_cim import from_cim_dict  # noqa: PLC0415  (lazy)
    from pandapower.converter.cim.cim_classes import CimParser  # noqa: PLC0415  (lazy)

    parser = CimParser(cgmes_version=version)
    parser.parse_files(file_list=files, prepare_cim_net=True, set_data_types=False)
    if version == "3.0":
        cim = parser.get_cim_dict()
        lines = cim["eq"]["ACLineSegment"]
        if "inService" not in lines.columns:
            lines["inService"] = True
        for frame in cim["ssh"].values():
            if "inService" in frame.columns and len(frame):
                frame["inService"] = frame["inService"].where(frame["inService"].notna(), "true")
    parser.set_cim_data_types()
    return from_cim_dict(parser, cim_version=version)


def _quiet(call: Any) -> Any:
    """``call()`` with cim2pp's pandas deprecation warnings and log output silenced."""
    import logging  # noqa: PLC0415
    import warnings  # noqa: PLC0415

    logger = logging.getLogger("pandapower.converter.cim")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return call()
    finally:
        logger.setLevel(level)


def _check_base_voltages(net: Any, source: str) -> None:
    """Every in-service bus has a nominal voltage; an IGM whose BaseVoltages live in the ENTSO-E
    boundary set (EQ_BD) lacks them unless the boundary files are given too."""
    missing = net.bus.index[net.bus.vn_kv.isna() & net.bus.in_service.astype(bool)]
    if len(missing) == 0:
        return
    names = [str(net.bus.name.at[b]) for b in missing[:5]]
    raise InvalidInputError(
        [
            _issue(
                source,
                f"{len(missing)} topological node(s) have no BaseVoltage (e.g. {names}); the model "
                "refers to a boundary set: add its EQ_BD and TP_BD files to the zip",
            )
        ]
    )


def _orient_transformers(net: Any) -> None:
    """Turn round the two-winding transformers whose ``hv`` side is the lower voltage."""
    trafo = net.trafo
    if not len(trafo):
        return
    flip = trafo.index[trafo.vn_hv_kv.astype(float) < trafo.vn_lv_kv.astype(float)]
    if len(flip) == 0:
        return
    pairs = [
        (c, c.replace("hv", "lv"))
        for c in trafo.columns
        if "hv" in c and c.replace("hv", "lv") in trafo.columns and "lv" not in c
    ]
    for hv, lv in pairs:
        values = trafo.loc[flip, [hv, lv]].to_numpy()
        trafo.loc[flip, hv] = values[:, 1]
        trafo.loc[flip, lv] = values[:, 0]
    if "tap_side" in trafo.columns:
        trafo.loc[flip, "tap_side"] = trafo.loc[flip, "tap_side"].map(
            {"hv": "lv", "lv": "hv"}, na_action="ignore"
        )
    if "shift_degree" in trafo.columns:
        trafo.loc[flip, "shift_degree"] = -trafo.loc[flip, "shift_degree"].astype(float)


def _label_regions(net: Any) -> tuple[str, ...]:
    """Set ``net.bus["region"]`` from the substation's (sub-)geographical region; the labels."""
    bus = net.bus
    label = None
    for column in ("SubGeographicalRegion_name", "GeographicalRegion_name"):
        if column in bus.columns:
            values = bus[column].astype(object).where(bus[column].notna(), None)
            label = values if label is None else label.where(label.notna(), values)
    if label is None:
        return ()
    bus["region"] = label
    return tuple(sorted({str(v) for v in label.dropna()}))


def _sv_injections(
    sv: ET.Element, tp: _Member, bus_of_node: dict[str, int]
) -> tuple[list[tuple[int, float, float]], str]:
    """The ``SvInjection``s as ``(bus, p_mw, q_mvar)`` in generator sign, and the sign read.

    A slack injection balances its node: it equals the sum of the SvPowerFlows (load sign, out of
    the bus) of the node's terminals. CGMES's ``pInjection`` is positive into the bus; when minus
    ``pInjection`` is the closer to that sum, the file is in load sign (PowSyBl's) and is flipped.
    """
    rows = [r for r in cim_rows(sv, "SvInjection") if r.get("TopologicalNode") in bus_of_node]
    if not rows:
        return [], ""
    node_of_terminal = terminal_nodes(tp.data)
    out_of_node: dict[str, float] = {}
    for flow in cim_rows(sv, "SvPowerFlow"):
        node = node_of_terminal.get(flow.get("Terminal", ""))
        if node is not None:
            out_of_node[node] = out_of_node.get(node, 0.0) + float(flow.get("p", "0") or 0.0)
    cim_gap = load_gap = 0.0
    for row in rows:
        p_mw = float(row.get("pInjection", "0") or 0.0)
        balance = out_of_node.get(row["TopologicalNode"])
        if balance is not None:
            cim_gap += abs(p_mw - balance)
            load_gap += abs(p_mw + balance)
    sign = -1.0 if load_gap < cim_gap else 1.0
    injections = [
        (
            bus_of_node[row["TopologicalNode"]],
            sign * float(row.get("pInjection", "0") or 0.0),
            sign * float(row.get("qInjection", "0") or 0.0),
        )
        for row in rows
    ]
    return injections, "load" if sign < 0 else "cim"


def _sv_state(net: Any, member: _Member, tp: _Member) -> SvState:
    root = ET.fromstring(member.data)
    # the bus's topological node (CGMES 3.0 imports name the bus after a connectivity node)
    node = net.bus["cim_topnode"] if "cim_topnode" in net.bus.columns else net.bus.origin_id
    bus_of_node = {strip_id(o): int(b) for b, o in zip(net.bus.index, node, strict=True)}
    vn_kv = net.bus.vn_kv.astype(float)
    buses: list[int] = []
    vm: list[float] = []
    va: list[float] = []
    for row in cim_rows(root, "SvVoltage"):
        bus = bus_of_node.get(row.get("TopologicalNode", ""))
        v_kv = float(row.get("v", "nan") or "nan")
        if bus is None or not np.isfinite(vn_kv.at[bus]) or not v_kv > 0:
            continue
        buses.append(bus)
        vm.append(v_kv / float(vn_kv.at[bus]))
        va.append(float(row.get("angle", "0") or 0.0))
    ends: dict[str, tuple[str, int, str]] = {}
    for table, sides in (("line", ("from", "to")), ("trafo", ("hv", "lv"))):
        frame = net[table]
        for side in sides:
            column = f"terminal_{side}"
            if column in frame.columns:
                ends |= {
                    strip_id(t): (table, int(i), side)
                    for i, t in zip(frame.index, frame[column], strict=True)
                    if t is not None
                }
    flows = [
        (*ends[t], float(row.get("p", "nan")), float(row.get("q", "nan")))
        for row in cim_rows(root, "SvPowerFlow")
        if (t := row.get("Terminal", "")) in ends
    ]
    references = [
        bus_of_node[r["AngleRefTopologicalNode"]]
        for r in cim_rows(root, "TopologicalIsland")
        if r.get("AngleRefTopologicalNode") in bus_of_node
    ]
    injections, injection_sign = (
        _sv_injections(root, tp, bus_of_node) if b"SvInjection" in member.data else ([], "")
    )
    return SvState(
        angle_reference_bus=references[0] if references else None,
        bus=tuple(buses),
        bus_vm_pu=tuple(vm),
        bus_va_degree=tuple(va),
        branch_table=tuple(f[0] for f in flows),
        branch_index=tuple(f[1] for f in flows),
        branch_side=tuple(f[2] for f in flows),
        branch_p_mw=tuple(f[3] for f in flows),
        branch_q_mvar=tuple(f[4] for f in flows),
        injection_bus=tuple(i[0] for i in injections),
        injection_p_mw=tuple(i[1] for i in injections),
        injection_q_mvar=tuple(i[2] for i in injections),
        injection_sign=injection_sign,
    )


def _ensure_slack(net: Any, sv: SvState) -> str:
    """Make sure every island of the network has a reference bus; say which they are and why.

    An island (connected part of the in-service network) with an ``ext_grid`` or a slack
    generator keeps it; in any other island with generators, the generator at the SV angle
    reference (the model's, else a bus of the island at angle 0: the load flow that wrote SV
    puts one in each island it solved) becomes the slack, else its largest generator.
    """
    import pandapower.topology as top  # noqa: PLC0415  (lazy: loads pandapower)

    ext = net.ext_grid[net.ext_grid.in_service.to_numpy(dtype=bool)]
    gen = net.gen[net.gen.in_service.to_numpy(dtype=bool)]
    if not len(ext) and not len(gen):
        raise InvalidInputError(
            [_issue("CGMES", "has no external network injection nor generator to act as slack")]
        )
    flagged = gen.slack.fillna(False).astype(bool) if "slack" in gen.columns else None
    island_of = {
        int(b): i
        for i, buses in enumerate(top.connected_components(top.create_nxgraph(net)))
        for b in buses
    }
    chosen_text = [f"ext_grid:{i} (from the model)" for i in ext.index]
    covered = {island_of.get(int(b)) for b in ext.bus}
    if flagged is not None:
        for idx in gen.index[flagged]:
            if island_of.get(int(gen.bus.at[idx])) not in covered:
                covered.add(island_of.get(int(gen.bus.at[idx])))
                chosen_text.append(f"gen:{idx} (from the model)")
    angle = dict(zip(sv.bus, sv.bus_va_degree, strict=True))
    model_reference = {sv.angle_reference_bus} if sv.angle_reference_bus is not None else set()
    at_zero = {b for b, a in angle.items() if a == 0.0}
    size = (gen["max_p_mw"] if "max_p_mw" in gen.columns else gen["p_mw"]).astype(float)
    islands = gen.bus.map(lambda b: island_of.get(int(b)))
    for island, members in gen.groupby(islands, sort=True):
        if island in covered:
            continue
        buses = set(members.bus.astype(int))
        reference = (model_reference & buses) or (at_zero & buses)
        at_reference = [
            i for i, b in zip(members.index, members.bus, strict=True) if b in reference
        ]
        if at_reference:
            chosen, why = int(at_reference[0]), "at the SV angle reference"
        else:
            chosen = int(size.loc[members.index].fillna(0.0).idxmax())
            why = "the largest generator"
        net.gen.loc[chosen, "slack"] = True
        if "slack_weight" in net.gen.columns:
            net.gen.loc[chosen, "slack_weight"] = 1.0
        chosen_text.append(f"gen:{chosen} ({why})")
    return ", ".join(chosen_text)


def cgmes_path(code: str) -> Path | None:
    """The path of a ``cgmes:PATH`` grid reference, else ``None``."""
    if code[: len(CGMES_PREFIX)].casefold() != CGMES_PREFIX:
        return None
    return Path(os.path.expanduser(code[len(CGMES_PREFIX) :]))
