"""The outbox's publisher: sends accepted messages to the broker at QoS 1, and sweeps deadlines.

One :class:`Publisher` per service process (``create_app`` starts it when
``ServiceSettings.mqtt_url`` is set). Each step (:meth:`Publisher.run_once`):

1. records the deliveries the broker confirmed since the last step (a PUBACK, paho's
   ``on_publish``) as ``delivered``, and the acknowledgements parties published on their
   ``flexcoord/v1/<party>/acks`` topic (the broker's ACL proves the sender);
2. publishes the accepted messages not yet in flight, in creation order, at QoS 1 (at most
   ``max_in_flight`` unconfirmed at a time), and waits a little for their PUBACKs;
3. runs the deadline sweep (:func:`~flexcoord.service.outbox.expire_overdue`).

Nothing is lost: a message is ``accepted`` in the database until its PUBACK is recorded. While
the broker is away, paho keeps the unconfirmed messages and sends them again (with the DUP
flag) when it has reconnected; if the process dies first, the next one publishes every
accepted message again. Either way a re-send carries the *same* ``message_id``: delivery is at
least once and consumers de-duplicate by that id. A PUBACK with an MQTT 5 failure reason (the
service's ACL refused the topic) is not a delivery: the message stays accepted and is logged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from flexcoord.errors import NotFoundError
from flexcoord.service.audit import AuditRecord, Outcome, append_event, outcome_of
from flexcoord.service.broker_config import MqttTarget
from flexcoord.service.logs import LOGGER_NAME
from flexcoord.service.outbox import (
    TOPIC_ROOT,
    MessageKind,
    acknowledge,
    expire_overdue,
    mark_delivered,
    payload_of,
    pending,
    topic_of,
)
from flexcoord.service.problems import ServiceProblem
from flexcoord.service.roles import Operation

__all__ = ["ACKS_SUBSCRIPTION", "Publisher", "Step"]

_LOG = logging.getLogger(LOGGER_NAME)
#: Every party's acknowledgement topic, as the service subscribes to it.
ACKS_SUBSCRIPTION: Final = f"{TOPIC_ROOT}/+/acks"
_ACK_BYTES: Final = 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """What one :meth:`Publisher.run_once` did.

    Attributes:
        published: Messages handed to the broker in this step.
        delivered: Messages marked delivered (their PUBACK came).
        acknowledged: Acknowledgements received over MQTT and recorded (refused ones too).
        failed: Messages that missed their deadline (each with its alert and audit event).
        in_flight: Messages published and not yet confirmed after the step.
    """

    published: int
    delivered: int
    acknowledged: int
    failed: int
    in_flight: int


class Publisher:
    """Publishes the outbox over MQTT: step by step (:meth:`run_once`, :meth:`drain`) for tests
    and scripts, or on a background thread (:meth:`start`, :meth:`stop`) in the service.

    Args:
        engine: The service database.
        target: The broker and the service's user (:func:`~.broker_config.parse_mqtt_url`).
        clock: The server clock (delivery times and deadlines).
        batch: Most messages read from the outbox per step.
        max_in_flight: Most messages published and not yet confirmed.
        poll_interval_s: The background thread's pause between steps.
    """

    def __init__(  # noqa: PLR0913 - the database, the broker, then knobs as keywords
        self,
        engine: Engine,
        *,
        target: MqttTarget,
        clock: Callable[[], datetime],
        batch: int = 1000,
        max_in_flight: int = 1000,
        poll_interval_s: float = 0.5,
    ) -> None:
        self._engine = engine
        self._target = target
        self._clock = clock
        self._batch = batch
        self._max_in_flight = max_in_flight
        self._poll_interval_s = poll_interval_s
        self._lock = threading.Condition()
        self._in_flight: dict[int, str] = {}  # paho's mid → our message id
        self._early: set[int] = set()  # PUBACKs of mids not yet recorded as in flight
        self._confirmed: list[str] = []  # PUBACKed, not yet marked delivered
        self._acks: list[tuple[str, bytes]] = []  # (party id, payload) from the acks topics
        self._connected = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._client = self._new_client()

    # --- the network (paho's thread calls the callbacks) ---

    def _new_client(self) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"flexcoord-service-{uuid.uuid4().hex[:12]}",
            protocol=mqtt.MQTTv5,
        )
        client.username_pw_set(self._target.username, self._target.password)
        if self._target.tls:
            client.tls_set()
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        return client

    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: Any,
        _flags: Any,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            _LOG.error("broker refused the service's connection: %s", reason)
            return
        client.subscribe(ACKS_SUBSCRIPTION, qos=1)
        self._connected.set()

    def _on_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        _flags: Any,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        self._connected.clear()
        if not self._stopping.is_set():
            _LOG.warning("broker connection lost (%s); reconnecting", reason)

    def _on_publish(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        mid: int,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        with self._lock:
            message_id = self._in_flight.pop(mid, None)
            if message_id is None:
                self._early.add(mid)
            elif reason.is_failure:
                _LOG.error("broker refused a message: %s", reason, extra={"message_id": message_id})
            else:
                self._confirmed.append(message_id)
            self._lock.notify_all()

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        parts = message.topic.split("/")
        if len(parts) == 4 and parts[3] == "acks":  # flexcoord/v1/<party>/acks
            with self._lock:
                self._acks.append((parts[2], bytes(message.payload[:_ACK_BYTES])))

    def connect(self, *, timeout_s: float = 10.0) -> bool:
        """Connect to the broker (paho's network thread keeps reconnecting after an outage);
        whether the connection was up within ``timeout_s``."""
        self._client.connect_async(self._target.host, self._target.port, keepalive=30)
        self._client.loop_start()
        return self._connected.wait(timeout_s)

    @property
    def connected(self) -> bool:
        """Whether the broker connection is up."""
        return self._connected.is_set()

    def wait_connected(self, timeout_s: float) -> bool:
        """Wait until the broker connection is up (after an outage); whether it is."""
        return self._connected.wait(timeout_s)

    def close(self) -> None:
        """Disconnect (what was not confirmed stays accepted in the outbox)."""
        self._stopping.set()
        self._client.disconnect()
        self._client.loop_stop()

    # --- the steps (the caller's thread touches the database) ---

    def record_deliveries(self) -> int:
        """Mark every message the broker confirmed since the last call delivered."""
        with self._lock:
            confirmed, self._confirmed = self._confirmed, []
        if not confirmed:
            return 0
        try:
            with Session(self._engine) as session:
                changed = mark_delivered(session, confirmed, now=self._clock())
                session.commit()
        except Exception:  # the database is away: keep them for the next step
            with self._lock:
                self._confirmed = confirmed + self._confirmed
            raise
        return changed

    def publish_pending(self) -> int:
        """Publish accepted messages not in flight, in creation order (none while the broker
        connection is down: paho would only queue them in memory)."""
        if not self.connected:
            return 0
        with self._lock:
            busy = [*self._in_flight.values(), *self._confirmed]
            room = min(self._batch, self._max_in_flight - len(self._in_flight))
        if room <= 0:
            return 0
        with Session(self._engine) as session:
            rows = pending(session, limit=room, skip=busy)
        published = 0
        for row in rows:
            info = self._client.publish(
                topic_of(row.party_id, MessageKind(row.kind)), payload_of(row), qos=1
            )
            if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
                _LOG.warning("publish refused: %s", info.rc, extra={"message_id": row.message_id})
                continue  # not queued by paho: stays accepted, tried again next step
            self._track(info.mid, row.message_id)
            published += 1
        return published

    def _track(self, mid: int, message_id: str) -> None:
        with self._lock:
            if mid in self._early:  # its PUBACK came before publish() returned here
                self._early.discard(mid)
                self._confirmed.append(message_id)
            else:
                self._in_flight[mid] = message_id

    def wait_for_confirmations(self, timeout_s: float) -> bool:
        """Wait until nothing is in flight (every publish confirmed or refused)."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
        return True

    def record_acks(self) -> int:
        """Record the acknowledgements published on the parties' acks topics (each audited)."""
        with self._lock:
            acks, self._acks = self._acks, []
        for party_id, payload in acks:
            self._record_ack(party_id, payload)
        return len(acks)

    def _record_ack(self, party_id: str, payload: bytes) -> None:
        now = self._clock()
        message_id = _ack_message_id(payload)
        status = 422
        with Session(self._engine) as session:
            try:
                if message_id is not None:
                    acknowledge(session, party_id, message_id, now=now)
                    status = 200
            except NotFoundError:
                status = 404
            except ServiceProblem as problem:
                status = problem.status
            if status != 200:
                session.rollback()
            _audit_ack(session, party_id, message_id, payload, status, now)
            session.commit()
        if status != 200:
            _LOG.warning(
                "MQTT acknowledgement refused (%s)",
                status,
                extra={"party_id": party_id, "message_id": message_id},
            )

    def sweep(self) -> int:
        """The deadline sweep in a transaction of its own; how many messages failed."""
        with Session(self._engine) as session:
            failed = expire_overdue(session, now=self._clock())
            session.commit()
        return len(failed)

    def run_once(self, *, wait_s: float = 2.0) -> Step:
        """One step: record confirmations and acks, publish, wait up to ``wait_s`` for the
        PUBACKs, record them, sweep deadlines."""
        delivered = self.record_deliveries()
        acknowledged = self.record_acks()
        published = self.publish_pending()
        if published:
            self.wait_for_confirmations(wait_s)
        delivered += self.record_deliveries()
        failed = self.sweep()
        with self._lock:
            in_flight = len(self._in_flight)
        return Step(
            published=published,
            delivered=delivered,
            acknowledged=acknowledged,
            failed=failed,
            in_flight=in_flight,
        )

    def drain(self, *, timeout_s: float = 10.0) -> Step:
        """Steps until no accepted message is left unconfirmed (or ``timeout_s`` passed);
        the totals of those steps."""
        deadline = time.monotonic() + timeout_s
        totals = [0, 0, 0, 0]
        while True:
            step = self.run_once(wait_s=max(0.0, min(2.0, deadline - time.monotonic())))
            for i, n in enumerate((step.published, step.delivered, step.acknowledged, step.failed)):
                totals[i] += n
            idle = step.published == 0 and step.in_flight == 0 and self.connected
            if idle or time.monotonic() >= deadline:
                return Step(
                    published=totals[0],
                    delivered=totals[1],
                    acknowledged=totals[2],
                    failed=totals[3],
                    in_flight=step.in_flight,
                )
            pause_s = min(0.2, max(0.0, deadline - time.monotonic()))
            if step.in_flight:
                self.wait_for_confirmations(pause_s)
            elif not self.connected:
                self.wait_connected(pause_s)

    # --- the background runner ---

    def start(self) -> None:
        """Connect and run steps on a background thread until :meth:`stop`."""
        self._client.connect_async(self._target.host, self._target.port, keepalive=30)
        self._client.loop_start()
        self._thread = threading.Thread(target=self._run, name="flexcoord-publisher", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.run_once(wait_s=self._poll_interval_s)
            except Exception:  # the database or the broker is away: log, and try again
                _LOG.exception("publisher step failed")
            self._stopping.wait(self._poll_interval_s)

    def stop(self, *, timeout_s: float = 10.0) -> None:
        """Stop the background thread and disconnect."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self.close()


def _ack_message_id(payload: bytes) -> str | None:
    """The ``message_id`` of an acknowledgement's JSON payload (``None``: malformed)."""
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        return None
    message_id = data.get("message_id") if isinstance(data, dict) else None
    return message_id if isinstance(message_id, str) and 0 < len(message_id) <= 64 else None


def _audit_ack(  # noqa: PLR0913 - the event's fields
    session: Session,
    party_id: str,
    message_id: str | None,
    payload: bytes,
    status: int,
    now: datetime,
) -> None:
    append_event(
        session,
        AuditRecord(
            at=now,
            party_id=party_id,
            credential_id=None,
            operation=Operation.MESSAGE_ACK.value,
            target=None if message_id is None else f"message:{message_id}",
            request_id=uuid.uuid4().hex,
            payload_sha256=hashlib.sha256(payload).hexdigest(),
            outcome=outcome_of(status) if status != 200 else Outcome.ACCEPTED,
            status=status,
        ),
    )
