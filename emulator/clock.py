"""The simulated clock: what time it is inside the emulator.

Manual mode (tests): time moves only when the control API advances it, so every answer is a pure
function of the scenario, its seed and the calls made. Live mode (demos): simulated time follows the
wall clock (`speed` times faster, default 1), so a monitor that asks for "the last 30 minutes" finds
data; the control API can still jump ahead.

`time_scale` compresses the real waits that stand for Azure's (Event Grid retry back-off, LRO
provisioning). This module never sleeps and never generates traffic; it only tells the time.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


def floor_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def iso(moment: datetime) -> str:
    """Azure's usual UTC form: 2024-05-01T12:00:00Z (fractional seconds only when present)."""
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}"
    return text + "Z"


def parse_iso(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class SimClock:
    def __init__(
        self, start: datetime, *, live: bool = False, time_scale: float = 1.0, speed: float = 1.0
    ) -> None:
        if time_scale <= 0 or speed <= 0:
            raise ValueError("time_scale and speed must be > 0")
        self.start = start
        self.live = live
        self.time_scale = time_scale
        self.speed = speed
        self._anchor_sim = start
        self._anchor_wall = time.monotonic()

    def now(self) -> datetime:
        if not self.live:
            return self._anchor_sim
        elapsed = (time.monotonic() - self._anchor_wall) * self.speed
        return self._anchor_sim + timedelta(seconds=elapsed)

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("the simulated clock never goes backwards")
        self._anchor_sim = self.now() + delta
        self._anchor_wall = time.monotonic()
        return self._anchor_sim

    def jump_to(self, moment: datetime) -> datetime:
        """Move to `moment` if it is in the future (live mode: follow the wall clock from there)."""
        return self.advance(max(moment - self.now(), timedelta(0)))

    def wall_seconds(self, simulated_seconds: float) -> float:
        """How long to really wait for a simulated wait (retry back-off, provisioning)."""
        return simulated_seconds / self.time_scale
