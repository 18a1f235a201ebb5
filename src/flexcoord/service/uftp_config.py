"""The UFTP endpoint's configuration file (``flexcoord serve --uftp-config FILE``).

A JSON file holds flexcoord's UFTP identity, its participants and the market's agreements::

    {
      "domain": "flexcoord.example.org",
      "private_key_file": "flexcoord-uftp.key",
      "product_id": "da-cm",
      "participants": [
        {"party_id": "dso-a", "domain": "dso.example.org", "role": "DSO", "public_key": "…"},
        {"party_id": "fsp-a", "domain": "agr.example.org", "role": "AGR", "public_key": "…",
         "endpoint": "https://agr.example.org/shapeshifter/api/v3/message"}
      ],
      "congestion_points": {"ean.871685900012636543": {"kind": "area", "area_id": "mv-a"}},
      "resources": [{"fsp_id": "fsp-a", "congestion_point": "ean.871685900012636543",
                     "resource_id": "u1"}],
      "eans": {"u1": "E0000000000000001"},
      "isp_minutes": 15, "time_zone": "Europe/Amsterdam", "currency": "EUR",
      "delivery": {"answer_deadline_minutes": 15, "max_attempts": 12,
                   "base_delay_s": 30, "max_delay_s": 3600}
    }

``private_key_file`` (relative to the configuration file) holds flexcoord's base64 libsodium
signing key, kept out of the configuration; ``public_key`` values are the participants'
base64 verification keys (``flexcoord.standards.uftp.generate_keypair`` makes both); an
``endpoint`` (http or https URL) is where flexcoord delivers a participant's FlexOrders and
FlexSettlements (one without gets none); ``delivery`` (optional, the defaults shown) is how
often and how long: a message unanswered ``answer_deadline_minutes`` after its HTTP 200 is sent
again, a transport failure is retried after ``base_delay_s`` doubling up to ``max_delay_s``, and
after ``max_attempts`` in all the message is failed or expired. flexcoord's own key rotates
alike: ``private_key_file`` names the new key (flexcoord signs with it from the start), the
top-level ``previous_keys`` (same shape as a participant's, public keys only: the old private
key is no longer needed) the earlier ones still announced at ``GET /uftp/keys`` until their
``valid_until``. A participant's rotated key is listed under
the participant's ``previous_keys``
(``[{"public_key": "…", "valid_until": "2026-12-10T00:00:00Z"}]``): it still verifies until
then; at start the keys are loaded into the key table (:mod:`flexcoord.service.uftp_keys`), and
a key no longer in the file is retired. A message's ``Period`` goes to the market session of
``product_id`` on that delivery day (``sessions``, ``{"2026-06-02": "s1"}``, names one
explicitly). Every mistake is reported at once, naming the
file and the field; nothing starts.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from flexcoord.domain import Location, LocationKind
from flexcoord.errors import InvalidInputError, Issue
from flexcoord.schemas.models import LocationModel
from flexcoord.schemas.pydantic_issues import error_issue, field_path
from flexcoord.schemas.reading import parse_json, read_text
from flexcoord.service.uftp_endpoint import DeliveryPolicy, UftpEndpoint
from flexcoord.service.uftp_keys import key_problem
from flexcoord.standards import uftp

__all__ = ["load_uftp_config"]

_ID = Annotated[str, Field(min_length=1, max_length=200)]


class _PreviousKey(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    public_key: _ID
    valid_until: AwareDatetime


class _Participant(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    party_id: _ID
    domain: _ID
    role: Literal["DSO", "AGR", "CRO"]
    public_key: _ID
    endpoint: Annotated[str, Field(max_length=2000, pattern=r"^https?://[^\s/]+")] | None = None
    previous_keys: list[_PreviousKey] = []


class _Resource(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    fsp_id: _ID
    congestion_point: _ID
    resource_id: _ID


class _Delivery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    answer_deadline_minutes: Annotated[float, Field(gt=0, le=10_080)] = 15
    max_attempts: Annotated[int, Field(ge=1, le=1_000)] = 12
    base_delay_s: Annotated[float, Field(gt=0, le=86_400)] = 30
    max_delay_s: Annotated[float, Field(gt=0, le=604_800)] = 3_600

    def policy(self) -> DeliveryPolicy:
        return DeliveryPolicy(
            answer_deadline=timedelta(minutes=self.answer_deadline_minutes),
            max_attempts=self.max_attempts,
            base_delay=timedelta(seconds=self.base_delay_s),
            max_delay=timedelta(seconds=self.max_delay_s),
        )


class _UftpConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    domain: _ID
    private_key_file: _ID
    product_id: _ID
    participants: Annotated[list[_Participant], Field(min_length=1)]
    congestion_points: Annotated[dict[str, LocationModel], Field(min_length=1)]
    resources: list[_Resource] = []
    eans: dict[str, str] = {}
    sessions: dict[date, _ID] = {}
    isp_minutes: Annotated[int, Field(ge=1, le=1440)] = 15
    time_zone: str = "Europe/Amsterdam"
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "EUR"
    delivery: _Delivery = _Delivery()
    previous_keys: list[_PreviousKey] = []


def _issue(source: Path, field: str, value: object, message: str) -> Issue:
    return Issue(
        kind="",
        object_id="",
        field=field,
        value=value,
        message=message,
        source=str(source),
    )


def _key_issue(source: Path, field: str, text: str, n_bytes: int) -> Issue | None:
    wrong = key_problem(text, n_bytes)
    return None if wrong is None else _issue(source, field, "…", wrong)


def _checks(config: _UftpConfig, source: Path, private_key: str | None) -> list[Issue]:
    """The rules a schema cannot say: unique participants, known names, real keys."""
    found: list[Issue] = []
    seen: dict[tuple[str, str], int] = {}
    for i, p in enumerate(config.participants):
        if (p.domain, p.role) in seen:
            found.append(
                _issue(
                    source,
                    f"participants[{i}]",
                    p.domain,
                    f"repeats participants[{seen[(p.domain, p.role)]}] ({p.role})",
                )
            )
        seen[(p.domain, p.role)] = i
        issue = _key_issue(source, f"participants[{i}].public_key", p.public_key, 32)
        found += [issue] if issue else []
        for k, old in enumerate(p.previous_keys):
            where = f"participants[{i}].previous_keys[{k}].public_key"
            issue = _key_issue(source, where, old.public_key, 32)
            found += [issue] if issue else []
            if old.public_key == p.public_key:
                found.append(_issue(source, where, "…", "is the current public_key"))
    parties = {p.party_id for p in config.participants}
    for i, r in enumerate(config.resources):
        if r.congestion_point not in config.congestion_points:
            found.append(
                _issue(
                    source,
                    f"resources[{i}].congestion_point",
                    r.congestion_point,
                    "is not one of congestion_points",
                )
            )
        if r.fsp_id not in parties:
            found.append(_issue(source, f"resources[{i}].fsp_id", r.fsp_id, "is not a participant"))
    try:
        ZoneInfo(config.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        found.append(_issue(source, "time_zone", config.time_zone, "is not an IANA time zone"))
    found += _own_key_issues(config, source, private_key)
    return found


def _own_key_issues(config: _UftpConfig, source: Path, private_key: str | None) -> list[Issue]:
    """flexcoord's signing key and the public keys it still announces after a rotation."""
    found: list[Issue] = []
    current = None
    if private_key is not None:
        issue = _key_issue(source, "private_key_file", private_key, 64)
        if issue is None:
            try:
                current = uftp.public_key_of(private_key)
            except InvalidInputError as err:
                issue = _issue(source, "private_key_file", "…", err.issues[0].message)
        found += [issue] if issue else []
    for k, old in enumerate(config.previous_keys):
        where = f"previous_keys[{k}].public_key"
        issue = _key_issue(source, where, old.public_key, 32)
        found += [issue] if issue else []
        if old.public_key == current:
            found.append(_issue(source, where, "…", "is the public key of private_key_file"))
    return found


