"""Loading a market file: products, needs and bids as JSON or as a CSV folder
(``docs/market-file.md``).

:func:`load_market_file` is the one entry point: it reads untrusted bytes
(:mod:`~flexcoord.schemas.reading`), turns a CSV folder into the same data as the JSON form
(:mod:`~flexcoord.schemas.csv_folder`), validates shapes, types and the file-wide options with
the pydantic models (:mod:`~flexcoord.schemas.models`) and raises a single
:class:`~flexcoord.errors.InvalidInputError` listing every issue, each naming its file (and, for
CSV, its line and column). It raises nothing else, whatever the input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from flexcoord.errors import InvalidInputError, Issue
from flexcoord.schemas.csv_folder import read_csv_folder
from flexcoord.schemas.models import MarketFile
from flexcoord.schemas.pydantic_issues import Locator, issues_of, json_locator
from flexcoord.schemas.reading import MAX_FILE_BYTES, file_issue, read_json

__all__ = ["load_market_file", "market_form"]


def market_form(path: str | Path) -> str:
    """Which form ``path`` names: ``"csv"`` (a folder, or a ``.csv`` in one) or ``"json"``.

    Example:
        >>> market_form("examples/market/csv/bids.csv"), market_form("examples/market/market.json")
        ('csv', 'json')
    """
    path = Path(path)
    return "csv" if path.is_dir() or path.suffix.lower() == ".csv" else "json"


def load_market_file(path: str | Path, *, max_bytes: int = MAX_FILE_BYTES) -> MarketFile:
    """Read a market file: a ``.json`` file, or a folder (or one of its CSV files) of CSVs.

    Args:
        path: The JSON file, the CSV folder, or a CSV file in the folder.
        max_bytes: The largest file read (each file of a folder); larger ones are refused from
            their size, unread.

    Raises:
        InvalidInputError: anything wrong with the file, all issues at once, each naming its file:
            missing or unreadable, too large, not UTF-8, invalid or too deeply nested JSON, a
            ``.toml`` given alone, unknown CSV columns or files, and every shape, type or option
            issue. Business rules are checked later, by :meth:`MarketFile.to_domain`.

    Example:
        >>> market = load_market_file("examples/market/market.json")
        >>> market == load_market_file("examples/market/csv")
        True
    """
    path = Path(path)
    try:
        exists = path.exists()
    except (OSError, ValueError):  # a name too long, a NUL in it, ...
        exists = False
    if not exists:
        raise InvalidInputError([file_issue(path, "does not exist")])
    issues: list[Issue] = []
    locate: Locator
    if market_form(path) == "csv":
        folder = read_csv_folder(path if path.is_dir() else path.parent, max_bytes=max_bytes)
        data: Any = folder.data
        issues += folder.issues
        locate = folder.locate
    elif path.suffix.lower() == ".toml":
        message = "holds only the options of a CSV folder: pass the folder, or a .json file"
        raise InvalidInputError([file_issue(path, message)])
    else:
        data = read_json(path, max_bytes=max_bytes)
        locate = json_locator(str(path))
    try:
        market = MarketFile.model_validate(data)
    except ValidationError as err:
        issues += issues_of(err, data, locate)
    if issues:
        raise InvalidInputError(issues)
    return market
