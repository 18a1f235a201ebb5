"""The grid layer: SimBench / pandapower networks, TSO–DSO areas, sensitivities, AC power flow.

This is the only package that imports pandapower, simbench and power-grid-model.
"""
