"""Hostile market files and option sets through the real CLI: never a traceback.

Hypothesis generates broken inputs from the example market (random bytes, truncations, other
encodings, deep nesting, huge strings, wrong types at every field, every field removed in turn,
CSV folders in random dialects) and random option sets, and drives ``flexcoord clear`` and
``flexcoord coordinate`` in-process through Typer's runner (the same app object the console
script runs). Every run must end with exit code 0, or 2 and a message naming the file or the
option; an internal error (exit 1) or a traceback fails the test.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from flexcoord.cli.app import app
from tests.documents import get, paths

EXAMPLE = Path(__file__).parents[2] / "examples" / "market" / "market.json"
GRID = "1-MV-rural--0-sw"
DOC: dict[str, Any] = json.loads(EXAMPLE.read_text())
RAW = EXAMPLE.read_bytes()
runner = CliRunner()

pytestmark = pytest.mark.slow  # the inputs that parse clear on SimBench 1-MV-rural

SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)


def _edit(doc: Any, path: tuple[Any, ...], value: Any, *, remove: bool = False) -> Any:
    doc = json.loads(json.dumps(doc))
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if remove:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return doc


PATHS = paths(DOC)
#: Paths to objects (dicts): where an unknown key can be added.
OBJECT_PATHS = [(), *(p for p in PATHS if isinstance(get(DOC, p), dict))]


WRONG_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.just("2026-06-01T12:00:00"),  # a naive time
    st.just("not a time"),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


@st.composite
def hostile_json(draw: st.DrawFn) -> bytes:
    """Bytes of a broken (or, by chance, valid) JSON market file."""
    kind = draw(
        st.sampled_from(
            ["bytes", "truncated", "encoding", "deep", "huge", "wrong", "removed", "unknown"]
        )
    )
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "truncated":
        return RAW[: draw(st.integers(min_value=0, max_value=len(RAW) - 1))]
    if kind == "encoding":
        text = RAW.decode().replace("dso-congestion", "dso-congestión")
        return text.encode(draw(st.sampled_from(["utf-16", "utf-32", "latin-1", "cp1252"])))
    if kind == "deep":
        depth = draw(st.integers(min_value=500, max_value=200_000))
        opener = draw(st.sampled_from(["[", '{"a":']))
        closer = "]" if opener == "[" else "}"
        return (opener * depth + "1" + closer * depth).encode()
    if kind == "huge":
        size = draw(st.integers(min_value=10_000, max_value=2_000_000))
        where = draw(st.sampled_from(["unknown", "id", "bid_id"]))
        doc = json.loads(RAW)
        if where == "unknown":
            doc["x" * 1000] = "y" * size
        elif where == "id":
            doc["bids"][0]["id"] = "b" * size
        else:
            doc["bids"][0]["resource_id"] = "r" * size
        return json.dumps(doc).encode()
    if kind == "unknown":
        where = draw(st.sampled_from(OBJECT_PATHS))
        doc = _edit(DOC, (*where, draw(st.text(min_size=1, max_size=20))), 1)
        return json.dumps(doc).encode()
    path = draw(st.sampled_from(PATHS))
    if kind == "wrong":
        return json.dumps(_edit(DOC, path, draw(WRONG_VALUES))).encode()
    return json.dumps(_edit(DOC, path, None, remove=True)).encode()


def _csv_folder(doc: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The example as CSV rows (one per object × MTU), as documented in docs/market-file.md."""
    out: dict[str, list[dict[str, Any]]] = {"products.csv": list(doc["products"])}
    for section in ("needs", "bids"):
        rows = []
        for obj in doc[section]:
            base = {k: v for k, v in obj.items() if k not in ("quantities", "location")}
            if "location" in obj:
                loc = obj["location"]
                base["location_kind"] = loc["kind"]
                base["location"] = (
                    loc.get("area_id")
                    or loc.get("coupling_point_id")
                    or ";".join(str(b) for b in loc.get("bus_ids", []))
                )
            for q in obj["quantities"]:
                rows.append({**base, **q})
        out[f"{section}.csv"] = rows
    return out


