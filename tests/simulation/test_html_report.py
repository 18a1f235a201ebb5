"""The study report page: its structure, its input checks, and how a real browser renders it."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flexcoord.errors import InvalidInputError
from flexcoord.simulation.html_report import (
    REPORT_COLUMNS,
    ReportTables,
    study_report_html,
    write_study_report,
)

CHROMIUM = Path("/usr/bin/chromium")
SCHEMES = ("local", "joint", "cascade")
PLOT_IDS = ("fc-plot-cost", "fc-plot-violations", "fc-plot-market", "fc-plot-revenue")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]


def synthetic_tables(seed: int = 7, days: int = 2, mtus: int = 8) -> ReportTables:
    """Three schemes over ``days`` days of ``mtus`` quarter-hours, with made-up but consistent
    awards, settlement and violations on elements of 1-MV-rural--0-sw."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2026-06-01", tz="UTC")
    day_list = [str((start + pd.Timedelta(days=d)).date()) for d in range(days)]
    kpis, awards, settlement, violations = [], [], [], []
    for s, scheme in enumerate(SCHEMES):
        for d, day in enumerate(day_list):
            kpis.append(
                {c: float(rng.uniform(0, 100)) for c in REPORT_COLUMNS["kpis"][2:]}
                | {"scheme": scheme, "day": day, "conflicts": int(rng.integers(0, 5))}
            )
            for t in range(mtus):
                mtu = start + pd.Timedelta(days=d, minutes=15 * t)
                for b in range(3):
                    fsp = f"fsp-{(b + s) % 5}"
                    awards.append(
                        {"scheme": scheme, "day": day, "mtu": mtu, "market": "local",
                         "bid_id": f"b{d}-{t}-{b}", "fsp_id": fsp,
                         "direction": "up" if b % 2 == 0 else "down",
                         "quantity_mw": float(rng.uniform(0.1, 2.0)),
                         "price_eur_per_mwh": float(rng.uniform(20, 200))}
                    )  # fmt: skip
                    settlement.append(
                        {"scheme": scheme, "day": day, "party": fsp, "kind": "award",
                         "amount_eur": float(rng.uniform(0, 50))}
                    )  # fmt: skip
                violations.append(
                    {"scheme": scheme, "day": day, "mtu": mtu, "element": f"line:{t + s}",
                     "kind": "branch-flow", "value": float(rng.uniform(0, 1))}
                )  # fmt: skip
                violations.append(
                    {"scheme": scheme, "day": day, "mtu": mtu, "element": f"bus:{40 + t}",
                     "kind": "voltage", "value": 0.01}
                )  # fmt: skip
        settlement.append(
            {"scheme": scheme, "day": day_list[0], "party": "DSO", "kind": "procurement",
             "amount_eur": -100.0}
        )  # fmt: skip
    return ReportTables(
        kpis=pd.DataFrame(kpis),
        awards=pd.DataFrame(awards),
        settlement=pd.DataFrame(settlement),
        violations=pd.DataFrame(violations),
    )


def test_the_page_holds_every_figure_and_the_kpi_table_once_with_plotly_inlined() -> None:
    tables = synthetic_tables()
    page = study_report_html(tables, net=None, title="Study <1>", meta={"seed": "7 & more"})
    for div_id in PLOT_IDS:
        assert page.count(f'id="{div_id}"') == 1, div_id
    assert 'id="fc-plot-grid"' not in page
    assert "grid view is left out" in page
    assert page.count('id="fc-table-kpis"') == 1
    # plotly's bundle is inlined exactly once (its licence banner opens the bundle)
    assert page.count("plotly.js v") == 1
    assert "<h1>Study &lt;1&gt;</h1>" in page and "7 &amp; more" in page
    # the KPI table: one row per scheme, each value the mean over the days
    table = pd.read_html(_io(page), attrs={"id": "fc-table-kpis"})[0]
    assert table["scheme"].tolist() == list(SCHEMES)
    expected = tables.kpis.groupby("scheme")["realised_cost_eur"].mean()
    got = dict(zip(table["scheme"], table["realised_cost_eur"], strict=True))
    for scheme in SCHEMES:
        assert got[scheme] == pytest.approx(expected[scheme], abs=0.006)


def _io(text: str) -> object:
    import io

    return io.StringIO(text)


@pytest.mark.slow
def test_a_study_without_awards_settlement_or_violations_still_gets_every_figure() -> None:
    from flexcoord.grid.loading import load_network

    kpis = synthetic_tables(days=1, mtus=1).kpis
    empty = {name: pd.DataFrame(columns=list(REPORT_COLUMNS[name])) for name in REPORT_COLUMNS}
    tables = empty | {"kpis": kpis}
    page = study_report_html(tables, net=load_network("1-MV-rural--0-sw"), title="t", meta={})
    for div_id in (*PLOT_IDS, "fc-plot-grid"):
        assert page.count(f'id="{div_id}"') == 1, div_id
    assert "no settlement row names an FSP of the awards" in page


def test_the_page_loads_nothing_from_the_network() -> None:
    page = study_report_html(synthetic_tables(), net=None, title="t", meta={})
    sources = re.findall(r"<(?:script|img|iframe)\b[^>]*\bsrc\s*=\s*['\"]?([^'\" >]*)", page, re.I)
    links = re.findall(r"<link\b[^>]*\bhref\s*=\s*['\"]?([^'\" >]*)", page, re.I)
    assert sources == [] and links == []
    assert "@import" not in page and "fonts.googleapis" not in page


