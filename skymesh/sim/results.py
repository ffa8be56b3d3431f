"""Reading a run's Parquet datasets back: in time order, a batch at a time."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def part_files(path) -> list[Path]:
    """The part files of a dataset folder ``NAME.parquet/`` in chunk order (or the file itself)."""
    path = Path(path)
    if path.is_file():
        return [path]
    return sorted(path.glob("part-*.parquet"))


def iter_batches(path, *, columns=None, batch_size: int = 65_536):
    """Record batches of a dataset, chunk by chunk, in time order."""
    for f in part_files(path):
        yield from pq.ParquetFile(f).iter_batches(batch_size=batch_size, columns=columns)


def read_table(path, columns=None) -> pa.Table:
    """A whole dataset as one table, rows in time order (for small runs and tests)."""
    return pa.concat_tables([pq.read_table(f, columns=columns) for f in part_files(path)])