@st.composite
def hostile_csv_folder(draw: st.DrawFn) -> dict[str, bytes]:
    """Files of a CSV market folder in a random dialect, possibly damaged."""
    tables = _csv_folder(DOC)
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]))
    bom = draw(st.booleans())
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "latin-1", "utf-16"]))
    files: dict[str, bytes] = {}
    for name, rows in tables.items():
        keys = sorted({k for r in rows for k in r}, key=lambda k: (k != "id", k))
        buf = io.StringIO()
        writer = csv.DictWriter(
            buf, fieldnames=keys, delimiter=delimiter, lineterminator=newline, quoting=quoting
        )
        writer.writeheader()
        writer.writerows(rows)
        text = buf.getvalue()
        if name == "needs.csv" and draw(st.booleans()):
            text = text.replace("MV1.101", draw(st.sampled_from(["x;y", "12;abc", "", "3.5"])))
        data = (("\ufeff" if bom else "") + text).encode(encoding, errors="replace")
        if draw(st.integers(0, 4)) == 0:
            data = data[: draw(st.integers(0, len(data)))]
        files[name] = data
    return files


def _check(res: Any, *, names: tuple[str, ...]) -> None:
    """Exit 0, or exit 2 with one of ``names`` (the file, the option) in the message."""
    output = res.output
    assert "Traceback" not in output
    assert res.exit_code in (0, 2), f"exit {res.exit_code}: {output[-2000:]}"
    if res.exit_code == 2:
        assert "error" in res.stderr.lower(), res.stderr[-2000:]
        assert any(n in res.stderr for n in names), (names, res.stderr[-2000:])
        longest = max((len(line) for line in res.stderr.splitlines()), default=0)
        assert longest < 1000, f"an error line of {longest} characters"


@SETTINGS
@given(data=hostile_json())
def test_hostile_json_market_files_never_crash_the_cli(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "market.json"
    path.write_bytes(data)
    res = runner.invoke(app, ["clear", str(path), "--grid", GRID, "--no-ac-check"])
    _check(res, names=(str(path), "market.json"))


@SETTINGS
@given(files=hostile_csv_folder())
def test_hostile_csv_folders_never_crash_the_cli(
    tmp_path_factory: pytest.TempPathFactory, files: dict[str, bytes]
) -> None:
    folder = tmp_path_factory.mktemp("csv")
    for name, data in files.items():
        (folder / name).write_bytes(data)
    res = runner.invoke(app, ["clear", str(folder), "--grid", GRID, "--no-ac-check"])
    _check(res, names=(str(folder), ".csv"))


OPTION_VALUES = st.one_of(
    st.integers(min_value=-(10**6), max_value=10**6).map(str),
    st.sampled_from(["0", "-1", "96", "97", "4294967296", "nan", "inf", "1e3", "", "abc"]),
    st.sampled_from([GRID, "1-mv-rural--0-SW", "cigre-mv", "onenet-common", "all", "-", "csv"]),
    st.text(max_size=12),
)
COORDINATE_OPTIONS = ["--mtus", "--seed", "--bids", "--preset", "--grid", "--json", "--format"]
FLAGS = ["--all", "--list-presets", "--timeframes", "--no-ac-check"]


@SETTINGS
@given(
    options=st.lists(st.tuples(st.sampled_from(COORDINATE_OPTIONS), OPTION_VALUES), max_size=4),
    flags=st.lists(st.sampled_from(FLAGS), max_size=2, unique=True),
    market_file=st.booleans(),
)
def test_random_option_sets_never_crash_the_cli(
    options: list[tuple[str, str]], flags: list[str], market_file: bool
) -> None:
    args = ["coordinate", *([str(EXAMPLE)] if market_file else [])]
    for name, value in options:
        args += [name, value]
    args += flags
    given_names = {n for n, _ in options}
    if not market_file:  # keep the runs that pass the checks short
        args += [] if "--mtus" in given_names else ["--mtus", "1"]
        args += [] if "--bids" in given_names else ["--bids", "30"]
    res = runner.invoke(app, args, env={"COLUMNS": "80"})
    assert "Traceback" not in res.output
    # exit 2 from the option parser names the option; from flexcoord, the option or the file
    assert res.exit_code in (0, 2), f"{args}: exit {res.exit_code}: {res.output[-2000:]}"
    if res.exit_code == 2:
        named = (
            [n for n, _ in options] + flags + ["MARKET_FILE", "market.json", "--preset", "--grid"]
        )
        assert any(n in res.output for n in named), (args, res.output[-2000:])


def test_a_50_mb_string_is_cut_in_the_error_and_reported_quickly(tmp_path: Path) -> None:
    doc = json.loads(RAW)
    doc["notes"] = "z" * 50_000_000
    path = tmp_path / "market.json"
    path.write_text(json.dumps(doc))
    res = runner.invoke(app, ["clear", str(path), "--grid", GRID])
    assert res.exit_code == 2
    assert "notes" in res.stderr and len(res.stderr) < 5_000
