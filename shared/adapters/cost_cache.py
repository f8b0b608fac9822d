"""Cost Management answers kept in the check state, so the throttled Cost APIs are asked rarely.

Cost Management throttles programmatic callers hard (a few queries per scope per minute; QPU-based, with
`x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after` and `Retry-After` on a 429), and its data is
hours old anyway (refreshed about every 4 h, complete after 8-24 h). So every answer is stored with the
time it was fetched, in the state store (`costcache/{scope}/{key}.json`), and served from there while it
is younger than the cost check's cadence.

A 429 is honoured, never retried in a loop: the SDK call is made with `retry_total=0` (the SDK would
otherwise sleep out Retry-After inside the function, up to its timeout), the earliest time to ask again
is recorded (`costcache/{scope}/throttle.json`, the largest of the rate-limit headers), no query goes to
that scope before then, and the caller gets the last stored answer, marked as served from cache after a
429 (or `unavailable` when nothing was ever stored), so its verdict can say so. Each `Answer` carries
where it came from; `stats()` counts hits, Azure calls, 429s and stale answers for the verdict's evidence.

The state store is a parameter (blob storage in the app); the clock is `now`, passed in, so a test or the
emulator's simulated time decides freshness. This module decides nothing about costs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Generic, Protocol, TypeVar

from shared.adapters.costs import BudgetStatus, CostReport, CostRow

T = TypeVar("T")

#: the wait when a 429 names none (Cost Management's windows are a minute long)
DEFAULT_RETRY_AFTER = timedelta(seconds=60)
RATE_LIMIT_PREFIXES = ("x-ms-ratelimit-microsoft.costmanagement-", "x-ms-ratelimit-microsoft.consumption-")


class StateStore(Protocol):
    def get_json(self, name: str) -> dict[str, Any] | None: ...
    def put_json(self, name: str, value: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class Answer(Generic[T]):
    """One cost answer and where it came from: `azure` (fetched now), `cache` (fresh enough),
    `cache-after-429` (stale, because Azure throttled us), `unavailable` (throttled, nothing stored)."""

    key: str
    value: T | None
    source: str
    fetched_at: datetime | None
    age_seconds: float | None
    throttled_until: datetime | None = None
    note: str = ""

    @property
    def available(self) -> bool:
        return self.value is not None

    def evidence(self) -> dict[str, Any]:
        return {"key": self.key, "source": self.source,
                "fetched_at": self.fetched_at.isoformat() if self.fetched_at else None,
                "age_seconds": None if self.age_seconds is None else round(self.age_seconds, 1),
                "throttled_until": self.throttled_until.isoformat() if self.throttled_until else None,
                "note": self.note}


@dataclass
class CacheStats:
    hits: int = 0  # fresh answers served without asking Azure
    fetched: int = 0  # Azure answered
    throttled: int = 0  # Azure answered 429
    held_back: int = 0  # not asked: an earlier 429's retry-after had not passed
    stale_served: int = 0  # a stored answer served although stale, because of a 429
    unavailable: int = 0  # throttled with nothing stored


def retry_after(headers: Mapping[str, str], now: datetime) -> timedelta | None:
    """The longest wait any of Cost Management's rate-limit headers or Retry-After asks for."""
    waits: list[timedelta] = []
    for name, value in headers.items():
        lowered = name.lower()
        if lowered == "retry-after" or (lowered.startswith(RATE_LIMIT_PREFIXES) and lowered.endswith("retry-after")):
            wait = _wait(str(value), now)
            if wait is not None:
                waits.append(wait)
    return max(waits) if waits else None


def _wait(value: str, now: datetime) -> timedelta | None:
    text = value.strip()
    try:
        return timedelta(seconds=max(float(text), 0.0))
    except ValueError:
        pass
    try:  # Retry-After may be an HTTP date
        return max(parsedate_to_datetime(text) - now, timedelta(0))
    except (TypeError, ValueError):
        return None


def _hash(text: str, size: int) -> str:
    return hashlib.sha256(text.lower().encode()).hexdigest()[:size]


