"""Hostile input to the market-file loader (Hypothesis): random bytes, truncations, encodings,
deep nesting, huge strings, wrong types and removed fields at every place of the example, random
CSV dialects and cell edits. The loader returns a :class:`MarketFile` or raises
:class:`InvalidInputError` whose every issue names a file of the input and prints on one short
line; nothing else, ever. A :class:`MarketFile` it returns also builds to domain objects or
fails the same way."""

from __future__ import annotations

import codecs
import copy
import csv
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flexcoord.domain import Register
from flexcoord.errors import InvalidInputError
from flexcoord.schemas import MarketFile, load_market_file
from tests.documents import paths

EXAMPLES = Path(__file__).parents[2] / "examples" / "market"
EXAMPLE_TEXT = (EXAMPLES / "market.json").read_text()
EXAMPLE: dict[str, Any] = json.loads(EXAMPLE_TEXT)
CSV_NAMES = ("products.csv", "needs.csv", "bids.csv")
CSV_ROWS = {n: list(csv.reader((EXAMPLES / "csv" / n).read_text().splitlines())) for n in CSV_NAMES}
TOML = (EXAMPLES / "csv" / "market.toml").read_text()
MAX_LINE = 300

#: A market input: ``{file name: bytes}`` (``market.json`` alone, or a CSV folder's files).
Files = dict[str, bytes]


PATHS = paths(EXAMPLE)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(["", "2026-06-01T12:00:00", "1e400", "9999-12-31T23:59:59-23:59"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        doc = doc[key]
    doc[path[-1]] = value


def _json(doc: Any) -> Files:
    return {"market.json": json.dumps(doc, allow_nan=True).encode()}


@st.composite
def wrong_type(draw: st.DrawFn) -> Files:
    doc = copy.deepcopy(EXAMPLE)
    _set(doc, draw(st.sampled_from(PATHS)), draw(json_values))
    return _json(doc)


@st.composite
def removed_field(draw: st.DrawFn) -> Files:
    doc = copy.deepcopy(EXAMPLE)
    path = draw(st.sampled_from(PATHS))
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return _json(doc)


@st.composite
def truncated(draw: st.DrawFn) -> Files:
    data = EXAMPLE_TEXT.encode()
    return {"market.json": data[: draw(st.integers(0, len(data) - 1))]}


@st.composite
def encoded(draw: st.DrawFn) -> Files:
    text = EXAMPLE_TEXT.replace("p-cm", draw(st.sampled_from(["p-cm", "p-é", "p-€", "p-日"])))
    encoding = draw(st.sampled_from(["utf-16", "utf-16-le", "utf-32", "latin-1", "cp1252"]))
    return {"market.json": text.encode(encoding, errors="replace")}


@st.composite
def deep(draw: st.DrawFn) -> Files:
    n = draw(st.sampled_from([63, 64, 65, 100, 999, 1_000, 5_000, 100_000]))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
    inner = opener * n + ("1" if opener != "[" else "") + closer * n
    where = draw(st.sampled_from(["top", "unknown", "areas", "quantity"]))
    if where == "top":
        text = inner
    else:
        doc = copy.deepcopy(EXAMPLE)
        place = {"unknown": ("zzz",), "areas": ("areas",), "quantity": ("bids", 0, "quantities")}
        _set(doc, place[where], "@@")
        text = json.dumps(doc).replace('"@@"', inner)
    return {"market.json": text.encode()}


@st.composite
def huge(draw: st.DrawFn) -> Files:
    doc = copy.deepcopy(EXAMPLE)
    big = draw(st.sampled_from(["x", "\x1b[2J", "é", "\n"])) * draw(
        st.sampled_from([100, 10_000, 2_000_000])
    )
    where = draw(st.sampled_from(["value", "key", "id", "field"]))
    if where == "value":
        doc["zzz"] = big
    elif where == "key":
        doc["bids"][0][big] = 1
    elif where == "id":
        doc["bids"][0]["id"] = big
        doc["bids"][0]["direction"] = big
    else:
        _set(doc, draw(st.sampled_from(PATHS)), big)
    return _json(doc)


def _csv_bytes(rows: list[list[str]], dialect: dict[str, Any], bom: bool) -> bytes:
    out = io.StringIO()
    csv.writer(out, **dialect).writerows(rows)
    return (codecs.BOM_UTF8 if bom else b"") + out.getvalue().encode()


@st.composite
def csv_folder(draw: st.DrawFn) -> Files:
    dialect = {
        "delimiter": draw(st.sampled_from([",", ";", "\t", "|"])),
        "quoting": draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC])),
        "lineterminator": draw(st.sampled_from(["\n", "\r\n", "\r"])),
    }
    rows = copy.deepcopy(CSV_ROWS)
    for _ in range(draw(st.integers(0, 2))):  # a few hostile cell edits
        name = draw(st.sampled_from(CSV_NAMES))
        r = draw(st.integers(0, len(rows[name]) - 1))
        c = draw(st.integers(0, len(rows[name][r])))
        cell = draw(st.text(max_size=12) | st.sampled_from(["1;x", "nan", "-1", "", "a" * 200_000]))
        if c == len(rows[name][r]):
            rows[name][r].append(cell)
        else:
            rows[name][r][c] = cell
    files = {n: _csv_bytes(rows[n], dialect, draw(st.booleans())) for n in CSV_NAMES}
    if draw(st.booleans()):
        files["market.toml"] = draw(
            st.sampled_from([TOML, TOML + "vm_min = 1\n", "areas = [[[[1]]]]\n", "= broken"])
        ).encode()
    if draw(st.booleans()):
        del files[draw(st.sampled_from(CSV_NAMES))]
    return files


