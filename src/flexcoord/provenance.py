"""Where a result document comes from: schema version, flexcoord version, grid, input hash, time.

Every result document (a clearing, a scheme comparison, a timeframe chain) carries
``"provenance": provenance(...)`` at its top level, so a file found later says which input, grid
and code made it. ``docs/results.md`` describes the fields; :data:`SCHEMA_VERSION` is the version
of the result documents' and tables' layout, raised when a field changes meaning or goes away
(adding a field keeps it).

The input hash: a file's SHA-256; for a folder of CSV files (a market file in CSV form, also when
given as one of its ``.csv`` files) the SHA-256 of one line ``<name>\\n<sha256 of its bytes>\\n``
per ``*.csv`` file of the folder, sorted by name. The same in a shell::

    for f in $(ls *.csv | LC_ALL=C sort); do echo "$f"; sha256sum < "$f" | cut -d' ' -f1; done \\
        | sha256sum
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from flexcoord.errors import InvalidInputError, Issue

__all__ = ["SCHEMA_VERSION", "input_sha256", "provenance"]

SCHEMA_VERSION = "1"
_CHUNK_BYTES = 1 << 20


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def input_sha256(path: Path) -> str:
    """The SHA-256 (hex) of an input file, or of a CSV folder (see the module docstring).

    Raises:
        InvalidInputError: ``path`` does not exist.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     folder = Path(tmp)
        ...     _ = (folder / "bids.csv").write_text("id\\nb1\\n")
        ...     input_sha256(folder) == input_sha256(folder / "bids.csv")
        True
    """
    if not path.exists():
        raise InvalidInputError(
            [
                Issue(
                    kind="Input",
                    object_id=str(path),
                    field="path",
                    value=str(path),
                    message="does not exist",
                )
            ]
        )
    if path.is_file() and path.suffix.lower() != ".csv":
        return _file_sha256(path)
    folder = path if path.is_dir() else path.parent
    files = sorted(
        (
            f
            for f in folder.iterdir()
            if f.is_file() and (f.suffix.lower() == ".csv" or f.name == "market.toml")
        ),
        key=lambda f: f.name,
    )
    digest = hashlib.sha256()
    for f in files:
        digest.update(f"{f.name}\n{_file_sha256(f)}\n".encode())
    return digest.hexdigest()


def _flexcoord_version() -> str:
    try:
        return version("flexcoord")
    except PackageNotFoundError:  # running from a source tree that is not installed
        from flexcoord import __version__  # noqa: PLC0415  (flexcoord/__init__ imports this module)

        return __version__


def provenance(*, grid_code: str, input_path: Path | None, command: str) -> dict[str, Any]:
    """The provenance block of a result document (JSON-ready).

    Args:
        grid_code: the grid's SimBench code or pandapower name.
        input_path: the market file (JSON file, CSV folder or one of its CSV files), or ``None``
            for a seeded scenario built by flexcoord.
        command: what made the document, e.g. ``"flexcoord coordinate --all --grid ..."``.

    Returns:
        ``schema_version``, ``flexcoord_version``, ``command``, ``grid``, ``input_file`` (the
        path as given, or ``None``), ``input_sha256`` (or ``None``), ``created_at`` (UTC, ISO
        8601, seconds).

    Example:
        >>> p = provenance(grid_code="1-MV-rural--0-sw", input_path=None, command="test")
        >>> p["schema_version"], p["grid"], p["input_sha256"]
        ('1', '1-MV-rural--0-sw', None)
    """
    return {
        "schema_version": SCHEMA_VERSION,
        "flexcoord_version": _flexcoord_version(),
        "command": command,
        "grid": grid_code,
        "input_file": None if input_path is None else str(input_path),
        "input_sha256": None if input_path is None else input_sha256(input_path),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
