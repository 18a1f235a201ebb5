"""CGMES import: checked against the dataset's own SV profile and a SimBench round trip.

The datasets are written at test time by PowSyBl (``pypowsybl``, the ``cgmes`` extra), an
independent tool: its bundled networks solved by its own load flow, and a SimBench grid converted
from pandapower. Nothing is committed. The tolerances are those a real import bug breaks: a wrong
impedance, tap ratio, shunt, set point or sign shows as a gap of 1e-3 pu or 0.1 MW and more,
against the measured 1e-6 pu and 1e-4 MW (see docs/cgmes.md).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

import pytest

from flexcoord.errors import InvalidInputError, NotFoundError

if os.environ.get("CI"):
    import pypowsybl  # noqa: F401  (CI installs the cgmes extra: fail, never skip)
else:
    pytest.importorskip("pypowsybl")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from flexcoord.grid.cgmes_export import write_pandapower_cgmes, write_powsybl_example
    from flexcoord.grid.loading import load_network

    folder = tmp_path_factory.mktemp("cgmes")
    out: dict[str, Any] = {
        name: write_powsybl_example(name, folder / f"{name}.zip") for name in ("eurostag", "ieee57")
    }
    out["eurostag-3.0"] = write_powsybl_example(
        "eurostag", folder / "eurostag-3.0.zip", cgmes_version="3.0"
    )
    out["mv_reference"] = write_pandapower_cgmes(
        load_network("1-MV-rural--0-sw"), folder / "mv.zip"
    )
    out["mv"] = folder / "mv.zip"
    return out


def test_ieee57_power_flow_reproduces_its_sv_profile(datasets: dict[str, Any]) -> None:
    from flexcoord.grid.cgmes import import_cgmes
    from flexcoord.grid.cgmes_check import compare_with_sv

    imported = import_cgmes(datasets["ieee57"])
    result = compare_with_sv(imported)
    assert imported.cgmes_version == "2.4.15"
    assert set(imported.profiles) == {"EQ", "SSH", "TP", "SV"}
    assert result.buses_compared == 57
    assert result.branch_ends_compared == 160
    assert result.max_abs_dv_pu < 1e-4
    assert result.max_abs_dva_degree < 1e-3
    assert result.max_abs_dp_mw < 1e-2
    assert result.max_abs_dq_mvar < 1e-2
    assert result.max_abs_sv_p_mw > 100  # the flows compared are real ones, not zeros


def test_cgmes_3_imports_to_the_same_state(datasets: dict[str, Any]) -> None:
    from flexcoord.grid.cgmes import import_cgmes
    from flexcoord.grid.cgmes_check import compare_with_sv

    imported = import_cgmes(datasets["eurostag-3.0"])
    result = compare_with_sv(imported)
    assert imported.cgmes_version == "3.0"
    assert imported.regions == ("A", "B")
    assert imported.net.gen.in_service.all() and imported.net.load.in_service.all()
    assert (result.buses_compared, result.branch_ends_compared) == (4, 8)
    assert result.max_abs_dv_pu < 1e-4
    assert result.max_abs_dp_mw < 1e-2


def _slack_without_generator(path: Path) -> Path:
    """PowSyBl's IEEE 9-bus with its slack on load bus 5 (no generator there) and generator 1
    turned down to 20 MW, so the load flow puts about 51 MW on bus 5: SV has an SvInjection."""
    import pypowsybl.loadflow as lf
    import pypowsybl.network as pn

    network = pn.create_ieee9()
    network.update_generators(id="B1-G", target_p=20.0)
    parameters = lf.Parameters(
        distributed_slack=False,
        read_slack_bus=False,
        provider_parameters={"slackBusSelectionMode": "NAME", "slackBusesIds": "VL5_0"},
    )
    result = lf.run_ac(network, parameters)[0]
    assert result.slack_bus_results[0].active_power_mismatch > 50
    network.save(str(path), format="CGMES")
    return path


def _with_sv(source: Path, target: Path, edit: Any) -> Path:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            data = old.read(name)
            new.writestr(name, edit(data.decode()) if name.endswith("_SV.xml") else data)
    return target


def test_the_slack_injection_of_sv_is_read_whatever_its_sign(tmp_path: Path) -> None:
    """A slack bus without a generator: SV holds its injection as SvInjection. Read, the power
    flow lands on SV; the sign is taken from SV's own node balance, so the CGMES sign (positive
    into the bus) and PowSyBl's load sign both compare equal, and without it the gap is the
    slack's 51 MW."""
    import re

    from flexcoord.grid.cgmes import import_cgmes
    from flexcoord.grid.cgmes_check import compare_with_sv

    path = _slack_without_generator(tmp_path / "ieee9-slack5.zip")
    flipped = _with_sv(
        path,
        tmp_path / "cim-sign.zip",
        lambda xml: re.sub(
            r"(<cim:SvInjection\.[pq]Injection>)(-?)",
            lambda m: m.group(1) + ("" if m.group(2) else "-"),
            xml,
        ),
    )
    dropped = _with_sv(
        path,
        tmp_path / "no-injection.zip",
        lambda xml: re.sub(r"<cim:SvInjection .*?</cim:SvInjection>", "", xml, flags=re.S),
    )
    for dataset, sign in ((path, "load"), (flipped, "cim")):
        imported = import_cgmes(dataset)
        result = compare_with_sv(imported)
        assert (result.sv_injections, result.sv_injection_sign) == (1, sign)
        assert result.sv_injection_p_mw == pytest.approx(51.4, abs=0.1)
        assert result.max_abs_dv_pu < 1e-4
        assert result.max_abs_dp_mw < 1e-2 and result.max_abs_dq_mvar < 1e-2
        assert len(imported.net.sgen) == 0  # the grid itself is left as the model has it
    without = compare_with_sv(import_cgmes(dropped))
    assert without.sv_injections == 0 and without.max_abs_dp_mw > 50


