"""Timer schedules (NCRONTAB, UTC) and the schedule monitor's status blob, as the real host keeps it.

The status blob `azure-webjobs-hosts/timers/{hostId}/Host.Functions.{name}/status` holds
`{"Last", "Next", "LastUpdated"}`. At start a timer is past due when now is later than the recorded
Next (beyond a small tolerance), after the same "has the schedule changed?" correction the host makes.
This module computes and stores schedule state; it never runs a function.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Any

from devhost.settings import ConfigError, parse_timespan
from devhost.storage import HOSTS_CONTAINER, StorageClients

log = logging.getLogger("devhost.schedules")
DEFAULT_TIME = dt.datetime(1, 1, 1, tzinfo=dt.UTC)
PAST_DUE_TOLERANCE = dt.timedelta(seconds=1)


@dataclass(frozen=True)
class Schedule:
    expression: str
    interval: dt.timedelta | None = None  # TimeSpan schedules ("00:05:00") instead of NCRONTAB

    def next_after(self, moment: dt.datetime) -> dt.datetime:
        if self.interval is not None:
            return moment + self.interval
        from croniter import croniter

        return croniter(self._six_fields, moment, second_at_beginning=True).get_next(dt.datetime)

    @property
    def _six_fields(self) -> str:
        fields = self.expression.split()
        return " ".join(["0", *fields]) if len(fields) == 5 else self.expression

    def default_use_monitor(self) -> bool:
        """The host monitors schedules whose interval is at least a minute."""
        first = self.next_after(dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
        return self.next_after(first) - first >= dt.timedelta(minutes=1)


def parse_schedule(expression: str, where: str) -> Schedule:
    text = expression.strip()
    if ":" in text and " " not in text:
        seconds = parse_timespan(text, where)
        if seconds <= 0:
            raise ConfigError(f"{where}: a TimeSpan schedule must be positive, got {text!r}")
        return Schedule(text, dt.timedelta(seconds=seconds))
    from croniter import croniter

    fields = text.split()
    schedule = Schedule(text)
    if len(fields) not in (5, 6) or not croniter.is_valid(schedule._six_fields, second_at_beginning=True):
        raise ConfigError(
            f"{where}: {expression!r} is not a valid NCRONTAB expression "
            "('{second} {minute} {hour} {day} {month} {day-of-week}', e.g. '0 */5 * * * *')"
        )
    return schedule


@dataclass(frozen=True)
class ScheduleStatus:
    last: dt.datetime
    next: dt.datetime
    last_updated: dt.datetime

    def to_json(self) -> dict[str, str]:
        return {"Last": _iso(self.last), "Next": _iso(self.next), "LastUpdated": _iso(self.last_updated)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ScheduleStatus:
        return cls(_parse(data.get("Last")), _parse(data.get("Next")), _parse(data.get("LastUpdated")))


def _iso(moment: dt.datetime) -> str:
    if moment <= DEFAULT_TIME:
        return "0001-01-01T00:00:00"
    return moment.astimezone(dt.UTC).isoformat()


def _parse(value: Any) -> dt.datetime:
    if not value:
        return DEFAULT_TIME
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


def _known(moment: dt.datetime) -> bool:
    return moment > DEFAULT_TIME + dt.timedelta(days=1)


class ScheduleMonitor:
    def __init__(self, storage: StorageClients, host_id: str) -> None:
        self._storage = storage
        self._host_id = host_id

    def _blob(self, function: str) -> Any:
        name = f"timers/{self._host_id}/Host.Functions.{function}/status"
        return self._storage.blob_service().get_blob_client(HOSTS_CONTAINER, name)

    async def get_status(self, function: str) -> ScheduleStatus | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            raw = await asyncio.to_thread(lambda: self._blob(function).download_blob().readall())
        except ResourceNotFoundError:
            return None
        try:
            return ScheduleStatus.from_json(json.loads(raw))
        except (ValueError, TypeError, AttributeError) as exc:
            log.warning("timer %s: unreadable status blob (%s); starting afresh", function, exc)
            return None

    async def update_status(self, function: str, status: ScheduleStatus) -> None:
        payload = json.dumps(status.to_json()).encode()
        try:
            await asyncio.to_thread(lambda: self._blob(function).upload_blob(payload, overwrite=True))
        except Exception as exc:  # best effort, as the host
            log.error("timer %s: failed to update the schedule status: %s", function, exc)

    async def check_past_due(
        self, function: str, now: dt.datetime, schedule: Schedule, status: ScheduleStatus | None
    ) -> tuple[dt.timedelta, ScheduleStatus]:
        """How late the recorded Next is (zero if not past due), and the status to go on with."""
        if status is None:
            status = ScheduleStatus(DEFAULT_TIME, schedule.next_after(now), now)
            await self.update_status(function, status)
        else:
            basis = (
                status.last
                if _known(status.last)
                else status.last_updated
                if _known(status.last_updated)
                else now
            )
            expected = schedule.next_after(basis)
            if status.next != expected:  # the schedule changed since the status was written
                if now > expected:
                    expected, basis = schedule.next_after(now), now
                status = ScheduleStatus(DEFAULT_TIME, expected, basis)
                await self.update_status(function, status)
        late = now - status.next
        return (late if late > PAST_DUE_TOLERANCE else dt.timedelta(0)), status
