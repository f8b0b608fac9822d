"""Category table of one categorical feature: exact counts, with bounded pooling for long tails.

The reference keeps every category up to MAX_CATEGORIES (then the top-K plus an "other" bucket), so
categorical metrics from profiles equal the metrics on the raw data whenever the cardinality fits.
A window counts its reference categories exactly and its unseen categories up to a cap, so its
memory is bounded by the cardinality caps, never by its length. This module never decides drift.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from monitors.drift.columns import STRING
from monitors.drift.conventions import MAX_CATEGORIES, MAX_UNSEEN_CATEGORIES
from monitors.drift.errors import ProfileFormatError

PRUNE_FACTOR = 20  # a reference table may grow to this many times MAX_CATEGORIES before pruning


def _ranked(counts: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


@dataclass
class CategoricalProfile:
    counts: dict[str, int] = field(default_factory=dict)
    other_count: int = 0  # values of reference categories pooled beyond the top-K table
    unseen_other_count: int = 0  # window only: unseen categories beyond MAX_UNSEEN_CATEGORIES
    truncated: bool = False  # the reference table pooled categories, so "unseen" is undecidable
    n_rows: int = 0
    null_count: int = 0
    family: str = STRING
    kind: str = "categorical"

    @property
    def count(self) -> int:
        return sum(self.counts.values()) + self.other_count + self.unseen_other_count

    def add_reference(self, counts: dict[str, int], nulls: int, rows: int) -> None:
        self.n_rows += rows
        self.null_count += nulls
        for name, n in counts.items():
            self.counts[name] = self.counts.get(name, 0) + n
        if len(self.counts) > PRUNE_FACTOR * MAX_CATEGORIES:
            self.truncate()

    def truncate(self) -> None:
        """Keep the top MAX_CATEGORIES, pool the rest into `other_count`."""
        if len(self.counts) <= MAX_CATEGORIES:
            return
        ranked = _ranked(self.counts)
        self.other_count += sum(n for _, n in ranked[MAX_CATEGORIES:])
        self.counts = dict(ranked[:MAX_CATEGORIES])
        self.truncated = True

    def add_window(
        self, counts: dict[str, int], nulls: int, rows: int, reference: CategoricalProfile
    ) -> None:
        """Count a window chunk against the reference table (unseen categories bounded)."""
        self.n_rows += rows
        self.null_count += nulls
        unseen_distinct = sum(1 for name in self.counts if name not in reference.counts)
        for name, n in counts.items():
            if name in reference.counts or name in self.counts:
                self.counts[name] = self.counts.get(name, 0) + n
            elif reference.truncated:
                self.other_count += n
            elif unseen_distinct < MAX_UNSEEN_CATEGORIES:
                self.counts[name] = n
                unseen_distinct += 1
            else:
                self.unseen_other_count += n

    def unseen(self, reference: CategoricalProfile) -> dict[str, int]:
        return {name: n for name, n in self.counts.items() if name not in reference.counts}

    def merged(
        self, other: CategoricalProfile, reference: CategoricalProfile | None = None
    ) -> CategoricalProfile:
        """Both partitions together. For windows pass the reference, so the unseen cap holds."""
        out = CategoricalProfile(
            dict(self.counts),
            self.other_count + other.other_count,
            self.unseen_other_count + other.unseen_other_count,
            self.truncated or other.truncated,
            self.n_rows + other.n_rows,
            self.null_count + other.null_count,
            self.family,
        )
        for name, n in other.counts.items():
            out.counts[name] = out.counts.get(name, 0) + n
        if reference is None:
            out.truncate()
        else:
            unseen = _ranked(out.unseen(reference))
            for name, n in unseen[MAX_UNSEEN_CATEGORIES:]:
                del out.counts[name]
                out.unseen_other_count += n
        return out

    def to_dict(self) -> dict[str, Any]:
        ranked = _ranked(self.counts)
        return {
            "kind": self.kind,
            "family": self.family,
            "n_rows": self.n_rows,
            "null_count": self.null_count,
            "categories": [name for name, _ in ranked],
            "counts": [n for _, n in ranked],
            "other_count": self.other_count,
            "unseen_other_count": self.unseen_other_count,
            "truncated": self.truncated,
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any], name: str) -> CategoricalProfile:
        categories, counts = doc["categories"], doc["counts"]
        if len(categories) != len(counts) or len(set(categories)) != len(categories):
            raise ProfileFormatError("categories must be distinct and match counts one to one", column=name)
        profile = cls(
            dict(zip(categories, (int(n) for n in counts), strict=True)),
            int(doc["other_count"]),
            int(doc.get("unseen_other_count", 0)),
            bool(doc["truncated"]),
            int(doc["n_rows"]),
            int(doc["null_count"]),
            doc.get("family", STRING),
        )
        if (
            min(profile.counts.values(), default=0) < 0
            or profile.count + profile.null_count != profile.n_rows
        ):
            raise ProfileFormatError("counts must be >= 0 and add up with null_count to n_rows", column=name)
        return profile