def test_a_cgmes_grid_keeps_the_slack_injection_of_sv_as_its_base_case(tmp_path: Path) -> None:
    """Loaded as ``cgmes:PATH``, the IEEE 9-bus case whose slack sits on a load bus keeps SV's
    51 MW injection there (a static generator of type SvInjection), so its own power flow lands
    on SV; the injection is no unit of the portfolio."""
    import numpy as np

    from flexcoord.grid.cgmes import import_cgmes
    from flexcoord.grid.cgmes_check import SV_INJECTION_TYPE, run_power_flow
    from flexcoord.grid.loading import load_network
    from flexcoord.grid.model import GridModel
    from flexcoord.grid.portfolio import build_portfolio

    path = _slack_without_generator(tmp_path / "ieee9-slack5.zip")
    sv = import_cgmes(path).sv
    net = load_network(f"cgmes:{path}")
    injected = net.sgen[net.sgen["type"] == SV_INJECTION_TYPE]
    assert list(injected.bus) == list(sv.injection_bus)
    assert float(injected.p_mw.sum()) == pytest.approx(51.4, abs=0.1)
    solved = run_power_flow(net)
    vm = solved.res_bus.vm_pu.reindex(list(sv.bus)).to_numpy(dtype=float)
    assert float(np.max(np.abs(vm - np.array(sv.bus_vm_pu)))) < 1e-4
    units = {str(u.id) for u in build_portfolio(GridModel.load(f"cgmes:{path}")).units}
    assert not any(f"sgen:{i}" in units for i in injected.index)
    assert any(u.startswith("sgen:") for u in units)  # the other generators are units


