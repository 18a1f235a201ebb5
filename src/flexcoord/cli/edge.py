"""The one edge every ``flexcoord`` command passes through.

A command is written as three steps, in this order, so that nothing runs on bad input and no
finished run is lost at the end:

1. **check** — every option is validated (:func:`check`, :func:`option_issue`), every output path
   is checked for writability (:meth:`OutputFile.issues`, :meth:`OutputFolder.issues`) and grid
   codes are resolved, *before* any grid is loaded or any market is cleared; all issues are
   reported together;
2. **work** — the library call (the same functions the simulator and the service call);
3. **write** — every output is written atomically (a temporary file in the target folder, then
   ``os.replace``), so a file is either the whole new result or untouched.

:func:`command` wraps each command function: flexcoord's own errors become one clear message and
exit code 2, an interrupt exit code 130, and anything unexpected a one-paragraph internal-error
message with exit code 1 — never a traceback (``FLEXCOORD_DEBUG=1`` shows it).
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, BinaryIO, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from flexcoord.errors import FlexcoordError, InvalidInputError, Issue

__all__ = [
    "JsonOption",
    "OutputFile",
    "OutputFolder",
    "OutputFormat",
    "check",
    "command",
    "command_line",
    "emit",
    "format_output",
    "option_issue",
    "options_folder_issues",
    "progress_bar",
    "resolve_grid",
    "write_atomic",
]

JsonOption = Annotated[
    str | None,
    typer.Option(
        "--json", help="Write the result document to this file ('-': stdout).", metavar="PATH|-"
    ),
]
"""The ``--json PATH|-`` option every command has (parse it with :meth:`OutputFile.parse`)."""

P = ParamSpec("P")
T = TypeVar("T")

EXIT_INPUT = 2
EXIT_INTERNAL = 1
EXIT_INTERRUPTED = 130


class OutputFormat(StrEnum):
    """How a command prints its result on stdout."""

    TABLE = "table"
    CSV = "csv"
    JSON = "json"


def stderr() -> Console:
    """A console on stderr (a new one each call, so tests capturing stderr see it)."""
    return Console(stderr=True, highlight=False)


def progress_bar(*, transient: bool = False) -> Progress:
    """The commands' progress bar on stderr: description, bar, done/total, elapsed time."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    return Progress(*columns, console=stderr(), transient=transient)


def stdout() -> Console:
    """A console on stdout."""
    return Console(highlight=False)


def option_issue(option: str, value: object, message: str) -> Issue:
    """An issue with a command-line option, e.g. ``option_issue("--mtus", 0, "must be >= 1")``,
    which prints as ``option '--mtus': value=0 must be >= 1``."""
    return Issue(kind="option", object_id=option, field="value", value=value, message=message)


def check(issues: Iterable[Issue | None]) -> None:
    """Raise one :class:`InvalidInputError` holding every issue given (``None`` entries skipped)."""
    found = [i for i in issues if i is not None]
    if found:
        raise InvalidInputError(found)


def int_range(option: str, value: int | None, low: int, high: int | None = None) -> Issue | None:
    """An issue unless ``value`` is ``None`` or within ``[low, high]``."""
    if value is None or (value >= low and (high is None or value <= high)):
        return None
    expected = f"an integer from {low} to {high}" if high is not None else f"an integer >= {low}"
    return option_issue(option, value, f"must be {expected}")


def exclusive(given: Mapping[str, object], *, because: str) -> Issue | None:
    """An issue naming the options of ``given`` that were set together although they exclude
    each other (a value counts as set unless it is ``None`` or ``False``)."""
    set_ = [name for name, value in given.items() if value is not None and value is not False]
    if len(set_) < 2:
        return None
    return option_issue(
        set_[0], given[set_[0]], f"cannot be combined with {', '.join(set_[1:])}: {because}"
    )


# --- grids ------------------------------------------------------------------------------------


def resolve_grid(
    option: str, code: str | None, *, needs_profiles: bool
) -> tuple[str, Issue | None]:
    """The canonical grid code for an option value (any case), or the issue with it.

    ``needs_profiles``: the command needs the year-long SimBench profiles, which the pandapower
    example networks do not have; refused here, before anything is loaded.
    """
    from flexcoord.errors import NotFoundError
    from flexcoord.grid.loading import resolve_grid_code

    if code is None:
        return "", option_issue(
            option,
            None,
            "is required: a grid code, e.g. 1-MV-rural--0-sw "
            "(`flexcoord grid list` shows them all)",
        )
    try:
        entry = resolve_grid_code(code)
    except NotFoundError as exc:
        hint = str(exc).split("; ", 1)[-1]
        return code, option_issue(option, code, f"is not a known grid code; {hint}")
    if needs_profiles and not entry.has_profiles:
        return entry.code, option_issue(
            option,
            entry.code,
            "has no year-long SimBench profiles, which this needs; use a SimBench code "
            "(`flexcoord grid list`)",
        )
    return entry.code, None


