"""Which UFTP message types flexcoord maps, and what each mapping does not carry."""

from __future__ import annotations

from typing import Final

__all__ = ["MESSAGE_TYPES", "NOT_CARRIED"]

#: Every message type of the UFTP 3.x message catalog (root element) → how flexcoord covers it:
#: ``"mapped"`` (flexcoord objects both ways), ``"received"`` (acted on by the endpoint, never
#: sent by flexcoord: a FlexOfferRevocation withdraws the offer's bids), ``"response"``
#: (answered/read by the endpoint), ``"transport"`` (the signed wrapper and test messages),
#: ``"cro"`` (a portfolio update or query flexcoord, as the Common Reference Operator, checks
#: against or answers from its register) or ``"cro response"`` (its answer to one).
MESSAGE_TYPES: Final = {
    "FlexRequest": "mapped",
    "FlexOffer": "mapped",
    "FlexOrder": "mapped",
    "FlexReservationUpdate": "mapped",
    "D-Prognosis": "mapped",
    "Metering": "mapped",
    "FlexSettlement": "mapped",
    "FlexRequestResponse": "response",
    "FlexOfferResponse": "response",
    "FlexOrderResponse": "response",
    "FlexReservationUpdateResponse": "response",
    "D-PrognosisResponse": "response",
    "MeteringResponse": "response",
    "FlexSettlementResponse": "response",
    "SignedMessage": "transport",
    "TestMessage": "transport",
    "TestMessageResponse": "transport",
    "FlexOfferRevocation": "received",
    "FlexOfferRevocationResponse": "response",
    "AGRPortfolioQuery": "cro",
    "AGRPortfolioQueryResponse": "cro response",
    "AGRPortfolioUpdate": "cro",
    "AGRPortfolioUpdateResponse": "cro response",
    "DSOPortfolioQuery": "cro",
    "DSOPortfolioQueryResponse": "cro response",
    "DSOPortfolioUpdate": "cro",
    "DSOPortfolioUpdateResponse": "cro response",
}

#: (UFTP message, what) → why it is not carried, both ways.
NOT_CARRIED: Final = {
    ("FlexRequest", "Need.activation_price_cap_eur_per_mwh"): "no price in a FlexRequest",
    ("FlexRequest", "Need.availability_price_cap_eur_per_mw_h"): "no price in a FlexRequest",
    ("FlexRequest", "Need.expected_activation_share"): "no such attribute",
    ("FlexRequest", "Need.id (not a UUID)"): "sent as a name-based MessageID",
    ("FlexRequest", "ISP Available MinPower/MaxPower ≠ 0"): "grid headroom: flexcoord has none",
    ("FlexRequest", "ExpirationDateTime, Revision"): "message bookkeeping, not a need field",
    ("FlexOffer", "Bid.availability_price_eur_per_mw_h"): "a FlexOffer prices activation",
    ("FlexOffer", "Bid.parent_bid_id"): "options cannot be linked",
    ("FlexOffer", "Bid.q_mvar_per_mw"): "active power only",
    ("FlexOffer", "Bid.block=False (several MTUs)"): "an option is ordered whole",
    ("FlexOffer", "Bid.min_acceptance=None (divisible)"): "the smallest factor is 0.01",
    ("FlexOffer", "Bid.resource_id"): "from UftpMarket.resources (fsp, congestion point)",
    ("FlexOffer", "Bid.exclusive_set (not a UUID)"): "the set is the FlexOffer MessageID",
    ("FlexOffer", "Bid.exclusive_set=None"): "a lone option's set is its FlexOffer MessageID",
    ("FlexOffer", "ExpirationDateTime, FlexRequestMessageID, BaselineReference"): (
        "checked by the endpoint, not stored on the bid"
    ),
    ("FlexOrder", "Award.price_eur_per_mwh per MTU"): "one Price per order",
    ("FlexOrder", "OrderReference, ActivationFactor"): "derived from the awards and bid",
    ("FlexReservationUpdate", "availability price"): "no price in the message",
    ("D-Prognosis", "BaselineValue insufficient_data"): "a D-Prognosis gives every ISP",
    ("Metering", "MeterReading mw=None"): "the ISP is left out",
    ("Metering", "ImportEnergy/ExportEnergy/meter-reading profiles"): "not read",
    ("FlexSettlement", "Statement availability lines, residue"): "no such element",
    ("FlexSettlement", "ContractSettlement"): "one empty contract is written; not read",
    ("DSOPortfolioUpdate", "StartPeriod, EndPeriod"): "the register has no validity periods",
    ("DSOPortfolioUpdate", "MutexOffersSupported, Day-ahead/IntradayRedispatchBy"): (
        "not stored: answered as true and DSO"
    ),
    ("DSOPortfolioUpdate", "a change of the register"): (
        "checked against the register, never written to it (accepted only if it agrees)"
    ),
    ("AGRPortfolioUpdate", "StartPeriod, EndPeriod; a change of the register"): (
        "checked against the AGR's units, never written"
    ),
    ("DSOPortfolioQuery", "Period"): "the register as it is now",
    ("AGRPortfolioQuery", "Period"): "the register as it is now",
    ("DSOPortfolioQueryResponse", "AGR-Domain of a connection with several AGRs"): (
        "the first AGR's by party id"
    ),
    ("Connection", "EntityAddress"): "ean.<connection point id>: the register's id is the EAN",
}