def test_the_pq_form_keeps_the_state_and_has_no_generators(datasets: dict[str, Any]) -> None:
    """A cgmes: grid loads with its generators as fixed injections (power-grid-model has no PV
    buses); the power flow of that form still reproduces SV."""
    from dataclasses import replace

    from flexcoord.grid.cgmes import import_cgmes
    from flexcoord.grid.cgmes_check import compare_with_sv, pq_form
    from flexcoord.grid.pgm import to_pgm

    imported = import_cgmes(datasets["ieee57"])
    pq = pq_form(imported.net)
    assert len(pq.gen) == 0 and len(pq.ext_grid) == 1
    assert len(pq.sgen) == len(imported.net.sgen) + len(imported.net.gen) - 1
    result = compare_with_sv(replace(imported, net=pq))
    assert result.max_abs_dv_pu < 1e-4 and result.max_abs_dp_mw < 1e-2
    assert to_pgm(pq) is not None


def test_a_wrong_impedance_shows_as_an_sv_gap(datasets: dict[str, Any]) -> None:
    """The check can fail: one line's reactance doubled breaks the tolerances above."""
    from dataclasses import replace

    from flexcoord.grid.cgmes import import_cgmes
    from flexcoord.grid.cgmes_check import compare_with_sv

    imported = import_cgmes(datasets["ieee57"])
    broken = imported.net
    broken.line.loc[broken.line.index[0], "x_ohm_per_km"] *= 2
    result = compare_with_sv(replace(imported, net=broken))
    assert result.max_abs_dp_mw > 1.0 or result.max_abs_dv_pu > 1e-3


def test_regions_name_the_areas_and_step_up_transformers_are_turned_round(
    datasets: dict[str, Any],
) -> None:
    from flexcoord.grid.cgmes import import_cgmes
    from flexcoord.grid.cgmes_check import compare_with_sv
    from flexcoord.grid.model import GridModel

    imported = import_cgmes(datasets["eurostag"])
    assert imported.regions == ("A", "B")
    assert compare_with_sv(imported).max_abs_dv_pu < 1e-4
    trafo = imported.net.trafo
    assert (trafo.vn_hv_kv >= trafo.vn_lv_kv).all()
    grid = GridModel.load(f"cgmes:{datasets['eurostag']}")
    info = grid.info()
    assert info["regions"] == {"A": 2, "B": 2}
    assert [(a["id"], a["coupling_points"]) for a in info["dso_areas"]] == [("A", ["trafo:0"])]
    assert grid.ptdf() is not None  # the sensitivities run on it like on any grid
    assert len(grid.pgm().buses) == 4  # and power-grid-model takes it


def _eurostag_with_control_areas(path: Path) -> Path:
    """PowSyBl's Eurostag tutorial with three ControlAreas: "TSO X" (the 380 kV buses), "DSO Y"
    (the 150 kV load bus, tie flows on both ends of transformer NHV2_NLOAD) and "GEN" (the 24 kV
    generator bus, no tie flow of its own: PowSyBl writes no ControlAreaGeneratingUnit)."""
    import pypowsybl.loadflow as lf
    import pypowsybl.network as pn

    network = pn.create_eurostag_tutorial_example1_network()
    network.create_areas(
        id=["TSO-X", "DSO-Y", "GENCO"],
        name=["TSO X", "DSO Y", "GEN"],
        area_type=["ControlAreaTypeKind.Interchange"] * 3,
        interchange_target=[0.0] * 3,
    )
    network.create_areas_voltage_levels(
        id=["GENCO", "TSO-X", "TSO-X", "DSO-Y"],
        voltage_level_id=["VLGEN", "VLHV1", "VLHV2", "VLLOAD"],
    )
    network.create_areas_boundaries(
        id=["TSO-X", "TSO-X", "DSO-Y"],
        boundary_type=["TERMINAL"] * 3,
        element=["NHV2_NLOAD", "NGEN_NHV1", "NHV2_NLOAD"],
        side=["ONE", "TWO", "TWO"],
        ac=[True] * 3,
    )
    lf.run_ac(network, lf.Parameters(distributed_slack=False))
    network.save(str(path), format="CGMES")
    return path


