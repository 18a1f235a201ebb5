"""pydantic schemas at the edges (files, and later the API): one set for CLI and service."""

from flexcoord.schemas.market_file import (
    BidModel,
    LocationModel,
    MarketFile,
    NeedModel,
    ProductModel,
    QuantityModel,
    load_market_file,
)

__all__ = [
    "BidModel",
    "LocationModel",
    "MarketFile",
    "NeedModel",
    "ProductModel",
    "QuantityModel",
    "load_market_file",
]
