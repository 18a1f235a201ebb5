"""``flexcoord client …``: FSPs and operators talk to a flexcoord service over its HTTP API.

Made for scripts: every answer is printed as JSON on stdout (``--format table`` for people),
every message on stderr, and the exit code says what happened: ``0`` done, ``2`` the service
refused the request (a 4xx problem: its issues are printed, one per line, naming kind, object,
field and value) or the input was bad (an option, a missing or unreadable file, invalid JSON),
``1`` the service could not be reached or failed (a 5xx), with the URL named. The service is
``--url`` (else ``$FLEXCOORD_URL``, else ``http://127.0.0.1:8000``) and the key ``--key`` (else
``$FLEXCOORD_API_KEY``); the key is never printed. Every change the client sends carries an
``Idempotency-Key`` (``--idempotency-key``, by default the SHA-256 of the request's method, path
and file content), so a script that retries after a lost answer gets the original answer and
never stores anything twice. ``docs/cli.md`` lists the commands.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, ParamSpec, TypeVar

import typer

from flexcoord.cli.edge import EXIT_INPUT, EXIT_INTERNAL, check, command, stderr
from flexcoord.errors import NO_VALUE, Issue

if TYPE_CHECKING:
    from flexcoord.cli.api_client import ApiClient

__all__ = ["client_app"]

P = ParamSpec("P")
T = TypeVar("T")
#: Where the client looks for the service unless ``--url`` or ``FLEXCOORD_URL`` says otherwise.
DEFAULT_URL: Final = "http://127.0.0.1:8000"
#: Items asked for per page when a list is read whole (the service's largest page).
_PAGE: Final = 1000
_SETTINGS: Final = {"help_option_names": ["-h", "--help"]}


class ClientFormat(StrEnum):
    """How a client command prints the service's answer on stdout."""

    JSON = "json"
    TABLE = "table"
    CSV = "csv"


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientOptions:
    """The global options of ``flexcoord client`` (``transport``: given by an embedding caller
    as the click context's ``obj``, e.g. a test's fake; ``None`` for the network)."""

    url: str
    api_key: str | None
    timeout_s: float
    transport: Any = None


def _sub_app(help_text: str) -> typer.Typer:
    return typer.Typer(help=help_text, no_args_is_help=True, context_settings=_SETTINGS)


client_app = _sub_app(
    "Talk to a flexcoord service over its HTTP API: JSON on stdout, exit 2 when it refuses."
)
units_app = _sub_app("The calling FSP's units.")
groups_app = _sub_app("The calling FSP's groups.")
sessions_app = _sub_app("Market sessions.")
needs_app = _sub_app("Needs of a session.")
bids_app = _sub_app("The calling FSP's bids.")
awards_app = _sub_app("Awards of a session.")
activations_app = _sub_app("Activation orders.")
messages_app = _sub_app("Messages addressed to the caller.")
for _name, _app in (
    ("units", units_app),
    ("groups", groups_app),
    ("sessions", sessions_app),
    ("needs", needs_app),
    ("bids", bids_app),
    ("awards", awards_app),
    ("activations", activations_app),
    ("messages", messages_app),
):
    client_app.add_typer(_app, name=_name)

FormatOpt = Annotated[
    ClientFormat,
    typer.Option(
        "--format", help="json (default: the service's answer), csv, or table (for people)."
    ),
]
SessionOpt = Annotated[str, typer.Option("--session", help="The market session's id.")]
FileArg = Annotated[Path, typer.Argument(help="A JSON file.", show_default=False, metavar="FILE")]
KeyOpt = Annotated[
    str | None,
    typer.Option(
        "--idempotency-key",
        help="Idempotency-Key sent (default: SHA-256 of method, path and file content).",
        show_default=False,
    ),
]


