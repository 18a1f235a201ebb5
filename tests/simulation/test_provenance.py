"""The provenance block of result documents."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import pytest

from flexcoord.errors import InvalidInputError
from flexcoord.provenance import SCHEMA_VERSION, input_sha256, provenance

EXAMPLE = Path(__file__).parents[2] / "examples" / "market"


def test_fields_of_a_seeded_run() -> None:
    p = provenance(grid_code="1-MV-rural--0-sw", input_path=None, command="flexcoord coordinate")
    assert list(p) == [
        "schema_version",
        "flexcoord_version",
        "command",
        "grid",
        "input_file",
        "input_sha256",
        "created_at",
    ]
    assert p["schema_version"] == SCHEMA_VERSION == "1"
    assert p["flexcoord_version"] == version("flexcoord")
    assert p["input_file"] is None and p["input_sha256"] is None
    created = datetime.fromisoformat(p["created_at"])
    assert created.utcoffset() == UTC.utcoffset(None)
    assert abs((datetime.now(UTC) - created).total_seconds()) < 60


def test_a_json_file_hashes_its_bytes() -> None:
    path = EXAMPLE / "market.json"
    p = provenance(grid_code="g", input_path=path, command="c")
    assert p["input_file"] == str(path)
    assert p["input_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_csv_folder_hashes_its_csv_files_by_name(tmp_path: Path) -> None:
    (tmp_path / "needs.csv").write_text("id\nn1\n")
    (tmp_path / "bids.csv").write_text("id\nb1\n")
    (tmp_path / "notes.txt").write_text("not read by the loader")
    lines = "".join(
        f"{name}\n{hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()}\n"
        for name in ("bids.csv", "needs.csv")
    )
    expected = hashlib.sha256(lines.encode()).hexdigest()
    assert input_sha256(tmp_path) == expected
    assert input_sha256(tmp_path / "needs.csv") == expected  # one CSV names its folder
    (tmp_path / "notes.txt").write_text("changed")
    assert input_sha256(tmp_path) == expected
    (tmp_path / "bids.csv").write_text("id\nb2\n")
    assert input_sha256(tmp_path) != expected


def test_a_missing_input_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="does not exist"):
        provenance(grid_code="g", input_path=tmp_path / "nope.json", command="c")