_GENERATING_UNIT_OF_GEN = """<cim:ControlAreaGeneratingUnit rdf:ID="_GENCO_CAGU">
  <cim:ControlAreaGeneratingUnit.ControlArea rdf:resource="#_GENCO"/>
  <cim:ControlAreaGeneratingUnit.GeneratingUnit rdf:resource="#_GEN_GU"/>
</cim:ControlAreaGeneratingUnit>
</rdf:RDF>"""


def test_control_areas_cut_the_tso_and_dso_areas(tmp_path: Path) -> None:
    """With ControlAreas the model, not the 110 kV threshold, says who operates what: the 150 kV
    load bus is DSO Y's (the threshold would make it the TSO's), coupled at the transformer that
    carries the tie flows; the generator bus, in no area's tie flows, falls back to the voltage
    rule until a ControlAreaGeneratingUnit puts it in area GEN."""
    from flexcoord.grid.cgmes import import_cgmes
    from flexcoord.grid.cgmes_check import compare_with_sv
    from flexcoord.grid.model import GridModel

    path = _eurostag_with_control_areas(tmp_path / "areas.zip")
    imported = import_cgmes(path)
    assert imported.control_areas == ("DSO Y", "TSO X")
    assert compare_with_sv(imported).max_abs_dv_pu < 1e-4
    info = GridModel.load(f"cgmes:{path}").info()
    assert (info["tso_control_area"], info["tso_buses"]) == ("TSO X", 2)
    areas = [(a["id"], a["voltage_levels_kv"], a["coupling_points"]) for a in info["dso_areas"]]
    assert areas == [("A", [24.0], ["trafo:0"]), ("DSO Y", [150.0], ["trafo:1"])]
    with_unit = _rezip_eq(path, tmp_path / "with-unit.zip")
    assert import_cgmes(with_unit).control_areas == ("DSO Y", "GEN", "TSO X")
    info = GridModel.load(f"cgmes:{with_unit}").info()
    assert [(a["id"], a["coupling_points"]) for a in info["dso_areas"]] == [
        ("GEN", ["trafo:0"]),
        ("DSO Y", ["trafo:1"]),
    ]
    import json

    from typer.testing import CliRunner

    from flexcoord.cli.app import app

    checked = CliRunner().invoke(app, ["grid", "check-cgmes", str(with_unit), "--json", "-"])
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.stdout)["control_areas"] == ["DSO Y", "GEN", "TSO X"]
    plain = GridModel.load(f"cgmes:{_write_example('eurostag', tmp_path)}").info()
    assert plain["tso_control_area"] is None and plain["tso_buses"] == 3  # no areas: threshold


def _rezip_eq(source: Path, target: Path) -> Path:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            data = old.read(name)
            if name.endswith("_EQ.xml"):
                data = data.replace(b"</rdf:RDF>", _GENERATING_UNIT_OF_GEN.encode())
            new.writestr(name, data)
    return target


def _write_example(name: str, folder: Path) -> Path:
    from flexcoord.grid.cgmes_export import write_powsybl_example

    return write_powsybl_example(name, folder / f"{name}.zip")


def test_simbench_round_trip_reproduces_the_power_flow(datasets: dict[str, Any]) -> None:
    from flexcoord.grid.cgmes import import_cgmes
    from flexcoord.grid.cgmes_check import compare_with_sv
    from flexcoord.grid.cgmes_export import compare_round_trip

    imported = import_cgmes(datasets["mv"])
    trip = compare_round_trip(datasets["mv_reference"], imported)
    assert trip.buses_compared == 97
    assert trip.branches_compared == 101
    assert trip.max_abs_dv_pu < 1e-8
    assert trip.max_abs_dp_mw < 1e-6
    assert trip.max_abs_dq_mvar < 1e-6
    assert trip.max_abs_p_mw > 1.0
    assert compare_with_sv(imported).max_abs_dv_pu < 1e-4


