"""Sweeps: one study per cell of a matrix, on Dask distributed (``docs/sweeps.md``).

:func:`check_sweep` turns a sweep file (:mod:`flexcoord.schemas.sweep`) into its cells — the
product of its axes in matrix order (grids × schemes × years × forecast-error levels × seeds, the
last varying fastest) — and checks every distinct cell as the simulator would
(:func:`~flexcoord.simulation.study.check_study`) *before any cell runs*, each issue renamed to
the matrix key that produced the bad value (an unknown grid is ``matrix.grids[1]``, not
``grid``). :func:`run_sweep` runs the cells: each one :func:`~flexcoord.simulation.study_run.
run_study` without report, serially in this process, on a Dask ``LocalCluster`` (one process per
worker, one thread each) or on an existing cluster (``scheduler="tcp://host:8786"``).

Layout of the sweep folder::

    sweep.json             the sweep as read, its SHA-256 and its cell ids
    cells/<cell>/<t>.parquet  a cell's tables; cell.json (written last, atomically) marks it done
    <t>.parquet            every done cell's table, in matrix order, led by the columns
                           cell, grid, preset, year, forecast_error_level, seed
    cells.parquet          one row per cell: its parameters, status (done, failed, skipped:
                           done by an earlier run), the error of a failed cell, and its wall time

**Resume.** A cell with ``cell.json`` is not recomputed; a failed or interrupted one is. A folder
holding another sweep (another SHA-256 of ``name``, ``base`` and ``matrix``) is refused.

**Failures.** A cell that raises is recorded with its parameters and its error, and the other
cells run on; :attr:`SweepResult.failed` lists them.

**Identical results.** A cell's draws are seeded by its study alone and a study's tables hold no
wall time, so the gathered tables are the same whichever way the cells ran (only
``cells.parquet`` holds wall times and statuses). Workers keep the grids they loaded (the grid
loaders' caches are per process), solve with one HiGHS thread and run power-grid-model
sequentially (:data:`~flexcoord.simulation.study_run.WORKER_ENVIRON`).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import pandas as pd
from pydantic import ValidationError

from flexcoord.errors import InvalidInputError, Issue
from flexcoord.grid.pgm import PGM_THREADING_ENV
from flexcoord.provenance import provenance
from flexcoord.schemas.options_file import options_issues
from flexcoord.schemas.study import StudyFile
from flexcoord.schemas.sweep import SweepFile, sweep_issues
from flexcoord.simulation.cluster import dask_client
from flexcoord.simulation.study import check_study
from flexcoord.simulation.study_run import TABLES, run_study
from flexcoord.simulation.tables import check_results_folder, write_tables

__all__ = [
    "CELL_COLUMNS",
    "CellOutcome",
    "CellRecord",
    "SweepCell",
    "SweepResult",
    "check_sweep",
    "run_cell",
    "run_sweep",
    "sweep_sha256",
]

#: The leading columns of every gathered table.
CELL_COLUMNS: Final = ("cell", "grid", "preset", "year", "forecast_error_level", "seed")
#: The σ keys of a study's ``forecast_error`` an error level multiplies.
_SIGMA_KEYS: Final = ("pv", "wind", "load", "ev", "heat_pump")
#: Each axis's cell-id label and the study key its values set.
_AXES: Final = {
    "grids": ("grid", "grid"),
    "schemes": ("scheme", "schemes"),
    "years": ("year", "year"),
    "forecast_error": ("fe", "forecast_error"),
    "seeds": ("seed", "seed"),
}
_UNSAFE = re.compile(r"[^A-Za-z0-9.=+_-]+")

CellStatus = Literal["done", "failed", "skipped"]
SweepProgress = Callable[["CellRecord", int, int], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepCell:
    """One cell: its id, its parameters, the study it runs and the matrix key behind each study
    key it sets (``{"grid": "matrix.grids[1]", ...}``: what an issue of the cell is named by)."""

    index: int
    id: str
    grid: str
    preset: str
    year: int | None
    forecast_error_level: float
    seed: int
    study: StudyFile
    keys: Mapping[str, str]

    def params(self) -> dict[str, Any]:
        """The cell's parameters, as in :data:`CELL_COLUMNS`."""
        return {name: getattr(self, name if name != "cell" else "id") for name in CELL_COLUMNS}


