"""Running a study: every day under every scheme, resumable, with tidy tables and a report.

Layout of the output folder (``outputs.folder`` or the caller's)::

    manifest.json          study name, its SHA-256, flexcoord version, grid, year, seed, schemes,
                           days
    study.json             the study as read (every key, defaults filled in)
    study.toml             the study file itself (when run from one)
    days/<date>/<t>.parquet  each completed day's tables (written whole, then renamed in place)
    tables/<t>.parquet|csv the study's tables: every day concatenated, rows tagged study/scheme/day
    report.html            the HTML report (``outputs.report``)

**Resume.** A day's folder appears only once all its schemes ran (it is written under a
temporary name and renamed), so an interrupted run (Ctrl-C, kill) leaves every completed day
intact; the next run of the same study into the same folder skips them. A folder holding another
study (another SHA-256 of the study's keys) is refused rather than mixed.

**Scale-out.** ``workers > 1`` runs the days on a Dask ``distributed`` local cluster of that many
worker processes (one thread each: HiGHS and power-grid-model are single-threaded here), one task
per day and scheme; each worker plans the study once and builds each day's markets once, the
driver writes each day as soon as all its schemes are back. A
day's figures do not depend on where it ran: its draws are seeded by the day.

**Reproducible.** Every draw is seeded from the study's seed, the day and the scheme; the tables
hold no wall times, so a re-run gives bit-identical tables.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pandas as pd

from flexcoord.grid.pgm import PGM_THREADING_ENV
from flexcoord.provenance import provenance
from flexcoord.schemas.study import StudyFile
from flexcoord.simulation.day_run import NO_FLEXIBILITY, DayOutcome, run_day, run_no_flexibility
from flexcoord.simulation.study import DayMarket, StudyPlan, day_market, plan_study
from flexcoord.simulation.tables import check_results_folder, write_tables

__all__ = [
    "TABLES",
    "WORKER_ENVIRON",
    "WORKER_MALLOC",
    "StudyResult",
    "run_study",
    "study_sha256",
    "write_report",
]

#: The tables of a study, in the order they are written.
TABLES = ("kpis", "awards", "activations", "deliveries", "settlement", "violations")

#: ``(day index, n days, scheme id)`` before each scheme of each day, and ``(i, n, "")`` once a
#: day is done (or was found complete).
StudyProgress = Callable[[int, int, str], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class StudyResult:
    """A finished study: its folder, its tables, and the days this run computed."""

    folder: Path
    tables: Mapping[str, pd.DataFrame]
    days_run: int
    days_resumed: int
    wall_s: float
    report: Path | None


def study_sha256(study: StudyFile) -> str:
    """The SHA-256 of the study's keys (defaults filled in; an unset ``year`` left out, so a
    study without it hashes as before the key existed): what a resumed run must match."""
    return hashlib.sha256(study.model_dump_json(exclude_none=True).encode()).hexdigest()


def _manifest(study: StudyFile, plan: StudyPlan, source: str) -> dict[str, object]:
    return {
        "study": study.name,
        "study_sha256": study_sha256(study),
        "grid": plan.grid.code,
        "year": study.year,
        "seed": study.seed,
        "schemes": [c.id for c in plan.presets],
        "days": [d.isoformat() for d in plan.days],
        "provenance": provenance(grid_code=plan.grid.code, input_path=None, command="simulate")
        | {"source": source},
    }


def _check_folder(folder: Path, study: StudyFile) -> None:
    check_results_folder(
        folder,
        manifest="manifest.json",
        sha_key="study_sha256",
        sha=study_sha256(study),
        what="study",
    )


def _day_tables(outcomes: list[DayOutcome], study: str) -> dict[str, pd.DataFrame]:
    tables: dict[str, pd.DataFrame] = {}
    for name in TABLES:
        if name == "kpis":
            frame = pd.DataFrame([o.kpis for o in outcomes])
        else:
            parts = [getattr(o, name) for o in outcomes if len(getattr(o, name))]
            frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        frame.insert(0, "study", study)
        tables[name] = frame
    return tables


def _write_day(folder: Path, day: str, tables: Mapping[str, pd.DataFrame]) -> None:
    days = folder / "days"
    days.mkdir(parents=True, exist_ok=True)
    staging = days / f".{day}.{uuid.uuid4().hex}.tmp"
    try:
        write_tables(tables, staging, formats=("parquet",))
        os.replace(staging, days / day)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _read_day(folder: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(folder / f"{name}.parquet") for name in TABLES}


def write_report(plan: StudyPlan, tables: Mapping[str, pd.DataFrame], path: Path) -> Path:
    """The study's HTML report (:mod:`~flexcoord.simulation.html_report`): its activation
    awards, settlement, realised violations and KPIs, on the study grid. An empty table (no
    award, no violation) is passed with the report's columns
    (:data:`~flexcoord.simulation.html_report.REPORT_COLUMNS`)."""
    from flexcoord.simulation.html_report import (  # noqa: PLC0415 - plotly only for the report
        REPORT_COLUMNS,
        write_study_report,
    )

    def frame(name: str) -> pd.DataFrame:
        table = tables.get(name, pd.DataFrame())
        return table if len(table) else pd.DataFrame(columns=list(REPORT_COLUMNS[name]))

    awards = frame("awards")
    if "kind" in awards:
        awards = awards[awards["kind"] == "activation"]
    # the settlement's MTU labels are text (a residue line has none): the report sums by party
    settlement = frame("settlement")[list(REPORT_COLUMNS["settlement"])]
    report_tables = {name: frame(name) for name in REPORT_COLUMNS}
    report_tables |= {"awards": awards, "settlement": settlement}
    study = plan.study
    meta = {
        "grid": plan.grid.code,
        **({} if study.year is None else {"year": str(study.year)}),
        "days": f"{plan.days[0].isoformat()} + {len(plan.days)} day(s)",
        "schemes": str(len(plan.presets)),
        "seed": str(study.seed),
        "forecast error (PV σ)": f"{study.forecast_error.pv:.0%}",
    }
    return write_study_report(
        path,
        report_tables,
        net=plan.grid.net,
        title=f"flexcoord study {study.name}",
        meta=meta,
    )


_WORKER_PLANS: dict[str, StudyPlan] = {}  # per worker process: the plan of the study it runs
_WORKER_MARKETS: dict[tuple[str, int], DayMarket] = {}  # and the markets of its recent days
_MARKETS_KEPT = 2
#: glibc malloc of the Dask workers: Dask's default trims the heap above 64 KiB, so every large
#: temporary array is returned to the system and faulted in again. A market day allocates and
#: frees such arrays by the thousand: the default cost 15 % of a scheme-day's wall time (system
#: time of page faults); these settings keep up to 512 MiB of freed heap and serve arrays below
#: 256 MiB from it.
WORKER_MALLOC: Final = {
    "MALLOC_TRIM_THRESHOLD_": 512 * 2**20,
    "MALLOC_MMAP_THRESHOLD_": 256 * 2**20,
    "MALLOC_TOP_PAD_": 256 * 2**20,
}
#: The environment of a Dask worker process of flexcoord's local clusters: :data:`WORKER_MALLOC`,
#: and power-grid-model sequential (one task per worker, one worker per core).
WORKER_ENVIRON: Final = {**WORKER_MALLOC, PGM_THREADING_ENV: -1}


def _remote_scheme(study_json: str, source: str, index: int, scheme_id: str) -> DayOutcome:
    """One scheme on one day of a study, on a Dask worker: the plan is made once per worker,
    each day's markets once per worker (the tasks come in day order, so two are kept)."""
    plan = _WORKER_PLANS.get(study_json)
    if plan is None:
        _WORKER_PLANS.clear()
        _WORKER_MARKETS.clear()
        plan = plan_study(StudyFile.model_validate_json(study_json), source=source)
        _WORKER_PLANS[study_json] = plan
    market = _WORKER_MARKETS.get((study_json, index))
    if market is None:
        while len(_WORKER_MARKETS) >= _MARKETS_KEPT:
            _WORKER_MARKETS.pop(next(iter(_WORKER_MARKETS)))
        market = day_market(plan, index)
        _WORKER_MARKETS[(study_json, index)] = market
    if scheme_id == NO_FLEXIBILITY:
        return run_no_flexibility(plan, market)
    config = next(c for c in plan.presets if c.id == scheme_id)
    return run_day(plan, market, config)