def load_uftp_config(path: Path) -> UftpEndpoint:
    """The :class:`UftpEndpoint` a configuration file describes.

    Raises:
        InvalidInputError: The file or its key file cannot be read, or any field is wrong
            (every issue at once, naming the file and the field).
    """
    data = parse_json(read_text(path), path)
    try:
        config = _UftpConfig.model_validate(data)
    except ValidationError as err:
        raise InvalidInputError(
            [
                error_issue(
                    e,
                    kind="",
                    object_id="",
                    field=field_path(e["loc"]),
                    source=str(path),
                    whole="the UFTP configuration",
                )
                for e in err.errors()
            ]
        ) from None
    key_path = path.parent / config.private_key_file
    try:
        private_key: str | None = read_text(key_path).strip()
    except InvalidInputError as err:
        private_key = None
        problems = [
            _issue(path, "private_key_file", config.private_key_file, i.message) for i in err.issues
        ]
    else:
        problems = []
    problems += _checks(config, path, private_key)
    locations, wrong = _locations(config, path)
    problems += wrong
    if problems:
        raise InvalidInputError(problems)
    assert private_key is not None
    return _endpoint(config, private_key, locations, key_path)


def _location(model: LocationModel) -> Location:
    return Location(
        kind=LocationKind(model.kind),
        bus_ids=frozenset(model.bus_ids),
        area_id=model.area_id,
        coupling_point_id=model.coupling_point_id,
    )


def _locations(config: _UftpConfig, source: Path) -> tuple[dict[str, Location], list[Issue]]:
    locations, found = {}, []
    for address, model in config.congestion_points.items():
        try:
            locations[address] = _location(model)
        except InvalidInputError as err:
            found += [
                _issue(source, f"congestion_points.{address}.{i.field}", i.value, i.message)
                for i in err.issues
            ]
    return locations, found


def _endpoint(
    config: _UftpConfig, private_key: str, locations: dict[str, Location], key_file: Path
) -> UftpEndpoint:
    market = uftp.UftpMarket(
        product_id=config.product_id,
        congestion_points=locations,
        domains={p.party_id: p.domain for p in config.participants},
        resources={(r.fsp_id, r.congestion_point): r.resource_id for r in config.resources},
        eans=dict(config.eans),
        isp_duration=timedelta(minutes=config.isp_minutes),
        time_zone=config.time_zone,
        currency=config.currency,
    )
    return UftpEndpoint(
        market=market,
        domain=config.domain,
        private_key=private_key,
        public_keys={(p.domain, p.role): p.public_key for p in config.participants},
        sessions=dict(config.sessions),
        previous_keys={
            (p.domain, p.role): tuple((k.public_key, k.valid_until) for k in p.previous_keys)
            for p in config.participants
            if p.previous_keys
        },
        endpoints={
            (p.domain, p.role): p.endpoint for p in config.participants if p.endpoint is not None
        },
        delivery=config.delivery.policy(),
        own_previous_keys=tuple((k.public_key, k.valid_until) for k in config.previous_keys),
        key_file=key_file,
    )
