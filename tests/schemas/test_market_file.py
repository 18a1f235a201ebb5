"""The market-file loader on bad input: one :class:`InvalidInputError`, every issue naming its file,
in the user's words (defects of issue 7, one test each), and the JSON form equal to the CSV form."""

from __future__ import annotations

import codecs
import csv
import json
import os
from pathlib import Path
from typing import Any

import pytest

from flexcoord.domain import Register
from flexcoord.errors import InvalidInputError, Issue
from flexcoord.schemas import (
    MAX_NESTING_DEPTH,
    MarketFile,
    load_market_file,
    write_csv_folder,
)

EXAMPLES = Path(__file__).parents[2] / "examples" / "market"
EXAMPLE_JSON = EXAMPLES / "market.json"
EXAMPLE_CSV = EXAMPLES / "csv"


def example() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(EXAMPLE_JSON.read_text())
    return data


def issues_of(path: Path, **kwargs: Any) -> list[Issue]:
    with pytest.raises(InvalidInputError) as info:
        load_market_file(path, **kwargs)
    assert all(i.source and str(path.parent) in i.source for i in info.value.issues)
    return list(info.value.issues)


def only(path: Path, **kwargs: Any) -> str:
    issues = issues_of(path, **kwargs)
    assert len(issues) == 1, issues
    return str(issues[0])


