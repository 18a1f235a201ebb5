"""pydantic schemas at the edges (files, and later the API): one set for CLI and service.

The market file (``docs/market-file.md``): :func:`load_market_file` reads a JSON file or a CSV
folder and raises only :class:`~flexcoord.errors.InvalidInputError`; :func:`write_csv_folder` is
its inverse for the CSV form; :meth:`MarketFile.to_domain` builds the domain objects;
the register models (:class:`UnitModel`, :class:`GroupModel`, ...) are the service's bodies;
:func:`grid_option_issues` checks the file-wide options against the grid.
"""

from flexcoord.schemas.csv_folder import OPTIONS_FILE, write_csv_folder
from flexcoord.schemas.market_file import load_market_file, market_form
from flexcoord.schemas.models import (
    CSV_FILES,
    OPTION_FIELDS,
    BidModel,
    LocationModel,
    MarketFile,
    NeedModel,
    ProductModel,
    QuantityModel,
)
from flexcoord.schemas.on_grid import grid_option_issues
from flexcoord.schemas.reading import MAX_FILE_BYTES, MAX_NESTING_DEPTH
from flexcoord.schemas.register import (
    ConnectionPointModel,
    GridAreaModel,
    GroupModel,
    UnitModel,
)

__all__ = [
    "CSV_FILES",
    "MAX_FILE_BYTES",
    "MAX_NESTING_DEPTH",
    "OPTIONS_FILE",
    "OPTION_FIELDS",
    "BidModel",
    "ConnectionPointModel",
    "GridAreaModel",
    "GroupModel",
    "LocationModel",
    "MarketFile",
    "NeedModel",
    "ProductModel",
    "QuantityModel",
    "UnitModel",
    "grid_option_issues",
    "load_market_file",
    "market_form",
    "write_csv_folder",
]