def test_cgmes_grid_reference_resolves_and_loads(datasets: dict[str, Any]) -> None:
    from flexcoord.grid.loading import load_network, resolve_grid_code

    entry = resolve_grid_code(f"cgmes:{datasets['mv']}")
    assert (entry.source, entry.has_profiles) == ("cgmes", False)
    first, second = load_network(entry.code), load_network(entry.code)
    assert first is not second and len(first.bus) == 97
    assert len(first.gen) == 0 and len(first.ext_grid) == 1  # the PQ form
    first.bus.loc[0, "vn_kv"] = 1.0
    assert load_network(entry.code).bus.vn_kv.at[0] != 1.0  # each caller owns its copy
    with pytest.raises(NotFoundError, match="does not exist"):
        resolve_grid_code("cgmes:/no/such/model.zip")


def _rezip(source: Path, target: Path, *, drop: str = "", corrupt: str = "") -> Path:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            if drop and name.endswith(f"_{drop}.xml"):
                continue
            data = old.read(name)
            new.writestr(
                name, data[: len(data) // 2] if corrupt and name.endswith(corrupt) else data
            )
    return target


def test_bad_inputs_name_the_file_and_what_is_missing(
    datasets: dict[str, Any], tmp_path: Path
) -> None:
    from flexcoord.grid.cgmes import check_cgmes, import_cgmes

    not_zip = tmp_path / "model.zip"
    not_zip.write_text("not a zip")
    cases = {
        tmp_path / "missing.zip": "no such file",
        not_zip: "is not a zip archive",
        _rezip(datasets["ieee57"], tmp_path / "no-sv.zip", drop="SV"): "lacks the SV profile",
        _rezip(datasets["ieee57"], tmp_path / "broken.zip", corrupt="_TP.xml"): (
            "ieee57_TP.xml: is not well-formed XML"
        ),
    }
    for path, expected in cases.items():
        issues = [str(i) for i in check_cgmes(path)]
        assert any(expected in i and str(path) in i for i in issues), (path, issues)
        with pytest.raises(InvalidInputError, match=expected):
            import_cgmes(path)


def test_an_igm_without_its_boundary_set_is_refused_by_name(tmp_path: Path) -> None:
    """ENTSO-E's MicroGrid BE (PowSyBl ships it) keeps its 380/225 kV BaseVoltages in the
    boundary set, which PowSyBl does not export: the import says so instead of a NaN grid."""
    import pypowsybl.network as pn

    from flexcoord.grid.cgmes import import_cgmes

    path = tmp_path / "be.zip"
    pn.create_micro_grid_be_network().save(str(path), format="CGMES")
    with pytest.raises(InvalidInputError, match=r"have no BaseVoltage .*add its EQ_BD and TP_BD"):
        import_cgmes(path)


def test_cli_check_cgmes_reports_sv_gaps_and_refuses_bad_files(
    datasets: dict[str, Any], tmp_path: Path
) -> None:
    import json

    from typer.testing import CliRunner

    from flexcoord.cli.app import app

    runner = CliRunner()
    report = tmp_path / "report.json"
    ok = runner.invoke(
        app, ["grid", "check-cgmes", str(datasets["eurostag"]), "--json", str(report)]
    )
    assert ok.exit_code == 0, ok.output
    document = json.loads(report.read_text())
    assert document["max_abs_dv_pu"] < 1e-4 and document["regions"] == ["A", "B"]
    assert document["control_areas"] == []
    no_sv = _rezip(datasets["eurostag"], tmp_path / "no-sv.zip", drop="SV")
    out = tmp_path / "never.json"
    bad = runner.invoke(app, ["grid", "check-cgmes", str(no_sv), "--json", str(out)])
    assert bad.exit_code == 2
    assert "lacks the SV profile" in bad.output and "Traceback" not in bad.output
    assert not out.exists()
    info = runner.invoke(app, ["grid", "info", f"cgmes:{datasets['eurostag']}", "--format", "json"])
    assert info.exit_code == 0, info.output
    assert json.loads(info.stdout)["regions"] == {"A": 2, "B": 2}
    missing = runner.invoke(app, ["grid", "info", f"cgmes:{tmp_path / 'nope.zip'}"])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    assert "Traceback" not in missing.output


def test_export_cgmes_reads_back_through_the_cgmes_path_to_the_same_state(
    tmp_path: Path,
) -> None:
    """A SimBench grid written by ``grid export-cgmes`` loads as ``cgmes:OUT.zip`` and solves to
    the state of the grid that went to PowSyBl; it keeps its TSO/DSO areas."""
    import json

    from typer.testing import CliRunner

    from flexcoord.cli.app import app
    from flexcoord.grid.cgmes_export import compare_solved_state, prepare_for_powsybl
    from flexcoord.grid.loading import load_network
    from flexcoord.grid.model import GridModel

    out, report = tmp_path / "mv.zip", tmp_path / "report.json"
    runner = CliRunner()
    code = "1-MV-rural--0-sw"
    result = runner.invoke(app, ["grid", "export-cgmes", code, str(out), "--json", str(report)])
    assert result.exit_code == 0, result.output
    document = json.loads(report.read_text())
    assert document["members"] == ["mv_EQ.xml", "mv_SSH.xml", "mv_SV.xml", "mv_TP.xml"]
    assert document["read_back_max_abs_dv_pu"] < 1e-8
    back = load_network(f"cgmes:{out}")
    trip = compare_solved_state(prepare_for_powsybl(load_network(code)), back)
    assert (trip.buses_compared, trip.branches_compared) == (97, 101)
    assert trip.max_abs_dv_pu < 1e-8 and trip.max_abs_dp_mw < 1e-6 and trip.max_abs_dq_mvar < 1e-6
    assert trip.max_abs_p_mw > 1.0
    areas = GridModel.load(f"cgmes:{out}").info()["dso_areas"]
    assert [a["coupling_points"] for a in areas] == [["trafo:0", "trafo:1"]]


def test_export_cgmes_3_of_a_pandapower_network(tmp_path: Path) -> None:
    from flexcoord.grid.cgmes import import_cgmes
    from flexcoord.grid.cgmes_export import export_cgmes

    written = export_cgmes("cigre-mv", tmp_path / "cigre.zip", cgmes_version="3.0")
    assert written.check.max_abs_dv_pu < 1e-8 and written.check.max_abs_dp_mw < 1e-6
    assert import_cgmes(written.path).cgmes_version == "3.0"


def test_export_cgmes_refuses_bad_input_and_writes_nothing(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from flexcoord.cli.app import app

    runner = CliRunner()
    existing = tmp_path / "kept.zip"
    existing.write_bytes(b"previous")
    cases = {
        ("nope", str(tmp_path / "a.zip")): "'nope' is not a known grid code",
        ("cigre-mv", str(existing)): "exists already; pass --force",
        ("cigre-mv", str(tmp_path / "no" / "a.zip")): "does not exist",
        ("cigre-mv", str(existing / "a.zip")): "is not a folder",
        ("cigre-mv", "/proc/a.zip"): "cannot be written",  # a folder that exists, unwritable
        ("cigre-mv", str(tmp_path / "a.txt")): "must end in .zip",
    }
    for (code, out), expected in cases.items():
        result = runner.invoke(app, ["grid", "export-cgmes", code, out])
        assert result.exit_code == 2, (code, out, result.output)
        assert expected in result.output and "Traceback" not in result.output
    bad = runner.invoke(
        app, ["grid", "export-cgmes", "cigre-mv", str(tmp_path / "c.zip"), "--cgmes-version", "2"]
    )
    assert bad.exit_code == 2 and "--cgmes-version" in bad.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.zip"]  # no temp file left
    assert existing.read_bytes() == b"previous"
    forced = runner.invoke(app, ["grid", "export-cgmes", "cigre-mv", str(existing), "--force"])
    assert forced.exit_code == 0, forced.output
    assert zipfile.is_zipfile(existing)


def test_an_export_failing_after_powsybl_wrote_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The read-back check fails (its tolerance made impossible): the zip PowSyBl wrote is
    dropped with its temporary folder, and the file it would have replaced is untouched."""
    from flexcoord.errors import GridError
    from flexcoord.grid import cgmes_export

    existing = tmp_path / "kept.zip"
    existing.write_bytes(b"previous")
    monkeypatch.setattr(cgmes_export, "EXPORT_MAX_DV_PU", -1.0)
    with pytest.raises(GridError, match=r"does not solve to the grid's state.*nothing was written"):
        cgmes_export.export_cgmes("cigre-mv", existing, force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.zip"]
    assert existing.read_bytes() == b"previous"


def test_export_cgmes_of_a_grid_with_bus_couplers(tmp_path: Path) -> None:
    """pypowsybl 1.16.1 misplaces the bus-bus switches of 1-MV-comm--0-sw in its voltage
    levels (the conversion fails); the export fuses the closed ones and still reads back to the
    same state."""
    from flexcoord.grid.cgmes_check import run_power_flow
    from flexcoord.grid.cgmes_export import export_cgmes
    from flexcoord.grid.loading import load_network

    code = "1-MV-comm--0-sw"
    original = load_network(code)
    written = export_cgmes(code, tmp_path / "comm.zip")
    couplers = original.switch[original.switch.et == "b"]
    fused = int(couplers.closed.astype(bool).sum())
    assert fused == 3
    assert written.buses == len(original.bus) - fused
    assert written.check.buses_compared == written.buses
    assert written.check.max_abs_dv_pu < 1e-8 and written.check.max_abs_dp_mw < 1e-6
    back = load_network(f"cgmes:{written.path}")
    assert len(back.bus) == written.buses
    solved = run_power_flow(back)
    assert solved.res_bus.vm_pu.notna().all()  # no bus cut off by a coupler removed


def test_export_cgmes_of_grids_with_several_external_grids(tmp_path: Path) -> None:
    """1-HVMV-mixed-all-0-sw has three ext_grids in one island: two become voltage-controlled
    generators at the power they supply in pandapower's solution, one stays the slack.
    mv-oberrhein has two islands with an ext_grid each (both stay: a slack per island, in the
    export's load flow and in the import) and loads scaled by 0.6 (the scaling is baked in: the
    converter ignores it). Both read back to the original grid's own state."""
    from flexcoord.grid.cgmes_export import compare_solved_state, export_cgmes
    from flexcoord.grid.loading import load_network

    for code, slacks, gens in (("1-HVMV-mixed-all-0-sw", 1, 2), ("mv-oberrhein", 2, 0)):
        written = export_cgmes(code, tmp_path / f"{code}.zip")
        assert len(written.reference.ext_grid) == slacks and len(written.reference.gen) == gens
        assert written.check.max_abs_dv_pu < 1e-8 and written.check.max_abs_dp_mw < 1e-6
        assert written.check.buses_compared > 100
        original = load_network(code)
        back = load_network(f"cgmes:{written.path}")
        trip = compare_solved_state(original, back)  # the grid as loaded, not only the prepared
        # the preparation's own changes (no magnetising branch, no phase shift) stay below 5e-3
        # p.u.; the 0.6 scaling left out would be 0.03 p.u. on mv-oberrhein
        assert trip.max_abs_dv_pu < 5e-3, (code, trip)
        assert trip.max_abs_p_mw > 10.0
        slack_gens = int(back.gen.slack.sum()) if "slack" in back.gen.columns else 0
        assert int(back.ext_grid.in_service.sum()) + slack_gens == slacks


def test_bus_couplers_are_fused_as_pandapower_fuses_buses() -> None:
    """The one-pass fusion of the export's preparation gives the network pandapower's own
    ``toolbox.fuse_buses`` gives, group by group: a chain of closed couplers goes into one bus,
    an open coupler separates, a line between two fused buses (now a loop) is dropped with its
    switch, elements and measurements follow their bus."""
    import copy

    import networkx as nx
    import pandapower as pp
    from pandapower import toolbox

    from flexcoord.grid.cgmes_export import _fuse_bus_switches

    net = pp.create_empty_network()
    b = [pp.create_bus(net, 20.0) for _ in range(6)]
    pp.create_ext_grid(net, b[0])
    for first, second, closed in ((0, 1, True), (1, 2, True), (3, 4, False), (2, 5, True)):
        pp.create_switch(net, b[first], b[second], et="b", closed=closed)
    loop = pp.create_line(net, b[1], b[5], 1.0, "NA2XS2Y 1x95 RM/25 12/20 kV")
    pp.create_switch(net, b[1], loop, et="l")
    pp.create_line(net, b[2], b[3], 1.0, "NA2XS2Y 1x95 RM/25 12/20 kV")
    pp.create_line(net, b[3], b[4], 1.0, "NA2XS2Y 1x95 RM/25 12/20 kV")
    pp.create_load(net, b[5], p_mw=1.0)
    pp.create_sgen(net, b[4], p_mw=0.5)
    pp.create_measurement(net, "v", "bus", 1.0, 0.01, b[2])
    pp.create_measurement(net, "v", "bus", 1.0, 0.01, b[5])

    ours = copy.deepcopy(net)
    _fuse_bus_switches(ours)
    theirs = copy.deepcopy(net)
    couplers = theirs.switch[theirs.switch.et == "b"]
    theirs.switch = theirs.switch.drop(index=couplers.index)
    closed = couplers[couplers.closed.astype(bool)]
    joined = nx.Graph(list(zip(closed.bus, closed.element, strict=True)))
    for group in nx.connected_components(joined):
        root, *rest = sorted(group)
        toolbox.fuse_buses(theirs, root, rest)
    for table in ("bus", "line", "switch", "load", "sgen", "ext_grid", "measurement"):
        assert ours[table].equals(theirs[table]), table
    assert list(ours.bus.index) == [b[0], b[3], b[4]]  # 1, 2, 5 went into 0; 3-4 stayed apart
    assert loop not in ours.line.index and not (ours.switch.et == "l").any()
    assert ours.load.bus.tolist() == [b[0]] and ours.sgen.bus.tolist() == [b[4]]
    assert len(ours.measurement) == 1  # the two voltage measurements now at one bus: one kept


def test_export_cgmes_of_the_ehv_grid_says_why_it_is_refused(tmp_path: Path) -> None:
    """1-EHV-mixed--0-sw: 2,514 closed couplers fused (3,085 → 571 buses), seven ext_grids in
    one island of which the one exchanging most (4.8 GW) stays the slack (pandapower converges
    with no other), PowSyBl's load flow converges without reactive limits. The file holds the
    grid's state with its generators voltage-controlled, but the fixed-injection form a cgmes:
    grid loads in solves to another state: the export says so and writes nothing."""
    from flexcoord.errors import GridError
    from flexcoord.grid import cgmes_export
    from flexcoord.grid.loading import load_network

    reference = cgmes_export.prepare_for_powsybl(load_network("1-EHV-mixed--0-sw"))
    assert len(reference.bus) == 571 and len(reference.ext_grid) == 1
    assert int(reference.ext_grid.bus.iloc[0]) == 0  # EHV Ext_grid 2, taking 4.8 GW
    out = tmp_path / "ehv.zip"
    with pytest.raises(GridError, match=r"holds the grid's state .* finds another solution"):
        cgmes_export.export_cgmes("1-EHV-mixed--0-sw", out)
    assert list(tmp_path.iterdir()) == []
