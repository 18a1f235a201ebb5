"""Simulation: seeded scenarios on SimBench grids, scheme runs over days, KPIs and reports."""