@client_app.callback()
def _options(
    ctx: typer.Context,
    url: Annotated[
        str, typer.Option("--url", envvar="FLEXCOORD_URL", help="The service's base URL.")
    ] = DEFAULT_URL,
    key: Annotated[
        str | None,
        typer.Option("--key", envvar="FLEXCOORD_API_KEY", help="Your API key.", show_default=False),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for each answer.", min=0.1)
    ] = 30.0,
) -> None:
    """Talk to a flexcoord service over its HTTP API (FSPs and operators, from scripts)."""
    ctx.obj = ClientOptions(url=url, api_key=key, timeout_s=timeout, transport=ctx.obj)


def _key_issue(api_key: str) -> Issue | None:
    """An issue unless the key is given and could be one (never echoing it)."""
    if not api_key:
        message = "is required: pass --key or set FLEXCOORD_API_KEY to your API key"
    elif not api_key.isascii() or not api_key.isprintable() or " " in api_key:
        message = "is not an API key: expected fck_<key id>_<secret> (the value is not shown)"
    else:
        return None
    return Issue(kind="option", object_id="--key", field="", value=NO_VALUE, message=message)


def _client(ctx: typer.Context) -> ApiClient:
    """The client of the global options, once they are checked (exit 2 otherwise)."""
    from flexcoord.cli.api_client import ApiClient, url_issue

    options = ctx.find_object(ClientOptions)
    assert options is not None  # set by the callback
    api_key = (options.api_key or "").strip()
    check([url_issue(options.url), _key_issue(api_key)])
    return ApiClient(
        url=options.url,
        api_key=api_key,
        transport=options.transport,
        timeout_s=options.timeout_s,
    )


def _report(fn: Callable[P, T]) -> Callable[P, T]:
    """Wrap a client command: a refusal prints its problem (exit 2), a failure its message
    naming the URL (exit 1); the rest as every command (:func:`~flexcoord.cli.edge.command`)."""

    @functools.wraps(fn)
    def reported(*args: P.args, **kwargs: P.kwargs) -> T:
        from flexcoord.cli.api_client import ServiceError, ServiceRefusal

        try:
            return fn(*args, **kwargs)
        except ServiceRefusal as refusal:
            _print_refusal(refusal)
            raise typer.Exit(code=EXIT_INPUT) from None
        except ServiceError as failure:
            stderr().print(f"error: {failure}", markup=False, soft_wrap=True)
            raise typer.Exit(code=EXIT_INTERNAL) from None

    return command(reported)


def _print_refusal(refusal: Any) -> None:
    console = stderr()
    shown = f" (request id {refusal.request_id})" if refusal.request_id else ""
    console.print(
        f"error: the service refused {refusal.url}: {refusal.status} {refusal.title}{shown}: "
        f"{refusal.detail}",
        markup=False,
        soft_wrap=True,
    )
    for issue in refusal.issues:
        console.print(f"  - {issue}", markup=False, soft_wrap=True)
    if refusal.status == 401:
        console.print("  (check --key / FLEXCOORD_API_KEY)", markup=False)


# --- output -----------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    import json

    if value is None:
        return "-"
    if isinstance(value, list):
        if all(not isinstance(v, Mapping | list) for v in value):
            return ", ".join(str(v) for v in value)
        return f"[{len(value)} item{'' if len(value) == 1 else 's'}]"
    if isinstance(value, Mapping):
        return json.dumps(value, default=str)
    return str(value)


def _rows(data: Any) -> tuple[Sequence[Mapping[str, Any]], list[str]]:
    """An answer as rows (a list: one per item; an object: one per field) and their keys,
    ``id`` first."""
    if isinstance(data, Mapping):
        rows: Sequence[Mapping[str, Any]] = [{"field": k, "value": v} for k, v in data.items()]
    elif isinstance(data, list) and all(isinstance(r, Mapping) for r in data):
        rows = data
    else:
        rows = [{"value": data}]
    keys = list(dict.fromkeys(k for r in rows for k in r))
    return rows, sorted(keys, key=lambda k: k != "id")


