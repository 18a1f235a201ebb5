"""Loading SimBench and pandapower networks, with a cache and the known SimBench fixes.

Each ``simbench.get_simbench_net`` call re-parses the CSV data (3–7 s), so networks are cached
twice:
in this process (pickled bytes, so that every caller gets its own independent copy) and on disk
under ``$FLEXCOORD_CACHE_DIR`` (default ``~/.cache/flexcoord``), keyed by the simbench version, so a
test session or a CLI run after the first pays about 0.02 s per grid.

The fixes applied to every SimBench network (ecosystem lab §2a):

1. transformers without a vector group get one derived from ``shift_degree`` (``Dyn5`` for 150°,
   ``YNyn0`` otherwise), because power-grid-model-io cannot convert ``None``;
2. transformers without a tap changer type get ``"Ratio"``, because pandapower 3.5 ignores
   ``tap_pos`` otherwise (a silent correctness issue for pandapower-only use too).

The third fix (the internal impedance of a power-grid-model source) belongs to the conversion and
lives in :mod:`flexcoord.grid.pgm`.
"""

from __future__ import annotations

import copy
import difflib
import json
import os
import pickle
import threading
import warnings
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from flexcoord.errors import NotFoundError

__all__ = [
    "PANDAPOWER_NETWORKS",
    "GridEntry",
    "apply_simbench_fixes",
    "cache_dir",
    "grid_catalogue",
    "load_network",
    "resolve_grid_code",
    "simbench_codes",
]

#: pandapower.networks builders that take no argument and load offline, by name.
PANDAPOWER_NETWORKS: dict[str, str] = {
    "cigre-mv": "create_cigre_network_mv",
    "cigre-lv": "create_cigre_network_lv",
    "mv-oberrhein": "mv_oberrhein",
    "case118": "case118",
}

_MEMORY: dict[str, bytes] = {}
_LOCK = threading.Lock()


def cache_dir() -> Path:
    """The folder of the on-disk network cache.

    ``$FLEXCOORD_CACHE_DIR`` when set, else ``~/.cache/flexcoord``.
    """
    root = os.environ.get("FLEXCOORD_CACHE_DIR")
    return Path(root) if root else Path.home() / ".cache" / "flexcoord"


@cache
def simbench_codes() -> tuple[str, ...]:
    """Every SimBench code the installed ``simbench`` package ships, sorted.

    The list is computed by ``simbench`` once per installed version and kept beside the network
    cache, so resolving a code later needs neither simbench nor pandapower to be imported (3-5 s).

    Example:
        >>> "1-MV-rural--0-sw" in simbench_codes()
        True
    """
    path = cache_dir() / f"simbench-codes-{metadata.version('simbench')}.json"
    try:
        codes = json.loads(path.read_text())
        if isinstance(codes, list) and codes and all(isinstance(c, str) for c in codes):
            return tuple(codes)
    except (OSError, ValueError):
        pass
    import simbench  # noqa: PLC0415  (lazy: the grid-code list needs no simbench)

    found = tuple(sorted(simbench.collect_all_simbench_codes()))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(list(found)))
        tmp.replace(path)
    except OSError:
        pass  # a read-only home only costs the import next time
    return found


@dataclass(frozen=True, slots=True)
class GridEntry:
    """One loadable grid: its code, where it comes from, and whether it has year-long profiles.

    Only SimBench grids carry the 15-min profiles of a year (``net.profiles``) that the
    time-series assessment, profile-based base cases and the seeded scenarios need; the
    pandapower example networks have one snapshot.
    """

    code: str
    source: str
    has_profiles: bool


def grid_catalogue() -> tuple[GridEntry, ...]:
    """Every grid :func:`load_network` accepts: the pandapower networks, then SimBench codes.

    Example:
        >>> entry = next(e for e in grid_catalogue() if e.code == "cigre-mv")
        >>> entry.source, entry.has_profiles
        ('pandapower', False)
    """
    return (
        *(GridEntry(name, "pandapower", False) for name in PANDAPOWER_NETWORKS),
        *(GridEntry(code, "simbench", True) for code in simbench_codes()),
    )


def resolve_grid_code(name: str) -> GridEntry:
    """The catalogue entry of ``name``, matched exactly or else ignoring case.

    A CGMES dataset is named ``cgmes:PATH`` (a zip with the EQ, SSH, TP and SV profiles, see
    :mod:`flexcoord.grid.cgmes`); its code is ``cgmes:`` and the absolute path.

    Raises:
        NotFoundError: no grid of that name (or no such CGMES file); the message suggests the
            closest codes.

    Example:
        >>> resolve_grid_code("1-mv-rural--0-SW").code
        '1-MV-rural--0-sw'
    """
    cgmes = _cgmes_entry(name)
    if cgmes is not None:
        return cgmes
    entries = grid_catalogue()
    for entry in entries:
        if entry.code == name:
            return entry
    folded = {e.code.casefold(): e for e in entries}
    if name.casefold() in folded:
        return folded[name.casefold()]
    shown = name if len(name) <= 60 else name[:57] + "..."
    close = difflib.get_close_matches(name.casefold(), list(folded), n=3, cutoff=0.6)
    hint = (
        "did you mean " + ", ".join(repr(folded[c].code) for c in close) + "?"
        if close
        else "e.g. '1-MV-rural--0-sw' or '1-HVMV-mixed-all-0-sw'"
    )
    raise NotFoundError(
        f"grid {shown!r} is not a SimBench code nor a pandapower network; {hint} "
        "(`flexcoord grid list` shows them all)"
    )


