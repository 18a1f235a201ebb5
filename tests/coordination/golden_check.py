"""The comparison of a golden case with a fresh run (shared by the golden test modules)."""

from __future__ import annotations

import json
from typing import Any

from tests.coordination.golden import CASE_SPECS, CASES, build, input_files, read_csv, run, same


def check_case(name: str) -> None:
    """Build case ``name``, check its inputs, run every preset and compare with the record."""
    folder = CASES / name
    spec = json.loads((folder / "case.json").read_text())
    assert spec == CASE_SPECS[name], "case.json differs from CASE_SPECS: re-record the case"
    built = build(spec)
    for file, text in input_files(built, spec).items():
        recorded = (folder / "inputs" / file).read_text()
        assert text == recorded, (
            f"{name}: the scenario generator now produces other {file}: a change of the "
            "inputs, not of the coordination (re-record deliberately: python -m "
            "tests.coordination.golden)"
        )
    kpis, awards = run(built, spec)
    _compare_rows(name, "kpis", kpis, read_csv(folder / "expected" / "kpis.csv"), key=("scheme",))
    _compare_rows(
        name,
        "awards",
        awards,
        read_csv(folder / "expected" / "awards.csv"),
        key=("scheme", "timeframe", "market_id", "bid_id", "mtu", "direction"),
    )


def _compare_rows(
    name: str,
    what: str,
    rows: list[dict[str, Any]],
    recorded: list[dict[str, str]],
    *,
    key: tuple[str, ...],
) -> None:
    def key_of(row: Any) -> tuple[str, ...]:
        return tuple("" if row.get(k) is None else str(row.get(k)) for k in key)

    now = {key_of(r): r for r in rows}
    then = {key_of(r): r for r in recorded}
    missing = sorted(set(then) - set(now))[:5]
    extra = sorted(set(now) - set(then))[:5]
    assert not missing and not extra, f"{name} {what}: rows gone {missing}, rows new {extra}"
    differences = [
        f"{k} {column}: recorded {old!r}, now {now[k].get(column)!r}"
        for k, row in then.items()
        for column, old in row.items()
        if not same(old, now[k].get(column))
    ]
    assert not differences, f"{name} {what}: {len(differences)} differences, e.g. " + "; ".join(
        differences[:8]
    )
