"""The streamed violations Parquet file reads back as the whole violations table (issue 12)."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
import pytest

from flexcoord.grid.loading import load_network
from flexcoord.grid.timeseries import assess
from flexcoord.grid.violation_parquet import read_violations
from tests.conftest import MV_RURAL
from tests.grid.test_violation_csv import _region


@pytest.mark.slow
def test_streamed_parquet_reads_back_as_the_whole_table() -> None:
    net = load_network(MV_RURAL)
    options: dict[str, Any] = {
        "start": 16_000,
        "steps": 672,
        "chunk_steps": 200,  # a short last chunk
        "vm_max_pu": 1.04,
        "max_loading_percent": 40.0,
        "tag": _region,
    }
    whole = assess(net, keep_violations=True, **options)
    parquet, csv = io.BytesIO(), io.BytesIO()
    streamed = assess(
        net, keep_violations=False, violations_parquet=parquet, violations_csv=csv, **options
    )
    assert len(whole.violations) > 300
    assert set(whole.violations["kind"]) >= {"overload", "overvoltage"}
    read = read_violations(io.BytesIO(parquet.getvalue()))
    expected = whole.violations.reset_index(drop=True)
    for name in expected.columns:  # the file's pair columns come back as plain values
        if isinstance(expected[name].dtype, pd.CategoricalDtype):
            expected[name] = expected[name].astype(expected[name].cat.categories.dtype)
    pd.testing.assert_frame_equal(read, expected)
    assert csv.getvalue() == whole.violations.to_csv(index=False).encode()  # both at once
    pd.testing.assert_frame_equal(streamed.summary, whole.summary)


def test_a_window_without_violations_is_a_readable_empty_file() -> None:
    net = load_network(MV_RURAL)
    sink = io.BytesIO()
    assess(
        net,
        start=16_000,
        steps=4,
        vm_min_pu=0.5,
        vm_max_pu=1.5,
        max_loading_percent=1e4,
        keep_violations=False,
        violations_parquet=sink,
    )
    read = read_violations(io.BytesIO(sink.getvalue()))
    assert read.empty and read.columns[0] == "time" and "value" in read.columns