def write_json(tmp_path: Path, data: Any, name: str = "m.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def copy_csv(tmp_path: Path) -> Path:
    folder = tmp_path / "csv"
    folder.mkdir(parents=True)
    for file in EXAMPLE_CSV.iterdir():
        (folder / file.name).write_bytes(file.read_bytes())
    return folder


# 1. encodings


def test_binary_and_non_utf8_files_name_the_byte_and_offset(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_bytes(b'{"products": []}\n\x89PNG')
    assert only(path) == f"{path}: is not UTF-8 text: byte 0x89 at offset 17"
    path.write_text(EXAMPLE_JSON.read_text(), encoding="utf-16")
    assert "byte 0xff at offset 0" in only(path) and "UTF-16" in only(path)
    folder = copy_csv(tmp_path)
    (folder / "bids.csv").write_bytes(
        (folder / "bids.csv").read_text().replace("p-cm", "p-é").encode("latin-1")
    )
    assert only(folder).startswith(f"{folder / 'bids.csv'}: is not UTF-8 text: byte 0xe9 at offset")


def test_a_utf8_bom_is_accepted_in_json_and_csv(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_bytes(codecs.BOM_UTF8 + EXAMPLE_JSON.read_bytes())
    folder = copy_csv(tmp_path)
    for name in ("products.csv", "needs.csv", "bids.csv"):
        (folder / name).write_bytes(codecs.BOM_UTF8 + (folder / name).read_bytes())
    assert load_market_file(path) == load_market_file(folder) == load_market_file(EXAMPLE_JSON)


# 2. nesting


@pytest.mark.parametrize("depth", [MAX_NESTING_DEPTH + 1, 2_000, 100_000])
def test_deep_nesting_is_refused_before_it_recurses(tmp_path: Path, depth: int) -> None:
    path = tmp_path / "m.json"
    path.write_text('{"products": ' + "[" * depth + "]" * depth + "}")
    assert only(path) == f"{path}: has nesting deeper than {MAX_NESTING_DEPTH} levels"
    toml = copy_csv(tmp_path)
    (toml / "market.toml").write_text("areas = " + "[" * depth + "]" * depth + "\n")
    assert "nesting deeper than" in only(toml)


# 3. size


def test_files_over_the_size_limit_are_refused_unread(tmp_path: Path) -> None:
    size = EXAMPLE_JSON.stat().st_size
    path = tmp_path / "m.json"
    path.write_bytes(EXAMPLE_JSON.read_bytes())
    assert only(path, max_bytes=1000) == (
        f"{path}: is {size} bytes: larger than the 1000 bytes limit of an input file"
    )
    assert load_market_file(path, max_bytes=size) == load_market_file(EXAMPLE_JSON)
    sparse = tmp_path / "big.json"
    with sparse.open("wb") as fh:
        fh.truncate(65 * 2**20)  # 65 MiB of holes: refused from the size alone
    assert "is 65.0 MiB: larger than the 64.0 MiB limit" in only(sparse)


def test_special_files_and_missing_paths(tmp_path: Path) -> None:
    assert only(tmp_path / "nope.json") == f"{tmp_path / 'nope.json'}: does not exist"
    with pytest.raises(InvalidInputError, match="does not exist"):
        load_market_file("a\0b")
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    assert only(fifo) == f"{fifo}: is not a regular file"
    (tmp_path / "empty.json").write_text(" \n")
    assert only(tmp_path / "empty.json").endswith("is empty")
    toml = tmp_path / "market.toml"
    toml.write_text("vm_max_pu = 1.1\n")
    assert "holds only the options of a CSV folder" in only(toml)
    (tmp_path / "bad.json").write_text('{"bids": [1,]}')
    assert only(tmp_path / "bad.json") == (
        f"{tmp_path / 'bad.json'}:1: is not valid JSON: Expecting value (column 13)"
    )


# 4. wording


def test_huge_values_are_cut_and_a_missing_field_does_not_echo_its_parent(tmp_path: Path) -> None:
    data = example()
    data["zzz"] = "x" * 50_000_000
    message = only(write_json(tmp_path, data))
    assert len(message) < 200 and message.endswith("x… is not a field of the market file")
    data = example()
    del data["bids"][0]["quantities"]
    path = write_json(tmp_path, data)
    assert only(path) == f"{path}: Bid 'bid-load-0': field 'quantities' is required"
    data = example()
    data["bids"][0] = 5
    assert only(write_json(tmp_path, data)).endswith("Bid 'bids[0]': must be an object")
    assert "BidModel" not in only(write_json(tmp_path, data))


def test_domain_issues_print_iso_times_and_name_the_file(tmp_path: Path) -> None:
    data = example()
    data["bids"][1]["submitted_at"] = "2026-06-02T12:00:00+00:00"
    data["bids"][0]["quantities"][0]["quantity"] = -1.0
    path = write_json(tmp_path, data)
    with pytest.raises(InvalidInputError) as info:
        load_market_file(path).to_domain(Register(), source=path)
    text = str(info.value)
    assert "datetime.datetime" not in text and "0:15:00" not in text
    assert f"{path}: Bid 'bid-load-1': submitted_at=2026-06-02T12:00:00+00:00 is after" in text
    assert f"{path}: Bid 'bid-load-0': quantities[0].quantity=-1.0 must be >= 0" in text
    assert all(i.source == str(path) for i in info.value.issues)


def test_domain_issues_of_a_csv_folder_name_the_csv_of_the_object() -> None:
    market = load_market_file(EXAMPLE_CSV)
    with pytest.raises(InvalidInputError) as info:
        market.to_domain(Register(), source=EXAMPLE_CSV)
    sources = {i.kind: i.source for i in info.value.issues}
    assert sources["Bid"] == str(EXAMPLE_CSV / "bids.csv")
    assert sources["Need"] == str(EXAMPLE_CSV / "needs.csv")


# 5. bus ids in CSV locations


def test_a_non_numeric_bus_id_names_the_file_the_need_and_the_column(tmp_path: Path) -> None:
    folder = copy_csv(tmp_path)
    needs = (folder / "needs.csv").read_text().replace("area,MV1.101", 'buses,"3;x"')
    (folder / "needs.csv").write_text(needs)
    assert only(folder) == (
        f"{folder / 'needs.csv'}:2: Need 'dso-congestion': location='3;x' must hold bus ids "
        "(whole numbers) separated by ';', not 'x'"
    )


# 6. offsets


@pytest.mark.parametrize("where", ["gate_closure_at", "bid", "quantity"])
def test_every_time_must_carry_a_utc_offset(tmp_path: Path, where: str) -> None:
    data = example()
    naive = "2026-05-31T12:00:00"
    if where == "gate_closure_at":
        data["gate_closure_at"] = naive
    elif where == "bid":
        data["bids"][1]["submitted_at"] = naive
    else:
        data["needs"][0]["quantities"][1]["end"] = naive
    message = only(write_json(tmp_path, data))
    assert message.endswith(f"'{naive}' must carry a UTC offset, e.g. 2026-06-01T12:00:00+00:00")


def test_times_are_stored_in_utc_and_kept_in_sane_years(tmp_path: Path) -> None:
    data = example()
    data["gate_closure_at"] = "2026-05-31T14:00:00+02:00"
    market = load_market_file(write_json(tmp_path, data))
    assert market == load_market_file(EXAMPLE_JSON)
    assert market.gate_closure_at is not None and market.gate_closure_at.utcoffset() is not None
    data["gate_closure_at"] = "9999-12-31T23:59:59-23:59"
    assert "must lie in the years 1900 to 2200" in only(write_json(tmp_path, data))


# 7. file-wide options


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"vm_min_pu": 1.2, "vm_max_pu": 1.1}, "vm_min_pu=1.2 must be below vm_max_pu=1.1"),
        ({"vm_min_pu": 0.0}, "vm_min_pu=0.0 must be > 0.0"),
        ({"vm_max_pu": "NaN"}, "vm_max_pu='NaN' must be a finite number"),
        ({"safety_margin": 1.0}, "safety_margin=1.0 must be < 1.0"),
        ({"safety_margin": -0.1}, "safety_margin=-0.1 must be >= 0.0"),
        ({"profile_start_step": -1}, "profile_start_step=-1 must be >= 0"),
        ({"areas": []}, "areas=[] must hold at least 1 item(s)"),
        ({"areas": [" "]}, "areas[0]=' ' must be a non-empty id"),
    ],
)
def test_file_wide_options_are_checked_by_the_schema(
    tmp_path: Path, options: dict[str, Any], expected: str
) -> None:
    path = write_json(tmp_path, example() | options)
    assert only(path) == f"{path}: {expected}"


