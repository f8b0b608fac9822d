"""Collected-JSONL read rate: Azure ML data-collector blobs to the drift engine's chunks, in rows per second.

The drift check reads every blob of a deployment's `model_inputs` / `model_outputs` hour folders
(`modelDataCollector/{endpoint}/{deployment}/{collection}/YYYY/MM/DD/HH/*.jsonl`): one CloudEvents-like
record per line whose `data` is a list of row objects (several requests batched together). This script
builds such blobs in memory, shaped like the collector's (and the emulator's) records, with the drift bench's
25 features (20 numeric, 5 categorical strings), and times, on blob bytes already in memory:

  read      monitors.drift.readers.read_collected: bytes -> Arrow chunks (the JSONL parse)
  profile   read + WindowBuilder.add on a reference profile: the drift check's whole per-row work
            (histograms on the reference's edges, category counts), without the metrics at the end

for several rows-per-record batchings (1 row per record is the worst case: the most JSON envelope per row).
Run in one process pinned to one core when `taskset` exists; best of --repeat runs.

Run:  .venv/bin/python bench/jsonl_read.py [--rows 1000000] [--blob-rows 50000] [--batch 1,10,100]
      [--repeat 3]
Target (issue 8): read at least 500k rows/s. No test asserts on time; this only prints.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LEVELS = (10, 20, 30, 40, 50)


def make_rows(rng: random.Random, n: int, width: int = 25) -> list[dict]:
    """`width` 25: the drift bench's 20 numeric and 5 categorical features; 4: the demo's credit model
    (income, age, utilization, employment)."""
    if width == 4:
        return [{"income": round(rng.gauss(52000, 14000)), "age": round(rng.gauss(41, 11)),
                 "utilization": round(rng.random(), 3),
                 "employment": rng.choices(("employed", "self_employed", "unemployed"), (7, 2, 1))[0]}
                for _ in range(n)]
    rows = []
    for _ in range(n):
        row: dict = {f"num_{j:02d}": round(rng.gauss(10.0 * j, 1.0 + j / 10), 4) for j in range(20)}
        for k, levels in enumerate(LEVELS):
            row[f"cat_{k}"] = f"level_{levels}_{rng.randrange(levels)}"
        rows.append(row)
    return rows


def make_blob(rng: random.Random, rows: int, per_record: int, width: int = 25) -> bytes:
    """One hour file of the collector: records of `per_record` rows, one JSON object per line."""
    lines = []
    source = ("/subscriptions/0/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws/"
              "onlineEndpoints/credit-ep/deployments/blue")
    for start in range(0, rows, per_record):
        data = make_rows(rng, min(per_record, rows - start), width)
        text = json.dumps(data, separators=(",", ":"))
        record = {"specversion": "1.0", "id": str(uuid.UUID(int=rng.getrandbits(128))), "source": source,
                  "type": "azureml.inference.model_inputs", "datacontenttype": "application/json",
                  "time": "2024-05-01T10:00:00Z", "data": data, "correlationid": "c", "xrequestid": "c",
                  "modelversion": "default", "collectdatatype": "pandas.core.frame.DataFrame",
                  "agent": "azureml-ai-monitoring/0.1.0b4", "contentrange": f"bytes 0-{len(text) - 1}/{len(text)}"}
        lines.append(json.dumps(record, separators=(",", ":")))
    return ("\n".join(lines) + "\n").encode()


def reference_profile(rng: random.Random, width: int):
    import pyarrow as pa

    from monitors.drift import build_profile

    return build_profile([pa.Table.from_pylist(make_rows(rng, 20_000, width))])


def time_case(blobs: list[bytes], reference, with_profile: bool) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of this process, rows) for one pass over the blobs."""
    from monitors.drift import WindowBuilder
    from monitors.drift.readers import CollectorStats, read_collected

    stats = CollectorStats()
    builder = WindowBuilder(reference) if with_profile else None
    wall, cpu = time.perf_counter(), time.process_time()
    for batch in read_collected(blobs, stats=stats):
        if builder is not None:
            builder.add(batch)
    return time.perf_counter() - wall, time.process_time() - cpu, stats.rows


def best(runs: list[tuple[float, float, int]]) -> tuple[float, float, int]:
    return min(r[0] for r in runs), min(r[1] for r in runs), runs[0][2]


def pin_to_one_core() -> None:
    if os.environ.get("JSONL_BENCH_PINNED") or not shutil.which("taskset"):
        return
    os.environ["JSONL_BENCH_PINNED"] = "1"
    cpu = str(max(0, (os.cpu_count() or 1) - 1))
    os.execvp("taskset", ["taskset", "-c", cpu, sys.executable, *sys.argv])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows read per case")
    parser.add_argument("--blob-rows", type=int, default=50_000, help="rows per blob (one instance's hour file)")
    parser.add_argument("--batch", default="1,10,100", help="rows per collector record, comma-separated")
    parser.add_argument("--width", default="4,25", help="features per row: 4 (demo) and/or 25 (drift bench)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    pin_to_one_core()
    rng = random.Random(20240501)
    print(f"{args.rows:,} rows per case in blobs of {args.blob_rows:,} rows; best of {args.repeat}; "
          f"pinned to one core: {bool(os.environ.get('JSONL_BENCH_PINNED'))}; rows/s = rows / CPU seconds "
          "(wall seconds in brackets: the machine may be shared)")
    print(f"{'features':>8} {'rows/record':>11} | {'MB':>5} | {'read: rows/s':>13} {'MB/s':>5} {'(wall s)':>9} | "
          f"{'read+profile: rows/s':>20} {'(wall s)':>9}")
    print("-" * 96)
    for width in (int(w) for w in args.width.split(",")):
        reference = reference_profile(rng, width)
        for per_record in (int(b) for b in args.batch.split(",")):
            blob = make_blob(rng, args.blob_rows, per_record, width)
            blobs = [blob] * max(1, args.rows // args.blob_rows)
            size = sum(len(b) for b in blobs) / 1e6
            wall, cpu, rows = best([time_case(blobs, reference, False) for _ in range(args.repeat)])
            wall2, cpu2, _ = best([time_case(blobs, reference, True) for _ in range(args.repeat)])
            print(f"{width:>8} {per_record:>11} | {size:>5.0f} | {rows / cpu:>13,.0f} {size / cpu:>5.0f} "
                  f"({wall:>6.2f} s) | {rows / cpu2:>20,.0f} ({wall2:>6.2f} s)")


if __name__ == "__main__":
    sys.exit(main())
