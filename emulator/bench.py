"""Prints how fast the emulator simulates and answers (python -m emulator.bench). Never asserts.

Simulates 24 h of the demo scenario in manual mode without storage, then times a 24 h metrics query.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from emulator.core import Emulator
from emulator.metrics import Query, parse_filter, resolve_target
from emulator.scenario import load_scenario


async def main() -> None:
    scenario = load_scenario("scenarios/demo.yaml")
    scenario.clock.mode, scenario.clock.start = "manual", "2024-05-01T00:00:00Z"
    emu = Emulator(scenario, storage_connection_string=None, time_scale=1, public_url="http://127.0.0.1")
    started = time.perf_counter()
    result = await emu.advance(timedelta(hours=24))
    took = time.perf_counter() - started
    rate = scenario.endpoints[0].requests_per_minute
    print(f"advance 24 h at {rate:.0f} rpm: {result['requests']} requests, {result['records']} collected "
          f"records in {took:.2f} s ({result['requests'] / took:.0f} requests/s)")
    target = resolve_target(emu.world, emu.world.endpoint_id(scenario.endpoints[0].name))
    day = datetime(2024, 5, 1, tzinfo=UTC)
    names = ["RequestLatency_P99", "RequestsPerMinute"]
    query = Query(names, day, day + timedelta(days=1), timedelta(minutes=5), ["average"],
                  parse_filter("deployment eq '*'"))
    started = time.perf_counter()
    emu.engine.run(target, query)
    took = time.perf_counter() - started
    print(f"metrics query, 24 h x 2 metrics split by deployment at PT5M: {took:.3f} s")


if __name__ == "__main__":
    asyncio.run(main())
