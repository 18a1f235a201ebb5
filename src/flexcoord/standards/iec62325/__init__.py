"""IEC 62325-451 market documents (the ENTSO-E ECP/EDX world), both ways.

=======================================  ==========================================================
Document                                 flexcoord
=======================================  ==========================================================
ReserveBid_MarketDocument 7.4            bids, linked (parent) and exclusive (XOR) included
Activation_MarketDocument 6.4            activation orders (``A40``) and responses (``A41``)
ReserveAllocationResult_MarketDocument   a clearing's awards and rejections (per FSP with its
6.5                                      activation orders: :func:`result_documents`)
Acknowledgement_MarketDocument 9.0       the answer to every import (``A01`` / ``A02`` + reasons)
=======================================  ==========================================================

Export functions return an :class:`Exported` document and list what it cannot carry; import
functions never raise on a bad document: they return an :class:`Imported` outcome whose
acknowledgement names every element at fault, with no objects. Documents are parsed with a
hardened parser (no DTD, entities, network; a size limit). Validation against the official
XSDs runs when a folder of them is given (``schema_dir``); flexcoord does not ship them.
The element mapping of each document is in the docstring of its module and in
``docs/iec62325.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flexcoord._lazy import lazy_exports

_EXPORTS = {
    "ACKNOWLEDGEMENT_NAMESPACE": "flexcoord.standards.iec62325._acknowledgement",
    "ACTIVATION_NAMESPACE": "flexcoord.standards.iec62325._activation",
    "ALLOCATION_NAMESPACE": "flexcoord.standards.iec62325._allocation",
    "MAX_DOCUMENT_BYTES": "flexcoord.standards.iec62325._xml",
    "REASON_CODES": "flexcoord.standards.iec62325._acknowledgement",
    "RESERVE_BID_NAMESPACE": "flexcoord.standards.iec62325._bids",
    "XSD_DIR_VARIABLE": "flexcoord.standards.iec62325._xsd",
    "XSD_FILES": "flexcoord.standards.iec62325._xsd",
    "AckReason": "flexcoord.standards.iec62325._acknowledgement",
    "Acknowledgement": "flexcoord.standards.iec62325._acknowledgement",
    "AllocationResult": "flexcoord.standards.iec62325._allocation",
    "Exported": "flexcoord.standards.iec62325._importing",
    "FspDocuments": "flexcoord.standards.iec62325._results",
    "Header": "flexcoord.standards.iec62325._common",
    "HostileDocumentError": "flexcoord.standards.iec62325._xml",
    "Imported": "flexcoord.standards.iec62325._importing",
    "Party": "flexcoord.standards.iec62325._common",
    "Problem": "flexcoord.standards.iec62325._common",
    "acknowledgement_xml": "flexcoord.standards.iec62325._acknowledgement",
    "area_code_issues": "flexcoord.standards.iec62325._common",
    "activation_order_document": "flexcoord.standards.iec62325._activation",
    "activation_response_document": "flexcoord.standards.iec62325._activation",
    "allocation_document": "flexcoord.standards.iec62325._allocation",
    "import_activation_orders": "flexcoord.standards.iec62325._api",
    "import_activation_responses": "flexcoord.standards.iec62325._api",
    "import_allocation_result": "flexcoord.standards.iec62325._api",
    "import_reserve_bids": "flexcoord.standards.iec62325._api",
    "parse_acknowledgement": "flexcoord.standards.iec62325._api",
    "parse_document": "flexcoord.standards.iec62325._xml",
    "refused": "flexcoord.standards.iec62325._importing",
    "result_documents": "flexcoord.standards.iec62325._results",
    "reserve_bid_document": "flexcoord.standards.iec62325._bids",
    "schema_dir_from_environment": "flexcoord.standards.iec62325._xsd",
    "schema_violations": "flexcoord.standards.iec62325._api",
}

__all__ = [
    "ACKNOWLEDGEMENT_NAMESPACE",
    "ACTIVATION_NAMESPACE",
    "ALLOCATION_NAMESPACE",
    "MAX_DOCUMENT_BYTES",
    "REASON_CODES",
    "RESERVE_BID_NAMESPACE",
    "XSD_DIR_VARIABLE",
    "XSD_FILES",
    "AckReason",
    "Acknowledgement",
    "AllocationResult",
    "Exported",
    "FspDocuments",
    "Header",
    "HostileDocumentError",
    "Imported",
    "Party",
    "Problem",
    "acknowledgement_xml",
    "activation_order_document",
    "activation_response_document",
    "allocation_document",
    "area_code_issues",
    "import_activation_orders",
    "import_activation_responses",
    "import_allocation_result",
    "import_reserve_bids",
    "parse_acknowledgement",
    "parse_document",
    "refused",
    "reserve_bid_document",
    "result_documents",
    "schema_dir_from_environment",
    "schema_violations",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from flexcoord.standards.iec62325._acknowledgement import (
        ACKNOWLEDGEMENT_NAMESPACE,
        REASON_CODES,
        Acknowledgement,
        AckReason,
        acknowledgement_xml,
    )
    from flexcoord.standards.iec62325._activation import (
        ACTIVATION_NAMESPACE,
        activation_order_document,
        activation_response_document,
    )
    from flexcoord.standards.iec62325._allocation import (
        ALLOCATION_NAMESPACE,
        AllocationResult,
        allocation_document,
    )
    from flexcoord.standards.iec62325._api import (
        import_activation_orders,
        import_activation_responses,
        import_allocation_result,
        import_reserve_bids,
        parse_acknowledgement,
        schema_violations,
    )
    from flexcoord.standards.iec62325._bids import RESERVE_BID_NAMESPACE, reserve_bid_document
    from flexcoord.standards.iec62325._common import Header, Party, Problem, area_code_issues
    from flexcoord.standards.iec62325._importing import Exported, Imported, refused
    from flexcoord.standards.iec62325._results import FspDocuments, result_documents
    from flexcoord.standards.iec62325._xml import (
        MAX_DOCUMENT_BYTES,
        HostileDocumentError,
        parse_document,
    )
    from flexcoord.standards.iec62325._xsd import (
        XSD_DIR_VARIABLE,
        XSD_FILES,
        schema_dir_from_environment,
    )
