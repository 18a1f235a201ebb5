"""The MQTT broker's side: the service's broker URL, party passwords, and mosquitto's files.

Each party that is issued a broker password (``POST /v1/parties/{id}/broker-credentials``,
:func:`issue_broker_password`) connects to mosquitto with its party id as user name. The
service keeps only mosquitto's own PBKDF2-SHA512 hash of it (``$7$<iterations>$<salt>$<hash>``,
:func:`mosquitto_hash`), so the broker's password file is written from the database
(:func:`write_broker_config`, ``flexcoord service broker-config``) and the password itself is
shown once. The ACL (:func:`acl_text`) lets a party read only ``flexcoord/v1/<its id>/#`` and
write only ``flexcoord/v1/<its id>/acks``; the service's own user reads and writes
``flexcoord/v1/#``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final
from urllib.parse import unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from flexcoord.errors import InvalidInputError, Issue
from flexcoord.service.outbox import TOPIC_ROOT, acks_topic
from flexcoord.service.settings import MQTT_URL_ENV
from flexcoord.service.tables import BrokerCredentialRow, PartyRow

__all__ = [
    "BrokerFiles",
    "MqttTarget",
    "acl_text",
    "issue_broker_password",
    "mosquitto_conf",
    "mosquitto_hash",
    "parse_mqtt_url",
    "passwords_text",
    "write_broker_config",
]

#: mosquitto_passwd's defaults (mosquitto 2.0): PBKDF2-HMAC-SHA512, 101 rounds, 12-byte salt.
#: The passwords are 256 random bits, so the round count guards nothing a guess could find.
_ROUNDS: Final = 101
_SALT_BYTES: Final = 12
_HASH_BYTES: Final = 64
_SCHEMES: Final = {"mqtt": 1883, "mqtts": 8883}


@dataclass(frozen=True, slots=True, kw_only=True)
class MqttTarget:
    """Where and as whom the service connects to the broker.

    Attributes:
        host: The broker's host.
        port: Its port (1883 for ``mqtt://``, 8883 for ``mqtts://`` unless given).
        username: The service's broker user.
        password: Its password.
        tls: Whether to connect over TLS (``mqtts://``).
    """

    host: str
    port: int
    username: str
    password: str
    tls: bool


def _url_issue(field: str, value: object, message: str) -> Issue:
    return Issue(kind="MqttUrl", object_id=MQTT_URL_ENV, field=field, value=value, message=message)


def parse_mqtt_url(url: str) -> MqttTarget:
    """The broker target of ``mqtt://user:password@host:port`` (or ``mqtts://``).

    Example:
        >>> parse_mqtt_url("mqtt://flexcoord-service:secret@127.0.0.1:1883").username
        'flexcoord-service'

    Raises:
        InvalidInputError: another scheme, no host, no user or password, a bad port.
    """
    parts = urlsplit(url)
    issues = []
    if parts.scheme not in _SCHEMES:
        issues.append(_url_issue("scheme", parts.scheme, "must be mqtt or mqtts"))
    if not parts.hostname:
        issues.append(_url_issue("host", parts.netloc, "is missing"))
    if not parts.username or not parts.password:
        issues.append(_url_issue("user", None, "needs the service's user and password"))
    try:
        port = parts.port or _SCHEMES.get(parts.scheme, 1883)
    except ValueError:
        issues.append(_url_issue("port", parts.netloc.rsplit(":", 1)[-1], "is not a port"))
        port = 0
    if issues:
        raise InvalidInputError(issues)
    return MqttTarget(
        host=parts.hostname or "",
        port=port,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        tls=parts.scheme == "mqtts",
    )


def mosquitto_hash(password: str, *, salt: bytes | None = None, rounds: int = _ROUNDS) -> str:
    """mosquitto's password hash (``$7$``: PBKDF2-HMAC-SHA512), as ``mosquitto_passwd`` writes.

    Example:
        >>> mosquitto_hash("secret", salt=bytes(12))[:24]
        '$7$101$AAAAAAAAAAAAAAAA$'
    """
    salt = os.urandom(_SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, rounds, _HASH_BYTES)
    return f"$7${rounds}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def _username_issues(party_id: str) -> list[Issue]:
    # a mosquitto password file line is "user:hash": a colon cannot be in the user name
    if ":" in party_id:
        return [
            Issue(
                kind="Party",
                object_id=party_id,
                field="id",
                value=party_id,
                message="contains ':', which a mosquitto user name cannot hold",
            )
        ]
    return []


def issue_broker_password(session: Session, party_id: str, *, now: datetime) -> str:
    """A new broker password for ``party_id`` (replacing any earlier one; not committed here).

    Only its hash is stored; it takes effect when the broker's files are written again and
    mosquitto reloads them (``SIGHUP``).

    Raises:
        InvalidInputError: the party id cannot be a mosquitto user name.
    """
    issues = _username_issues(party_id)
    if issues:
        raise InvalidInputError(issues)
    password = secrets.token_urlsafe(32)
    row = session.get(BrokerCredentialRow, party_id)
    if row is None:
        session.add(
            BrokerCredentialRow(
                party_id=party_id, password_hash=mosquitto_hash(password), created_at=now
            )
        )
    else:
        row.password_hash, row.created_at = mosquitto_hash(password), now
    session.flush()
    return password


def passwords_text(users: Sequence[tuple[str, str]]) -> str:
    """mosquitto's password file: one ``user:hash`` line per (user, hash).

    Example:
        >>> passwords_text([("fsp-a", "$7$101$c2FsdA==$aGFzaA==")])
        'fsp-a:$7$101$c2FsdA==$aGFzaA==\\n'
    """
    return "".join(f"{user}:{password_hash}\n" for user, password_hash in users)


def acl_text(service_user: str, parties: Sequence[str]) -> str:
    """mosquitto's ACL file: the service writes and reads every flexcoord topic; each party
    reads its own subtree and writes only its acknowledgements.

    Example:
        >>> print(acl_text("flexcoord-service", ["fsp-a"]), end="")
        # written by flexcoord service broker-config: the service, then one block per party
        user flexcoord-service
        topic readwrite flexcoord/v1/#
        <BLANKLINE>
        user fsp-a
        topic read flexcoord/v1/fsp-a/#
        topic write flexcoord/v1/fsp-a/acks
    """
    lines = [
        "# written by flexcoord service broker-config: the service, then one block per party",
        f"user {service_user}",
        f"topic readwrite {TOPIC_ROOT}/#",
    ]
    for party in parties:
        lines += ["", f"user {party}", f"topic read {TOPIC_ROOT}/{party}/#"]
        lines.append(f"topic write {acks_topic(party)}")
    return "\n".join(lines) + "\n"


def mosquitto_conf(folder: Path, *, bind_address: str, port: int, run_as: str | None = None) -> str:
    """mosquitto's main configuration: one listener, no anonymous clients, the password and
    ACL files of ``folder``, persistence (queued QoS 1 messages survive a broker restart).

    ``run_as``: the system user mosquitto switches to when started as root (mosquitto's
    default is ``mosquitto``; it must be able to read the files and write ``data/``).
    """
    folder = folder.resolve()
    lines = [
        "# written by flexcoord service broker-config (docs/service.md, Messaging)",
        "per_listener_settings false",
        f"listener {port} {bind_address}",
        "allow_anonymous false",
        f"password_file {folder / 'passwords'}",
        f"acl_file {folder / 'acl'}",
        "persistence true",
        f"persistence_location {folder / 'data'}/",
        "max_queued_messages 10000",
        "log_dest stderr",
        "log_type error",
        "log_type warning",
        "log_type notice",
    ]
    if run_as is not None:
        lines.append(f"user {run_as}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerFiles:
    """What :func:`write_broker_config` wrote: the three files and the parties in them."""

    config: Path
    passwords: Path
    acl: Path
    parties: tuple[str, ...]


def _broker_users(session: Session, service_user: str) -> list[tuple[str, str]]:
    rows = session.execute(
        select(BrokerCredentialRow.party_id, BrokerCredentialRow.password_hash)
        .join(PartyRow, PartyRow.id == BrokerCredentialRow.party_id)
        .order_by(BrokerCredentialRow.party_id)
    ).all()
    if any(party == service_user for party, _ in rows):
        raise InvalidInputError(
            [
                Issue(
                    kind="Party",
                    object_id=service_user,
                    field="id",
                    value=service_user,
                    message="is the service's broker user; pick another user in the MQTT URL",
                )
            ]
        )
    return [(party, password_hash) for party, password_hash in rows]


def write_broker_config(  # noqa: PLR0913 - the folder, the session, the listener, as keywords
    session: Session,
    folder: Path,
    *,
    target: MqttTarget,
    bind_address: str,
    port: int | None = None,
    run_as: str | None = None,
) -> BrokerFiles:
    """Write ``mosquitto.conf``, ``passwords`` and ``acl`` into ``folder`` from the parties'
    broker credentials and the service's user of ``target`` (each file replaced whole).

    Raises:
        InvalidInputError: a party is named like the service's broker user.
    """
    users = _broker_users(session, target.username)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data").mkdir(exist_ok=True)
    service = (target.username, mosquitto_hash(target.password))
    files = {
        "passwords": passwords_text([service, *users]),
        "acl": acl_text(target.username, [party for party, _ in users]),
        "mosquitto.conf": mosquitto_conf(
            folder, bind_address=bind_address, port=port or target.port, run_as=run_as
        ),
    }
    for name, text in files.items():
        _replace(folder / name, text)
    return BrokerFiles(
        config=folder / "mosquitto.conf",
        passwords=folder / "passwords",
        acl=folder / "acl",
        parties=tuple(party for party, _ in users),
    )


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, readable by its owner only (hashes inside)."""
    partial = path.with_name(path.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as stream:
        stream.write(text)
    os.replace(partial, path)
