"""Shared CLI output: JSON to stdout, rich tables to the terminal, errors to stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import typer
from rich.console import Console

from flexcoord.errors import FlexcoordError

T = TypeVar("T")

console = Console()
error_console = Console(stderr=True)


def print_json(data: Any) -> None:
    """Write ``data`` as indented JSON to stdout (no rich markup, safe to pipe)."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn flexcoord's own errors into a clear message and exit code 2 (no traceback)."""
    try:
        yield
    except FlexcoordError as exc:
        error_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(code=2) from None


def run_user(fn: Callable[[], T]) -> T:
    """Call ``fn`` under :func:`user_errors`."""
    with user_errors():
        return fn()
