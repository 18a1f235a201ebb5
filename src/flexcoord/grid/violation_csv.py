"""The per-step violations table streamed as CSV, chunk by chunk, never held as a whole.

A year of the 1,942-bus HV/MV grid at SimBench's voltage bands has about 58 million violation
rows (6 GB of CSV); as a pandas table with ``to_csv`` it peaked at 12 GB and took minutes.
:class:`ViolationCsvWriter` writes each chunk's rows as they come and produces the bytes
``table.to_csv(index=False)`` of the whole table would (the test suite asserts the equality):

* every text of a row except the value is a fragment formatted once by pandas itself: the time
  stamp of each step, and for each (asset, kind) the columns between ``time`` and ``value``
  (area, operator, asset, kind) and those after it (limit, voltage level, name), from a one-row-
  per-pair table built by the same function as the real table;
* the value is formatted by Arrow in C++ (``cast`` to string: shortest round-trip digits, as
  numpy's ``str`` which pandas uses) where both print plain decimals, for
  ``1e-4 <= |value| < 1e6`` and not a whole number (``100.0`` is ``100`` in Arrow); other values
  go through numpy's ``str`` itself;
* the rows are concatenated by Arrow (``binary_join_element_wise``) and their bytes written
  straight from Arrow's buffer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
from numpy.typing import NDArray

__all__ = ["ViolationCsvWriter"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: ``table_of(step, asset, kind, value, limit)``: the violations table of these rows.
TableOf = Callable[[IntArray, IntArray, IntArray, FloatArray, FloatArray], pd.DataFrame]

_ROWS_PER_WRITE = 1 << 20  # bounds the Arrow temporaries (about 250 bytes a row at most)
_NO_SEPARATOR = pa.scalar("", type=pa.large_string())
_PLAIN_LOW, _PLAIN_HIGH = 1e-4, 1e6  # where Arrow and numpy print the same plain decimals


class ViolationCsvWriter:
    """Writes violation rows to a binary file as CSV, byte-identical to ``to_csv(index=False)``.

    Args:
        sink: the open binary file; the header is written at once.
        table_of: builds the violations table (columns ``time``, ..., ``value``, ...) of rows
            given as arrays, as the assessment does for the whole table.
        pairs: ``(asset code, kind code, limit)`` of every (asset, kind) a violation can have.
        n_steps: steps of the window (``step`` codes are ``0 .. n_steps - 1``).
    """

    def __init__(
        self,
        sink: BinaryIO,
        *,
        table_of: TableOf,
        pairs: tuple[IntArray, IntArray, FloatArray],
        n_steps: int,
    ) -> None:
        self._sink = sink
        asset, kind, limits = pairs
        n_pair = len(asset)
        zeros = np.zeros(n_pair, np.int64)
        table = table_of(zeros, asset, kind, np.zeros(n_pair), limits)
        columns = list(table.columns)
        if columns[0] != "time" or "value" not in columns:
            msg = f"a violations table starts with time and has a value column, not {columns}"
            raise ValueError(msg)
        at = columns.index("value")
        before, after = columns[1:at], columns[at + 1 :]
        sink.write(table.iloc[:0].to_csv(index=False).encode())
        self._head = _fragments(table, before, prefix=",", suffix=",")
        self._tail = _fragments(table, after, prefix=",", suffix="\n")
        if n_pair:
            steps = np.arange(n_steps, dtype=np.int64)
            first = np.zeros(n_steps, np.int64)
            by_step = table_of(steps, asset[first], kind[first], np.zeros(n_steps), limits[first])
        else:
            by_step = pd.DataFrame({"time": []})
        self._time = _fragments(by_step, ["time"], prefix="", suffix="")

    def write(self, step: IntArray, pair: IntArray, value: FloatArray) -> None:
        """Append rows (already in table order): step code, pair (position in ``pairs``), value."""
        for r0 in range(0, len(pair), _ROWS_PER_WRITE):
            r1 = r0 + _ROWS_PER_WRITE
            rows = pc.binary_join_element_wise(
                self._time.take(pa.array(step[r0:r1])),
                self._head.take(pa.array(pair[r0:r1])),
                _values(value[r0:r1]),
                self._tail.take(pa.array(pair[r0:r1])),
                _NO_SEPARATOR,
            )
            _write_strings(self._sink, rows)

    def close(self) -> None:
        """Nothing to finish (a CSV has no footer; the sink stays open: it is the caller's)."""


def _fragments(table: pd.DataFrame, columns: list[str], *, prefix: str, suffix: str) -> pa.Array:
    """``prefix + <these columns of each row as pandas writes them> + suffix``, per row."""
    if not columns:
        return pa.array([prefix + suffix] * len(table), type=pa.large_string())
    part = table[columns]
    lines = part.to_csv(index=False, header=False, lineterminator="\n").split("\n")[:-1]
    if len(lines) != len(part):  # a field with a line break in it: one row at a time
        lines = [
            part.iloc[[i]].to_csv(index=False, header=False, lineterminator="\n")[:-1]
            for i in range(len(part))
        ]
    return pa.array([prefix + line + suffix for line in lines], type=pa.large_string())


def _values(value: FloatArray) -> pa.Array:
    """The values as numpy's ``str`` prints them (which is what pandas writes)."""
    text = pc.cast(pa.array(value, type=pa.float64()), pa.large_string())
    size = np.abs(value)
    other = ~((size >= _PLAIN_LOW) & (size < _PLAIN_HIGH) & (value != np.floor(value)))
    if other.any():
        exact = pa.array(value[other].astype(str), type=pa.large_string())
        text = pc.replace_with_mask(text, pa.array(other), exact)
    return text


def _write_strings(sink: BinaryIO, rows: pa.Array) -> None:
    """The concatenated bytes of a string array, straight from its data buffer."""
    if not len(rows):
        return
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int64)
    start, end = int(offsets[rows.offset]), int(offsets[rows.offset + len(rows)])
    sink.write(memoryview(rows.buffers()[2])[start:end])