@dataclass(frozen=True, slots=True, kw_only=True)
class CellOutcome:
    """What running a cell gave: its tables, or the error that stopped it."""

    cell_id: str
    tables: Mapping[str, pd.DataFrame]
    error: str | None
    wall_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class CellRecord:
    """A cell's status in a sweep run."""

    cell: SweepCell
    status: CellStatus
    error: str | None
    wall_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepResult:
    """A finished sweep: its folder, gathered tables and every cell's record (matrix order)."""

    folder: Path
    tables: Mapping[str, pd.DataFrame]
    cells: tuple[CellRecord, ...]
    wall_s: float

    @property
    def failed(self) -> tuple[CellRecord, ...]:
        """The cells that failed in this run."""
        return tuple(r for r in self.cells if r.status == "failed")


def sweep_sha256(sweep: SweepFile) -> str:
    """The SHA-256 of the sweep's name, base and matrix: what a resumed run must match."""
    return hashlib.sha256(sweep.model_dump_json(exclude={"outputs"}).encode()).hexdigest()


# --- cells ---------------------------------------------------------------------------------------


def _issue(source: str, field: str, value: object, message: str) -> Issue:
    return Issue(kind="", object_id="", field=field, value=value, message=message, source=source)


def _axis_values(sweep: SweepFile, axis: str) -> list[tuple[Any, str]]:
    """``(value, key)`` of each entry of ``axis`` (``"all"`` expanded into the presets), or the
    base study's value under its ``base.`` key."""
    from flexcoord.coordination.presets import PRESETS  # noqa: PLC0415 - the ids only

    values = getattr(sweep.matrix, axis)
    base = sweep.base
    if values is None:
        study_key = _AXES[axis][1]
        defaults: dict[str, Any] = {
            "grids": base.grid,
            "schemes": None,  # the base's schemes, all in one cell
            "years": base.year,
            "forecast_error": 1.0,
            "seeds": base.seed,
        }
        return [(defaults[axis], f"base.{study_key}")]
    if axis != "schemes":
        return [(v, f"matrix.{axis}[{k}]") for k, v in enumerate(values)]
    out: list[tuple[Any, str]] = []
    for k, v in enumerate(values):
        ids = [c.id for c in PRESETS] if v == "all" else [v]
        out += [(i, f"matrix.schemes[{k}]") for i in ids]
    return out


def _cell_id(sweep: SweepFile, params: Mapping[str, Any]) -> str:
    parts = []
    for axis in sweep.matrix.axes():
        label, _ = _AXES[axis]
        value = params[axis]
        parts.append(f"{label}={value:g}" if axis == "forecast_error" else f"{label}={value}")
    return _UNSAFE.sub("-", "_".join(parts)) if parts else "base"


def _cell_study(sweep: SweepFile, params: Mapping[str, Any]) -> dict[str, Any]:
    data = sweep.base.model_dump(exclude={"outputs"})
    level = float(params["forecast_error"])
    errors = dict(data["forecast_error"])
    for key in _SIGMA_KEYS:
        errors[key] = errors[key] * level
    data |= {
        "grid": params["grids"],
        "year": params["years"],
        "seed": params["seeds"],
        "forecast_error": errors,
        "outputs": {"formats": ["parquet"], "report": False},
    }
    if params["schemes"] is not None:
        data["schemes"] = [params["schemes"]]
    return data


def _renamed(
    issues: Sequence[Issue], keys: Mapping[str, str], level: float, source: str
) -> list[Issue]:
    """The issues of a cell's study named by the sweep key behind each study key (a σ out of
    range by the error level that scaled it)."""
    out = []
    for i in issues:
        head = re.split(r"[.\[]", i.field, maxsplit=1)[0]
        key = keys.get(head, "base.")
        key = f"base.{i.field}" if key.startswith("base.") else key  # the base's own key
        if head == "forecast_error" and key.startswith("matrix."):
            out.append(
                _issue(source, key, level, f"makes {i.field} {i.value!r}, which {i.message}")
            )
        else:
            out.append(_issue(source, key, i.value, i.message))
    return out


