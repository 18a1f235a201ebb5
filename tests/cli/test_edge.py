"""The edge every command passes through: checks before work, atomic outputs, exit codes, help.

"Before work" is asserted by making any grid load fail the test: an output-path or option error
must be reported without touching a grid (the slow part, 5-20 s on a real run).
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.main import get_command
from typer.testing import CliRunner

from flexcoord.cli.app import app
from flexcoord.cli.edge import OutputFile, write_atomic

EXAMPLE = Path(__file__).parents[2] / "examples" / "market" / "market.json"
GRID = "1-MV-rural--0-sw"

runner = CliRunner()


def _invoke(args: list[str], **kw: Any) -> Any:
    return runner.invoke(app, args, env={"COLUMNS": "100"}, **kw)


@pytest.fixture
def no_grid_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything loads a grid (i.e. starts the work)."""
    from flexcoord.grid import loading, model  # model first: it binds loading's function

    def refuse(name: str) -> Any:
        raise AssertionError(f"work started: grid {name} loaded")

    monkeypatch.setattr(loading, "load_network", refuse)
    monkeypatch.setattr(model, "load_network", refuse)


# --- output paths --------------------------------------------------------------------------------

COMMANDS = {
    "clear": ["clear", str(EXAMPLE), "--grid", GRID],
    "coordinate": ["coordinate", "--grid", GRID, "--preset", "onenet-common", "--bids", "20"],
    "grid assess": ["grid", "assess", GRID, "--steps", "4"],
    "grid info": ["grid", "info", GRID],
    "grid list": ["grid", "list"],
    "pareto": ["pareto", "--grid", GRID, "--mtus", "2", "--bids", "4"],
}


def _bad_paths(tmp: Path) -> dict[str, tuple[str, str]]:
    """name -> (path, words the message must hold)."""
    (tmp / "a-folder").mkdir()
    return {
        "missing folder": (str(tmp / "nowhere" / "out.json"), "does not exist"),
        "a folder": (str(tmp / "a-folder"), "is a folder"),
        "proc": ("/proc/flexcoord-out.json", "no write access"),
        "not a folder": (str(EXAMPLE / "out.json"), "is not a folder"),
    }


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("case", ["missing folder", "a folder", "proc", "not a folder"])
def test_an_unwritable_json_path_is_reported_before_any_work_and_nothing_is_written(
    command: str, case: str, tmp_path: Path, no_grid_load: None
) -> None:
    path, words = _bad_paths(tmp_path)[case]
    before = sorted(p.name for p in tmp_path.rglob("*"))
    res = _invoke([*COMMANDS[command], "--json", path])
    assert res.exit_code == 2, res.output
    assert "--json" in res.stderr and words in res.stderr
    assert "Traceback" not in res.output and "work started" not in res.output
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_an_unwritable_violations_csv_is_reported_before_the_year_runs(
    tmp_path: Path, no_grid_load: None
) -> None:
    res = _invoke(["grid", "assess", GRID, "--violations-csv", str(tmp_path / "x" / "v.csv")])
    assert res.exit_code == 2
    assert "--violations-csv" in res.stderr and "does not exist" in res.stderr
    assert list(tmp_path.iterdir()) == []


def test_two_outputs_on_stdout_are_refused(no_grid_load: None) -> None:
    res = _invoke([*COMMANDS["grid info"], "--json", "-", "--format", "csv"])
    assert res.exit_code == 2
    assert "both write to stdout" in res.stderr


def test_a_failure_during_the_work_leaves_no_output_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flexcoord.errors import SolverError

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise SolverError("HiGHS ended with 'Unknown' (injected by the test)")

    monkeypatch.setattr("flexcoord.clearing.market.clear", fail)
    out = tmp_path / "result.json"
    res = _invoke(["clear", str(EXAMPLE), "--grid", GRID, "--no-ac-check", "--json", str(out)])
    assert res.exit_code == 2
    assert "injected by the test" in res.stderr
    assert list(tmp_path.iterdir()) == []


def test_write_atomic_keeps_the_old_file_when_the_write_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "result.json"
    target.write_text("old result")

    def broken_replace(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space"):
        write_atomic(target, b"new result")
    assert target.read_text() == "old result"
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]  # no temporary file left


def test_write_atomic_writes_special_files_directly() -> None:
    write_atomic(Path(os.devnull), b"discarded")  # /dev/null is written, never replaced
    assert Path(os.devnull).is_char_device()


def test_output_file_issues_for_good_and_bad_paths(tmp_path: Path) -> None:
    assert OutputFile("--json", tmp_path / "ok.json").issues() == []
    assert OutputFile("--json", None).issues() == []
    assert OutputFile("--json", Path(os.devnull)).issues() == []
    (issue,) = OutputFile("--json", tmp_path).issues()
    assert issue.object_id == "--json" and "folder" in issue.message


# --- exit codes and messages ---------------------------------------------------------------------


def test_an_unexpected_exception_is_an_internal_error_without_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def boom() -> Any:
        raise ZeroDivisionError("division by zero (injected)")

    monkeypatch.setattr("flexcoord.grid.loading.grid_catalogue", boom)
    res = _invoke(["grid", "list"])
    assert res.exit_code == 1
    assert "internal error" in res.stderr and "ZeroDivisionError" in res.stderr
    assert "Traceback" not in res.output