def _cgmes_entry(name: str) -> GridEntry | None:
    from flexcoord.grid.cgmes import CGMES_PREFIX, cgmes_path  # noqa: PLC0415  (no grid library)

    path = cgmes_path(name)
    if path is None:
        return None
    if not path.is_file():
        shown = str(path) if len(str(path)) <= 160 else "…" + str(path)[-159:]
        raise NotFoundError(
            f"CGMES file {shown!r} does not exist (a grid 'cgmes:PATH' names a zip)"
        )
    return GridEntry(f"{CGMES_PREFIX}{path.resolve()}", "cgmes", False)


def apply_simbench_fixes(net: Any) -> None:
    """Apply fixes 1 and 2 of the module docstring to ``net`` in place (a fresh copy of ours)."""
    trafo = net.trafo
    if len(trafo):
        missing_vg = trafo["vector_group"].isna()
        if missing_vg.any():
            derived = trafo["shift_degree"].map(
                lambda d: "Dyn5" if round(float(d) / 30.0) % 12 == 5 else "YNyn0"
            )
            trafo.loc[missing_vg, "vector_group"] = derived[missing_vg]
        if "tap_changer_type" in trafo.columns:
            missing_tct = trafo["tap_changer_type"].isna() & trafo["tap_pos"].notna()
            trafo.loc[missing_tct, "tap_changer_type"] = "Ratio"


def _build(name: str) -> Any:
    from flexcoord.grid.cgmes import cgmes_path, import_cgmes  # noqa: PLC0415  (lazy)

    path = cgmes_path(name)
    if path is not None:
        from flexcoord.grid.cgmes_check import pq_form, with_sv_injections  # noqa: PLC0415

        imported = import_cgmes(path)  # the SV's slack injections kept: the base case is SV's
        return pq_form(with_sv_injections(imported) if imported.sv.injection_bus else imported.net)
    if name in PANDAPOWER_NETWORKS:
        import pandapower.networks as pn  # noqa: PLC0415  (lazy: only for a pandapower network code)

        with warnings.catch_warnings():
            # mv-oberrhein runs pandapower's power flow while it is built, on a network older
            # than the tap_dependency_table column, and pandapower warns of its own file (the
            # column is added in load_network)
            warnings.filterwarnings("ignore", "tap_dependency_table is missing", DeprecationWarning)
            return getattr(pn, PANDAPOWER_NETWORKS[name])()
    import simbench  # noqa: PLC0415  (lazy: only for a SimBench code)

    net = simbench.get_simbench_net(name)
    apply_simbench_fixes(net)
    return net


def _disk_path(name: str) -> Path:
    versions = "-".join(f"{pkg}{metadata.version(pkg)}" for pkg in ("simbench", "pandapower"))
    return cache_dir() / "grids" / versions / f"{name}.pkl"


_CGMES_NETS: dict[str, Any] = {}


def _cgmes_network(name: str, path: Path) -> Any:
    """A fresh copy of a CGMES import, kept in memory while the file is unchanged (never on disk:
    it is the user's file, not a package's). Copied rather than pickled: an unpickled object
    column's dtype is not numpy's singleton, which power-grid-model-io's ``dtype is`` test needs."""
    stat = path.stat()
    key = f"{name}@{stat.st_mtime_ns}:{stat.st_size}"
    with _LOCK:
        net = _CGMES_NETS.get(key)
        if net is None:
            net = _build(name)
            _CGMES_NETS[key] = net
        return copy.deepcopy(net)


def _pickled(name: str) -> bytes:
    with _LOCK:
        blob = _MEMORY.get(name)
        if blob is not None:
            return blob
        path = _disk_path(name)
        if path.exists():
            blob = path.read_bytes()
        else:
            blob = pickle.dumps(_build(name), protocol=pickle.HIGHEST_PROTOCOL)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_bytes(blob)
                tmp.replace(path)  # atomic: parallel test workers never read half a file
            except OSError:
                pass  # a read-only home is no reason to fail: the memory cache still works
        _MEMORY[name] = blob
        return blob


def load_network(name: str) -> Any:
    """A fresh, independent pandapower network for a SimBench code or a pandapower network name.

    The caller owns the returned object: mutating it never affects another caller.

    Args:
        name: a SimBench code such as ``"1-MV-rural--0-sw"`` or ``"1-HVMV-mixed-all-0-sw"``, one
            of :data:`PANDAPOWER_NETWORKS` (any case), or ``"cgmes:PATH.zip"``.

    Raises:
        NotFoundError: the name is none of these; the message suggests the closest names.
        InvalidInputError: a CGMES dataset that cannot be imported (each issue names its file).

    Example:
        >>> net = load_network("1-MV-rural--0-sw")
        >>> len(net.bus)
        97
    """
    from flexcoord.grid.cgmes import cgmes_path  # noqa: PLC0415  (no grid library)

    code = resolve_grid_code(name).code
    path = cgmes_path(code)
    net = _cgmes_network(code, path) if path is not None else pickle.loads(_pickled(code))
    if not net.get("name"):  # SimBench leaves it empty: messages then name the grid by its code
        net["name"] = code
    if len(net.trafo) and "tap_dependency_table" not in net.trafo.columns:
        # pandapower's own older networks (mv-oberrhein) predate the column its power flow now
        # requires; they have no tap characteristic
        net.trafo["tap_dependency_table"] = False
    return net
