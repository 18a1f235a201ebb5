"""Simulation: seeded scenarios on SimBench grids, studies of days to a year, KPIs and reports.

A study (:mod:`flexcoord.schemas.study`) is planned once (:func:`plan_study`), each day's
markets built (:func:`day_market`) and each scheme run through operations to the realised grid
(:func:`run_day`); :func:`run_study` does all of it, resumable, with tables and the HTML report;
:func:`run_sweep` runs one study per cell of a matrix on Dask (``docs/sweeps.md``).
Devices (:func:`build_devices`, :func:`device_bids`) and forecast error
(:func:`forecast_profiles`) are the study's building blocks. The public API is named here and
loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flexcoord._lazy import lazy_exports

_EXPORTS = {
    "DayMarket": "flexcoord.simulation.study",
    "DayOutcome": "flexcoord.simulation.day_run",
    "Device": "flexcoord.simulation.devices",
    "DeviceKind": "flexcoord.simulation.devices",
    "DevicePooling": "flexcoord.simulation.pooling",
    "DeviceResponse": "flexcoord.simulation.devices",
    "DeviceSpec": "flexcoord.simulation.devices",
    "ForecastErrorSpec": "flexcoord.simulation.forecast_error",
    "ReportTables": "flexcoord.simulation.html_report",
    "StudyPlan": "flexcoord.simulation.study",
    "StudyResult": "flexcoord.simulation.study_run",
    "SweepResult": "flexcoord.simulation.sweep",
    "VoltageProblem": "flexcoord.simulation.voltage_needs",
    "apply_activation": "flexcoord.simulation.devices",
    "build_coordination_scenario": "flexcoord.simulation.scenario",
    "build_devices": "flexcoord.simulation.devices",
    "build_timeframe_chain": "flexcoord.simulation.scenario",
    "check_sweep": "flexcoord.simulation.sweep",
    "capability_mw": "flexcoord.simulation.devices",
    "chain_comparison_document": "flexcoord.simulation.report",
    "clearing_tables": "flexcoord.simulation.tables",
    "comparison_document": "flexcoord.simulation.report",
    "comparison_rows": "flexcoord.simulation.report",
    "coordination_tables": "flexcoord.simulation.tables",
    "day_market": "flexcoord.simulation.study",
    "default_baseline_mw": "flexcoord.simulation.devices",
    "device_bids": "flexcoord.simulation.pooling",
    "device_pools": "flexcoord.simulation.pooling",
    "dso_voltage_needs": "flexcoord.simulation.voltage_needs",
    "forecast_profiles": "flexcoord.simulation.forecast_error",
    "plan_study": "flexcoord.simulation.study",
    "run_day": "flexcoord.simulation.day_run",
    "run_study": "flexcoord.simulation.study_run",
    "run_sweep": "flexcoord.simulation.sweep",
    "scheme_document": "flexcoord.simulation.report",
    "study_report_html": "flexcoord.simulation.html_report",
    "voltage_problems": "flexcoord.simulation.voltage_needs",
    "write_study_report": "flexcoord.simulation.html_report",
    "write_tables": "flexcoord.simulation.tables",
}

__all__ = [
    "DayMarket",
    "DayOutcome",
    "Device",
    "DeviceKind",
    "DevicePooling",
    "DeviceResponse",
    "DeviceSpec",
    "ForecastErrorSpec",
    "ReportTables",
    "StudyPlan",
    "StudyResult",
    "SweepResult",
    "VoltageProblem",
    "apply_activation",
    "build_coordination_scenario",
    "build_devices",
    "build_timeframe_chain",
    "capability_mw",
    "chain_comparison_document",
    "check_sweep",
    "clearing_tables",
    "comparison_document",
    "comparison_rows",
    "coordination_tables",
    "day_market",
    "default_baseline_mw",
    "device_bids",
    "device_pools",
    "dso_voltage_needs",
    "forecast_profiles",
    "plan_study",
    "run_day",
    "run_study",
    "run_sweep",
    "scheme_document",
    "study_report_html",
    "voltage_problems",
    "write_study_report",
    "write_tables",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from flexcoord.simulation.day_run import (
        DayOutcome,
        run_day,
    )
    from flexcoord.simulation.devices import (
        Device,
        DeviceKind,
        DeviceResponse,
        DeviceSpec,
        apply_activation,
        build_devices,
        capability_mw,
        default_baseline_mw,
    )
    from flexcoord.simulation.forecast_error import (
        ForecastErrorSpec,
        forecast_profiles,
    )
    from flexcoord.simulation.html_report import (
        ReportTables,
        study_report_html,
        write_study_report,
    )
    from flexcoord.simulation.pooling import (
        DevicePooling,
        device_bids,
        device_pools,
    )
    from flexcoord.simulation.report import (
        chain_comparison_document,
        comparison_document,
        comparison_rows,
        scheme_document,
    )
    from flexcoord.simulation.scenario import (
        build_coordination_scenario,
        build_timeframe_chain,
    )
    from flexcoord.simulation.study import (
        DayMarket,
        StudyPlan,
        day_market,
        plan_study,
    )
    from flexcoord.simulation.study_run import (
        StudyResult,
        run_study,
    )
    from flexcoord.simulation.sweep import (
        SweepResult,
        check_sweep,
        run_sweep,
    )
    from flexcoord.simulation.tables import (
        clearing_tables,
        coordination_tables,
        write_tables,
    )
    from flexcoord.simulation.voltage_needs import (
        VoltageProblem,
        dso_voltage_needs,
        voltage_problems,
    )