def test_an_interrupt_exits_130_and_says_nothing_was_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def interrupted() -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr("flexcoord.grid.loading.grid_catalogue", interrupted)
    res = _invoke(["grid", "list"])
    assert res.exit_code == 130
    assert "nothing was written" in res.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["coordinate", "--grid", GRID, "--preset", "onenet-common", "--mtus", "0"], "--mtus"),
        (["coordinate", "--grid", GRID, "--preset", "onenet-common", "--mtus", "500"], "1 to 96"),
        (["coordinate", "--grid", GRID, "--preset", "onenet-common", "--mtus", "-3"], "--mtus"),
        (["coordinate", "--grid", GRID, "--preset", "onenet-common", "--seed", "-1"], "--seed"),
        (["coordinate", "--grid", GRID, "--preset", "onenet-common", "--bids", "0"], "--bids"),
        (["coordinate", "--list-presets", "--grid", GRID], "cannot be combined with --grid"),
        (["coordinate", "--list-presets", "--preset", "onenet-common"], "cannot be combined"),
        (["coordinate", "--grid", "cigre-mv", "--all"], "no year-long SimBench profiles"),
        (["coordinate", "--grid", GRID, "--preset", "onenet-comon"], "did you mean onenet-common"),
        (["coordinate", str(EXAMPLE), "--grid", GRID, "--all", "--mtus", "4"], "demo scenario"),
        (["grid", "assess", "cigre-mv"], "no year-long SimBench profiles"),
        (["grid", "assess", GRID, "--steps", "0"], "--steps"),
        (["grid", "assess", GRID, "--start", "-1"], "--start"),
        (["grid", "info", GRID, "--tso-min-vn-kv", "nan"], "--tso-min-vn-kv"),
        (["grid", "info", "1-mv-rurall--0-sw"], "did you mean '1-MV-rural--0-sw'"),
        (["clear", str(EXAMPLE), "--grid", GRID, "--pricing", "free"], "--pricing"),
        (["clear", str(EXAMPLE), "--grid", GRID, "--ac-iterations", "-1"], "--ac-iterations"),
        (["clear", str(EXAMPLE)], "--grid"),
    ],
)
def test_bad_options_exit_2_naming_the_option_before_any_work(
    args: list[str], words: str, no_grid_load: None
) -> None:
    res = _invoke(args)
    assert res.exit_code == 2, res.output
    assert words in res.stderr, res.stderr
    assert "Traceback" not in res.output and "work started" not in res.output


# --- help, version, formats ----------------------------------------------------------------------


def _command_paths(group: Any, prefix: list[str]) -> list[list[str]]:
    out = []
    for name, cmd in group.commands.items():
        out.append([*prefix, name])
        if hasattr(cmd, "commands"):
            out += _command_paths(cmd, [*prefix, name])
    return out


def test_every_command_answers_dash_h_and_help() -> None:
    root = get_command(app)
    paths = _command_paths(root, [])
    assert {"clear", "coordinate"} <= {p[0] for p in paths} and ["grid", "list"] in paths
    for path in [[], *paths]:
        for flag in ("-h", "--help"):
            res = _invoke([*path, flag])
            assert res.exit_code == 0, (path, flag, res.output)
            assert "Usage:" in res.output


def test_version() -> None:
    from importlib.metadata import version

    for flag in ("--version", "-V"):
        res = _invoke([flag])
        assert res.exit_code == 0
        assert res.stdout.strip() == f"flexcoord {version('flexcoord')}"


def test_grid_list_filters_and_formats() -> None:
    res = _invoke(["grid", "list", "mv-RURAL", "--format", "csv"])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert {r["code"] for r in rows} >= {"1-MV-rural--0-sw", "1-MV-rural--2-no_sw"}
    assert all("rural" in r["code"].lower() for r in rows)
    res = _invoke(["grid", "list", "--format", "json"])
    entries = {e["code"]: e for e in json.loads(res.stdout)}
    assert entries["cigre-mv"]["profiles"] is False and entries[GRID]["profiles"] is True


@pytest.mark.slow
def test_grid_codes_match_in_any_case() -> None:
    res = _invoke(["grid", "info", "1-mv-RURAL--0-SW", "--format", "json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["code"] == GRID


@pytest.mark.slow
def test_clear_formats_csv_and_json_and_the_file_matches(tmp_path: Path) -> None:
    base = ["clear", str(EXAMPLE), "--grid", GRID, "--no-ac-check"]
    as_csv = _invoke([*base, "--format", "csv"])
    assert as_csv.exit_code == 0, as_csv.output
    awards = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert awards and {"bid_id", "mtu", "quantity_mw", "payment_eur"} <= set(awards[0])
    out = tmp_path / "result.json"
    as_json = _invoke([*base, "--format", "json", "--json", str(out)])
    assert as_json.exit_code == 0, as_json.output
    printed, written = json.loads(as_json.stdout), json.loads(out.read_text())
    assert printed["canonical_hash"] == written["canonical_hash"]
    assert len(printed["awards"]) == len(awards)


@pytest.mark.slow
def test_tables_fit_80_columns_when_piped() -> None:
    res = runner.invoke(
        app,
        ["coordinate", "--grid", GRID, "--bids", "40", "--mtus", "4", "--all", "--no-ac-check"],
        env={"COLUMNS": "80"},
    )
    assert res.exit_code == 0, res.output
    assert max(len(line) for line in res.stdout.splitlines()) <= 80
    assert "smartnet-centralised-dso-limits" in res.stdout  # the scheme names are never cut
    assert "--format csv" in res.stdout  # the hidden columns are named, with where to find them


def test_typer_exit_passes_through_the_guard() -> None:
    from flexcoord.cli.edge import command

    @command
    def done() -> None:
        raise typer.Exit(code=0)

    with pytest.raises(typer.Exit):
        done()