def _run_one_day(
    plan: StudyPlan, index: int, progress: StudyProgress | None
) -> dict[str, pd.DataFrame]:
    market = day_market(plan, index)
    outcomes = []
    for config in plan.presets:
        if progress is not None:
            progress(index, len(plan.days), config.id)
        outcomes.append(run_day(plan, market, config))
    outcomes.append(run_no_flexibility(plan, market))
    return _day_tables(outcomes, plan.study.name)


def _placement(todo: list[int], ids: list[str], workers: int) -> list[tuple[int, str, int]]:
    """(day, scheme, preferred worker) of every task: whole days dealt out in turn, so each
    worker builds the markets of its own days only, and the last round of days (fewer than the
    workers) split scheme by scheme so no worker idles at the end. Idle workers may still take
    another's task (Dask's work stealing)."""
    full = len(todo) - len(todo) % workers
    out = [(i, s, k % workers) for k, i in enumerate(todo[:full]) for s in ids]
    tail = [(i, s) for i in todo[full:] for s in ids]
    return out + [(i, s, k % workers) for k, (i, s) in enumerate(tail)]


def _parallel_days(
    plan: StudyPlan,
    todo: list[int],
    workers: int,
    folder: Path,
    progress: StudyProgress | None,
) -> dict[int, dict[str, pd.DataFrame]]:
    """The days of ``todo`` on a Dask local cluster, one task per day and scheme (whole days
    would leave a worker idle at the end of an odd number of days); a day is written as soon as
    all its schemes are back."""
    import dask  # noqa: PLC0415 - optional
    from dask.distributed import Client, LocalCluster, as_completed  # noqa: PLC0415 - optional

    study_json = plan.study.model_dump_json()
    ids = [c.id for c in plan.presets] + [NO_FLEXIBILITY]
    out: dict[int, dict[str, pd.DataFrame]] = {}
    back: dict[int, dict[str, DayOutcome]] = {i: {} for i in todo}
    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ")) | WORKER_ENVIRON
    with (
        dask.config.set({"distributed.nanny.pre-spawn-environ": environ}),
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,  # type: ignore[no-untyped-call]
    ):
        hosts = sorted(client.scheduler_info()["workers"])
        futures = {
            client.submit(
                _remote_scheme,
                study_json,
                plan.source,
                i,
                s,
                pure=False,
                workers=[hosts[home]],
                allow_other_workers=True,
            ): (i, s)
            for i, s, home in _placement(todo, ids, len(hosts))
        }
        for future in as_completed(futures):  # type: ignore[no-untyped-call]
            index, scheme = futures[future]
            back[index][scheme] = future.result()
            if progress is not None and scheme != NO_FLEXIBILITY:  # the bar counts schemes
                progress(index, len(plan.days), scheme)
            if len(back[index]) == len(ids):
                tables = _day_tables([back[index][s] for s in ids], plan.study.name)
                _write_day(folder, plan.days[index].isoformat(), tables)
                out[index] = tables
                del back[index]
                if progress is not None:
                    progress(index, len(plan.days), "")
    return out


