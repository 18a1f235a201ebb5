"""FlexOfferRevocation: an AGR revokes its FlexOffer and the bids it carried are withdrawn by
the JSON API's bid store; an unknown offer, another AGR's offer, an offer revoked already and
one whose session is sealed are rejected with the protocol's response, nothing changed, every
message audited."""

from __future__ import annotations

import uuid
from typing import Any

from shapeshifter_uftp.uftp import AcceptedRejected, FlexOfferRevocation
from sqlalchemy import select
from sqlalchemy.orm import Session

from flexcoord.domain import Location
from flexcoord.service.tables import AuditEventRow
from flexcoord.service.uftp_endpoint import UftpEndpoint, mount_uftp
from flexcoord.standards import uftp
from tests.service.conftest import Api, Clock
from tests.service.markets import DAY, GATE_CLOSES, market
from tests.service.test_uftp_day import (
    AGR,
    CP,
    DSO,
    FLEX,
    Exchange,
    _meta,
    _offer,
    _request,
    _signed,
)

AGR_B = "agr-b.example"


def _endpoint(keys: dict[str, tuple[str, str]]) -> UftpEndpoint:
    return UftpEndpoint(
        market=uftp.UftpMarket(
            product_id="da-cm",
            congestion_points={CP: Location.in_area("mv-a")},
            domains={"dso-a": DSO, "fsp-a": AGR, "fsp-b": AGR_B},
            resources={("fsp-a", CP): "u1", ("fsp-b", CP): "ub"},
            eans={"u1": "E0000000000000001"},
        ),
        domain=FLEX,
        private_key=keys["flexcoord"][0],
        public_keys={
            (DSO, "DSO"): keys["dso"][1],
            (AGR, "AGR"): keys["agr"][1],
            (AGR_B, "AGR"): keys["agr-b"][1],
        },
        sessions={DAY: "s1"},
    )


class Agrs:
    def __init__(self, api: Api) -> None:
        market(api)
        self.api = api
        self.keys = {w: uftp.generate_keypair() for w in ("flexcoord", "dso", "agr", "agr-b")}
        mount_uftp(api.app, _endpoint(self.keys))
        self.client = Exchange(api, self.keys["flexcoord"][1])

    def offer(self) -> str:
        """A FlexOffer of fsp-a (two exclusive options) to the DSO's request: its MessageID."""
        request = _request(self.keys)
        answer = self.client.result(_signed(request, DSO, "DSO", self.keys["dso"][0]))
        assert answer.result == AcceptedRejected.ACCEPTED, answer.rejection_reason
        options = [("opt-a", -400_000, "20"), ("opt-b", -300_000, "13")]
        offer = _offer(request.message_id, options=options)
        answer = self.client.result(_signed(offer, AGR, "AGR", self.keys["agr"][0]))
        assert answer.result == AcceptedRejected.ACCEPTED, answer.rejection_reason
        return str(offer.message_id)

    def revoke(self, offer_id: str, sender: str = AGR, key: str = "agr") -> Any:
        revocation = FlexOfferRevocation(**_meta(sender), flex_offer_message_id=offer_id)
        answer = self.client.result(_signed(revocation, sender, "AGR", self.keys[key][0]))
        assert answer.flex_offer_revocation_message_id == revocation.message_id
        return answer

    def statuses(self) -> dict[str, str]:
        """fsp-a's bids as the JSON API shows them."""
        r = self.api.as_("fsp-a", "GET", "/v1/sessions/s1/bids")
        assert r.status_code == 200, r.text
        return {b["id"]: b["status"] for b in r.json()}

    def audited(self) -> list[str]:
        engine = self.api.app.state.services.engine
        with Session(engine) as s:
            events = s.scalars(
                select(AuditEventRow)
                .where(AuditEventRow.operation == "uftp.FlexOfferRevocation")
                .order_by(AuditEventRow.seq)
            )
            return [e.outcome for e in events]


def test_a_revoked_offer_withdraws_its_bids_once(api: Api) -> None:
    agrs = Agrs(api)
    offer_id = agrs.offer()
    assert agrs.statuses() == {"opt-a": "submitted", "opt-b": "submitted"}
    # another AGR cannot revoke it: to it the offer is unknown
    answer = agrs.revoke(offer_id, AGR_B, "agr-b")
    assert answer.result == AcceptedRejected.REJECTED
    assert answer.rejection_reason.startswith("Unknown Reference")
    assert agrs.statuses() == {"opt-a": "submitted", "opt-b": "submitted"}
    # its sender can
    answer = agrs.revoke(offer_id)
    assert answer.result == AcceptedRejected.ACCEPTED, answer.rejection_reason
    assert agrs.statuses() == {"opt-a": "withdrawn", "opt-b": "withdrawn"}
    # once
    answer = agrs.revoke(offer_id)
    assert (
        answer.result == AcceptedRejected.REJECTED and "revoked already" in answer.rejection_reason
    )
    # an offer never made
    answer = agrs.revoke(str(uuid.uuid4()))
    assert answer.result == AcceptedRejected.REJECTED
    assert answer.rejection_reason.startswith("Unknown Reference")
    assert agrs.audited() == ["rejected", "accepted", "rejected", "rejected"]


def test_an_offer_of_a_sealed_session_cannot_be_revoked(api: Api, clock: Clock) -> None:
    agrs = Agrs(api)
    offer_id = agrs.offer()
    clock.now = GATE_CLOSES
    answer = agrs.revoke(offer_id)
    assert answer.result == AcceptedRejected.REJECTED
    assert answer.rejection_reason.startswith("FlexOffer Cannot Be Revoked")
    assert "sealed" in answer.rejection_reason
    assert agrs.statuses() == {"opt-a": "submitted", "opt-b": "submitted"}
    assert agrs.audited() == ["rejected"]