def _cells(sweep: SweepFile, source: str) -> tuple[list[SweepCell], list[Issue]]:
    axes = list(_AXES)
    columns = [_axis_values(sweep, axis) for axis in axes]
    base_schemes = "+".join(sweep.base.schemes)
    cells: list[SweepCell] = []
    issues: list[Issue] = []
    for index, combo in enumerate(itertools.product(*columns)):
        params = {axis: value for axis, (value, _) in zip(axes, combo, strict=True)}
        keys = {_AXES[axis][1]: key for axis, (_, key) in zip(axes, combo, strict=True)}
        try:
            study = StudyFile.model_validate(_cell_study(sweep, params))
        except ValidationError as err:
            level = float(params["forecast_error"])
            issues += _renamed(options_issues(err, source, StudyFile), keys, level, source)
            continue
        cells.append(
            SweepCell(
                index=index,
                id=_cell_id(sweep, params),
                grid=study.grid,
                preset=params["schemes"] or base_schemes,
                year=study.year,
                forecast_error_level=float(params["forecast_error"]),
                seed=study.seed,
                study=study,
                keys=keys,
            )
        )
    return cells, issues


def _repeated_presets(sweep: SweepFile, source: str) -> list[Issue]:
    """A preset named twice on ``matrix.schemes`` once ``"all"`` is expanded."""
    seen: set[str] = set()
    issues = []
    for value, key in _axis_values(sweep, "schemes") if sweep.matrix.schemes else []:
        if value in seen:
            issues.append(
                _issue(source, key, value, "repeats a preset of the axis (all is every preset)")
            )
        seen.add(value)
    return issues


def _study_issues(cell: SweepCell, source: str) -> list[Issue]:
    """:func:`~flexcoord.simulation.study.check_study` of a cell, named by the sweep's keys; a
    year is not judged on a grid code that does not exist."""
    try:
        check_study(cell.study, source)
    except InvalidInputError as exc:
        issues = _renamed(exc.issues, cell.keys, cell.forecast_error_level, source)
        if any(i.field == cell.keys["grid"] for i in issues):
            issues = [i for i in issues if i.field != cell.keys["year"]]
        return issues
    return []


def _key_order(issue: Issue) -> tuple[int, str]:
    """Issues in the order of the file: ``base`` keys, then the matrix axes in matrix order."""
    axis = re.split(r"[.\[]", issue.field.removeprefix("matrix."), maxsplit=1)[0]
    order = list(_AXES)
    return (
        order.index(axis) + 1 if issue.field.startswith("matrix.") and axis in order else 0,
        issue.field,
    )


def check_sweep(sweep: SweepFile, source: str = "sweep") -> tuple[SweepCell, ...]:
    """The sweep's cells in matrix order, every one checked as the simulator checks a study
    before it loads a grid (module docstring).

    Raises:
        InvalidInputError: every issue at once, each naming the sweep key behind it
            (``matrix.grids[1]``, ``matrix.schemes[0]``, ``base.days``).

    Example:
        >>> sweep = SweepFile.model_validate(
        ...     {"name": "s", "base": {"grid": "1-MV-rural--0-sw", "days": 1},
        ...      "matrix": {"schemes": ["smartnet-local", "no-such"], "seeds": [0, 1]}})
        >>> try:
        ...     check_sweep(sweep, "s.toml")
        ... except InvalidInputError as err:
        ...     print([(i.field, i.value) for i in err.issues])
        [('matrix.schemes[1]', 'no-such')]
        >>> ok = sweep.model_copy(update={"matrix": sweep.matrix.model_copy(
        ...     update={"schemes": ("smartnet-local",)})})
        >>> [c.id for c in check_sweep(ok)]
        ['scheme=smartnet-local_seed=0', 'scheme=smartnet-local_seed=1']
    """
    issues = sweep_issues(sweep, source)
    if not any(i.field.startswith("matrix.schemes") for i in issues):
        issues += _repeated_presets(sweep, source)
    cells, cell_issues = _cells(sweep, source)
    issues += cell_issues
    checked: set[tuple[str, int | None, str]] = set()
    for cell in cells:
        distinct = (cell.grid, cell.year, cell.preset)  # what check_study looks at, with base's
        if distinct not in checked:
            checked.add(distinct)
            issues += _study_issues(cell, source)
    if not issues and len({c.id for c in cells}) < len(cells):  # repeats come first
        issues.append(_issue(source, "matrix", sweep.n_cells(), "gives two cells the same id"))
    unique = sorted(
        {(i.field, repr(i.value), i.message): i for i in issues}.values(), key=_key_order
    )
    if unique:
        raise InvalidInputError(unique)
    return tuple(cells)


