"""Golden cases of the coordination layer: every preset on the seeded demo scenarios, as files.

A case is a folder ``tests/cases/coordination/<case>/``:

* ``case.json`` — how the scenario is built (``scenario``: :func:`build_coordination_scenario`,
  ``chain``: :func:`build_timeframe_chain`), on which grid, with which keyword arguments;
* ``inputs/`` — what that build produced, as files: the needs, the bids, the tightened branch
  limits (and a chain's rounds). The test first checks that the generator still produces exactly
  these inputs, so a change of the scenario generator is told apart from a change of the
  coordination code;
* ``expected/kpis.csv`` — one row per preset: every KPI of the comparison table except the run
  times; ``expected/awards.csv`` — every award of every sub-market of every preset.

``python -m tests.coordination.golden [CASE ...]`` records the cases (all of them by default) with
the code as it is. A deliberate change of a figure re-records its case, and the change is listed
in the issue's closing note.
"""

from __future__ import annotations

import csv
import dataclasses
import enum
import io
import json
import math
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

CASES = Path(__file__).parents[1] / "cases" / "coordination"

#: The cases: name → (builder, grid, keyword arguments). The day scenarios are the CLI's demo
#: (``flexcoord coordinate --grid CODE --all``); the chains are smaller, to keep CI short.
CASE_SPECS: dict[str, dict[str, Any]] = {
    "mv-rural-day": {"builder": "scenario", "grid": "1-MV-rural--0-sw", "kwargs": {"seed": 0}},
    "hvmv-mixed-day": {
        "builder": "scenario",
        "grid": "1-HVMV-mixed-all-0-sw",
        "kwargs": {"seed": 0},
    },
    "mv-rural-chain": {
        "builder": "chain",
        "grid": "1-MV-rural--0-sw",
        "kwargs": {"seed": 0, "n_bids": 200, "n_mtu": 16},
    },
    "hvmv-mixed-chain": {
        "builder": "chain",
        "grid": "1-HVMV-mixed-all-0-sw",
        "kwargs": {"seed": 0, "n_bids": 400, "n_mtu": 16},
    },
}

#: Run times and other figures that are not outcomes of the market.
_NOT_COMPARED = {"wall_s", "solver_s"}
_AWARD_KEYS = (
    "scheme",
    "timeframe",
    "market_id",
    "bid_id",
    "root_bid_id",
    "resource_id",
    "mtu",
    "direction",
    "quantity_mw",
    "price_eur_per_mwh",
    "payment_eur",
)


def _plain(value: Any) -> Any:
    """A JSON-ready form of a domain value (dataclasses, enums, times, sets)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, frozenset | set):
        return sorted(_plain(v) for v in value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def build(spec: Mapping[str, Any]) -> Any:
    """The scenario (or chain) of a case."""
    from flexcoord.simulation.scenario import build_coordination_scenario, build_timeframe_chain

    builder = (
        build_coordination_scenario if spec["builder"] == "scenario" else build_timeframe_chain
    )
    return builder(spec["grid"], **spec["kwargs"])


def input_files(built: Any, spec: Mapping[str, Any]) -> dict[str, str]:
    """The inputs a build produced, as file name → text."""
    base = built if spec["builder"] == "scenario" else built.base
    files = {
        "needs.json": base.needs,
        "bids.json": base.bids,
        "limits.json": dict(sorted(base.limit_overrides_mw.items())),
    }
    if spec["builder"] == "chain":
        files["rounds.json"] = built.rounds
    return {name: _json_lines(_plain(v)) for name, v in files.items()}


def _json_lines(value: Any) -> str:
    """JSON with one list item (or mapping entry) per line: compact, and diffs read per object."""
    if isinstance(value, list):
        items = [json.dumps(v, sort_keys=True, separators=(",", ":")) for v in value]
        return "[\n" + ",\n".join(items) + "\n]\n"
    return json.dumps(value, indent=1, sort_keys=True) + "\n"


def run(built: Any, spec: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every preset on the case: (KPI rows, award rows)."""
    from flexcoord.coordination import PRESETS, JointModel, run_chain, run_scheme
    from flexcoord.simulation.report import award_rows, chain_rows, comparison_rows

    awards: list[dict[str, Any]] = []
    if spec["builder"] == "scenario":
        joint = JointModel.of(built)
        outcomes = [run_scheme(c, built, joint=joint) for c in PRESETS]
        rows = comparison_rows(outcomes)
        for o in outcomes:
            awards += [{"scheme": o.config.id, **a} for a in award_rows(o.markets)]
    else:
        chained = [run_chain(c, built) for c in PRESETS]
        rows = chain_rows(chained)
        for o in chained:
            for r in o.rounds:
                tf = str(r.sub_market.timeframe)
                awards += [
                    {"scheme": o.config.id, **a} for a in award_rows(r.markets, timeframe=tf)
                ]
    kpis = [{k: v for k, v in row.items() if k not in _NOT_COMPARED} for row in rows]
    return kpis, [{k: a.get(k) for k in _AWARD_KEYS} for a in awards]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def csv_text(rows: Sequence[Mapping[str, Any]]) -> str:
    """Rows as CSV (columns in first-seen order, floats at full precision)."""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(keys)
    for r in rows:
        writer.writerow([_cell(r.get(k)) for k in keys])
    return out.getvalue()


def read_csv(path: Path) -> list[dict[str, str]]:
    """The rows of a recorded CSV, as text."""
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def same(recorded: str, value: Any, *, rel: float = 1e-6, abs_: float = 1e-6) -> bool:
    """Whether a value equals its recorded text (numbers within the tolerances)."""
    now = _cell(value)
    if now == recorded:
        return True
    try:
        return math.isclose(float(recorded), float(now), rel_tol=rel, abs_tol=abs_)
    except ValueError:
        return False


def record(name: str) -> None:
    """Record case ``name`` with the current code."""
    spec = CASE_SPECS[name]
    folder = CASES / name
    (folder / "inputs").mkdir(parents=True, exist_ok=True)
    (folder / "expected").mkdir(parents=True, exist_ok=True)
    (folder / "case.json").write_text(json.dumps(spec, indent=1, sort_keys=True) + "\n")
    built = build(spec)
    for file, text in input_files(built, spec).items():
        (folder / "inputs" / file).write_text(text)
    kpis, awards = run(built, spec)
    (folder / "expected" / "kpis.csv").write_text(csv_text(kpis))
    (folder / "expected" / "awards.csv").write_text(csv_text(awards))


if __name__ == "__main__":
    for case in sys.argv[1:] or list(CASE_SPECS):
        print(f"recording {case} ...", flush=True)
        record(case)
