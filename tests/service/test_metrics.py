"""`GET /metrics`: Prometheus text the parser reads, counters bid intake moves, admin only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from flexcoord.errors import InvalidInputError
from flexcoord.service.metrics import ServiceMetrics
from tests.service.conftest import Api, Clock
from tests.service.markets import GATE_CLOSES, bid_body, market


def _samples(api: Api) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = api.as_("admin", "GET", "/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def _value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_parse_and_only_an_administrator_reads_them(api: Api) -> None:
    market(api)
    samples = _samples(api)
    assert _value(samples, "flexcoord_requests_total", operation="unit.create", status="201") == 2
    assert any(name == "process_resident_memory_bytes" for name, _ in samples)
    for party in ("fsp-a", "dso-a", "mo"):
        assert api.as_(party, "GET", "/metrics").status_code == 403
    assert api.client.get("/metrics").status_code == 401


def test_accepted_bids_and_refusals_move_their_counters(api: Api, clock: Clock) -> None:
    market(api, units=2)
    r = api.as_("fsp-a", "POST", "/v1/sessions/s1/bids", json=bid_body("b1"))
    assert r.status_code == 201, r.text
    document = {"bids": [bid_body("b2"), bid_body("b3", "u2")]}
    headers = {"Idempotency-Key": "doc-1"}
    for _ in range(2):  # the retry is replayed: it stores nothing and counts nothing
        r = api.as_(
            "fsp-a", "POST", "/v1/sessions/s1/bid-documents", json=document, headers=headers
        )
        assert r.status_code == 201, r.text
    bad = api.as_("fsp-a", "POST", "/v1/sessions/s1/bids", json=bid_body("b4", "nope"))
    assert bad.status_code == 422
    assert api.as_("dso-a", "POST", "/v1/sessions/s1/bids", json=bid_body("b5")).status_code == 403
    clock.now = GATE_CLOSES
    late = api.as_("fsp-a", "POST", "/v1/sessions/s1/bids", json=bid_body("b6"))
    assert late.status_code == 409
    samples = _samples(api)
    assert _value(samples, "flexcoord_bids_accepted_total", operation="bid.submit") == 1
    assert _value(samples, "flexcoord_bids_accepted_total", operation="bid.submit_bulk") == 2
    refused = "flexcoord_bid_requests_refused_total"
    assert _value(samples, refused, operation="bid.submit", reason="invalid") == 1
    assert _value(samples, refused, operation="bid.submit", reason="unauthorised") == 1
    assert _value(samples, refused, operation="bid.submit", reason="gate_closed") == 1
    assert _value(samples, "flexcoord_gate_refusals_total", operation="bid.submit") == 1
    requests = "flexcoord_requests_total"
    assert _value(samples, requests, operation="bid.submit_bulk", status="201") == 2
    assert _value(samples, requests, operation="bid.submit", status="409") == 1
    latency = "flexcoord_request_duration_seconds_count"
    assert _value(samples, latency, operation="bid.submit") == 4


def test_a_need_refused_after_gate_closure_is_a_gate_refusal(api: Api, clock: Clock) -> None:
    market(api)
    clock.advance(timedelta(hours=3))
    need = {
        "id": "n1",
        "location": {"kind": "area", "area_id": "mv-a"},
        "direction": "up",
        "quantities": bid_body("x")["quantities"],
    }
    assert api.as_("dso-a", "POST", "/v1/sessions/s1/needs", json=need).status_code == 409
    samples = _samples(api)
    assert _value(samples, "flexcoord_gate_refusals_total", operation="need.create") == 1
    assert (
        _value(
            samples,
            "flexcoord_bid_requests_refused_total",
            operation="need.create",
            reason="gate_closed",
        )
        == 0
    )


def test_unknown_paths_share_one_label(api: Api) -> None:
    for path in ("/v1/a", "/v1/b", "/nowhere"):
        assert api.client.get(path).status_code == 404
    samples = _samples(api)
    assert _value(samples, "flexcoord_requests_total", operation="unmatched", status="404") == 3
    labels = {dict(k[1]).get("operation") for k in samples if k[0] == "flexcoord_requests_total"}
    assert not any(str(label).startswith(("/", "GET")) for label in labels)


def test_the_clearing_and_outbox_hooks_show_in_the_exposition() -> None:
    metrics = ServiceMetrics()
    metrics.observe_clearing(0.7, scheme="common-tso-dso", outcome="cleared")
    metrics.observe_clearing(42.0, scheme="common-tso-dso", outcome="cleared")
    with metrics.clearing_in_progress.track_inprogress():
        during = metrics.exposition().decode()
    metrics.set_outbox("pending", 3)
    metrics.set_outbox("pending", 1)
    families = {f.name: f for f in text_string_to_metric_families(metrics.exposition().decode())}
    values = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in families.values()
        for s in f.samples
    }
    labels = (("outcome", "cleared"), ("scheme", "common-tso-dso"))
    assert values["flexcoord_clearing_duration_seconds_count", labels] == 2
    assert values["flexcoord_clearing_duration_seconds_sum", labels] == pytest.approx(42.7)
    assert values["flexcoord_clearing_duration_seconds_bucket", (("le", "1.0"), *labels)] == 1
    assert "flexcoord_clearing_in_progress 1.0" in during
    assert values["flexcoord_clearing_in_progress", ()] == 0
    assert values["flexcoord_outbox_messages", (("status", "pending"),)] == 1


def test_two_apps_never_share_counters() -> None:
    a, b = ServiceMetrics(), ServiceMetrics()
    a.accept_bids("bid.submit", 5)
    assert b"flexcoord_bids_accepted_total{" not in b.exposition()
    assert b'flexcoord_bids_accepted_total{operation="bid.submit"} 5.0' in a.exposition()


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda m: m.observe_clearing(-1.0, scheme="s", outcome="cleared"), "seconds"),
        (lambda m: m.observe_clearing(float("nan"), scheme="s", outcome="cleared"), "seconds"),
        (lambda m: m.observe_clearing(1.0, scheme="", outcome="cleared"), "scheme"),
        (lambda m: m.set_outbox("pending", -1), "count"),
        (lambda m: m.set_outbox("", 1), "status"),
    ],
)
def test_a_bad_observation_is_refused_naming_its_field(call: Any, field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        call(ServiceMetrics())
    assert caught.value.issues[0].field == field


def test_a_failing_bid_request_counts_as_a_500_and_an_error(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    market(api)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("flexcoord.service.bid_store.submit_bids", broken)
    r = api.as_("fsp-a", "POST", "/v1/sessions/s1/bids", json=bid_body("b1"))
    assert r.status_code == 500
    samples = _samples(api)
    requests = "flexcoord_requests_total"
    assert _value(samples, requests, operation="bid.submit", status="500") == 1
    refused = "flexcoord_bid_requests_refused_total"
    assert _value(samples, refused, operation="bid.submit", reason="error") == 1
