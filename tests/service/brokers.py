"""Real mosquitto brokers for the messaging tests, and a subscriber that records what it gets.

- :func:`mosquitto_or_skip`: the broker binary; a test without it skips, or fails in CI.
- :class:`PrivateBroker`: a mosquitto process of a test's own, configured by
  :func:`flexcoord.service.broker_config.write_broker_config` from the test's database (so the
  parties' passwords and ACL are the ones the service writes), which a test may stop, pause
  (SIGSTOP: connected but silent, no PUBACK) and start again on the same port.
- :class:`Subscriber`: a paho client subscribed at QoS 1 to one filter.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from flexcoord.service.broker_config import MqttTarget, write_broker_config

MOSQUITTO_CANDIDATES = (shutil.which("mosquitto"), "/usr/sbin/mosquitto")


def mosquitto_or_skip() -> str:
    """The mosquitto binary; skip without it (fail when CI is set: .ci/run installs it)."""
    for candidate in MOSQUITTO_CANDIDATES:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    if os.environ.get("CI"):
        pytest.fail("mosquitto is missing; .ci/run installs Debian's mosquitto")
    pytest.skip("mosquitto is missing (apt-get install mosquitto); CI is not set")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class PrivateBroker:
    """A mosquitto of one test, on a free port, its files in ``folder``."""

    binary: str
    folder: Path
    target: MqttTarget
    process: subprocess.Popen[bytes] | None = None

    @classmethod
    def configured(cls, binary: str, folder: Path, engine: Engine) -> PrivateBroker:
        target = MqttTarget(
            host="127.0.0.1",
            port=free_port(),
            username="flexcoord-service",
            password="service-secret",
            tls=False,
        )
        broker = cls(binary=binary, folder=folder, target=target)
        broker.write_files(engine)
        return broker

    def write_files(self, engine: Engine) -> None:
        with Session(engine) as session:
            write_broker_config(
                session,
                self.folder,
                target=self.target,
                bind_address="127.0.0.1",
                run_as=getpass.getuser(),
            )

    def start(self) -> None:
        with (self.folder / "mosquitto.log").open("ab") as log:  # the broker keeps its copy
            self.process = subprocess.Popen(
                [self.binary, "-c", str(self.folder / "mosquitto.conf")], stdout=log, stderr=log
            )
        deadline = time.monotonic() + 10
        while not _listening(self.target.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((self.folder / "mosquitto.log").read_text())
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            self.process.wait(10)
        self.process = None

    def pause(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def reload(self, engine: Engine) -> None:
        """Write the files from the database again and have mosquitto re-read them."""
        self.write_files(engine)
        assert self.process is not None
        self.process.send_signal(signal.SIGHUP)
        time.sleep(0.3)

    def url(self) -> str:
        t = self.target
        return f"mqtt://{t.username}:{t.password}@{t.host}:{t.port}"


@dataclass
class Received:
    topic: str
    qos: int
    payload: dict[str, Any]


@dataclass
class Subscriber:
    """A client subscribed at QoS 1 to ``topic_filter`` as ``username``."""

    target: MqttTarget
    username: str
    password: str
    topic_filter: str
    received: list[Received] = field(default_factory=list)
    connected: threading.Event = field(default_factory=threading.Event)
    subscribed: threading.Event = field(default_factory=threading.Event)
    connect_reason: Any = None
    client: mqtt.Client | None = None

    def __enter__(self) -> Subscriber:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        client.username_pw_set(self.username, self.password)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.connect(self.target.host, self.target.port)
        client.loop_start()
        self.client = client
        if not self.connected.wait(10) or self.connect_reason.is_failure:
            self.__exit__()
            raise ConnectionRefusedError(f"{self.username}: {self.connect_reason}")
        assert self.subscribed.wait(10), f"{self.username} could not subscribe"
        return self

    def __exit__(self, *_: object) -> None:
        assert self.client is not None
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.connect_reason = reason
        self.connected.set()
        if not reason.is_failure:
            client.subscribe(self.topic_filter, qos=1)

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, codes: Any, _p: Any) -> None:
        assert not any(code.is_failure for code in codes), codes
        self.subscribed.set()

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        self.received.append(Received(message.topic, message.qos, json.loads(message.payload)))

    def ids(self) -> list[str]:
        return [r.payload["message_id"] for r in self.received]

    def wait_for(self, message_id: str, *, count: int = 1, timeout_s: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while self.ids().count(message_id) < count:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        assert self.client is not None
        self.client.publish(topic, json.dumps(payload), qos=1).wait_for_publish(5)
