"""The technology of every element of a pandapower network: the ``technology`` column of
``sgen``, ``load`` and ``storage``, as planning reads it (``docs/planning.md``).

Values are :class:`~flexcoord.domain.Technology` strings. Rules (SimBench's labels; a network
that already holds a ``technology`` column keeps it):

- ``sgen``: :func:`~flexcoord.grid.portfolio.sgen_technology` of its ``type`` (``PV*`` → pv,
  ``Wind*`` → wind, ``Biomass*``, ``Hydro*``), except SimBench's ``lv_RES`` (the aggregated
  low-voltage renewables behind an MV/LV substation), which is **pv**: its profiles
  (``lv_rural1`` … in the ``renewables`` table) are zero at night and peak at noon, as rooftop
  PV does (checked on 1-MV-rural: night mean 0.0, noon mean 0.24, PV3's 0.27).
- ``load``: its profile's SimBench family: ``HLS_*`` (home charging stations) and ``APLS_*``
  (public charging points) → ev_charging; ``Air_*`` and ``Soil_*`` (air- and ground-source heat
  pumps) → heat_pump; any other → generic_load.
- ``storage`` → bess.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from flexcoord.domain import Technology
from flexcoord.grid.portfolio import sgen_technology

__all__ = ["TECHNOLOGY_COLUMN", "load_technology", "tag_technologies"]

#: The element column that holds each element's technology.
TECHNOLOGY_COLUMN = "technology"

_LOAD_FAMILIES = (
    ("HLS_", Technology.EV_CHARGING),
    ("APLS_", Technology.EV_CHARGING),
    ("Air_", Technology.HEAT_PUMP),
    ("Soil_", Technology.HEAT_PUMP),
)


def load_technology(profile: object) -> Technology:
    """The technology of a load with SimBench profile ``profile`` (module docstring).

    Example:
        >>> [load_technology(p).value for p in ("HLS_A_11.0", "Air_Parallel_1", "H0-A", None)]
        ['ev_charging', 'heat_pump', 'generic_load', 'generic_load']
    """
    label = str(profile) if profile is not None else ""
    for prefix, tech in _LOAD_FAMILIES:
        if label.startswith(prefix):
            return tech
    return Technology.GENERIC_LOAD


def _sgen_technology(sgen_type: object) -> Technology:
    if str(sgen_type) == "lv_RES":
        return Technology.PV
    return sgen_technology(sgen_type)


def tag_technologies(net: Any) -> None:
    """Write the ``technology`` column of ``net``'s ``sgen``, ``load`` and ``storage`` tables in
    place where it is missing or empty (module docstring).

    Example:
        >>> from flexcoord.grid.loading import load_network
        >>> net = load_network("1-MV-rural--0-sw")
        >>> tag_technologies(net)
        >>> net.sgen.groupby("technology")["p_mw"].sum().round(2).to_dict()
        {'biomass': 0.94, 'hydro': 0.38, 'pv': 12.84, 'wind': 11.4}
    """
    rules: dict[str, Any] = {
        "sgen": lambda row: _sgen_technology(row.get("type")),
        "load": lambda row: load_technology(row.get("profile")),
        "storage": lambda row: Technology.BESS,
    }
    for table, rule in rules.items():
        frame: pd.DataFrame = net[table]
        held = frame.get(TECHNOLOGY_COLUMN)
        if held is not None and len(frame) and held.notna().all():
            continue
        values = [str(rule(row)) for row in frame.to_dict("records")]
        if held is not None:
            values = [v if pd.isna(h) else str(h) for v, h in zip(values, held, strict=True)]
        frame[TECHNOLOGY_COLUMN] = pd.Series(values, index=frame.index, dtype=object)
