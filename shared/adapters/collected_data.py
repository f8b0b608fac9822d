"""The inference data Azure ML's data collector writes to the workspace's blob storage.

Layout: `modelDataCollector/{endpoint}/{deployment}/{collection}/YYYY/MM/DD/HH/{instance}.jsonl`.
Listing is by hour prefix over the window, so a day's window lists 24 prefixes, never the whole
container; blobs are streamed one at a time so memory does not grow with the window.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

ROOT = "modelDataCollector"


@dataclass(frozen=True)
class CollectedBlob:
    name: str
    size: int
    hour: datetime


def hour_prefixes(endpoint: str, deployment: str, collection: str, start: datetime, end: datetime) -> list[str]:
    """Prefixes of every hour folder overlapping [start, end). The collector names its folders in UTC, so the
    window is converted to UTC first; a naive time is refused rather than guessed."""
    start, end = _utc(start, "start"), _utc(end, "end")
    hour = start.replace(minute=0, second=0, microsecond=0)
    out = []
    while hour < end:
        out.append(f"{ROOT}/{endpoint}/{deployment}/{collection}/{hour:%Y/%m/%d/%H}/")
        hour += timedelta(hours=1)
    return out


def _utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"collected data window {name}={moment.isoformat()} has no timezone; pass an aware time")
    return moment.astimezone(UTC)


class CollectedData:
    def __init__(self, container: ContainerClient) -> None:
        self._container = container

    def blobs(self, endpoint: str, deployment: str, collection: str, start: datetime, end: datetime
              ) -> list[CollectedBlob]:
        found = []
        for prefix in hour_prefixes(endpoint, deployment, collection, start, end):
            hour = datetime.strptime(prefix.rstrip("/")[-13:], "%Y/%m/%d/%H").replace(tzinfo=UTC)
            for b in self._container.list_blobs(name_starts_with=prefix):
                if b.name.endswith(".jsonl"):
                    found.append(CollectedBlob(b.name, int(b.size or 0), hour))
        return found

    def stream(self, blobs: list[CollectedBlob]) -> Iterator[bytes]:
        """Contents of each blob, one at a time."""
        for blob in blobs:
            yield self._container.download_blob(blob.name).readall()