def test_a_missing_table_or_column_names_the_table_and_the_column() -> None:
    good = synthetic_tables(days=1, mtus=2)
    tables = {
        "kpis": good.kpis.drop(columns=["penalty_eur"]),
        "awards": good.awards.assign(mtu=good.awards["mtu"].dt.tz_localize(None)),
        "settlement": good.settlement.drop(columns=["party"]),
        "violations": good.violations.assign(kind="overload"),
    }
    with pytest.raises(InvalidInputError) as caught:
        study_report_html(tables, net=None, title="t", meta={})
    found = {(i.object_id, i.field) for i in caught.value.issues}
    assert found == {
        ("kpis", "penalty_eur"),
        ("awards", "mtu"),
        ("settlement", "party"),
        ("violations", "kind"),
    }
    assert "ReportTables 'kpis': field 'penalty_eur' is missing" in str(caught.value)
    with pytest.raises(InvalidInputError, match="field 'violations' is missing"):
        study_report_html(
            {k: v for k, v in tables.items() if k != "violations"}, net=None, title="t", meta={}
        )


def test_writing_replaces_the_file_whole_and_a_failure_leaves_it_as_it_was(
    tmp_path: Path,
) -> None:
    target = tmp_path / "report.html"
    target.write_text("old")
    bad = {"kpis": pd.DataFrame({"scheme": ["a"]})}
    with pytest.raises(InvalidInputError):
        write_study_report(target, bad, net=None, title="t", meta={})
    assert target.read_text() == "old"
    assert write_study_report(target, synthetic_tables(), net=None, title="t", meta={}) == target
    assert target.read_text().startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


@pytest.mark.slow
def test_the_grid_view_falls_back_to_a_generic_layout_and_says_so() -> None:
    from flexcoord.grid.loading import load_network

    net = load_network("1-MV-rural--0-sw")
    tables = synthetic_tables()
    unknown = tables.violations.iloc[:1].assign(element="line:9999")
    tables = ReportTables.of(
        {
            "kpis": tables.kpis,
            "awards": tables.awards,
            "settlement": tables.settlement,
            "violations": pd.concat([tables.violations, unknown]),
        }
    )
    page = study_report_html(tables, net=net, title="t", meta={})
    assert page.count('id="fc-plot-grid"') == 1
    assert "(network coordinates; 1 violated elements not in the network)" in page
    net.bus["geo"] = None
    before = net.bus.copy()
    page = study_report_html(synthetic_tables(), net=net, title="t", meta={})
    assert "generic layout: the network has no bus coordinates" in page
    pd.testing.assert_frame_equal(net.bus, before)  # the caller's network is not changed


def _launch_or_skip(playwright: object) -> object:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); CI is not set")
    return playwright.chromium.launch(  # type: ignore[attr-defined]
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
    )


@pytest.mark.slow
@pytest.mark.browser
def test_a_headless_browser_renders_every_figure_without_errors_or_network(
    tmp_path: Path,
) -> None:
    from playwright.sync_api import sync_playwright

    from flexcoord.grid.loading import load_network

    started = time.perf_counter()
    path = write_study_report(
        tmp_path / "report.html",
        synthetic_tables(),
        net=load_network("1-MV-rural--0-sw"),
        title="Synthetic study on 1-MV-rural--0-sw",
        meta={"grid": "1-MV-rural--0-sw", "seed": "7"},
    )
    size_kb = path.stat().st_size / 1024
    errors: list[str] = []
    attempted: list[str] = []
    with sync_playwright() as p:
        browser = _launch_or_skip(p)
        try:
            page = browser.new_page()  # type: ignore[attr-defined]
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.route(
                re.compile(r"^(?!file:).*"),
                lambda route: (attempted.append(route.request.url), route.abort()),
            )
            page.goto(path.as_uri(), wait_until="load")
            for div_id in (*PLOT_IDS, "fc-plot-grid"):
                page.wait_for_selector(f"#{div_id} .main-svg", state="attached", timeout=20_000)
            drawn = {
                div_id: page.locator(f"#{div_id} .main-svg").count()
                for div_id in (*PLOT_IDS, "fc-plot-grid")
            }
            grid_points = page.locator("#fc-plot-grid .scatterlayer .point").count()
            # the dropdown shows one scheme's congested assets at a time (3 traces per scheme)
            page.click("#fc-plot-grid .updatemenu-header-group")
            menu = page.locator("#fc-plot-grid .updatemenu-dropdown-button")
            labels = menu.all_text_contents()
            menu.filter(has_text="joint").click()
            visible = page.evaluate(
                "document.getElementById('fc-plot-grid').data.slice(2).map(t => t.visible)"
            )
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            browser.close()  # type: ignore[attr-defined]
    elapsed = time.perf_counter() - started
    print(f"report {size_kb:.0f} KB, browser test {elapsed:.1f} s")
    assert errors == []
    assert attempted == []
    assert all(n >= 1 for n in drawn.values()), drawn
    assert grid_points >= 97  # every bus of the network is drawn
    assert labels == list(SCHEMES)
    assert visible == [False] * 3 + [True] * 3 + [False] * 3
