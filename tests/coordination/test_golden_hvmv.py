"""Golden cases on 1-HVMV-mixed: every preset, one day and a timeframe chain (``golden.py``)."""

from __future__ import annotations

import pytest

from tests.coordination.golden_check import check_case

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("case", ["hvmv-mixed-day", "hvmv-mixed-chain"])
def test_every_preset_reproduces_its_golden_case(case: str) -> None:
    check_case(case)
