"""``flexcoord documents``: IEC 62325-451 market documents in and out.

* ``export-bids MARKET --out DOC.xml``: the bids of a market file as a ReserveBid_MarketDocument
  (what the document cannot carry is listed on stderr);
* ``import DOC.xml --ack ACK.xml [--out OBJECTS.json]``: read a ReserveBid, Activation or
  ReserveAllocationResult document (kind from its root element), write the acknowledgement and,
  when accepted, the objects as JSON. A rejected document gets its ``A02`` acknowledgement, no
  objects file, and exit code 2 with every element at fault named.

Every output is checked before any work and written whole (temporary file, then rename).
"""

from __future__ import annotations

import json
import stat
import uuid
from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from flexcoord.cli.edge import OutputFile, check, command, option_issue, stderr, write_atomic
from flexcoord.errors import NO_VALUE, InvalidInputError, Issue
from flexcoord.schemas.reading import file_issue

if TYPE_CHECKING:
    from flexcoord.standards.iec62325 import Imported, Party

__all__ = ["documents_app"]

documents_app = typer.Typer(
    help="IEC 62325-451 market documents: export bids, import documents with acknowledgements.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_ROOTS = (
    "ReserveBid_MarketDocument",
    "Activation_MarketDocument",
    "ReserveAllocationResult_MarketDocument",
)

Eic = Annotated[str, typer.Option(help="Code of the party (EIC by default, at most 16 chars).")]
SchemaDir = Annotated[
    Path | None,
    typer.Option(
        "--schema-dir",
        help="Folder of the official ENTSO-E XSDs: validate first "
        "(default: $FLEXCOORD_IEC62325_XSD_DIR, if set).",
    ),
]


def _party(option: str, code: str, role: str, scheme: str) -> Party:
    from flexcoord.standards.iec62325 import Party

    try:
        return Party(id=code, role=role, coding_scheme=scheme)
    except InvalidInputError as err:
        raise InvalidInputError(
            [option_issue(option, code, f"{i.field}: {i.message}") for i in err.issues]
        ) from None


def _read_document(path: Path, max_bytes: int) -> bytes:
    try:
        info = path.stat()
    except (OSError, ValueError):
        raise InvalidInputError([file_issue(path, "does not exist or cannot be read")]) from None
    if not stat.S_ISREG(info.st_mode):
        raise InvalidInputError([file_issue(path, "is not a regular file")])
    if info.st_size > max_bytes:
        raise InvalidInputError(
            [file_issue(path, f"is {info.st_size:,} bytes, more than the limit of {max_bytes:,}")]
        )
    with path.open("rb") as fh:
        return fh.read(max_bytes + 1)


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def _bid_json(bid: Any) -> dict[str, Any]:
    data: dict[str, Any] = _jsonable(bid)
    data["quantities"] = [
        {"start": q["interval"]["start"], "end": q["interval"]["end"], "quantity": q["quantity"]}
        for q in data["quantities"]
    ]
    return data


def _objects_json(root: str, outcome: Imported[Any]) -> dict[str, Any]:
    if root == "ReserveBid_MarketDocument":
        return {"bids": [_bid_json(b) for b in outcome.objects]}
    if root == "ReserveAllocationResult_MarketDocument":
        return _jsonable(outcome.objects[0])  # type: ignore[no-any-return]
    key = "orders" if outcome.objects and hasattr(outcome.objects[0], "quantity_mw") else "events"
    items = []
    for item in outcome.objects:
        data = _jsonable(item)
        data["id" if key == "orders" else "order_id"] = str(
            getattr(item, "id", None) or item.order_id
        )
        items.append(data)
    return {key: items}


def _kind(data: bytes) -> tuple[str, str]:
    """The root element's local name and the document's message type (``type``)."""
    from flexcoord.standards.iec62325 import HostileDocumentError, parse_document

    try:
        root = parse_document(data)
    except HostileDocumentError:
        return "ReserveBid_MarketDocument", ""  # any importer gives the same rejection
    namespace, _, name = str(root.tag).rpartition("}")
    return name, (root.findtext(f"{namespace}}}type") or "").strip()


def _rejection_issues(path: Path, outcome: Imported[Any]) -> list[Issue]:
    """One issue per reason of the rejection: the file, then ``element: reason``."""
    return [
        Issue(kind="", object_id="", field="", value=NO_VALUE, message=line, source=str(path))
        for line in outcome.problems
    ]