def _print(data: Any, output: ClientFormat) -> None:
    """The answer on stdout: JSON as the service sent it, CSV (every column, raw values) or a
    table that fits the terminal."""
    from flexcoord.cli.edge import stdout
    from flexcoord.cli.output import Column, csv_text, json_text, print_table

    if output is ClientFormat.JSON:
        sys.stdout.write(json_text(data))
        sys.stdout.flush()
        return
    rows, keys = _rows(data)
    if output is ClientFormat.CSV:
        sys.stdout.write(csv_text(rows, keys))
        sys.stdout.flush()
        return
    if not rows:
        stderr().print("(none)")
        return
    columns = [Column(k, k, text=_cell, keep=i == 0, wrap=k == "value") for i, k in enumerate(keys)]
    print_table(stdout(), rows, columns)


def _list(ctx: typer.Context, path: str, params: Mapping[str, str] | None = None) -> Any:
    """Every item of a paged list (pages of :data:`_PAGE` until a short one)."""
    client = _client(ctx)
    items: list[Any] = []
    while True:
        page = client.get(path, {**(params or {}), "limit": _PAGE, "offset": len(items)})
        if not isinstance(page, list):
            return page
        items += page
        if len(page) < _PAGE:
            return items


def _file_body(path: Path) -> tuple[Any, bytes]:
    """A JSON file's data and the bytes to send (exit 2 naming the file if it is missing,
    unreadable, not UTF-8 or not JSON)."""
    from flexcoord.schemas.reading import parse_json, read_text

    text = read_text(path)
    return parse_json(text, path), text.encode()


def _require_object(path: Path, data: Any, what: str) -> None:
    from flexcoord.errors import InvalidInputError
    from flexcoord.schemas.reading import file_issue

    if not isinstance(data, Mapping):
        raise InvalidInputError([file_issue(path, f"must hold one JSON object: {what}")])


def _send(ctx: typer.Context, method: str, path: str, body: bytes, key: str | None) -> Any:
    """Send a change with its Idempotency-Key; the answer's body (a replay is said on stderr)."""
    from flexcoord.cli.api_client import idempotency_key

    key = key if key is not None else idempotency_key(method, path, body)
    answer = _client(ctx).request(method, path, body=body or None, headers={"Idempotency-Key": key})
    if answer.replayed:
        stderr().print(
            "note: the service had already accepted this request (same Idempotency-Key and "
            "body); its original answer follows, nothing was stored twice",
            soft_wrap=True,
        )
    return answer.body


def _add(ctx: typer.Context, collection: str, file: Path, key: str | None, what: str) -> Any:
    data, body = _file_body(file)
    _require_object(file, data, what)
    return _send(ctx, "POST", f"/v1/{collection}", body, key)


def _session_path(session: str, tail: str) -> str:
    from flexcoord.cli.api_client import segment

    return f"/v1/sessions/{segment(session)}/{tail}"


# --- commands -----------------------------------------------------------------------------------


@client_app.command("whoami")
@_report
def whoami(ctx: typer.Context, output: FormatOpt = ClientFormat.JSON) -> None:
    """Who the key is: party id, role and key id."""
    _print(_client(ctx).get("/v1/me"), output)


@units_app.command("add")
@_report
def units_add(
    ctx: typer.Context, file: FileArg, key: KeyOpt = None, output: FormatOpt = ClientFormat.JSON
) -> None:
    """Register a unit (FILE: one unit as JSON, the market file's unit fields)."""
    _print(_add(ctx, "units", file, key, "a unit"), output)


@units_app.command("list")
@_report
def units_list(ctx: typer.Context, output: FormatOpt = ClientFormat.JSON) -> None:
    """Every unit of the calling FSP."""
    _print(_list(ctx, "/v1/units"), output)


@groups_app.command("add")
@_report
def groups_add(
    ctx: typer.Context, file: FileArg, key: KeyOpt = None, output: FormatOpt = ClientFormat.JSON
) -> None:
    """Register a group of one's own units (FILE: one group as JSON)."""
    _print(_add(ctx, "groups", file, key, "a group"), output)


