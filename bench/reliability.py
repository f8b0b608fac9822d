"""Trust under bad input, the long run: a few thousand generated inputs against the real app, counted.

Starts Azurite and a devhost serving the real function_app.py on free loopback ports, then sends what
tests/reliability sends, many times over (tests/reliability/fuzz.py): mixed batches of valid events and
mutated elements in both schemas (a share redelivered), malformed bodies, concurrent duplicates (20 senders
per event; a 500 "in flight" is redelivered as Event Grid would), abuse of the alert API and a catastrophic
silence regex. Prints inputs tried, 5xx answers to bad input, valid events lost and duplicates (goals: 0).

Bounded: the counts below, and `--max-seconds` (stages stop starting new rounds once it is spent).

    .venv/bin/python bench/reliability.py [--batches 600] [--malformed 20] [--duplicated 30] [--api 10]
                                          [--seed 10] [--max-seconds 300] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devhost.process import start_devhost  # noqa: E402
from tests.fixtures.events import WORKSPACE  # noqa: E402
from tests.reliability.fuzz import MUTATIONS, Probe, Tally  # noqa: E402
from tools.azurite import Azurite, free_port  # noqa: E402

CHUNK = 50  # batches per round between time checks
GROUPS = {"mutation": "mutated elements", "body": "malformed bodies", "api": "alert API abuse",
          "concurrent duplicate delivery": "concurrent duplicates", "redelivered batch": "redelivered batches"}


def run(probe: Probe, args: argparse.Namespace) -> Tally:
    deadline = time.monotonic() + args.max_seconds
    done = 0
    while done < args.batches and time.monotonic() < deadline:
        chunk = min(CHUNK, args.batches - done)
        probe.mixed_batches(chunk)
        done += chunk
    for _ in range(args.malformed):
        if time.monotonic() < deadline:
            probe.malformed()
    for _ in range(args.duplicated // 5):
        if time.monotonic() < deadline:
            probe.concurrent_duplicates(5, 20)
    for _ in range(args.api):
        if time.monotonic() < deadline:
            probe.alert_api_abuse()
    probe.catastrophic_regex()
    return probe.verify(wait=min(120.0, max(30.0, deadline - time.monotonic())))


def report(tally: Tally, seconds: float) -> str:
    groups: dict[str, int] = {}
    for name, count in tally.inputs.items():
        group = GROUPS.get(name.split(":")[0].split(" (")[0], name)
        groups[group] = groups.get(group, 0) + count
    lines = [f"inputs tried              {tally.inputs_tried:>7,}"]
    lines += [f"  {group:<24}{count:>7,}" for group, count in sorted(groups.items())]
    lines += [
        f"valid events              {len(tally.valid):>7,}",
        f"HTTP requests             {tally.requests:>7,}",
        f"5xx from bad input        {len(tally.server_errors):>7,}   (goal 0)",
        f"events lost               {len(tally.lost):>7,}   (goal 0)",
        f"duplicates                {len(tally.duplicates):>7,}   (goal 0)",
        f"500 'in flight' answers   {tally.in_flight_answers:>7,}   (concurrent duplicates, redelivered until 202)",
        f"mutations                 {len(MUTATIONS):>7,}   (each in both schemas)",
        f"wall time                 {seconds:>7.0f} s",
    ]
    for title, items in (("5xx", tally.server_errors), ("lost", tally.lost), ("duplicates", tally.duplicates),
                         ("notes", tally.notes)):
        lines += [f"{title}: {item}" for item in items[:10]]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=600, help="mixed batches (3-4 mutated elements each)")
    parser.add_argument("--malformed", type=int, default=20, help="rounds of the malformed bodies")
    parser.add_argument("--duplicated", type=int, default=30, help="events each delivered by 20 senders at once")
    parser.add_argument("--api", type=int, default=10, help="rounds of alert API abuse")
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument("--max-seconds", type=float, default=300.0)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        azurite = Azurite(Path(tmp) / "azurite", free_port(), free_port(), free_port()).start()
        tag = uuid.uuid4().hex[:8]
        env = {"AzureWebJobsStorage": azurite.connection_string, "MODELWATCH_ALLOWED_WORKSPACES": WORKSPACE,
               "MODELWATCH_STATE_CONTAINER": f"bench{tag}", "AzureFunctionsWebHost__hostid": f"bench-rel-{tag}",
               "AzureFunctionsJobHost__extensions__queues__visibilityTimeout": "00:00:00",
               "AzureFunctionsJobHost__extensions__queues__maxPollingInterval": "00:00:00.200"}
        try:
            with start_devhost(ROOT, env=env, log_path=Path(tmp) / "devhost.log") as host:
                tally = run(Probe(host.base_url, seed=args.seed), args)
        finally:
            azurite.stop()
    seconds = time.monotonic() - started
    if args.json:
        print(json.dumps({**tally.summary(), "seconds": round(seconds, 1)}, indent=2))
    else:
        print(report(tally, seconds))
    return 0 if not (tally.server_errors or tally.lost or tally.duplicates) else 1


if __name__ == "__main__":
    sys.exit(main())
