"""One deployment's collected inference data, hour by hour, as the drift engine's chunks and window profiles.

Azure ML's data collector writes one folder per hour (its default rolling rate:
`modelDataCollector/{endpoint}/{deployment}/{model_inputs|model_outputs}/YYYY/MM/DD/HH/*.jsonl`), so a window
here is a run of whole collector hours ending at the last complete hour: `[end - w, end)` with `end` = now
floored to the hour (a window that is not a whole number of hours is rounded up). An hour still being written
is never judged, and a window holds exactly the folders it names.

Each hour is read once and histogrammed on the reference's edges; the windows (1 h, 24 h, ...) are merges of
the same hour profiles (the profiles are mergeable), so the longest window costs one read of its hours and
the shorter ones nothing more. Every blob is parsed on its own: one that cannot be parsed is skipped and
named in the statistics (never silently), and records whose rows live in another blob (`datainblob`) are
counted as skipped. Composition only: reading is the adapter's, deciding is monitors/drift's.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hashlib import _Hash

    from monitors.drift import DatasetProfile, DriftConfig, DriftResult
    from monitors.drift.columns import Batch
    from shared.adapters.collected_data import CollectedBlob, CollectedData

HOUR = timedelta(hours=1)
INPUTS, OUTPUTS = "model_inputs", "model_outputs"


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def whole_hours(window: timedelta) -> int:
    """Hours a window spans (rounded up, at least one)."""
    return max(1, math.ceil(window / HOUR - 1e-9))


def lookback(windows: tuple[timedelta, ...]) -> timedelta:
    """How far back the drift windows reach: the longest, in whole hours."""
    return max(whole_hours(w) for w in windows) * HOUR


def label(window: timedelta) -> str:
    hours = whole_hours(window)
    return f"{hours // 24}d" if hours % 24 == 0 else f"{hours}h"


@dataclass
class ReadStats:
    """What was read for a window or a reference: the evidence of its row counts."""

    blobs: int = 0
    bytes: int = 0
    records: int = 0
    rows: int = 0
    skipped_external: int = 0
    unreadable: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"blobs": self.blobs, "bytes": self.bytes, "records": self.records, "rows": self.rows,
                "skipped_external_records": self.skipped_external, "unreadable_blobs": list(self.unreadable)}


class HourReader:
    """Reads one collection of one deployment, blob by blob, through the collected-data adapter."""

    def __init__(self, collected: CollectedData, endpoint: str, deployment: str, collection: str) -> None:
        self.collected = collected
        self.endpoint, self.deployment, self.collection = endpoint, deployment, collection
        self._listed: dict[tuple[datetime, datetime], dict[datetime, list[CollectedBlob]]] = {}

    def listing(self, start: datetime, end: datetime) -> dict[datetime, list[CollectedBlob]]:
        """Blobs per hour folder in [start, end), in name order. Listed once per span: completing a reference
        and judging the windows in the same run share one listing."""
        for (a, b), listed in self._listed.items():
            if a <= start and end <= b:
                return {hour: blobs for hour, blobs in listed.items() if start <= hour < end}
        out: dict[datetime, list[CollectedBlob]] = {}
        for blob in self.collected.blobs(self.endpoint, self.deployment, self.collection, start, end):
            out.setdefault(blob.hour, []).append(blob)
        listed = {hour: sorted(blobs, key=lambda b: b.name) for hour, blobs in sorted(out.items())}
        self._listed[(start, end)] = listed
        return listed

    def chunks(self, blobs: list[CollectedBlob], stats: ReadStats, digest: _Hash | None = None) -> Iterator[Batch]:
        """The rows of each blob as chunks; an unparsable blob is recorded in `stats` and skipped."""
        from monitors.drift.errors import BadInputError
        from monitors.drift.readers import CollectorStats, read_collected

        for blob, body in zip(blobs, self.collected.stream(blobs), strict=True):
            if digest is not None:
                digest.update(blob.name.encode() + b"\0" + body)
            seen = CollectorStats()
            try:
                batches = list(read_collected([(blob.name, body)], external="skip", stats=seen))
            except BadInputError as exc:
                stats.unreadable.append({"blob": blob.name, "error": str(exc)})
                continue
            stats.blobs += 1
            stats.bytes += len(body)
            stats.records += seen.records
            stats.rows += seen.rows
            stats.skipped_external += seen.skipped_external
            yield from batches


@dataclass
class WindowJudgement:
    collection: str
    window: timedelta
    start: datetime
    end: datetime
    stats: ReadStats
    result: DriftResult

    @property
    def judged(self) -> bool:
        """At least one feature got a verdict (ok, drift or constant): the window says something."""
        return self.result.dataset.n_features > 0

    @property
    def drifted(self) -> bool:
        return bool(self.result.dataset.drifted)

    def drifted_features(self) -> list[str]:
        return [name for name, f in self.result.features.items() if f.drifted]

    def to_evidence(self) -> dict[str, Any]:
        features = {}
        for name, f in self.result.features.items():
            d = f.decision
            features[name] = {"kind": f.kind, "status": f.status, "drifted": f.drifted, "method": d.method,
                              "value": _finite(d.value), "threshold": d.threshold,
                              "p_adjusted": _finite(d.p_adjusted), "n_ref": f.n_ref, "n_cur": f.n_cur,
                              "reason": d.reason}
        return {"collection": self.collection, "window": label(self.window), "start": self.start.isoformat(),
                "end": self.end.isoformat(), **self.stats.to_dict(), "dataset": self.result.dataset.to_dict(),
                "drifted_features": self.drifted_features(), "features": features}


def _finite(value: Any) -> Any:
    return value if not isinstance(value, float) or math.isfinite(value) else None


def judge_windows(reader: HourReader, reference: DatasetProfile, windows: tuple[timedelta, ...], now: datetime,
                  config: DriftConfig) -> list[WindowJudgement]:
    """Every window ending at the last complete hour, judged against `reference`; shortest first."""
    from monitors.drift import WindowBuilder, evaluate

    end = floor_hour(now)
    wanted = sorted({whole_hours(w): w for w in windows}.items())
    longest = wanted[-1][0]
    listing = reader.listing(end - lookback(windows), end)
    stats, running, out = ReadStats(), None, []
    for k in range(1, longest + 1):
        hour = end - k * HOUR
        builder = WindowBuilder(reference)
        for chunk in reader.chunks(listing.get(hour, []), stats):
            builder.add(chunk)
        profile = builder.finish()
        running = profile if running is None else running.merged(profile, reference)
        for hours, window in wanted:
            if hours == k:
                out.append(WindowJudgement(reader.collection, window, hour, end, replace(stats,
                           unreadable=list(stats.unreadable)), evaluate(reference, running, config)))
    return out
