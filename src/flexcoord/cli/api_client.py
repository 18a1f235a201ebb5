"""The HTTP side of ``flexcoord client``: one request to the service and what its answer means.

The client speaks HTTP only (httpx2) and imports nothing of :mod:`flexcoord.service`: it is what
an FSP or an operator runs on its own machine against a service somewhere else. Every request
carries ``Authorization: Bearer <key>``; the key is never printed, logged or put into an error
message. Answers:

* 2xx: the JSON body (``None`` for an empty one); ``Idempotent-Replayed: true`` is kept on the
  answer (:attr:`Answer.replayed`);
* a 4xx: :class:`ServiceRefusal` holding the RFC 9457 problem's title, detail, request id and
  issues (kind, object, field, value, message): the request was wrong, exit code 2;
* a 5xx, an answer that is not JSON, a refused connection, a timeout: :class:`ServiceError`
  naming the URL: not the caller's input, exit code 1.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote, urlsplit

import httpx2

from flexcoord.errors import InvalidInputError, Issue

__all__ = [
    "Answer",
    "ApiClient",
    "ProblemIssue",
    "ServiceError",
    "ServiceRefusal",
    "idempotency_key",
    "segment",
    "url_issue",
]

_SNIPPET_CHARS: Final = 200


def url_issue(url: str) -> Issue | None:
    """An issue unless ``url`` is an ``http``/``https`` URL with a host (and no query).

    Example:
        >>> url_issue("https://flex.example.org/") is None
        True
        >>> print(url_issue("localhost:8000"))
        option '--url': value='localhost:8000' must be an http:// or https:// URL with a host
    """
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        return _url_issue(url, f"is not a valid URL: {exc}")
    if parts.scheme in ("http", "https") and hostname and not parts.query:
        return None
    return _url_issue(url, "must be an http:// or https:// URL with a host")


def _url_issue(url: str, message: str) -> Issue:
    return Issue(kind="option", object_id="--url", field="value", value=url, message=message)


def segment(value: str) -> str:
    """``value`` as one path segment (``/`` and the like escaped), e.g. a session id."""
    return quote(value, safe="")


def idempotency_key(method: str, path: str, body: bytes) -> str:
    """The default ``Idempotency-Key`` of a request: the SHA-256 (hex) of its method, path and
    body, which is what the service binds a key to. The same request sent again (a retried
    script) carries the same key and gets the original answer; another request never shares it.

    Example:
        >>> key = idempotency_key("POST", "/v1/units", b'{"id": "u1"}')
        >>> len(key), key == idempotency_key("POST", "/v1/groups", b'{"id": "u1"}')
        (64, False)
    """
    return hashlib.sha256(f"{method} {path}\n".encode() + body).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class ProblemIssue:
    """One issue of a problem answer, as the service sent it (``value`` already as text)."""

    kind: str
    object_id: str
    field: str
    value: str | None
    message: str

    def __str__(self) -> str:
        what = f"{self.kind} {self.object_id!r}: " if self.kind and self.object_id else ""
        if not what and self.kind:
            what = f"{self.kind}: "
        if not self.field:
            return f"{what}{self.message}"
        if self.value is None:
            return f"{what}field {self.field!r} {self.message}"
        return f"{what}{self.field}={self.value} {self.message}"


class ServiceRefusal(Exception):  # noqa: N818 - the service's answer, not a client bug
    """The service refused the request (4xx): its status, title, detail and issues."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        request_id: str | None,
        issues: Sequence[ProblemIssue],
        url: str,
    ) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.request_id = request_id
        self.issues = tuple(issues)
        self.url = url


class ServiceError(Exception):
    """The service could not be reached or failed (5xx, no JSON, timeout): names the URL."""


@dataclass(frozen=True, slots=True)
class Answer:
    """A successful answer: its status, JSON body, and whether it was an idempotent replay."""

    status: int
    body: Any
    replayed: bool = False


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _issues(errors: object) -> list[ProblemIssue]:
    if not isinstance(errors, list):
        return []
    found = []
    for e in errors:
        if isinstance(e, Mapping):
            value = e.get("value")
            found.append(
                ProblemIssue(
                    kind=_text(e.get("kind")),
                    object_id=_text(e.get("object_id")),
                    field=_text(e.get("field")),
                    value=None if value is None else str(value),
                    message=_text(e.get("message")),
                )
            )
    return found


def _json_or_none(response: httpx2.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _snippet(response: httpx2.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:_SNIPPET_CHARS] + ("…" if len(text) > _SNIPPET_CHARS else "")


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiClient:
    """Requests to the service at ``url`` with ``api_key`` (``transport``: another way to
    carry them than the network, e.g. a test's fake; ``timeout_s``: per request)."""

    url: str
    api_key: str = field(repr=False)
    transport: httpx2.BaseTransport | None = None
    timeout_s: float = 30.0

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """Send one request; its :class:`Answer`.

        Raises:
            ServiceRefusal: a 4xx answer.
            ServiceError: no answer, a 5xx, or an answer that is not JSON.
        """
        target = self.url.rstrip("/") + path
        sent = {"Authorization": f"Bearer {self.api_key}", "Accept": "application/json"}
        if body is not None:
            sent["Content-Type"] = "application/json"
        try:
            with httpx2.Client(transport=self.transport, timeout=self.timeout_s) as client:
                response = client.request(
                    method, target, content=body, params=params, headers={**sent, **(headers or {})}
                )
        except httpx2.InvalidURL as exc:
            raise InvalidInputError([_url_issue(self.url, f"is not a valid URL: {exc}")]) from None
        except httpx2.TimeoutException:
            raise ServiceError(
                f"the flexcoord service at {self.url} did not answer {method} {path} within "
                f"{self.timeout_s:g} s"
            ) from None
        except httpx2.HTTPError as exc:
            raise ServiceError(
                f"cannot reach the flexcoord service at {self.url}: {exc or type(exc).__name__}"
            ) from None
        return self._answer(method, path, response)

    def _answer(self, method: str, path: str, response: httpx2.Response) -> Answer:
        status = response.status_code
        data = _json_or_none(response) if response.content else None
        where = f"{method} {self.url.rstrip('/')}{path}"
        if 400 <= status < 500 and isinstance(data, Mapping):
            raise ServiceRefusal(
                status,
                _text(data.get("title")) or response.reason_phrase,
                _text(data.get("detail")),
                _text(data.get("request_id")) or response.headers.get("x-request-id"),
                _issues(data.get("errors")),
                where,
            )
        if status >= 400:
            request_id = response.headers.get("x-request-id")
            shown = f" (request id {request_id})" if request_id else ""
            detail = data.get("detail") if isinstance(data, Mapping) else None
            raise ServiceError(
                f"the flexcoord service answered {where} with {status} "
                f"{response.reason_phrase}{shown}: {detail or _snippet(response) or 'no detail'}"
            )
        if response.content and data is None:
            raise ServiceError(
                f"the flexcoord service answered {where} with {status} but not with JSON: "
                f"{_snippet(response)!r}; is {self.url} a flexcoord service?"
            )
        replayed = response.headers.get("idempotent-replayed", "").lower() == "true"
        return Answer(status, data, replayed)

    def get(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        """The JSON body of ``GET path``."""
        return self.request("GET", path, params=params).body