def run_cell(cell: SweepCell, source: str = "sweep") -> CellOutcome:
    """Run one cell's study (no report) in a temporary folder; an exception becomes the cell's
    error (its type and message), so one bad cell does not stop a sweep."""
    start = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix=f"flexcoord-cell-{cell.index}-"))
    try:
        result = run_study(
            cell.study, source=f"{source} cell {cell.id}", folder=folder, report=None
        )
        tables, error = dict(result.tables), None
    except Exception as exc:  # a failing cell is a value of the sweep
        tables, error = {}, f"{type(exc).__name__}: {exc}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return CellOutcome(
        cell_id=cell.id, tables=tables, error=error, wall_s=time.perf_counter() - start
    )


def _remote_cell(cell: SweepCell, source: str) -> CellOutcome:
    """:func:`run_cell` on a Dask worker: power-grid-model sequential unless the worker's
    environment says otherwise (a cluster of ours sets it at spawn; another's may not)."""
    os.environ.setdefault(PGM_THREADING_ENV, "-1")
    return run_cell(cell, source)


# --- the folder ----------------------------------------------------------------------------------


def _check_folder(folder: Path, sweep: SweepFile, source: str) -> None:
    check_results_folder(
        folder,
        manifest="sweep.json",
        sha_key="sweep_sha256",
        sha=sweep_sha256(sweep),
        what="sweep",
        source=source,
    )


def _write_json(path: Path, document: Mapping[str, Any]) -> None:
    """``document`` as ``path``, whole or not at all (a temporary file, then ``os.replace``)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _write_manifest(
    folder: Path, sweep: SweepFile, cells: Sequence[SweepCell], source: str
) -> None:
    """``sweep.json`` (the sweep as read, its SHA-256, its cells, provenance) and the sweep file
    itself beside it (when run from one)."""
    original = Path(source)
    from_file = original.is_file()
    grids = ",".join(dict.fromkeys(c.grid for c in cells))
    _write_json(
        folder / "sweep.json",
        {
            "sweep": sweep.name,
            "sweep_sha256": sweep_sha256(sweep),
            "sweep_file": json.loads(sweep.model_dump_json()),
            "cells": [c.id for c in cells],
            "provenance": provenance(
                grid_code=grids, input_path=original if from_file else None, command="sweep"
            ),
        },
    )
    if from_file:
        shutil.copyfile(original, folder / f"sweep{original.suffix.lower() or '.toml'}")


def _cell_folder(folder: Path, cell: SweepCell) -> Path:
    return folder / "cells" / cell.id


def _is_done(folder: Path, cell: SweepCell) -> bool:
    return (_cell_folder(folder, cell) / "cell.json").is_file()


def _record(folder: Path, cell: SweepCell, outcome: CellOutcome) -> CellRecord:
    """Write a done cell (its tables, then ``cell.json``); a failed one leaves no ``cell.json``,
    so a resumed sweep runs it again."""
    if outcome.error is not None:
        return CellRecord(cell=cell, status="failed", error=outcome.error, wall_s=outcome.wall_s)
    target = _cell_folder(folder, cell)
    write_tables(outcome.tables, target, formats=("parquet",))
    _write_json(
        target / "cell.json",
        cell.params()
        | {"status": "done", "tables": list(outcome.tables), "wall_s": outcome.wall_s},
    )
    return CellRecord(cell=cell, status="done", error=None, wall_s=outcome.wall_s)


def _gathered(folder: Path, records: Sequence[CellRecord]) -> dict[str, pd.DataFrame]:
    """Every table of the done cells, read back from their folders (so a resumed cell and a
    fresh one are read alike), in matrix order, with the cell's parameters leading."""
    out: dict[str, pd.DataFrame] = {}
    done = [r.cell for r in records if r.status != "failed"]
    for name in TABLES:
        parts = []
        for cell in done:
            frame = pd.read_parquet(_cell_folder(folder, cell) / f"{name}.parquet")
            if not len(frame):
                continue
            lead = pd.DataFrame(
                {c: [v] * len(frame) for c, v in cell.params().items()}, index=frame.index
            )
            parts.append(pd.concat([lead, frame], axis=1))
        table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=CELL_COLUMNS)
        out[name] = table.astype({"year": "Int64", "forecast_error_level": float, "seed": "int64"})
    return out


