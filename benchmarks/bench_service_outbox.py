"""The outbox: enqueue N messages in one transaction, publish them through mosquitto at QoS 1.

Enqueues ``--messages`` activation messages for one FSP in one transaction (``enqueue``), then
drains them with a :class:`~flexcoord.service.publisher.Publisher` until every PUBACK is recorded
(``delivered``), and publishes the same payloads with a bare paho client at QoS 1, waiting for
every PUBACK (the raw library on the same work). The broker is ``--mqtt-url``, else
``$FLEXCOORD_TEST_MQTT_URL``, else a throwaway ``scripts/mosquitto``; the database
``--database-url``, else a migrated SQLite file in a temporary folder. Last line: ratio drain /
raw.

    .venv/bin/python benchmarks/bench_service_outbox.py [--messages 5000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select
from sqlalchemy.orm import Session

from flexcoord.service import open_engine
from flexcoord.service.broker_config import MqttTarget, parse_mqtt_url
from flexcoord.service.outbox import MessageKind, enqueue, payload_of
from flexcoord.service.publisher import Publisher
from flexcoord.service.tables import OutboxRow, PartyRow

SCRIPT = Path(__file__).parents[1] / "scripts" / "mosquitto"


def _raw_publish(target: MqttTarget, payloads: list[bytes]) -> float:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.username_pw_set(target.username, target.password)
    client.connect(target.host, target.port)
    client.loop_start()
    started = time.perf_counter()
    infos = [client.publish("flexcoord/v1/bench-fsp/raw", p, qos=1) for p in payloads]
    for info in infos:
        info.wait_for_publish(60)
    seconds = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--database-url")
    parser.add_argument("--mqtt-url")
    args = parser.parse_args()
    started_broker = False
    url = args.mqtt_url or os.environ.get("FLEXCOORD_TEST_MQTT_URL")
    if not url:
        url = subprocess.run(
            ["bash", str(SCRIPT), "start"], capture_output=True, text=True, check=True
        ).stdout.strip()
        started_broker = True
    try:
        with tempfile.TemporaryDirectory() as folder:
            database_url = args.database_url or f"sqlite:///{folder}/bench.db"
            _run(database_url, parse_mqtt_url(url), args.messages)
    finally:
        if started_broker:
            subprocess.run(["bash", str(SCRIPT), "stop"], check=False)


def _run(database_url: str, target: MqttTarget, n: int) -> None:
    engine = open_engine(database_url, migrate_schema=True)
    now = datetime.now(UTC)
    with Session(engine) as session:
        if session.get(PartyRow, "bench-fsp") is None:
            session.add(PartyRow(id="bench-fsp", name="Bench", role="fsp", created_at=now))
            session.commit()
    started = time.perf_counter()
    with Session(engine) as session:
        for i in range(n):
            enqueue(
                session,
                party_id="bench-fsp",
                kind=MessageKind.ACTIVATIONS,
                subject_id=f"activation:{i}",
                body={"unit_id": f"u{i % 20}", "p_mw": 1.5, "mtu": i % 96},
                now=now,
                ack_within=timedelta(minutes=5),
            )
        session.commit()
    enqueue_s = time.perf_counter() - started
    publisher = Publisher(engine, target=target, clock=lambda: datetime.now(UTC))
    assert publisher.connect(), "the publisher could not connect"
    started = time.perf_counter()
    step = publisher.drain(timeout_s=300)
    drain_s = time.perf_counter() - started
    publisher.close()
    with Session(engine) as session:
        payloads = [payload_of(r) for r in session.scalars(select(OutboxRow).limit(n))]
    raw_s = _raw_publish(target, payloads)
    engine.dispose()
    print(f"database {database_url.split(':', maxsplit=1)[0]}, {n} messages")
    print(f"enqueue in one transaction: {enqueue_s:.2f} s ({enqueue_s / n * 1e6:.0f} µs each)")
    rate = step.delivered / drain_s
    print(f"drain to delivered: {step.delivered} in {drain_s:.2f} s ({rate:.0f}/s)")
    print(f"raw paho QoS 1, same payloads: {raw_s:.2f} s ({n / raw_s:.0f}/s)")
    print(f"ratio drain / raw: {drain_s / raw_s:.1f}")


if __name__ == "__main__":
    main()
