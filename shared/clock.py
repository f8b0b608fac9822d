"""The one clock: where "now" comes from for everything that decides or falls due.

Checks, the sweep's cadences, analyses and the alert lifecycle never read the system time themselves:
they take `now` from a `Clock`. In Azure it is the system clock. Locally the app follows the emulator's
simulated clock (live or manual), so advancing the emulator moves the app's windows, timer slots,
keep-firing periods and repeat intervals with it, and a test or a demo can jump ahead.

The emulator clock asks the emulator every time (one loopback GET, about a millisecond): caching would
make a jump invisible until the cache expired, which is exactly the case that matters.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class ClockUnavailable(RuntimeError):
    """The clock's source did not answer: deciding on a guessed time would look at the wrong window."""


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that moves only when told to: for tests of code that decides."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


class EmulatorClock:
    """The local emulator's simulated time (`GET /_emulator/time`)."""

    def __init__(self, emulator_url: str, timeout_seconds: float = 5.0) -> None:
        self.url = emulator_url.rstrip("/") + "/_emulator/time"
        self.timeout = timeout_seconds
        self._session = None

    def now(self) -> datetime:
        import requests

        if self._session is None:
            self._session = requests.Session()
        try:
            response = self._session.get(self.url, timeout=self.timeout)
            response.raise_for_status()
            text = str(response.json()["now"])
        except (requests.RequestException, ValueError, KeyError) as exc:
            raise ClockUnavailable(f"the emulator's clock at {self.url} did not answer: "
                                   f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from exc
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def clock_for(kind: str, emulator_url: str | None) -> Clock:
    """`system` or `emulator` (settings.clock); the emulator clock needs the emulator's URL."""
    if kind == "emulator":
        if not emulator_url:
            raise ValueError("the emulator clock needs MODELWATCH_AZURE_EMULATOR_URL")
        return EmulatorClock(emulator_url)
    return SystemClock()
