"""Golden cases on 1-MV-rural: every preset, one day and a timeframe chain (see ``golden.py``)."""

from __future__ import annotations

import pytest

from tests.coordination.golden_check import check_case

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("case", ["mv-rural-day", "mv-rural-chain"])
def test_every_preset_reproduces_its_golden_case(case: str) -> None:
    check_case(case)
