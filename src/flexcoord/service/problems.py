"""Errors as RFC 9457 problems (``application/problem+json``), each naming object and field.

Every error a request can meet becomes one problem document: ``type``, ``title``, ``status``,
``detail``, ``instance`` (the path), ``request_id`` and ``errors``, the list of
:class:`~flexcoord.errors.Issue` values (kind, object id, field, value, message). Domain
validation (:class:`~flexcoord.errors.InvalidInputError`) answers 422 with its issues; a body
that fails its schema answers 422 with the same issues the market file would give; an unknown
*or foreign* object answers 404 with the same words either way (no existence oracle, as UMEI's
``ResourceNotFound``). Nothing internal (SQL, tracebacks) reaches a client: a 500 says only that
it is the service's fault, with the request id to find it in the log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from flexcoord.errors import NO_VALUE, Issue, format_value
from flexcoord.schemas.pydantic_issues import error_issue, field_path
from flexcoord.service.schemas import ProblemOut

__all__ = [
    "PROBLEM_BASE",
    "PROBLEM_JSON",
    "ServiceProblem",
    "problem_response",
    "problem_responses",
    "validation_issues",
]

PROBLEM_JSON: Final = "application/problem+json"
#: Where the problem types are documented (``docs/service.md#problems``).
PROBLEM_BASE: Final = "https://flexcoord.org/problems/"
_TITLES: Final = {
    400: ("bad-request", "Bad request"),
    401: ("unauthenticated", "Unauthenticated"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    411: ("length-required", "Length required"),
    413: ("too-large", "Request too large"),
    422: ("invalid-input", "Invalid input"),
    500: ("internal-error", "Internal error"),
    503: ("unavailable", "Service unavailable"),
}


class ServiceProblem(Exception):  # noqa: N818 - it is a problem document, as RFC 9457 names it
    """An HTTP answer that is a problem: its status, detail, issues and extra headers (and,
    for a route that speaks a standard, the standard's rejection document as the body)."""

    def __init__(
        self,
        status: int,
        detail: str,
        issues: Sequence[Issue] = (),
        headers: Mapping[str, str] | None = None,
        *,
        document: tuple[bytes, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.issues = tuple(issues)
        self.headers = dict(headers or {})
        #: The body to answer with instead of a problem document, and its media type: a
        #: standard's own rejection (an IEC 62325 acknowledgement ``A02``).
        self.document = document


def _issue_json(issue: Issue) -> dict[str, Any]:
    return {
        "kind": issue.kind,
        "object_id": issue.object_id,
        "field": issue.field,
        "value": None if issue.value is NO_VALUE else format_value(issue.value),
        "message": issue.message,
    }


def problem_response(problem: ServiceProblem, *, instance: str, request_id: str) -> JSONResponse:
    """The problem+json response of ``problem``."""
    slug, title = _TITLES.get(problem.status, ("error", "Error"))
    body = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": problem.status,
        "detail": problem.detail,
        "instance": instance,
        "request_id": request_id,
        "errors": [_issue_json(i) for i in problem.issues],
    }
    return JSONResponse(
        body, status_code=problem.status, media_type=PROBLEM_JSON, headers=problem.headers
    )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` entry documenting these problem statuses."""
    return {
        status: {
            "model": ProblemOut,
            "description": _TITLES[status][1],
        }
        for status in statuses
    }


#: Errors about the body as a whole, in words (the location pydantic gives is no field).
_WHOLE_BODY: Final = {
    "json_invalid": "the request body must be valid JSON",
    "missing": "the request body is required (a JSON object)",
}


def _item_of(body: Any, rest: tuple[Any, ...]) -> str | None:
    """The id of the bid of a bulk document (``{"bids": [...]}``) an error is inside, if it
    has one: such an error names that bid, as the domain's issues do."""
    if len(rest) < 3 or rest[0] != "bids" or not isinstance(rest[1], int):
        return None
    bids = body.get("bids") if isinstance(body, dict) else None
    item = bids[rest[1]] if isinstance(bids, list) and rest[1] < len(bids) else None
    raw_id = item.get("id") if isinstance(item, dict) else None
    return raw_id if isinstance(raw_id, str) and raw_id.strip() else None


def validation_issues(exc: RequestValidationError, body_kind: str) -> list[Issue]:
    """FastAPI's validation errors as issues: body errors about the ``body_kind`` object
    (named by the body's ``id`` when it has one), parameter errors about the parameter."""
    issues = []
    for error in exc.errors():
        loc = tuple(error.get("loc", ()))
        where, rest = (str(loc[0]), loc[1:]) if loc else ("body", ())
        whole = error["type"] == "json_invalid" or (error["type"] == "missing" and not rest)
        if where == "body" and whole:
            at = f" (at character {rest[0]})" if rest and isinstance(rest[0], int) else ""
            issues.append(
                Issue(
                    kind="",
                    object_id="",
                    field="",
                    value=NO_VALUE,
                    message=_WHOLE_BODY[error["type"]] + at,
                )
            )
        elif where == "body" and _item_of(exc.body, rest) is not None:
            item_id = _item_of(exc.body, rest)
            assert item_id is not None
            issues.append(
                error_issue(
                    error, kind="Bid", object_id=item_id, field=field_path(rest[2:]), whole="a bid"
                )
            )
        elif where == "body":
            body = exc.body if isinstance(exc.body, dict) else {}
            raw_id = body.get("id")
            object_id = raw_id if isinstance(raw_id, str) and raw_id.strip() else ""
            kind = body_kind if rest or object_id else ""
            issues.append(
                error_issue(
                    error,
                    kind=kind,
                    object_id=object_id,
                    field=field_path(rest),
                    whole="the request body",
                )
            )
        else:
            name = field_path(rest)
            issues.append(
                error_issue(
                    error,
                    kind=f"{where} parameter",
                    object_id=name,
                    field="value",
                    whole="the request",
                )
            )
    return issues