@sessions_app.command("list")
@_report
def sessions_list(
    ctx: typer.Context,
    product: Annotated[str | None, typer.Option(help="Only this product's.")] = None,
    day: Annotated[str | None, typer.Option(help="Only this delivery day (YYYY-MM-DD).")] = None,
    output: FormatOpt = ClientFormat.JSON,
) -> None:
    """The market sessions, with their gate state now."""
    params = {k: v for k, v in (("product_id", product), ("delivery_day", day)) if v is not None}
    _print(_list(ctx, "/v1/sessions", params), output)


@needs_app.command("list")
@_report
def needs_list(
    ctx: typer.Context, session: SessionOpt, output: FormatOpt = ClientFormat.JSON
) -> None:
    """A session's needs (an FSP sees every need by grid area; an operator its own)."""
    _print(_list(ctx, _session_path(session, "needs")), output)


@bids_app.command("submit")
@_report
def bids_submit(
    ctx: typer.Context,
    session: SessionOpt,
    file: FileArg,
    key: KeyOpt = None,
    output: FormatOpt = ClientFormat.JSON,
) -> None:
    """Submit FILE: one bid (a JSON object) or a bulk document ({"bids": [...]}, all or
    nothing)."""
    data, body = _file_body(file)
    _require_object(file, data, 'one bid, or a bulk document {"bids": [...]}')
    tail = "bid-documents" if "bids" in data else "bids"
    _print(_send(ctx, "POST", _session_path(session, tail), body, key), output)


@bids_app.command("list")
@_report
def bids_list(
    ctx: typer.Context,
    session: SessionOpt,
    status: Annotated[
        str | None, typer.Option(help="Only bids in this status (submitted, withdrawn).")
    ] = None,
    output: FormatOpt = ClientFormat.JSON,
) -> None:
    """The calling FSP's bids of a session (every FSP's for the market operator)."""
    params = {"status": status} if status is not None else None
    _print(_list(ctx, _session_path(session, "bids"), params), output)


@bids_app.command("withdraw")
@_report
def bids_withdraw(
    ctx: typer.Context,
    session: SessionOpt,
    bid: Annotated[str, typer.Argument(help="The bid's id.", metavar="BID")],
    key: KeyOpt = None,
    output: FormatOpt = ClientFormat.JSON,
) -> None:
    """Withdraw one of the calling FSP's bids before the gate closes."""
    from flexcoord.cli.api_client import segment

    path = _session_path(session, f"bids/{segment(bid)}")
    _print(_send(ctx, "DELETE", path, b"", key), output)


@awards_app.command("list")
@_report
def awards_list(
    ctx: typer.Context, session: SessionOpt, output: FormatOpt = ClientFormat.JSON
) -> None:
    """The caller's awards of a cleared session."""
    _print(_client(ctx).get(_session_path(session, "awards")), output)


@activations_app.command("list")
@_report
def activations_list(ctx: typer.Context, output: FormatOpt = ClientFormat.JSON) -> None:
    """The caller's activation orders."""
    _print(_client(ctx).get("/v1/activations"), output)


@messages_app.command("list")
@_report
def messages_list(ctx: typer.Context, output: FormatOpt = ClientFormat.JSON) -> None:
    """The messages addressed to the caller, with their delivery status."""
    _print(_client(ctx).get("/v1/messages"), output)


@messages_app.command("ack")
@_report
def messages_ack(
    ctx: typer.Context,
    message_id: Annotated[str, typer.Argument(help="The message's id.", metavar="MESSAGE_ID")],
    output: FormatOpt = ClientFormat.JSON,
) -> None:
    """Acknowledge a message (an activation order, a market result) by its id."""
    from flexcoord.cli.api_client import segment

    answer = _client(ctx).request("POST", f"/v1/messages/{segment(message_id)}/ack")
    if answer.body is not None:
        _print(answer.body, output)
    stderr().print(f"message {message_id!r} acknowledged", markup=False)