@documents_app.command("import")
@command
def import_document(
    document: Annotated[Path, typer.Argument(help="The received document (XML).")],
    ack: Annotated[
        str, typer.Option("--ack", help="Write the acknowledgement here ('-': stdout).")
    ],
    out: Annotated[str | None, typer.Option("--out", help="Write the objects read (JSON).")] = None,
    party: Eic = "10X1001A1001A361",
    role: Annotated[str, typer.Option(help="Our market role (A04 system operator, ...).")] = "A04",
    coding_scheme: Annotated[str, typer.Option(help="Coding scheme of --party.")] = "A01",
    schema_dir: SchemaDir = None,
) -> None:
    """Import a document and answer it with an Acknowledgement_MarketDocument."""
    from flexcoord.standards import iec62325 as docs

    ack_out = OutputFile.parse("--ack", ack)
    objects_out = OutputFile.parse("--out", out)
    me = _party("--party", party, role, coding_scheme)
    folder = schema_dir or docs.schema_dir_from_environment()
    check(
        [
            *(ack_out.issues() if ack_out else []),
            *(objects_out.issues() if objects_out else []),
            None
            if folder is None or folder.is_dir()
            else option_issue("--schema-dir", str(folder), "is not a folder"),
        ]
    )
    data = _read_document(document, docs.MAX_DOCUMENT_BYTES)
    root, message_type = _kind(data)
    importers = {
        "ReserveBid_MarketDocument": docs.import_reserve_bids,
        "ReserveAllocationResult_MarketDocument": docs.import_allocation_result,
        "Activation_MarketDocument": docs.import_activation_responses
        if message_type == "A41"
        else docs.import_activation_orders,
    }
    importer = importers.get(root, docs.import_reserve_bids)
    outcome = importer(
        data,
        acknowledger=me,
        acknowledgement_id=str(uuid.uuid4()),  # type: ignore[operator]
        now=datetime.now(UTC),
        schema_dir=folder,
    )
    if ack_out is not None:
        ack_out.write(docs.acknowledgement_xml(outcome.acknowledgement).decode())
    if not outcome.accepted:
        raise InvalidInputError(_rejection_issues(document, outcome))
    if objects_out is not None:
        objects_out.write(json.dumps(_objects_json(root, outcome), indent=2) + "\n")
    stderr().print(f"{document}: accepted ({len(outcome.objects)} read from {root})")


@documents_app.command("export-bids")
@command
def export_bids(
    market: Annotated[Path, typer.Argument(help="A market file (JSON or CSV folder).")],
    out: Annotated[str, typer.Option("--out", help="Write the document here ('-': stdout).")],
    sender: Eic,
    receiver: Eic,
    domain: Annotated[str, typer.Option(help="EIC of the area (at most 18 characters).")],
    sender_role: Annotated[str, typer.Option(help="Sender's market role.")] = "A46",
    receiver_role: Annotated[str, typer.Option(help="Receiver's market role.")] = "A04",
    coding_scheme: Annotated[str, typer.Option(help="Scheme of party, FSP, unit codes.")] = "A01",
    document_id: Annotated[str | None, typer.Option(help="mRID (default: a UUID).")] = None,
    fsp: Annotated[
        str | None, typer.Option(help="FSP code of the bids that name none (a BSP's own bids).")
    ] = None,
) -> None:
    """Write a market file's bids as a ReserveBid_MarketDocument (createdDateTime: the latest
    submission time of its bids)."""
    from flexcoord.domain import Bid
    from flexcoord.domain.register import Register
    from flexcoord.schemas import load_market_file
    from flexcoord.standards import iec62325 as docs

    target = OutputFile.parse("--out", out)
    assert target is not None
    parties = (
        _party("--sender", sender, sender_role, coding_scheme),
        _party("--receiver", receiver, receiver_role, coding_scheme),
    )
    check(target.issues())
    loaded = load_market_file(market)
    issues: list[Issue] = []
    bids = []
    for i, model in enumerate(loaded.bids):
        row = model.row(Register())
        if model.fsp_id is None and fsp is None:
            message = f"is required to export ({market}, bids[{i}]): give --fsp"
            issues.append(
                Issue(
                    kind="Bid", object_id=model.id, field="fsp_id", value=NO_VALUE, message=message
                )
            )
            continue
        if model.fsp_id is None:
            row["fsp_id"] = fsp
        try:
            bids.append(Bid(**row))
        except InvalidInputError as err:
            issues += err.issues
    if not loaded.bids:
        issues.append(file_issue(market, "holds no bids"))
    check(issues)
    created = max(b.submitted_at for b in bids).replace(microsecond=0)
    header = docs.Header(
        document_id=document_id or str(uuid.uuid4()),
        created_at=created,
        sender=parties[0],
        receiver=parties[1],
        domain_id=domain,
    )
    exported = docs.reserve_bid_document(bids, header, coding_scheme=coding_scheme)
    for line in exported.not_carried:
        stderr().print(f"not carried: {line}")
    if target.path is None:
        target.write(exported.xml.decode())
    else:
        write_atomic(target.path, exported.xml)
    stderr().print(f"{len(bids)} bids written as {exported.root}")