def run_study(  # noqa: PLR0913 - public: the study, then keyword-only run options
    study: StudyFile,
    *,
    source: str = "study",
    folder: Path | None = None,
    progress: StudyProgress | None = None,
    report: Callable[[StudyPlan, Mapping[str, pd.DataFrame], Path], Path] | None = write_report,
    workers: int = 1,
) -> StudyResult:
    """Run (or resume) ``study`` into ``folder`` (default ``outputs.folder``), see the module
    docstring.

    Raises:
        InvalidInputError: the study's issues (before any grid loads), or a folder holding
            another study.
    """
    start = time.perf_counter()
    folder = Path(folder if folder is not None else study.outputs.folder)
    _check_folder(folder, study)
    plan = plan_study(study, source=source)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in (folder / "days").glob(".*.tmp"):  # a day being written when a run was killed
        shutil.rmtree(stale, ignore_errors=True)
    (folder / "manifest.json").write_text(
        json.dumps(_manifest(study, plan, source), indent=2, sort_keys=True) + "\n", "utf-8"
    )
    (folder / "study.json").write_text(study.model_dump_json(indent=2) + "\n", "utf-8")
    original = Path(source)
    if original.is_file():  # the study file as the user wrote it, beside its results
        shutil.copyfile(original, folder / f"study{original.suffix.lower() or '.toml'}")
    per_day: dict[int, dict[str, pd.DataFrame]] = {}
    todo: list[int] = []
    for index, day in enumerate(plan.days):
        done = folder / "days" / day.isoformat()
        if done.is_dir():
            per_day[index] = _read_day(done)
            if progress is not None:
                progress(index, len(plan.days), "")
        else:
            todo.append(index)
    resumed = len(per_day)
    if workers > 1 and len(todo) > 1:
        per_day |= _parallel_days(plan, todo, min(workers, len(todo)), folder, progress)
    else:
        for index in todo:
            tables = _run_one_day(plan, index, progress)
            _write_day(folder, plan.days[index].isoformat(), tables)
            per_day[index] = tables
            if progress is not None:
                progress(index, len(plan.days), "")
    days = [per_day[i] for i in range(len(plan.days))]
    tables = {
        name: pd.concat([d[name] for d in days if len(d[name])], ignore_index=True)
        if any(len(d[name]) for d in days)
        else pd.DataFrame()
        for name in TABLES
    }
    write_tables(tables, folder / "tables", formats=study.outputs.formats)
    page = report(plan, tables, folder / "report.html") if report and study.outputs.report else None
    return StudyResult(
        folder=folder,
        tables=tables,
        days_run=len(todo),
        days_resumed=resumed,
        wall_s=time.perf_counter() - start,
        report=page,
    )
