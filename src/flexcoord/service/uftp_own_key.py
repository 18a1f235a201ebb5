"""flexcoord's own UFTP signing key while the service runs: the one it signs with now, swapped
without a restart.

:class:`OwnSigningKey` holds the private key every signer reads at the moment it signs (the
endpoint's answers, the delivery's messages, at each attempt), so a new key takes effect for the
next message signed. The key table (:mod:`~flexcoord.service.uftp_keys`, role ``*``) says which
key is current; the private key itself lives only in ``private_key_file``:

* :meth:`OwnSigningKey.read_file` reads the file the operator replaced (the administrator's
  rotation route, ``POST /v1/uftp/own-key``, records its public key as current in the table and
  then :meth:`~OwnSigningKey.adopt`\\ s it);
* :meth:`OwnSigningKey.sync` (called before signing) brings a process whose key differs from
  the table's current one to the table, by reading the file again: another ``flexcoord serve``
  over the same database and key file follows a rotation made through any of them. A file
  that does not hold the table's current key leaves the held key in use (logged once): it is
  still valid until the rotation's ``previous_valid_until``.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from pathlib import Path
from typing import Final

from sqlalchemy.orm import Session

from flexcoord.errors import InvalidInputError, Issue
from flexcoord.schemas.reading import read_text
from flexcoord.service import uftp_keys
from flexcoord.service.logs import LOGGER_NAME
from flexcoord.service.uftp_schemas import PublishedKeysOut, published_key_out
from flexcoord.standards import uftp

__all__ = ["OWN_SIGNING_ROLES", "OwnSigningKey", "published_list"]

#: The roles flexcoord signs in (DSO towards AGRs, CRO answering portfolio messages, AGR
#: answering a DSO's FlexRequest), all with its one current key.
OWN_SIGNING_ROLES: Final = frozenset({"DSO", "AGR", "CRO"})

_LOG = logging.getLogger(LOGGER_NAME)


def _file_error(value: str | None, message: str) -> InvalidInputError:
    return InvalidInputError(
        [
            Issue(
                kind="UftpOwnKey",
                object_id="",
                field="private_key_file",
                value=value,
                message=message,
            )
        ]
    )


class OwnSigningKey:
    """The private key flexcoord signs with now (thread-safe; module docstring).

    ``key_file``: where the key comes from (``None``: given in code, it never changes).
    """

    __slots__ = ("_lock", "_private_key", "_public_key", "_unmatched", "key_file")

    def __init__(self, private_key: str, key_file: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._private_key = private_key
        self._public_key = uftp.public_key_of(private_key)
        self._unmatched: str | None = None
        self.key_file = key_file

    def __repr__(self) -> str:  # never the private key
        return f"OwnSigningKey(public_key={self.public_key!r}, key_file={self.key_file!r})"

    @property
    def private_key(self) -> str:
        """The key to sign with now (base64 libsodium secret key)."""
        with self._lock:
            return self._private_key

    @property
    def public_key(self) -> str:
        """The public key of :attr:`private_key` (base64)."""
        with self._lock:
            return self._public_key

    def adopt(self, private_key: str) -> None:
        """Sign with ``private_key`` from now on.

        Raises:
            InvalidInputError: not a 64-byte libsodium secret key (field ``private_key``).
        """
        public = uftp.public_key_of(private_key)
        with self._lock:
            self._private_key, self._public_key, self._unmatched = private_key, public, None

    def read_file(self) -> tuple[str, str]:
        """The private key in :attr:`key_file` now and its public key.

        Raises:
            InvalidInputError: there is no key file, it cannot be read, or it holds no
                libsodium secret key (field ``private_key_file``, the file named).
        """
        if self.key_file is None:
            raise _file_error(None, "is not set: the key was given in code, not reloadable")
        try:
            private = read_text(self.key_file).strip()
            return private, uftp.public_key_of(private)
        except InvalidInputError as err:
            raise _file_error(str(self.key_file), err.issues[0].message) from None

    def sync(self, session: Session, domain: str, now: datetime) -> str:
        """The key to sign with, after following the key table (module docstring)."""
        rows = uftp_keys.published_keys(session, domain, now)
        wanted = rows[0].public_key if rows and rows[0].valid_until is None else None
        if wanted is None or wanted == self.public_key or self.key_file is None:
            return self.private_key
        try:
            private, public = self.read_file()
        except InvalidInputError as err:
            public, private = "", ""
            reason = err.issues[0].message
        else:
            reason = "holds another key"
        if public == wanted:
            self.adopt(private)
            _LOG.info(
                "UFTP signing key changed", extra={"key_sha256": uftp_keys.key_sha256(public)}
            )
        elif self._unmatched != wanted:
            self._unmatched = wanted
            _LOG.error(
                "UFTP key file %s than the current key of the key table: still signing with "
                "the earlier key",
                reason,
                extra={"key_sha256": uftp_keys.key_sha256(wanted)},
            )
        return self.private_key


def published_list(session: Session, domain: str, now: datetime) -> PublishedKeysOut:
    """flexcoord's public keys valid at ``now`` (``GET /uftp/keys``): the current one first,
    then the rotated ones still announced."""
    return PublishedKeysOut(
        domain=domain,
        roles=sorted(OWN_SIGNING_ROLES),
        keys=[published_key_out(r) for r in uftp_keys.published_keys(session, domain, now)],
    )
