"""Data-set profiles: the reference summary saved at model registration, and window histograms.

A `DatasetProfile` is a set of per-feature profiles (numeric histograms on reference-quantile edges,
category tables, or null-only columns). The reference's role is "reference"; a current window
histogrammed on the reference's edges has role "window" and also records which columns were present,
which changed type (and where first), and which are new. Profiles on the same edges merge into the
profile of the union, so windows (or reference partitions built on one plan) can be processed in
parallel and combined. Serialized as versioned JSON.

This module never reads files and never decides drift.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from monitors.drift.categorical import CategoricalProfile
from monitors.drift.columns import NULL
from monitors.drift.conventions import PROFILE_FORMAT, PROFILE_VERSION
from monitors.drift.errors import ProfileFormatError
from monitors.drift.numeric import NumericProfile
from monitors.drift.samplesize import w1_null_quantiles

Role = Literal["reference", "window"]


@dataclass
class NullProfile:
    """A column whose reference holds no value at all: only rows and nulls are known."""

    n_rows: int = 0
    null_count: int = 0
    family: str = NULL
    kind: str = "unknown"

    @property
    def count(self) -> int:
        return self.n_rows - self.null_count

    def merged(self, other: NullProfile) -> NullProfile:
        return NullProfile(self.n_rows + other.n_rows, self.null_count + other.null_count, self.family)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "family": self.family,
            "n_rows": self.n_rows,
            "null_count": self.null_count,
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any], name: str) -> NullProfile:
        return cls(int(doc["n_rows"]), int(doc["null_count"]), doc.get("family", NULL))


FeatureProfile = NumericProfile | CategoricalProfile | NullProfile
_KINDS: dict[str, type] = {
    "numeric": NumericProfile,
    "categorical": CategoricalProfile,
    "unknown": NullProfile,
}


@dataclass
class TypeChange:
    """Window rows whose values had another type family than the reference's."""

    family: str
    rows: int
    first_seen: str  # "file.csv row 17"

    def merged(self, other: TypeChange) -> TypeChange:
        return TypeChange(self.family, self.rows + other.rows, self.first_seen)


@dataclass
class NewColumn:
    family: str
    rows: int
    null_count: int

    def merged(self, other: NewColumn) -> NewColumn:
        return NewColumn(self.family, self.rows + other.rows, self.null_count + other.null_count)


@dataclass
class DatasetProfile:
    features: dict[str, FeatureProfile]
    n_rows: int
    role: Role = "reference"
    columns: list[str] = field(default_factory=list)  # every column seen, profiled or not
    skipped: dict[str, str] = field(default_factory=dict)  # reference columns not profiled, and why
    present: set[str] = field(default_factory=set)  # window: features seen in at least one chunk
    type_changes: dict[str, TypeChange] = field(default_factory=dict)
    new_columns: dict[str, NewColumn] = field(default_factory=dict)

    def kinds(self) -> dict[str, str]:
        return {name: feature.kind for name, feature in self.features.items()}

    def merged(self, other: DatasetProfile, reference: DatasetProfile | None = None) -> DatasetProfile:
        """The profile of both partitions. Windows pass their reference (it bounds unseen categories)."""
        if self.role != other.role or set(self.features) != set(other.features):
            raise ValueError("only profiles of the same role over the same features can be merged")
        features: dict[str, FeatureProfile] = {}
        for name, mine in self.features.items():
            theirs = other.features[name]
            if type(mine) is not type(theirs):
                raise ValueError(
                    f"feature {name!r} is {mine.kind} in one profile, {theirs.kind} in the other"
                )
            if isinstance(mine, CategoricalProfile):
                ref_feature = reference.features.get(name) if reference else None
                ref_table = ref_feature if isinstance(ref_feature, CategoricalProfile) else None
                features[name] = mine.merged(theirs, ref_table)  # type: ignore[arg-type]
            else:
                features[name] = mine.merged(theirs)  # type: ignore[arg-type]
        merged = DatasetProfile(
            features,
            self.n_rows + other.n_rows,
            self.role,
            list(dict.fromkeys([*self.columns, *other.columns])),
            {**other.skipped, **self.skipped},
            self.present | other.present,
            _merge_maps(self.type_changes, other.type_changes),
            _merge_maps(self.new_columns, other.new_columns),
        )
        if self.role == "reference":
            merged.refresh_null_spread()
        return merged

    def refresh_null_spread(self) -> None:
        """Recompute the no-drift Wasserstein quantiles (a function of the counts, so merge-exact)."""
        for feature in self.features.values():
            if isinstance(feature, NumericProfile):
                feature.w1_null = w1_null_quantiles(feature)

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "format": PROFILE_FORMAT,
            "version": PROFILE_VERSION,
            "role": self.role,
            "n_rows": self.n_rows,
            "columns": self.columns,
            "skipped": self.skipped,
            "features": {name: feature.to_dict() for name, feature in self.features.items()},
        }
        if self.role == "window":
            doc["present"] = sorted(self.present)
            doc["type_changes"] = {n: vars(c) for n, c in self.type_changes.items()}
            doc["new_columns"] = {n: vars(c) for n, c in self.new_columns.items()}
        return doc

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_json(cls, text: str | bytes, source: str | None = None) -> DatasetProfile:
        try:
            doc = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ProfileFormatError(f"not JSON ({exc})", source=source) from exc
        return cls.from_dict(doc, source)

    @classmethod
    def from_dict(cls, doc: Any, source: str | None = None) -> DatasetProfile:
        if not isinstance(doc, dict) or doc.get("format") != PROFILE_FORMAT:
            raise ProfileFormatError(
                f"not a drift profile (expected format {PROFILE_FORMAT!r})", source=source
            )
        if doc.get("version") != PROFILE_VERSION:
            raise ProfileFormatError(
                f"profile version {doc.get('version')!r} is not supported (this code reads version "
                f"{PROFILE_VERSION}); rebuild it with `python -m monitors profile`",
                source=source,
            )
        try:
            features = {name: _feature_from_dict(name, body) for name, body in doc["features"].items()}
            return cls(
                features,
                int(doc["n_rows"]),
                doc["role"],
                list(doc.get("columns", features)),
                dict(doc.get("skipped", {})),
                set(doc.get("present", [])),
                {n: TypeChange(**c) for n, c in doc.get("type_changes", {}).items()},
                {n: NewColumn(**c) for n, c in doc.get("new_columns", {}).items()},
            )
        except ProfileFormatError as exc:
            exc.source = exc.source or source
            raise ProfileFormatError(exc.problem, source=source, column=exc.column) from exc
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ProfileFormatError(
                f"malformed profile ({type(exc).__name__}: {exc})", source=source
            ) from exc


def _feature_from_dict(name: str, body: dict[str, Any]) -> FeatureProfile:
    kind = body.get("kind")
    if kind not in _KINDS:
        raise ProfileFormatError(f"unknown feature kind {kind!r}", column=name)
    return _KINDS[kind].from_dict(body, name)  # type: ignore[no-any-return]


def _merge_maps(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for name, value in b.items():
        out[name] = out[name].merged(value) if name in out else value
    return out


# The reference profile and a window profile are the same structure in different roles.
ReferenceProfile = DatasetProfile