# 8. CSV dialects and columns


def test_semicolon_and_tab_separated_csv_read_as_the_same_market(tmp_path: Path) -> None:
    for delimiter in (";", "\t"):
        folder = copy_csv(tmp_path / ("semicolon" if delimiter == ";" else "tab"))
        for name in ("products.csv", "needs.csv", "bids.csv"):
            rows = list(csv.reader((folder / name).read_text().splitlines()))
            with (folder / name).open("w", newline="") as fh:
                csv.writer(fh, delimiter=delimiter).writerows(rows)
        assert load_market_file(folder) == load_market_file(EXAMPLE_JSON)


def test_unknown_csv_columns_files_and_options_name_file_and_line(tmp_path: Path) -> None:
    folder = copy_csv(tmp_path)
    bids = (folder / "bids.csv").read_text().splitlines()
    bids[0] += ",colour"
    bids[3] += ",red,extra"
    (folder / "bids.csv").write_text("\n".join(bids) + "\n")
    (folder / "offers.csv").write_text("id\n")
    with (folder / "market.toml").open("a") as fh:
        fh.write("vm_min = 0.9\n")
    lines = [str(i) for i in issues_of(folder)]
    assert lines == [
        f"{folder / 'bids.csv'}:1: column 'colour' is unknown (see docs/market-file.md)",
        f"{folder / 'bids.csv'}:4: has 1 cell more than the header",
        f"{folder / 'offers.csv'}: is not a file of a market folder (products.csv, needs.csv, "
        "bids.csv, market.toml)",
        f"{folder / 'market.toml'}: option 'vm_min' is unknown (the options: gate_closure_at, "
        "profile_start_step, areas, safety_margin, vm_min_pu, vm_max_pu)",
    ]


def test_csv_type_errors_name_the_line_and_column(tmp_path: Path) -> None:
    folder = copy_csv(tmp_path)
    text = (folder / "bids.csv").read_text().splitlines()
    text[4] = text[4].rsplit(",", 1)[0] + ",lots"  # bid-load-1, second MTU
    (folder / "bids.csv").write_text("\n".join(text) + "\n")
    (folder / "market.toml").write_text("gate_closure_at = 2026-05-31T12:00:00\n")  # local time
    lines = [str(i) for i in issues_of(folder)]
    assert lines == [
        f"{folder / 'bids.csv'}:5: Bid 'bid-load-1': quantity='lots' must be a number",
        f"{folder / 'market.toml'}: gate_closure_at=2026-05-31T12:00:00 must carry a UTC offset, "
        "e.g. 2026-06-01T12:00:00+00:00",
    ]