class CostCache:
    def __init__(self, state: StateStore, scope: str, fresh_for: timedelta, now: datetime) -> None:
        self._state = state
        self._scope = scope
        self._fresh_for = fresh_for
        self._now = now
        self._folder = f"costcache/{_hash(scope, 16)}"
        self._throttle = state.get_json(f"{self._folder}/throttle.json") or {}
        self._entries: dict[str, dict[str, Any] | None] = {}  # read once per run
        self.counts = CacheStats()

    def _name(self, key: str) -> str:
        return f"{self._folder}/{_hash(key, 24)}.json"

    def _entry(self, key: str) -> dict[str, Any] | None:
        name = self._name(key)
        if name not in self._entries:
            self._entries[name] = self._state.get_json(name)
        return self._entries[name]

    def fetched_at(self, key: str) -> datetime | None:
        """When the stored answer for `key` was fetched (None: never), to ask for the oldest first."""
        entry = self._entry(key)
        return datetime.fromisoformat(entry["fetched_at"]) if entry else None

    def stats(self) -> dict[str, Any]:
        return {**asdict(self.counts), "fresh_for_seconds": self._fresh_for.total_seconds(),
                "throttled_until": self._throttle.get("until")}

    @property
    def throttled_until(self) -> datetime | None:
        until = self._throttle.get("until")
        return datetime.fromisoformat(until) if until else None

    def get(self, key: str, fetch: Callable[[], T], dump: Callable[[T], Any], load: Callable[[Any], T]) -> Answer[T]:
        """The stored answer if fresh, else Azure's (stored), else on a 429 the stored one, marked so."""
        from azure.core.exceptions import HttpResponseError

        entry = self._entry(key)
        fetched_at = datetime.fromisoformat(entry["fetched_at"]) if entry else None
        age = (self._now - fetched_at).total_seconds() if fetched_at else None
        if entry is not None and age is not None and 0 <= age < self._fresh_for.total_seconds():
            self.counts.hits += 1
            return Answer(key, load(entry["value"]), "cache", fetched_at, age)
        until = self.throttled_until
        if until is not None and self._now < until:
            self.counts.held_back += 1
            return self._fallback(key, entry, load, until,
                                  f"not asked: Cost Management throttled this scope until {until.isoformat()}")
        try:
            value = fetch()
        except HttpResponseError as exc:
            if exc.status_code != 429:
                raise
            self.counts.throttled += 1
            until = self._record_429(exc)
            return self._fallback(key, entry, load, until,
                                  f"Cost Management answered 429 at {self._now.isoformat()}; "
                                  f"asked to wait until {until.isoformat()}")
        self.counts.fetched += 1
        entry = {"key": key, "scope": self._scope, "fetched_at": self._now.isoformat(), "value": dump(value)}
        self._state.put_json(self._name(key), entry)
        self._entries[self._name(key)] = entry
        return Answer(key, value, "azure", self._now, 0.0)

    def _fallback(self, key: str, entry: dict[str, Any] | None, load: Callable[[Any], T], until: datetime,
                  why: str) -> Answer[T]:
        if entry is None:
            self.counts.unavailable += 1
            return Answer(key, None, "unavailable", None, None, until, why + "; nothing cached yet")
        self.counts.stale_served += 1
        fetched_at = datetime.fromisoformat(entry["fetched_at"])
        return Answer(key, load(entry["value"]), "cache-after-429", fetched_at,
                      (self._now - fetched_at).total_seconds(), until,
                      why + f"; served the answer fetched at {entry['fetched_at']}")

    def _record_429(self, exc: Any) -> datetime:
        response = getattr(exc, "response", None)
        headers = {str(k): str(v) for k, v in (getattr(response, "headers", None) or {}).items()}
        wait = retry_after(headers, self._now) or DEFAULT_RETRY_AFTER
        until = self._now + wait
        limits = {k: v for k, v in headers.items() if k.lower() == "retry-after"
                  or k.lower().startswith(RATE_LIMIT_PREFIXES)}
        self._throttle = {"until": until.isoformat(), "at": self._now.isoformat(),
                          "retry_after_seconds": wait.total_seconds(), "headers": limits}
        self._state.put_json(f"{self._folder}/throttle.json", self._throttle)
        return until

    # -- the answers the cost check asks for -----------------------------------------------------------------
    def report(self, key: str, fetch: Callable[[], CostReport]) -> Answer[CostReport]:
        return self.get(key, fetch, dump_report, load_report)

    def budgets(self, key: str, fetch: Callable[[], list[BudgetStatus]]) -> Answer[list[BudgetStatus]]:
        return self.get(key, fetch, dump_budgets, load_budgets)


def dump_report(report: CostReport) -> dict[str, Any]:
    return {"complete": report.complete,
            "rows": [[r.day.isoformat(), r.endpoint, r.deployment, r.cost, r.currency] for r in report.rows]}


def load_report(raw: dict[str, Any]) -> CostReport:
    rows = [CostRow(date.fromisoformat(d), ep, dep, float(cost), cur) for d, ep, dep, cost, cur in raw["rows"]]
    return CostReport(rows=rows, complete=bool(raw["complete"]))


def dump_budgets(budgets: list[BudgetStatus]) -> list[dict[str, Any]]:
    return [asdict(b) for b in budgets]


def load_budgets(raw: list[dict[str, Any]]) -> list[BudgetStatus]:
    return [BudgetStatus(**b) for b in raw]
