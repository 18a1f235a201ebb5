"""USEF's Flexibility Trading Protocol (UFTP 3.x, "Shapeshifter"), both ways, through the
``shapeshifter-uftp`` package (its message dataclasses, serializer/parser and libsodium
signing; the official XSDs validate what flexcoord writes).

=====================  ===========================================================
UFTP message           flexcoord
=====================  ===========================================================
FlexRequest            a need (per congestion point and ISP)
FlexOffer              bids; its options are one exclusive set; MinActivationFactor
FlexOrder              the awards of one bid
FlexReservationUpdate  a :class:`Reservation` (what stays reserved of availability)
D-Prognosis            a baseline (``BaselineValue`` per ISP)
Metering               a unit's ``MeterSeries`` (Power profile, kW)
FlexSettlement         :class:`OrderSettlement` (price, Penalty, PowerDeficiency) from a
                       statement and its delivery verifications
DSO/AGRPortfolio*      the register's congestion points and connections
                       (:class:`PortfolioPoint`; flexcoord as the CRO)
=====================  ===========================================================

Export functions return an :class:`Exported` message and list what it cannot carry
(:data:`NOT_CARRIED` has the fixed list); import functions raise ``InvalidInputError``
naming the message and attribute. ``docs/uftp.md`` has the mapping attribute by attribute.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flexcoord._lazy import lazy_exports

_EXPORTS = {
    "MUTEX_OFFERS_SUPPORTED": "flexcoord.standards.uftp._portfolio",
    "PortfolioConnection": "flexcoord.standards.uftp._portfolio",
    "PortfolioPoint": "flexcoord.standards.uftp._portfolio",
    "agr_portfolio_query_answer": "flexcoord.standards.uftp._portfolio",
    "connection_address": "flexcoord.standards.uftp._portfolio",
    "connection_point_id": "flexcoord.standards.uftp._portfolio",
    "connections_from_agr_portfolio_update": "flexcoord.standards.uftp._portfolio",
    "dso_portfolio_query_answer": "flexcoord.standards.uftp._portfolio",
    "holds": "flexcoord.standards.uftp._portfolio",
    "points_from_dso_portfolio_update": "flexcoord.standards.uftp._portfolio",
    "MAX_MESSAGE_BYTES": "flexcoord.standards.uftp._wire",
    "MESSAGE_TYPES": "flexcoord.standards.uftp._coverage",
    "NOT_CARRIED": "flexcoord.standards.uftp._coverage",
    "XSD_DIR_VARIABLE": "flexcoord.standards.uftp._wire",
    "Envelope": "flexcoord.standards.uftp._common",
    "Exported": "flexcoord.standards.uftp._common",
    "OrderSettlement": "flexcoord.standards.uftp._operations",
    "Reservation": "flexcoord.standards.uftp._market",
    "SettledIsp": "flexcoord.standards.uftp._operations",
    "UftpMarket": "flexcoord.standards.uftp._common",
    "awards_from_flex_order": "flexcoord.standards.uftp._market",
    "baseline_from_d_prognosis": "flexcoord.standards.uftp._operations",
    "bids_from_flex_offer": "flexcoord.standards.uftp._market",
    "d_prognosis": "flexcoord.standards.uftp._operations",
    "flex_offer": "flexcoord.standards.uftp._market",
    "flex_order": "flexcoord.standards.uftp._market",
    "flex_request": "flexcoord.standards.uftp._market",
    "flex_reservation_update": "flexcoord.standards.uftp._market",
    "flex_settlement": "flexcoord.standards.uftp._operations",
    "generate_keypair": "flexcoord.standards.uftp._wire",
    "meter_from_metering": "flexcoord.standards.uftp._operations",
    "public_key_of": "flexcoord.standards.uftp._wire",
    "metering": "flexcoord.standards.uftp._operations",
    "need_from_flex_request": "flexcoord.standards.uftp._market",
    "order_settlements": "flexcoord.standards.uftp._operations",
    "parse_xml": "flexcoord.standards.uftp._wire",
    "reservation_from_flex_reservation_update": "flexcoord.standards.uftp._market",
    "schema_dir_from_environment": "flexcoord.standards.uftp._wire",
    "schema_violations": "flexcoord.standards.uftp._wire",
    "seal": "flexcoord.standards.uftp._wire",
    "settlements_from_flex_settlement": "flexcoord.standards.uftp._operations",
    "to_xml": "flexcoord.standards.uftp._wire",
    "unseal": "flexcoord.standards.uftp._wire",
}

__all__ = [
    "MAX_MESSAGE_BYTES",
    "MESSAGE_TYPES",
    "MUTEX_OFFERS_SUPPORTED",
    "NOT_CARRIED",
    "XSD_DIR_VARIABLE",
    "Envelope",
    "Exported",
    "OrderSettlement",
    "PortfolioConnection",
    "PortfolioPoint",
    "Reservation",
    "SettledIsp",
    "UftpMarket",
    "agr_portfolio_query_answer",
    "awards_from_flex_order",
    "baseline_from_d_prognosis",
    "bids_from_flex_offer",
    "connection_address",
    "connection_point_id",
    "connections_from_agr_portfolio_update",
    "d_prognosis",
    "dso_portfolio_query_answer",
    "flex_offer",
    "flex_order",
    "flex_request",
    "flex_reservation_update",
    "flex_settlement",
    "generate_keypair",
    "holds",
    "meter_from_metering",
    "metering",
    "need_from_flex_request",
    "order_settlements",
    "parse_xml",
    "points_from_dso_portfolio_update",
    "public_key_of",
    "reservation_from_flex_reservation_update",
    "schema_dir_from_environment",
    "schema_violations",
    "seal",
    "settlements_from_flex_settlement",
    "to_xml",
    "unseal",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from flexcoord.standards.uftp._common import Envelope, Exported, UftpMarket
    from flexcoord.standards.uftp._coverage import MESSAGE_TYPES, NOT_CARRIED
    from flexcoord.standards.uftp._market import (
        Reservation,
        awards_from_flex_order,
        bids_from_flex_offer,
        flex_offer,
        flex_order,
        flex_request,
        flex_reservation_update,
        need_from_flex_request,
        reservation_from_flex_reservation_update,
    )
    from flexcoord.standards.uftp._operations import (
        OrderSettlement,
        SettledIsp,
        baseline_from_d_prognosis,
        d_prognosis,
        flex_settlement,
        meter_from_metering,
        metering,
        order_settlements,
        settlements_from_flex_settlement,
    )
    from flexcoord.standards.uftp._portfolio import (
        MUTEX_OFFERS_SUPPORTED,
        PortfolioConnection,
        PortfolioPoint,
        agr_portfolio_query_answer,
        connection_address,
        connection_point_id,
        connections_from_agr_portfolio_update,
        dso_portfolio_query_answer,
        holds,
        points_from_dso_portfolio_update,
    )
    from flexcoord.standards.uftp._wire import (
        MAX_MESSAGE_BYTES,
        XSD_DIR_VARIABLE,
        generate_keypair,
        parse_xml,
        public_key_of,
        schema_dir_from_environment,
        schema_violations,
        seal,
        to_xml,
        unseal,
    )
