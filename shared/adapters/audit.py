"""The audit trail: one append-only record per decision the monitor makes.

Stored as hourly append blobs (`audit/YYYY/MM/DD/HH.jsonl`, one JSON record a line). An append
block is atomic, so concurrent workers never interleave or overwrite each other's records, and
nothing is ever rewritten. An append blob takes at most 50,000 blocks, so a busy hour rolls over to
segments `HH.s001.jsonl`, `HH.s002.jsonl`, ... (they sort after `HH.jsonl`). Reading is by time
window: `since` picks the first hour to open; the records of an hour are merged across its segments.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

PREFIX = "audit/"


@dataclass(frozen=True)
class AuditRecord:
    id: str
    at: str
    kind: str
    subject: str
    decision: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_line(self) -> bytes:
        return (json.dumps(asdict(self), sort_keys=True, default=str) + "\n").encode()


SEGMENT_BLOCKS = 45_000  # roll to the next segment before Azure's 50,000-block limit of an append blob
_SEGMENT_PATTERN = re.compile(r"^(?P<hour>audit/\d{4}/\d{2}/\d{2}/\d{2})(?:\.s(?P<n>\d{3,}))?\.jsonl$")


def _hour_blob(at: datetime, segment: int = 0) -> str:
    """Hour blobs are named in UTC; a time with another offset must land in (or start at) the same blob."""
    utc = at.astimezone(UTC) if at.tzinfo else at
    suffix = f".s{segment:03d}" if segment else ""
    return f"{PREFIX}{utc:%Y/%m/%d/%H}{suffix}.jsonl"


def _hour_of(name: str) -> str | None:
    match = _SEGMENT_PATTERN.match(name)
    return match.group("hour") if match else None


class AuditLog:
    """Append and read audit records in a blob container (the app's state container)."""

    def __init__(self, container: ContainerClient, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 segment_blocks: int = SEGMENT_BLOCKS) -> None:
        self._container = container
        self._clock = clock
        self._segment_blocks = segment_blocks
        self._segments: dict[str, int] = {}  # hour blob -> segment this process appends to

    def append(self, kind: str, subject: str, decision: str, details: dict[str, Any] | None = None) -> AuditRecord:
        from azure.core.exceptions import HttpResponseError

        now = self._clock()
        record = AuditRecord(
            id=str(uuid.uuid4()), at=now.isoformat(), kind=kind, subject=subject, decision=decision,
            details=details or {},
        )
        hour = _hour_blob(now)
        segment = self._segments.get(hour, 0)
        for _ in range(1000):  # each turn moves to a later segment; far more than an hour can fill
            try:
                committed = self._append(_hour_blob(now, segment), record.to_line())
            except HttpResponseError as exc:
                if getattr(exc, "error_code", None) != "BlockCountExceedsLimit":
                    raise
                segment += 1  # full (another process filled it): the next segment
                continue
            if committed >= self._segment_blocks:
                segment += 1  # full enough: the next record opens the next segment
            self._segments = {hour: segment}  # only the current hour is worth remembering
            return record
        raise RuntimeError(f"audit: no writable segment for {hour}")

    def _append(self, name: str, line: bytes) -> int:
        """Append one block, creating the blob if needed; returns the blob's committed block count."""
        from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError

        blob = self._container.get_blob_client(name)
        try:
            result = blob.append_block(line)
        except ResourceNotFoundError:
            try:
                blob.create_append_blob(if_none_match="*")
            except ResourceExistsError:
                pass  # another writer created it first; append to theirs
            result = blob.append_block(line)
        return int(result.get("blob_committed_block_count") or 0)

    def read(self, since: datetime, limit: int, kind: str | None = None, subject: str | None = None,
             after: AuditCursor | None = None) -> tuple[list[AuditRecord], bool]:
        """Records at or after `since` (strictly after `after` when paging), oldest first, at most `limit`;
        the flag says whether more exist. Order is (time, id), so pages never repeat or skip a record."""
        if after is not None:
            since = after.at
        first = _hour_of(_hour_blob(since))
        hours: dict[str, list[str]] = {}
        for blob in self._container.list_blobs(name_starts_with=PREFIX):
            hour = _hour_of(blob.name)
            if hour is not None and first is not None and hour >= first:
                hours.setdefault(hour, []).append(blob.name)
        out: list[AuditRecord] = []
        for hour in sorted(hours):
            lines = [line for name in sorted(hours[hour])
                     for line in self._container.download_blob(name).readall().decode().splitlines()]
            batch = [AuditRecord(**json.loads(line)) for line in lines if line.strip()]
            batch = [r for r in batch if _key(r) >= (since, "")
                     and (after is None or _key(r) > (after.at, after.id))
                     and (kind is None or r.kind == kind) and (subject is None or subject in r.subject)]
            out.extend(sorted(batch, key=_key))
            if len(out) > limit:
                return out[:limit], True
        return out, False


@dataclass(frozen=True)
class AuditCursor:
    """Where a page ended: the (time, id) of its last record. Opaque to clients as `at|id`."""

    at: datetime
    id: str

    def encode(self) -> str:
        return f"{self.at.isoformat()}|{self.id}"

    @classmethod
    def of(cls, record: AuditRecord) -> AuditCursor:
        return cls(datetime.fromisoformat(record.at), record.id)

    @classmethod
    def decode(cls, raw: str) -> AuditCursor:
        at, sep, record_id = raw.partition("|")
        try:
            when = datetime.fromisoformat(at)
        except ValueError:
            when = None
        if not sep or not record_id or when is None or when.tzinfo is None:
            raise ValueError(f"cursor={raw!r} is not a cursor this API returned (expected 'time|id')")
        return cls(when, record_id)


def _key(record: AuditRecord) -> tuple[datetime, str]:
    return (datetime.fromisoformat(record.at), record.id)


def parse_since(raw: str | None, now: datetime) -> datetime:
    """`since` as ISO 8601 (naive means UTC) or a relative age like `15m`, `2h`, `7d`. Default: 24 hours ago."""
    if raw is None or not raw.strip():
        return now - timedelta(hours=24)
    text = raw.strip()
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if text[-1:] in units and text[:-1].isascii() and text[:-1].isdigit():
        try:
            return now - timedelta(**{units[text[-1]]: int(text[:-1])})
        except OverflowError:
            raise ValueError(f"since={raw!r} reaches back before the year 1") from None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"since={raw!r} is neither an ISO 8601 time nor an age like 15m, 2h, 7d") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
