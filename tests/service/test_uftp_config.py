"""``flexcoord serve --uftp-config FILE``: the endpoint a configuration file describes serves a
signed FlexRequest into the session of its product and day; a wrong file names every mistake
(file and field) and nothing starts."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from shapeshifter_uftp.uftp import AcceptedRejected
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from flexcoord.cli.app import app
from flexcoord.errors import InvalidInputError
from flexcoord.service.audit import verify_chain
from flexcoord.service.tables import AuditEventRow, NeedRow
from flexcoord.service.uftp_config import load_uftp_config
from flexcoord.service.uftp_endpoint import mount_uftp
from flexcoord.standards import uftp
from tests.service.conftest import Api
from tests.service.markets import market
from tests.service.test_uftp_day import AGR, CP, DSO, FLEX, Exchange, _flip, _request, _signed


def _config(tmp_path: Path, keys: dict[str, tuple[str, str]], **change: Any) -> Path:
    (tmp_path / "flexcoord.key").write_text(keys["flexcoord"][0] + "\n")
    doc = {
        "domain": FLEX,
        "private_key_file": "flexcoord.key",
        "product_id": "da-cm",
        "participants": [
            {"party_id": "dso-a", "domain": DSO, "role": "DSO", "public_key": keys["dso"][1]},
            {"party_id": "fsp-a", "domain": AGR, "role": "AGR", "public_key": keys["agr"][1]},
        ],
        "congestion_points": {CP: {"kind": "area", "area_id": "mv-a"}},
        "resources": [{"fsp_id": "fsp-a", "congestion_point": CP, "resource_id": "u1"}],
        "eans": {"u1": "E0000000000000001"},
        **change,
    }
    path = tmp_path / "uftp.json"
    path.write_text(json.dumps(doc))
    return path


def _keys() -> dict[str, tuple[str, str]]:
    return {who: uftp.generate_keypair() for who in ("flexcoord", "dso", "agr")}


def test_a_configured_endpoint_takes_a_flex_request_into_its_days_session(
    api: Api, tmp_path: Path
) -> None:
    market(api)
    keys = _keys()
    endpoint = load_uftp_config(_config(tmp_path, keys))
    assert endpoint.sessions == {}  # the day's session is found by product and day
    mount_uftp(api.app, endpoint)
    answer = Exchange(api, keys["flexcoord"][1]).result(
        _signed(_request(keys), DSO, "DSO", keys["dso"][0])
    )
    assert answer.result == AcceptedRejected.ACCEPTED, answer.rejection_reason
    with Session(api.app.state.services.engine) as s:
        assert s.scalars(select(NeedRow.session_id)).all() == ["s1"]


def test_every_mistake_of_a_configuration_is_named(tmp_path: Path) -> None:
    keys = _keys()
    path = _config(
        tmp_path,
        keys,
        private_key_file="missing.key",
        participants=[
            {"party_id": "dso-a", "domain": DSO, "role": "DSO", "public_key": "not base64!"},
            {"party_id": "dso-b", "domain": DSO, "role": "DSO", "public_key": keys["dso"][1]},
            {"party_id": "x", "domain": AGR, "role": "BRP", "public_key": keys["agr"][1]},
        ],
        resources=[{"fsp_id": "fsp-z", "congestion_point": "nowhere", "resource_id": "u1"}],
        time_zone="Mars/Olympus",
    )
    with pytest.raises(InvalidInputError) as err:
        load_uftp_config(path)
    assert [i.field for i in err.value.issues] == ["participants[2].role"]  # the schema first
    fixed = json.loads(path.read_text())
    fixed["participants"][2]["role"] = "AGR"
    path.write_text(json.dumps(fixed))
    with pytest.raises(InvalidInputError) as err:
        load_uftp_config(path)
    assert sorted(i.field for i in err.value.issues) == [
        "participants[0].public_key",
        "participants[1]",
        "private_key_file",
        "resources[0].congestion_point",
        "resources[0].fsp_id",
        "time_zone",
    ]
    assert all(i.source == str(path) for i in err.value.issues)


def test_a_participants_endpoint_is_where_its_messages_go_and_must_be_a_web_url(
    tmp_path: Path,
) -> None:
    keys = _keys()
    url = "https://agr.example/shapeshifter/api/v3/message"
    agr = {"party_id": "fsp-a", "domain": AGR, "role": "AGR", "public_key": keys["agr"][1]}
    dso = {"party_id": "dso-a", "domain": DSO, "role": "DSO", "public_key": keys["dso"][1]}
    endpoint = load_uftp_config(
        _config(tmp_path, keys, participants=[dso, {**agr, "endpoint": url}])
    )
    assert endpoint.endpoints == {(AGR, "AGR"): url}  # the DSO has none: it is sent nothing
    path = _config(tmp_path, keys, participants=[dso, {**agr, "endpoint": "ftp://agr.example"}])
    with pytest.raises(InvalidInputError) as err:
        load_uftp_config(path)
    assert [i.field for i in err.value.issues] == ["participants[1].endpoint"]


def test_the_delivery_schedule_and_answer_deadline_come_from_the_configuration(
    tmp_path: Path,
) -> None:
    keys = _keys()
    default = load_uftp_config(_config(tmp_path, keys)).delivery
    assert (default.answer_deadline, default.max_attempts) == (timedelta(minutes=15), 12)
    chosen = load_uftp_config(
        _config(
            tmp_path,
            keys,
            delivery={"answer_deadline_minutes": 2.5, "max_attempts": 4, "base_delay_s": 10},
        )
    ).delivery
    assert chosen.answer_deadline == timedelta(minutes=2, seconds=30)
    assert (chosen.max_attempts, chosen.base_delay) == (4, timedelta(seconds=10))
    assert chosen.max_delay == timedelta(hours=1)
    path = _config(
        tmp_path, keys, delivery={"answer_deadline_minutes": 0, "max_attempts": 0, "retries": 3}
    )
    with pytest.raises(InvalidInputError) as err:
        load_uftp_config(path)
    assert sorted(i.field for i in err.value.issues) == [
        "delivery.answer_deadline_minutes",
        "delivery.max_attempts",
        "delivery.retries",
    ]


def test_serve_with_a_bad_configuration_exits_2_before_touching_the_database(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "uftp.json"
    bad.write_text('{"domain": ')
    database = tmp_path / "service.db"
    res = CliRunner().invoke(
        app,
        ["serve", "--uftp-config", str(bad), "--database-url", f"sqlite:///{database}"],
    )
    assert res.exit_code == 2, res.output
    assert "uftp.json" in res.output and "Traceback" not in res.output
    assert not database.exists()


def test_every_uftp_message_leaves_one_event_in_the_audit_chain(api: Api, tmp_path: Path) -> None:
    market(api)
    keys = _keys()
    mount_uftp(api.app, load_uftp_config(_config(tmp_path, keys)))
    client = Exchange(api, keys["flexcoord"][1])
    engine = api.app.state.services.engine
    with Session(engine) as s:
        before = s.scalar(select(func.max(AuditEventRow.seq))) or 0
    good = _signed(_request(keys), DSO, "DSO", keys["dso"][0])
    assert client.post(_flip(good, 10)).status_code == 401  # tampered: refused, recorded
    assert client.result(good).result == AcceptedRejected.ACCEPTED
    assert client.result(good).result == AcceptedRejected.REJECTED  # the replay
    with Session(engine) as s:
        events = s.execute(
            select(AuditEventRow.operation, AuditEventRow.party_id, AuditEventRow.outcome)
            .where(AuditEventRow.seq > before)
            .order_by(AuditEventRow.seq)
        ).all()
        report = verify_chain(s)
    assert [tuple(e) for e in events] == [
        ("uftp.message", None, "denied"),
        ("uftp.FlexRequest", "dso-a", "accepted"),
        ("uftp.FlexRequest", "dso-a", "rejected"),
    ]
    assert report.intact


def test_a_truncated_or_foreign_body_is_refused_with_400_and_nothing_stored(
    api: Api, tmp_path: Path
) -> None:
    market(api)
    keys = _keys()
    mount_uftp(api.app, load_uftp_config(_config(tmp_path, keys)))
    client = Exchange(api, keys["flexcoord"][1])
    good = _signed(_request(keys), DSO, "DSO", keys["dso"][0])
    for body in (good[: len(good) // 2], b"not xml at all", b"<Other xmlns='urn:x'/>"):
        r = client.post(body)
        assert r.status_code == 400, r.text
        assert "Traceback" not in r.text and r.text
    with Session(api.app.state.services.engine) as s:
        assert s.scalars(select(NeedRow.id)).all() == []
        outcomes = s.scalars(
            select(AuditEventRow.outcome).where(AuditEventRow.operation == "uftp.message")
        ).all()
    assert outcomes == ["rejected"] * 3
