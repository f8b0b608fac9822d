"""Errors the drift engine raises for input it cannot use.

Only *bad input* raises (a file that does not parse, a profile of an unknown version, a column that
changes type inside the reference). Everything a monitoring run must survive (nulls, constant or
missing columns, a type change in the current window, an empty window) becomes a per-feature status
instead, so this module must never grow an error for those.
"""

from __future__ import annotations


class BadInputError(ValueError):
    """Input the engine cannot use, with where it was found (file, column, row) for the message."""

    def __init__(
        self,
        problem: str,
        *,
        source: str | None = None,
        column: str | None = None,
        row: int | None = None,
        line: int | None = None,
    ) -> None:
        self.problem = problem
        self.source = source
        self.column = column
        self.row = row
        self.line = line
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.source:
            where.append(self.source)
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where)}: {self.problem}" if where else self.problem


class ProfileFormatError(BadInputError):
    """A serialized profile that is malformed or of a version this code does not read."""
