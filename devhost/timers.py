"""Timer-triggered functions: schedule loop, startup runs, the cross-process lock, retries.

Before every run (scheduled, past-due catch-up, run_on_startup or via the admin API) the timer takes the
blob lease `locks/{hostId}/{function}`; if another process holds it, this run is skipped and logged as
skipped. A scheduled occurrence is also marked on the lock blob, so two devhosts sharing a host id run
each occurrence once even when the function is quick. `@app.retry` policies apply, as the host applies
them to timers. The TimerRequest is built by the library's own converter from the host payload.
A timer never waits for a lock another process holds: it skips that run.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Mapping
from typing import Any

from azure.functions import meta
from azure.functions.timer import TimerRequestConverter

from devhost.expressions import resolve_app_settings
from devhost.indexing import FunctionSpec
from devhost.invoker import InvocationResult, Invoker
from devhost.leases import BlobLocks, HeldLease
from devhost.schedules import Schedule, ScheduleMonitor, ScheduleStatus, parse_schedule
from devhost.settings import parse_timespan

log = logging.getLogger("devhost.timers")
OCCURRENCE_KEY = "lastoccurrence"
MANUAL = "Manual"


def timer_request(status: ScheduleStatus | None, past_due: bool) -> Any:
    payload = {
        "Schedule": {"AdjustForDST": True},
        "ScheduleStatus": status.to_json() if status else None,
        "IsPastDue": past_due,
    }
    return TimerRequestConverter.decode(
        meta.Datum(type="json", value=json.dumps(payload)), trigger_metadata=None
    )


def retry_delays(policy: Mapping[str, Any] | None, where: str) -> tuple[int, list[float]]:
    """(max retries, first delays) from an `@app.retry` setting; -1 retries means forever."""
    if not policy:
        return 0, []
    count = int(policy.get("max_retry_count", 0))
    if policy.get("strategy") == "fixed_delay":
        delay = parse_timespan(policy.get("delay_interval") or "00:00:00", f"{where} delay_interval")
        return count, [delay]
    low = parse_timespan(policy.get("minimum_interval") or "00:00:01", f"{where} minimum_interval")
    high = parse_timespan(policy.get("maximum_interval") or "00:15:00", f"{where} maximum_interval")
    return count, [min(high, low * 2**i) for i in range(16)]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class TimerTrigger:
    def __init__(
        self,
        spec: FunctionSpec,
        environ: Mapping[str, str],
        invoker: Invoker,
        locks: BlobLocks,
        monitor: ScheduleMonitor,
        stopping: asyncio.Event,
    ) -> None:
        where = f"function {spec.name!r} schedule"
        self.spec = spec
        self.schedule: Schedule = parse_schedule(
            resolve_app_settings(str(spec.trigger.attrs.get("schedule", "")), environ, where), where
        )
        use_monitor = spec.trigger.attrs.get("useMonitor")
        self.monitor = (
            monitor
            if (use_monitor if use_monitor is not None else self.schedule.default_use_monitor())
            else None
        )
        self.retries, self.delays = retry_delays(spec.retry, f"function {spec.name!r} retry")
        self._invoker = invoker
        self._locks = locks
        self._stopping = stopping
        self.status: ScheduleStatus | None = None
        self._started = False

    async def run(self) -> None:
        """Startup runs (once per process), then the schedule, until the host stops."""
        if not self._started:
            self._started = True
            await self._startup()
        while not self._stopping.is_set():
            occurrence = self.schedule.next_after(_now())
            if await self._sleep_until(occurrence):
                return
            await self.fire("Timer", occurrence=occurrence)

    async def _startup(self) -> None:
        now = _now()
        late = dt.timedelta(0)
        if self.monitor is not None:
            late, self.status = await self.monitor.check_past_due(
                self.spec.name, now, self.schedule, await self.monitor.get_status(self.spec.name)
            )
        log.info(
            "timer %s: schedule %r (UTC), next occurrence %s, monitor %s, %s",
            self.spec.name, self.schedule.expression, self.schedule.next_after(now).isoformat(),
            "on" if self.monitor else "off", f"past due by {late}" if late else "not past due",
        )  # fmt: skip
        if late:
            await self.fire("IsPastDue", occurrence=self.status.next if self.status else None, past_due=True)
        elif self.spec.trigger.attrs.get("runOnStartup"):
            await self.fire("RunOnStartup")

    async def _sleep_until(self, moment: dt.datetime) -> bool:
        """Wait for `moment`; True if the host is stopping instead."""
        while (remaining := (moment - _now()).total_seconds()) > 0:
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=remaining)
                return True
            except TimeoutError:
                continue
        return self._stopping.is_set()

    async def fire(self, reason: str, occurrence: dt.datetime | None = None, past_due: bool = False) -> None:
        """One run under the lock; skipped (and logged) if another process holds it."""
        extra = {"cause": reason, "occurrence": occurrence.isoformat() if occurrence else None}
        try:
            lease = await self._locks.try_acquire(self.spec.name)
        except Exception as exc:
            self._invoker.skipped(self.spec, f"timer lock unavailable: {exc}", **extra)
            return
        if lease is None:
            self._invoker.skipped(self.spec, "another instance holds the timer lock", **extra)
            return
        try:
            if occurrence is not None and await self._already_ran(lease, occurrence):
                self._invoker.skipped(self.spec, "occurrence already run by another instance", **extra)
                return
            await self._invoke_with_retries(past_due, extra)
            if reason != MANUAL:  # a manual run is outside the schedule: the host leaves the status alone
                await self._record(occurrence if reason == "Timer" else None)
        finally:
            await lease.release()

    async def _already_ran(self, lease: HeldLease, occurrence: dt.datetime) -> bool:
        marker = (await lease.metadata()).get(OCCURRENCE_KEY)
        if marker and dt.datetime.fromisoformat(marker) >= occurrence:
            return True
        await lease.set_metadata({OCCURRENCE_KEY: occurrence.isoformat()})
        return False

    async def _invoke_with_retries(self, past_due: bool, extra: dict[str, Any]) -> InvocationResult:
        attempt = 0
        while True:
            request = timer_request(self.status if self.monitor else None, past_due)
            result = await self._invoker.invoke(
                self.spec, request, {}, retry_count=attempt, max_retry_count=self.retries, **extra
            )
            if result.succeeded or self._stopping.is_set() or (0 <= self.retries <= attempt):
                return result
            delay = self.delays[min(attempt, len(self.delays) - 1)]
            log.info("timer %s: retry %d in %.1fs", self.spec.name, attempt + 1, delay)
            if delay and await self._sleep_until(_now() + dt.timedelta(seconds=delay)):
                return result
            attempt += 1

    async def _record(self, occurrence: dt.datetime | None) -> None:
        last = occurrence or _now()
        self.status = ScheduleStatus(last, self.schedule.next_after(last), _now())
        if self.monitor is not None:
            await self.monitor.update_status(self.spec.name, self.status)