@contextmanager
def loading(what: str) -> Iterator[None]:
    """Say on stderr what is loading (a spinner on a terminal, one line otherwise)."""
    console = stderr()
    if console.is_terminal:
        with console.status(f"{what} …"):
            yield
    else:
        console.print(f"{what} …")
        yield


# --- outputs ----------------------------------------------------------------------------------


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` as a whole or not at all (temporary file, fsync, rename).

    A special file that exists already (``/dev/null``, a FIFO) is written directly: it cannot
    be replaced and holds no previous result to protect.
    """
    if path.exists() and not path.is_file():
        with path.open("wb") as fh:
            fh.write(data)
        return
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _folder_issue(option: str, shown: str, folder: Path) -> Issue | None:
    if not folder.exists():
        return option_issue(
            option, shown, f"cannot be written: folder {str(folder)!r} does not exist"
        )
    if not folder.is_dir():
        return option_issue(option, shown, f"cannot be written: {str(folder)!r} is not a folder")
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".flexcoord-probe-")
    except OSError as exc:
        return option_issue(
            option,
            shown,
            f"cannot be written: no write access to folder {str(folder)!r} ({exc.strerror or exc})",
        )
    os.close(fd)
    Path(probe).unlink(missing_ok=True)
    return None


@dataclass(frozen=True, slots=True)
class OutputFile:
    """Where an option sends a document: a file path, or stdout for ``-``."""

    option: str
    path: Path | None

    @classmethod
    def parse(cls, option: str, value: str | None) -> OutputFile | None:
        """``None`` for an option not given; ``-`` is stdout."""
        if value is None:
            return None
        return cls(option, None if value == "-" else Path(value))

    @property
    def to_stdout(self) -> bool:
        """Whether this output goes to stdout."""
        return self.path is None

    def issues(self) -> list[Issue]:
        """What stops this output from being written, found before any work is done."""
        if self.path is None:
            return []
        shown = str(self.path)
        if shown == "" or self.path.name in ("", ".", ".."):
            return [option_issue(self.option, shown, "must name a file (or '-' for stdout)")]
        if self.path.is_dir():
            return [option_issue(self.option, shown, "is a folder; give a file path")]
        if self.path.exists() and not self.path.is_file():
            if not os.access(self.path, os.W_OK):
                return [option_issue(self.option, shown, "cannot be written: no write access")]
            return []
        issue = _folder_issue(self.option, shown, self.path.parent)
        return [issue] if issue else []

    def write(self, text: str) -> None:
        """Write the whole document (atomically to a file, or to stdout)."""
        if self.path is None:
            sys.stdout.write(text)
            sys.stdout.flush()
            return
        write_atomic(self.path, text.encode())

    @contextmanager
    def stream(self) -> Iterator[BinaryIO]:
        """A binary file to write a large document into piece by piece, kept only if the
        block ends without an error (temporary file, fsync, rename; stdout for ``-``)."""
        if self.path is None:
            yield sys.stdout.buffer
            sys.stdout.flush()
            return
        if self.path.exists() and not self.path.is_file():
            with self.path.open("wb") as fh:
                yield fh
            return
        fd, tmp = tempfile.mkstemp(
            dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(fd, "wb", buffering=1 << 20) as fh:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


@dataclass(frozen=True, slots=True)
class OutputFolder:
    """A folder an option writes several files into (created if its parent exists); the files
    are written by :func:`flexcoord.simulation.tables.write_tables`, all or nothing."""

    option: str
    path: Path

    @classmethod
    def parse(cls, option: str, value: Path | None) -> OutputFolder | None:
        """``None`` for an option not given."""
        return None if value is None else cls(option, value)

    def issues(self) -> list[Issue]:
        """What stops the folder from being written, found before any work is done."""
        shown = str(self.path)
        if self.path.exists():
            issue = _folder_issue(self.option, shown, self.path)
        else:
            issue = _folder_issue(self.option, shown, self.path.parent)
        return [issue] if issue else []


def options_folder_issues(out: Path | None, default: str, source: str) -> list[Issue]:
    """What stops an options file's results folder from being written: ``--out`` when given,
    else the file's ``outputs.folder`` key (named in the file's words)."""
    target = out if out is not None else Path(default)
    problems = OutputFolder("--out", target).issues()
    if out is not None:
        return problems
    return [
        Issue(
            kind="",
            object_id="",
            field="outputs.folder",
            value=str(target),
            message=i.message,
            source=source,
        )
        for i in problems
    ]


def format_output(output_format: OutputFormat) -> OutputFile | None:
    """The stdout output that ``--format csv|json`` implies (so it conflicts with ``--json -``)."""
    return None if output_format is OutputFormat.TABLE else OutputFile("--format", None)


def emit(
    document: Any,
    rows: Sequence[Mapping[str, Any]],
    out: OutputFile | None,
    output_format: OutputFormat,
    print_human: Callable[[Console], object],
) -> None:
    """Write ``document`` to ``--json`` and print the result in ``--format``.

    ``table`` prints the human view (on stderr when the document goes to stdout), ``csv`` the
    ``rows``, ``json`` the document.
    """
    from flexcoord.cli.output import csv_text, json_text

    if out is not None:
        out.write(json_text(document))
        if not out.to_stdout:
            stderr().print(f"result written to {out.path}")
    if output_format is OutputFormat.JSON:
        OutputFile("--format", None).write(json_text(document))
    elif output_format is OutputFormat.CSV:
        OutputFile("--format", None).write(csv_text(rows))
    else:
        print_human(stderr() if out is not None and out.to_stdout else stdout())


def output_issues(outputs: Sequence[OutputFile | OutputFolder | None]) -> list[Issue]:
    """The issues of every given output, and one if two of them go to stdout or one file."""
    given = [o for o in outputs if o is not None]
    found = [issue for o in given for issue in o.issues()]
    on_stdout = [o.option for o in given if isinstance(o, OutputFile) and o.to_stdout]
    if len(on_stdout) > 1:
        found.append(option_issue(on_stdout[1], "-", f"and {on_stdout[0]} both write to stdout"))
    files: dict[Path, str] = {}
    for o in given:
        if isinstance(o, OutputFile) and o.path is not None:
            first = files.setdefault(o.path.resolve(), o.option)
            if first != o.option:
                found.append(option_issue(o.option, str(o.path), f"and {first} name the same file"))
    return found


def command_line(ctx: typer.Context) -> str:
    """The running command in words, for a result's provenance: its path and the options given.

    Example: ``flexcoord coordinate --grid=1-MV-rural--0-sw --all=True``.
    """
    given = []
    for name, value in ctx.params.items():
        if value is None or value is False or value == []:
            continue
        source = ctx.get_parameter_source(name)
        if source is not None and source.name == "DEFAULT":
            continue
        given.append(f"--{name.replace('_', '-')}={value}")
    return " ".join([ctx.command_path, *given])


# --- the guard ---------------------------------------------------------------------------------


def _internal_error(exc: BaseException) -> None:
    text = str(exc)
    if len(text) > 300:
        text = text[:297] + "..."
    message = Text("internal error: ", style="bold red") + Text(
        f"{type(exc).__name__}: {text}\n"
        "This is a bug in flexcoord, not in your input: please report it with the command line. "
        "FLEXCOORD_DEBUG=1 shows the traceback."
    )
    stderr().print(message, soft_wrap=True)


def report_error(exc: FlexcoordError) -> None:
    """Print a flexcoord error on stderr as the user sees it (never read as markup: a bid id
    like ``[/x]`` prints as written)."""
    stderr().print(Text("error: ", style="bold red") + Text(str(exc)), soft_wrap=True)


def command(fn: Callable[P, T]) -> Callable[P, T]:
    """Wrap a Typer command: clear errors and exit codes, never a traceback."""

    @functools.wraps(fn)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except FlexcoordError as exc:
            report_error(exc)
            raise typer.Exit(code=EXIT_INPUT) from None
        except KeyboardInterrupt:
            stderr().print("interrupted: nothing was written")
            raise typer.Exit(code=EXIT_INTERRUPTED) from None
        except Exception as exc:
            if os.environ.get("FLEXCOORD_DEBUG"):
                raise
            _internal_error(exc)
            raise typer.Exit(code=EXIT_INTERNAL) from None

    return guarded


def run_guarded(fn: Callable[[], Any]) -> Any:
    """Call ``fn`` under the same rules as :func:`command` (for callbacks outside commands)."""
    return command(fn)()
