"""Shared fixtures: hand-built small grids for unit tests, cached SimBench grids for integration."""

from __future__ import annotations

import os
from typing import Any

import pytest

# CLI tests read rich tables: a fixed console width makes them independent of the terminal (or
# the lack of one, in CI) that runs the suite.
os.environ["COLUMNS"] = "200"

MV_RURAL = "1-MV-rural--0-sw"
HVMV_MIXED = "1-HVMV-mixed-all-0-sw"


def three_bus_net() -> Any:
    """A 20 kV triangle fed by an external grid at bus 0, with a load and a generator."""
    import pandapower as pp

    net = pp.create_empty_network()
    b = [pp.create_bus(net, vn_kv=20.0, name=f"b{i}") for i in range(3)]
    pp.create_ext_grid(net, b[0], vm_pu=1.0)
    for f, t in ((0, 1), (1, 2), (0, 2)):
        pp.create_line_from_parameters(
            net,
            b[f],
            b[t],
            length_km=2.0,
            r_ohm_per_km=0.2,
            x_ohm_per_km=0.35,
            c_nf_per_km=10.0,
            max_i_ka=0.2,
        )
    pp.create_load(net, b[2], p_mw=3.0, q_mvar=1.0)
    pp.create_sgen(net, b[1], p_mw=1.0)
    return net


def five_bus_two_level_net() -> Any:
    """110 kV bus with an ext_grid, two 110/20 kV transformers feeding two separate 20 kV
    feeders of two buses each: one TSO area, two DSO areas."""
    import pandapower as pp

    net = pp.create_empty_network()
    hv = pp.create_bus(net, vn_kv=110.0, name="hv")
    pp.create_ext_grid(net, hv)
    for k in range(2):
        a = pp.create_bus(net, vn_kv=20.0, name=f"mv{k}a")
        b = pp.create_bus(net, vn_kv=20.0, name=f"mv{k}b")
        pp.create_transformer(net, hv, a, std_type="25 MVA 110/20 kV")
        pp.create_line(net, a, b, length_km=3.0, std_type="NA2XS2Y 1x240 RM/25 12/20 kV")
        pp.create_load(net, b, p_mw=4.0, q_mvar=1.0)
    return net


@pytest.fixture
def three_bus() -> Any:
    return three_bus_net()


@pytest.fixture
def five_bus() -> Any:
    return five_bus_two_level_net()


@pytest.fixture(scope="session")
def mv_rural() -> Any:
    from flexcoord.grid.model import load_grid

    return load_grid(MV_RURAL)


@pytest.fixture(scope="session")
def hvmv_mixed() -> Any:
    from flexcoord.grid.model import load_grid

    return load_grid(HVMV_MIXED)