@st.composite
def mutated(draw: st.DrawFn) -> Files:
    data = bytearray(EXAMPLE_TEXT.encode())
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(st.binary(min_size=1, max_size=4))
    return {"market.json": bytes(data)}


inputs: st.SearchStrategy[Files] = st.one_of(
    st.binary(max_size=300).map(lambda b: {"market.json": b}),
    truncated(),
    encoded(),
    deep(),
    huge(),
    wrong_type(),
    removed_field(),
    csv_folder(),
    mutated(),
)


def _check(folder: Path, load: Callable[[], MarketFile]) -> None:
    try:
        market = load()
    except InvalidInputError as err:
        for issue in err.issues:
            assert issue.source is not None and issue.source.startswith(str(folder)), issue
        for line in str(err).splitlines():
            assert len(line) < MAX_LINE, line[:400]
        return
    try:
        market.to_domain(Register(), source=folder)
    except InvalidInputError as err:
        assert all(i.source and i.source.startswith(str(folder)) for i in err.issues)
        assert all(len(line) < MAX_LINE for line in str(err).splitlines())


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    """One folder for every example (in memory where the OS offers it: thousands of files are
    written, and a disk-backed /tmp makes that the bulk of the run)."""
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    with tempfile.TemporaryDirectory(dir=base) as tmp:
        yield Path(tmp)


def _write(folder: Path, files: Files) -> Path:
    """``folder`` holding exactly ``files``; returns what to load (the JSON file or the folder)."""
    folder.mkdir(exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder / "market.json" if "market.json" in files else folder


@settings(
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example],
)
@given(files=inputs)
def test_the_loader_returns_a_market_or_raises_invalid_input_naming_the_file(
    workdir: Path, files: Files
) -> None:
    folder = workdir / "market"
    target = _write(folder, files)
    _check(folder, lambda: load_market_file(target))


@settings(max_examples=40, deadline=None)
@given(
    delimiter=st.sampled_from([",", ";", "\t"]),
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]),
    lineterminator=st.sampled_from(["\n", "\r\n", "\r"]),
    bom=st.booleans(),
)
def test_every_supported_csv_dialect_reads_as_the_json_market(
    workdir: Path, delimiter: str, quoting: int, lineterminator: str, bom: bool
) -> None:
    dialect = {"delimiter": delimiter, "quoting": quoting, "lineterminator": lineterminator}
    files = {n: _csv_bytes(CSV_ROWS[n], dialect, bom) for n in CSV_NAMES}
    folder = _write(workdir / "dialect", files | {"market.toml": TOML.encode()})
    assert load_market_file(folder) == load_market_file(EXAMPLES / "market.json")


def _load_bytes(workdir: Path, data: bytes) -> None:
    folder = workdir / "json"
    target = _write(folder, {"market.json": data})
    _check(folder, lambda: load_market_file(target))


def test_every_truncation_of_the_example_is_an_issue(workdir: Path) -> None:
    data = EXAMPLE_TEXT.encode()
    for k in range(0, len(data) - 1, 3):
        _load_bytes(workdir, data[:k])


def test_every_field_removed_or_of_a_wrong_type_in_turn(workdir: Path) -> None:
    for path in PATHS:
        doc = copy.deepcopy(EXAMPLE)
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        del parent[path[-1]]
        _load_bytes(workdir, json.dumps(doc).encode())
        for wrong in (None, "x", -1.5, 10**40, [], {}, [[1]], True):
            doc = copy.deepcopy(EXAMPLE)
            _set(doc, path, wrong)
            _load_bytes(workdir, json.dumps(doc).encode())
