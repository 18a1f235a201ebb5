"""The streamed violations CSV is byte for byte the CSV of the whole table (issue 12)."""

from __future__ import annotations

import copy
import io
from typing import Any

import numpy as np
import pandas as pd
import pytest

from flexcoord.grid.loading import load_network
from flexcoord.grid.model import GridModel
from flexcoord.grid.timeseries import assess
from flexcoord.grid.violation_csv import ViolationCsvWriter
from tests.conftest import MV_RURAL

HV_MV = "1-HVMV-mixed-all-0-sw"


def _region(frame: pd.DataFrame) -> pd.DataFrame:
    """A tag as GridModel's: a column after ``time``, from the asset."""
    frame = frame.copy()
    region = frame["asset"].astype(str).str.startswith("bus:").map({True: "north", False: "south"})
    frame.insert(1, "region", region.astype("category"))
    return frame


@pytest.mark.slow
def test_streamed_csv_equals_the_whole_table_as_csv() -> None:
    net = load_network(MV_RURAL)
    net = copy.deepcopy(net)
    # names the CSV must quote: a comma and a quote, a line break
    net.bus.loc[net.bus.index[15], "name"] = 'Bus "15", at the end'
    net.line.loc[net.line.index[0], "name"] = "first\nline"
    options: dict[str, Any] = {
        "start": 16_000,
        "steps": 672,
        "chunk_steps": 200,  # a short last chunk
        "vm_max_pu": 1.04,
        "max_loading_percent": 40.0,
        "tag": _region,
    }
    whole = assess(net, keep_violations=True, **options)
    sink = io.BytesIO()
    streamed = assess(net, keep_violations=False, violations_csv=sink, **options)
    expected = whole.violations.to_csv(index=False).encode()
    assert len(whole.violations) > 300
    assert whole.violations["time"].iloc[-1] - whole.violations["time"].iloc[0] > pd.Timedelta(
        days=2
    )
    assert {"region", "kind"} <= set(whole.violations.columns)
    assert b'"Bus ""15"", at the end"' in expected
    assert sink.getvalue() == expected
    assert streamed.violations.empty
    pd.testing.assert_frame_equal(streamed.summary, whole.summary)


def test_values_are_written_as_pandas_writes_them() -> None:
    """Arrow prints plain decimals; whole numbers, tiny and huge values are pandas' own."""
    value = np.array(
        [1.0552423727254854, 100.0, 1e-5, 2.5e6, 123.456, 0.5, 1e16, 99.99999999999999, 7e-4]
    )
    n = len(value)
    times = pd.date_range("2016-03-27 00:00", periods=n, freq="15min", tz="UTC")
    assets = np.array([*(f"line:{i}" for i in range(n))])

    def table_of(
        step: np.ndarray, asset: np.ndarray, kind: np.ndarray, val: np.ndarray, limit: np.ndarray
    ) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "time": times.take(step),
                "asset": pd.Categorical.from_codes(asset, assets),
                "kind": kind,
                "value": val,
                "limit": limit,
            }
        )

    codes = np.arange(n, dtype=np.int64)
    zeros = np.zeros(n, np.int64)
    sink = io.BytesIO()
    writer = ViolationCsvWriter(
        sink, table_of=table_of, pairs=(codes, zeros, np.full(n, 50.0)), n_steps=n
    )
    writer.write(codes[:4], codes[:4], value[:4])
    writer.write(codes[4:], codes[4:], value[4:])
    expected = table_of(codes, codes, zeros, value, np.full(n, 50.0)).to_csv(index=False)
    assert sink.getvalue().decode() == expected


@pytest.mark.slow
def test_hv_mv_day_streamed_with_areas_equals_the_whole_table() -> None:
    grid = GridModel.load(HV_MV)
    whole = grid.assess(steps=96, chunk_steps=40, keep_violations=True)
    sink = io.BytesIO()
    grid.assess(steps=96, chunk_steps=40, keep_violations=False, violations_csv=sink)
    assert {"area", "operator"} <= set(whole.violations.columns)
    assert len(whole.violations) > 100_000  # SimBench's MV band: most MV buses, most steps
    assert sink.getvalue() == whole.violations.to_csv(index=False).encode()
