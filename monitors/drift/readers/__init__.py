"""Readers: files, directories and blob contents to streams of chunks (`Batch`es).

Formats: CSV, Parquet, JSON Lines, and the Azure ML model data collector's JSONL (each record's
`data` holds rows). `read_path` picks the reader from the extension (and, for .jsonl, from the first
record). Readers report bad input with the file, line / row and column; they never decide drift.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from monitors.drift.columns import Batch
from monitors.drift.errors import BadInputError
from monitors.drift.readers.csv_reader import read_csv
from monitors.drift.readers.jsonl_reader import CollectorStats, looks_collected, read_collected, read_jsonl
from monitors.drift.readers.parquet_reader import read_parquet

FORMATS = ("csv", "parquet", "jsonl", "collected")
_EXTENSIONS = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}

__all__ = [
    "FORMATS",
    "CollectorStats",
    "read_collected",
    "read_csv",
    "read_jsonl",
    "read_parquet",
    "read_path",
    "read_paths",
]


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in _EXTENSIONS)
        if not found:
            raise BadInputError(
                f"no {', '.join(sorted(_EXTENSIONS))} files in the directory", source=str(path)
            )
        return found
    if not path.exists():
        raise BadInputError("file not found", source=str(path))
    return [path]


def _format_of(path: Path, forced: str | None) -> str:
    if forced is not None:
        if forced not in FORMATS:
            raise BadInputError(f"unknown format {forced!r} (use one of {', '.join(FORMATS)})")
        return forced
    fmt = _EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        raise BadInputError(
            f"cannot tell the format from the extension {path.suffix!r}; pass --format", source=str(path)
        )
    if fmt == "jsonl":
        with open(path, "rb") as handle:
            first = next((line for line in handle if line.strip()), b"")
        return "collected" if looks_collected(first) else "jsonl"
    return fmt


def read_path(path: str | Path, *, format: str | None = None) -> Iterator[Batch]:
    """Chunks of one file, or of every data file under a directory (sorted, recursively)."""
    for file in _files(Path(path)):
        fmt = _format_of(file, format)
        if fmt == "csv":
            yield from read_csv(file)
        elif fmt == "parquet":
            yield from read_parquet(file)
        elif fmt == "jsonl":
            yield from read_jsonl(file)
        else:
            yield from read_collected([file])


def read_paths(paths: Iterable[str | Path], *, format: str | None = None) -> Iterator[Batch]:
    for path in paths:
        yield from read_path(path, format=format)
