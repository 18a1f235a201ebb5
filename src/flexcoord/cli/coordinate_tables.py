"""The tables ``flexcoord coordinate`` prints: the schemes compared, one scheme's sub-markets
and its conflicts (from the run's document, the same one written as JSON)."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from flexcoord.cli.output import Column, print_table

__all__ = ["CHAIN_COLUMNS", "print_tables"]


def _money(x: Any) -> str:
    if x is None:
        return "-"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.2f}"


def _mwh(x: Any) -> str:
    return "-" if x is None else f"{x:.3f}"


def _share(x: Any) -> str:
    return "-" if x is None else f"{100 * x:.1f} %"


def _comparison_columns(buyers: tuple[str, ...]) -> list[Column]:
    """The comparison table's columns, most telling first (the table drops them from the right
    when the terminal is narrow)."""
    cols = [
        Column("scheme", "scheme", str, keep=True),
        Column("total_cost_eur", "total €", _money, right=True),
        Column("penalty_share", "of which\npenalties", _share, right=True),
        Column("bid_cost_eur", "bids €", _money, right=True),
    ]
    cols += [
        Column(key, header, _money, right=True)
        for key, header in (
            ("shortfall_penalty_eur", "shortfall\npenalty €"),
            ("violation_penalty_eur", "violation\npenalty €"),
        )
    ]
    cols += [
        Column("residual_violation_tso_mwh", "TSO viol.\nMWh", _mwh, right=True),
        Column("ac_violation_tso_mwh", "TSO viol.\nAC MWh", _mwh, right=True),
        Column("residual_violation_dso_mwh", "DSO viol.\nMWh", _mwh, right=True),
        Column("ac_violation_dso_mwh", "DSO viol.\nAC MWh", _mwh, right=True),
        Column("activated_mwh", "activated\nMWh", _mwh, right=True),
    ]
    cols += [Column(f"shortfall_{b}_mwh", f"short.\n{b} MWh", _mwh, right=True) for b in buyers]
    cols += [Column(f"procurement_{b}_eur", f"proc.\n{b} €", _money, right=True) for b in buyers]
    cols += [
        Column("dso_violation_caused_by_tso_mwh", "DSO by\nTSO MWh", _mwh, right=True),
        Column("forwarded_bids", "fwd\nbids", right=True),
        Column("conflicts_double_activation", "confl.\ndouble", right=True),
        Column("conflicts_counter_activation", "confl.\ncounter", right=True),
        Column("conflicts_dso_limit", "confl.\nDSO lim.", right=True),
        Column("liquidity_root_bids_per_need", "bids per\nneed", lambda v: f"{v:.1f}", right=True),
        Column("liquidity_fsps", "FSPs", right=True),
        Column("curtailed_renewable_mwh", "RES curt.\nMWh", _mwh, right=True),
        Column("markets", "mkts", right=True),
        Column("wall_s", "wall s", lambda v: f"{v:.2f}", right=True),
        Column("solver_s", "solver s", lambda v: f"{v:.3f}", right=True),
    ]
    return cols


def print_tables(out: Console, doc: dict[str, Any]) -> None:
    """The comparison of the schemes, and for one scheme its sub-markets and conflicts."""
    s = doc["scenario"]
    out.print(
        f"[bold]{s['name']}[/]: {s['mtus']} MTUs {s['start']} – {s['end']}, "
        f"{s['bids']} bids, needs per buyer {s['needs_per_buyer']}, "
        f"{s['tightened_branches']} tightened branches"
    )
    rows = doc["comparison"]
    shown = [{**r, "scheme": f"★ {r['scheme']}" if r["cheapest"] else r["scheme"]} for r in rows]
    print_table(
        out,
        shown,
        _comparison_columns(tuple(doc["buyers"])),
        title="coordination schemes (energies MWh, money €)",
        caption="★ cheapest total cost (joint-objective yardstick: bids + penalties)",
        styles=["bold green" if r["cheapest"] else None for r in rows],
    )
    if len(doc["schemes"]) != 1:
        return
    run = doc["schemes"][0]
    market_rows = [
        {**m, "buyer_ids": ", ".join(m["buyer_ids"]), "areas": ", ".join(m["areas"])}
        for m in run["markets"]
    ]
    print_table(
        out,
        market_rows,
        [
            Column("id", "market", keep=True),
            Column("buyer_ids", "buyers"),
            Column("needs", "needs", right=True),
            Column("bids_offered", "bids", right=True),
            Column("bids_forwarded", "fwd", right=True),
            Column("accepted_bids", "accepted", right=True),
            Column("solver_s", "solver s", lambda v: f"{v:.3f}", right=True),
            Column("areas", "areas"),
        ],
        title=f"sub-markets of {run['scheme']}",
    )
    if not run["conflicts"]:
        out.print("conflicts: none")
        return
    conflict_rows = [
        {**c, "tso_mw": f"{c['tso_mw_before']:.3f} → {c['tso_mw_after']:.3f}"}
        for c in run["conflicts"][:20]
    ]
    print_table(
        out,
        conflict_rows,
        [
            Column("kind", "kind", keep=True),
            Column("area_id", "area"),
            Column("mtu", "MTU", lambda v: str(v)[5:16].replace("T", " ")),
            Column("action", "action"),
            Column("tso_mw", "TSO MW before → after"),
            Column("reason", "reason", wrap=True),
        ],
        title=f"conflicts ({len(run['conflicts'])})",
    )


#: The timeframe chain's comparison table.
CHAIN_COLUMNS = [
    Column("scheme", "scheme", str, keep=True),
    Column("total_cost_eur", "total €", _money, right=True),
    Column("penalty_share", "of which\npenalties", _share, right=True),
    Column("availability_payment_eur", "avail. €", _money, right=True),
    Column("activation_cost_eur", "activation €", _money, right=True),
    Column("activation_shortfall_mwh", "short.\nMWh", _mwh, right=True),
    Column("timeframes_run", "rounds", lambda v: "/".join(t.replace("_", "-") for t in v) or "-"),
    Column("availability_mw", "avail.\nMW", _mwh, right=True),
    Column("activated_mw", "activated\nMW", _mwh, right=True),
    Column("obligated_bids", "obliged", right=True),
    Column("forwarded_bids", "fwd\nbids", right=True),
    Column("wall_s", "wall s", lambda v: f"{v:.2f}", right=True),
]
