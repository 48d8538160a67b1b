"""Writing the archive's tables: one Parquet file per table, durable before anything is removed.

Rows go to a hidden part file per table, a row group per batch of matches, so memory stays
bounded however many matches an archive holds. `close()` ends each file, fsyncs it, renames it
into place and fsyncs the folder: once it returns, the files survive a crash or a power cut, and
only then may the matches be removed from Redis.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from arena.archive.tables import SCHEMAS, TABLES, Row
from arena.errors import ArenaError

COMPRESSION = "zstd"  # read by pyarrow, pandas, DuckDB, Polars and datasets alike


class ArchiveExists(ArenaError):
    """The folder already holds an archive: archives are never overwritten."""


def fsync_path(path: Path) -> None:
    """Make `path` (a file, or a folder's entries) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ParquetTables:
    """The tables of one archive under `out` (created if missing)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        taken = [out / f"{name}.parquet" for name in TABLES if (out / f"{name}.parquet").exists()]
        if taken:
            raise ArchiveExists(
                f"{out} already holds an archive ({taken[0].name}): pick another folder"
            )
        out.mkdir(parents=True, exist_ok=True)
        self._writers: dict[str, pq.ParquetWriter] = {}
        for name in TABLES:
            self._writers[name] = pq.ParquetWriter(
                self._part(name), SCHEMAS[name], compression=COMPRESSION
            )

    def _part(self, name: str) -> Path:
        return self.out / f".{name}.parquet.part"

    def add(self, rows: dict[str, list[Row]]) -> None:
        """One row group per table with rows."""
        for name, table_rows in rows.items():
            if table_rows:
                table = pa.Table.from_pylist(table_rows, schema=SCHEMAS[name])
                self._writers[name].write_table(table)

    def close(self) -> list[Path]:
        """End, fsync and rename every file; returns them."""
        written = []
        for name, writer in self._writers.items():
            writer.close()
            part, final = self._part(name), self.out / f"{name}.parquet"
            fsync_path(part)
            part.rename(final)
            written.append(final)
        self._writers = {}
        fsync_path(self.out)
        return written

    def abort(self) -> None:
        """Stop and remove the part files (nothing was archived)."""
        for name, writer in self._writers.items():
            with contextlib.suppress(Exception):
                writer.close()
            self._part(name).unlink(missing_ok=True)
        self._writers = {}