def _cells_table(records: Sequence[CellRecord]) -> pd.DataFrame:
    rows = [
        r.cell.params() | {"status": r.status, "error": r.error, "wall_s": r.wall_s}
        for r in records
    ]
    table = pd.DataFrame(rows, columns=[*CELL_COLUMNS, "status", "error", "wall_s"])
    return table.astype({"year": "Int64", "error": object})


# --- running ------------------------------------------------------------------------------------


def _on_dask(
    cells: Sequence[SweepCell],
    source: str,
    sha: str,
    client: Any,
    done: Callable[[SweepCell, CellOutcome | None], None],
) -> None:
    """Every cell as one task, in matrix order; each recorded as soon as it is back (a lost
    worker fails its cell, not the sweep)."""
    from dask.distributed import as_completed  # noqa: PLC0415 - optional

    prefix = f"flexcoord-cell-{sha[:12]}"  # another sweep's cell of the same id is not this one
    futures = {
        client.submit(_remote_cell, cell, source, pure=False, key=f"{prefix}-{cell.id}"): cell
        for cell in cells
    }
    for future in as_completed(futures):  # type: ignore[no-untyped-call]
        cell = futures.pop(future)
        try:
            outcome = future.result()
        except Exception as exc:  # a worker lost under a cell fails it
            outcome = CellOutcome(
                cell_id=cell.id, tables={}, error=f"{type(exc).__name__}: {exc}", wall_s=0.0
            )
        future.release()  # the cell's tables leave the worker's memory once written
        done(cell, outcome)


def run_sweep(  # noqa: PLR0913 - public: the sweep, then keyword-only run options
    sweep: SweepFile,
    *,
    source: str = "sweep",
    folder: Path | None = None,
    workers: int = 2,
    scheduler: str | None = None,
    serial: bool = False,
    progress: SweepProgress | None = None,
) -> SweepResult:
    """Run (or resume) ``sweep`` into ``folder`` (default ``outputs.folder``), module docstring.

    Args:
        sweep: the sweep (:func:`~flexcoord.schemas.sweep.load_sweep`).
        source: what issues name as their source (the sweep file's path).
        folder: the sweep folder.
        workers: processes of the local Dask cluster (one thread each).
        scheduler: the address of an existing Dask scheduler (``tcp://host:8786``) to run on
            instead of a local cluster.
        serial: run every cell in this process, one after the other (no Dask).
        progress: called as ``progress(record, finished, total)`` after each cell.

    Raises:
        InvalidInputError: the sweep's issues (:func:`check_sweep`), a folder holding another
            sweep, or a scheduler that cannot be reached; raised before any cell runs.
    """
    start = time.perf_counter()
    cells = check_sweep(sweep, source)
    folder = Path(folder if folder is not None else sweep.outputs.folder)
    _check_folder(folder, sweep, source)
    records: dict[str, CellRecord] = {}
    resumed = {c.id for c in cells if _is_done(folder, c)}
    todo = [c for c in cells if c.id not in resumed]

    def done(cell: SweepCell, outcome: CellOutcome | None) -> None:
        records[cell.id] = (
            _record(folder, cell, outcome)
            if outcome is not None
            else CellRecord(cell=cell, status="skipped", error=None, wall_s=0.0)
        )
        if progress is not None:
            progress(records[cell.id], len(records), len(cells))

    parallel = not serial and bool(todo)
    pool = dask_client(min(workers, len(todo)), scheduler) if parallel else contextlib.nullcontext()
    with pool as client:
        folder.mkdir(parents=True, exist_ok=True)
        _write_manifest(folder, sweep, cells, source)
        for cell in cells:
            if cell.id in resumed:
                done(cell, None)
        if client is None:
            for cell in todo:
                done(cell, run_cell(cell, source))
        else:
            _on_dask(todo, source, sweep_sha256(sweep), client, done)
    ordered = [records[c.id] for c in cells]
    tables = _gathered(folder, ordered)
    write_tables({**tables, "cells": _cells_table(ordered)}, folder, formats=sweep.outputs.formats)
    return SweepResult(
        folder=folder, tables=tables, cells=tuple(ordered), wall_s=time.perf_counter() - start
    )
