"""The sweep file: a study and a matrix of the keys to vary (``docs/sweeps.md``).

A sweep runs one study per cell of a matrix of grids × presets × growth years × forecast-error
levels × seeds (:mod:`flexcoord.simulation.sweep`). The file holds the ``[base]`` study (every
key of a study file but ``outputs``), the ``[matrix]`` axes and the sweep's ``[outputs]``.
:func:`load_sweep` reads it and checks every key *before anything runs*, as a study file is
read (:func:`~flexcoord.schemas.options_file.load_options_file`): unknown keys, empty axes and
repeated values are refused, each issue naming its key as the user wrote it
(``matrix.grids[1]``). Whether the grids, presets and years exist is checked per cell by
:func:`flexcoord.simulation.sweep.check_sweep`, before any grid loads.

Example:
    >>> sweep = SweepFile.model_validate(
    ...     {"name": "s", "base": {"grid": "1-MV-rural--0-sw", "days": 1},
    ...      "matrix": {"schemes": ["smartnet-local", "onenet-common"], "seeds": [0, 1]}}
    ... )
    >>> sweep.base.name, sweep.matrix.axes()
    ('s', ('schemes', 'seeds'))
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from flexcoord.errors import NO_VALUE, InvalidInputError, Issue
from flexcoord.schemas.options_file import load_options_file
from flexcoord.schemas.study import StudyFile

__all__ = ["MAX_SWEEP_CELLS", "MatrixSection", "SweepFile", "SweepOutputs", "load_sweep"]

#: The most cells a sweep may hold (the product of its axes).
MAX_SWEEP_CELLS: Final = 10_000
_MAX_SWEEP_BYTES: Final = 1 << 20
_MAX_AXIS: Final = 1_000


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class MatrixSection(_Section):
    """The axes of a sweep, in the order cells are enumerated (the last varies fastest). An axis
    left out keeps the base study's value. ``schemes`` holds preset ids (``"all"`` for every
    preset), one preset per cell; ``years`` sets the study's ``year``; ``forecast_error`` holds
    multipliers of every σ of the base's ``forecast_error`` (not its autocorrelation)."""

    grids: tuple[str, ...] | None = Field(default=None, min_length=1, max_length=_MAX_AXIS)
    schemes: tuple[str, ...] | None = Field(default=None, min_length=1, max_length=_MAX_AXIS)
    years: tuple[int, ...] | None = Field(default=None, min_length=1, max_length=_MAX_AXIS)
    forecast_error: tuple[float, ...] | None = Field(
        default=None, min_length=1, max_length=_MAX_AXIS
    )
    seeds: tuple[int, ...] | None = Field(default=None, min_length=1, max_length=_MAX_AXIS)

    @field_validator("forecast_error")
    @classmethod
    def _multipliers(cls, value: tuple[float, ...] | None) -> tuple[float, ...] | None:
        if value is not None and any(v < 0 for v in value):
            raise ValueError("multipliers must be >= 0")
        return value

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, value: tuple[int, ...] | None) -> tuple[int, ...] | None:
        if value is not None and any(not 0 <= v <= 2**32 - 1 for v in value):
            raise ValueError("seeds must be integers from 0 to 4294967295")
        return value

    def axes(self) -> tuple[str, ...]:
        """The axes given, in matrix order."""
        return tuple(name for name in type(self).model_fields if getattr(self, name) is not None)


class SweepOutputs(_Section):
    """Where a sweep's results go: ``folder`` holds ``sweep.json``, ``cells/<cell>/`` and the
    gathered tables (``<table>.parquet``, and ``.csv`` if asked)."""

    folder: str = "flexcoord-sweep"
    formats: tuple[Literal["parquet", "csv"], ...] = ("parquet",)

    @field_validator("folder")
    @classmethod
    def _folder(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name a folder")
        return value

    @field_validator("formats")
    @classmethod
    def _formats(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("must name at least one format")
        return value


class SweepFile(_Section):
    """A sweep (module docstring). ``base.name`` defaults to the sweep's name and ``base.grid``
    to the first of ``matrix.grids``."""

    name: str = Field(min_length=1, max_length=120)
    base: StudyFile
    matrix: MatrixSection = MatrixSection()
    outputs: SweepOutputs = SweepOutputs()

    @model_validator(mode="before")
    @classmethod
    def _base_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("base"), dict):
            return data
        base = dict(data["base"])
        if isinstance(data.get("name"), str):
            base.setdefault("name", data["name"])
        matrix = data.get("matrix")
        grids = matrix.get("grids") if isinstance(matrix, dict) else None
        if isinstance(grids, list | tuple) and grids and isinstance(grids[0], str):
            base.setdefault("grid", grids[0])
        return {**data, "base": base}

    def n_cells(self) -> int:
        """The number of cells: the product of the axes' lengths."""
        n = 1
        for axis in self.matrix.axes():
            n *= len(getattr(self.matrix, axis))
        return n


def _issue(source: str, field: str, value: object, message: str) -> Issue:
    return Issue(kind="", object_id="", field=field, value=value, message=message, source=source)


def sweep_issues(sweep: SweepFile, source: str) -> list[Issue]:
    """What a valid-looking sweep still gets wrong, seen without any grid or preset: a value
    repeated on an axis, a ``base.outputs`` (a sweep has its own), too many cells.

    Example:
        >>> s = SweepFile.model_validate(
        ...     {"name": "s", "base": {"grid": "g"}, "matrix": {"seeds": [1, 2, 1]}})
        >>> [(i.field, i.value) for i in sweep_issues(s, "f")]
        [('matrix.seeds[2]', 1)]
    """
    issues = []
    for axis in sweep.matrix.axes():
        seen: set[object] = set()
        for k, value in enumerate(getattr(sweep.matrix, axis)):
            if value in seen:
                issues.append(
                    _issue(source, f"matrix.{axis}[{k}]", value, "repeats a value of the axis")
                )
            seen.add(value)
    if "outputs" in sweep.base.model_fields_set:
        issues.append(
            _issue(
                source,
                "base.outputs",
                NO_VALUE,
                "is not used by a sweep (each cell writes into the sweep's folder); use the "
                "sweep's [outputs] table",
            )
        )
    if sweep.n_cells() > MAX_SWEEP_CELLS:
        issues.append(
            _issue(
                source,
                "matrix",
                sweep.n_cells(),
                f"holds more than {MAX_SWEEP_CELLS} cells; split the sweep",
            )
        )
    return issues


def load_sweep(path: str | Path) -> SweepFile:
    """Read and check a sweep file (``.toml``, or ``.yaml``/``.yml`` with PyYAML installed).

    Raises:
        InvalidInputError: the file is missing, unreadable, not TOML/YAML, any key is unknown,
            of the wrong type or out of range, an axis is empty or repeats a value (all issues
            at once, each naming the key). Grids, presets and years are checked per cell by
            :func:`flexcoord.simulation.sweep.check_sweep`.
    """
    sweep = load_options_file(
        Path(path),
        SweepFile,
        max_bytes=_MAX_SWEEP_BYTES,
        keys_hint="name, base, matrix, outputs",
        file="sweep file",
    )
    issues = sweep_issues(sweep, str(path))
    if issues:
        raise InvalidInputError(issues)
    return sweep