def test_rows_of_one_object_must_agree_and_runs_are_objects(tmp_path: Path) -> None:
    folder = copy_csv(tmp_path)
    lines = (folder / "bids.csv").read_text().splitlines()
    lines[2] = lines[2].replace(",60.0,", ",61.0,")
    lines.append(lines[1])  # bid-load-0 again, after other bids: a second bid with its id
    (folder / "bids.csv").write_text("\n".join(lines) + "\n")
    message = only(folder)
    assert message.startswith(f"{folder / 'bids.csv'}:3: Bid 'bid-load-0': ")
    assert "activation_price_eur_per_mwh='61.0' differs from line 2 ('60.0')" in message
    lines[2] = lines[2].replace(",61.0,", ",60.0,")
    (folder / "bids.csv").write_text("\n".join(lines) + "\n")
    market = load_market_file(folder)
    assert [b.id for b in market.bids].count("bid-load-0") == 2
    with pytest.raises(InvalidInputError, match="is used by 2 Bids"):
        market.to_domain(Register(), source=folder)


# 9. the CSV form is the JSON form


def test_the_example_csv_folder_is_the_example_json() -> None:
    json_form = load_market_file(EXAMPLE_JSON)
    assert json_form.vm_max_pu == 1.1 and json_form.profile_start_step == 14448
    for path in (EXAMPLE_CSV, EXAMPLE_CSV / "bids.csv", EXAMPLE_CSV / "products.csv"):
        assert load_market_file(path) == json_form


def test_json_to_csv_folder_and_back_is_equal(tmp_path: Path) -> None:
    data = example()
    data["needs"][0]["location"] = {"kind": "buses", "bus_ids": [3, 5, 8]}
    data["needs"][0]["id"] = 'dso, "quoted"; and\nmultiline'
    data["bids"][0]["min_acceptance"] = 0.05
    data["safety_margin"] = 0.1
    data["vm_min_pu"] = 0.95
    data["products"][0]["duration_minutes"] = 30
    market = MarketFile.model_validate(data)
    folder = write_csv_folder(market, tmp_path / "out")
    assert load_market_file(folder) == market
    assert write_csv_folder(load_market_file(EXAMPLE_JSON), tmp_path / "ex") == tmp_path / "ex"
    assert load_market_file(tmp_path / "ex") == load_market_file(EXAMPLE_JSON)


def test_csv_cannot_carry_a_need_without_mtus(tmp_path: Path) -> None:
    data = example()
    data["needs"][0]["quantities"] = []
    with pytest.raises(InvalidInputError, match="must hold at least one MTU"):
        write_csv_folder(MarketFile.model_validate(data), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_options_that_do_not_fit_the_grid_name_the_file_and_field(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from flexcoord.schemas import grid_option_issues

    grid = SimpleNamespace(net={}, areas=SimpleNamespace(dso_areas=(SimpleNamespace(id="mv"),)))
    market = MarketFile(profile_start_step=10, areas=["mv", "tso", "hv"])
    folder = copy_csv(tmp_path)
    lines = [str(i) for i in grid_option_issues(market, grid, n_mtu=4, source=folder)]
    assert lines == [
        f"{folder / 'market.toml'}: profile_start_step=10 needs SimBench profiles, and the grid "
        "has none",
        f"{folder / 'market.toml'}: areas=['mv', 'tso', 'hv'] name 'hv', not an area of the grid "
        "(mv, tso)",
    ]
    (overridden,) = grid_option_issues(market, grid, n_mtu=4, profile_start_step=0, areas=["mv"])
    assert overridden.field == "profile_start_step" and overridden.source is None
    assert grid_option_issues(MarketFile(), grid, n_mtu=4) == []
