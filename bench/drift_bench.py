"""Drift engine benchmark: profile build, current-window pass with all metrics, scipy baseline.

Generates the issue's data set, 25 features (20 numeric of assorted shapes, including integer-valued
ones with ties, and 5 categorical with 10, 20, 30, 40 and 50 levels), as reference and current
Parquet files at 10k, 100k, 1M and 5M rows (current has drift in a few features), then measures
each case in a fresh subprocess pinned to one core (peak RSS is the child's own VmHWM):

  profile   read the reference Parquet in 64k-row batches and build the profile in one pass
            (numeric values held in memory for the exact deciles)
  profile3  the same profile in three passes over the file, in bounded memory (what the CLI does)
  compare   load the profile JSON, read the current Parquet in batches, histogram, all metrics,
            decisions (the serverless run: everything after start-up is in the figure)
  scipy     the baseline: scipy.stats.ks_2samp per numeric column and chi2_contingency per
            categorical column on the in-memory data (reading time excluded from its figure)

Run:  .venv/bin/python bench/drift_bench.py [--sizes 10000,100000,1000000,5000000] [--cores 1]
      [--workdir DIR] [--repeat N]
Targets (DESIGN.md): compare at 1M x 25 under 1.5 s and 400 MB peak RSS, linear time, flat memory.
No timing is asserted anywhere; this script only prints.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = (10_000, 100_000, 1_000_000, 5_000_000)
GEN_CHUNK = 250_000
LEVELS = (10, 20, 30, 40, 50)


def _numeric_column(rng, j: int, n: int, drift: bool):
    import numpy as np

    shift = 0.25 if drift else 0.0
    shape = j % 5
    if shape == 0:
        return rng.normal(10.0 * j + shift, 1.0 + j / 10, n)
    if shape == 1:
        return rng.lognormal(0.0 + shift, 0.75, n)
    if shape == 2:
        return rng.poisson(3 + j % 7 + (1 if drift else 0), n).astype(np.float64)  # integers, ties
    if shape == 3:
        return rng.standard_t(4, n) * (1.5 if drift else 1.0)
    return np.where(rng.random(n) < 0.3, rng.normal(-2, 0.5, n), rng.normal(3 + shift, 1.0, n))


def _categorical_column(rng, levels: int, n: int, drift: bool):
    import numpy as np
    import pyarrow as pa

    weights = 1.0 / np.arange(1, levels + 1)
    if drift:
        weights = weights[::-1]
    names = pa.array([f"level_{levels}_{i}" for i in range(levels)])
    codes = rng.choice(levels, size=n, p=weights / weights.sum())
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), names)


def generate(path: Path, rows: int, seed: int, drift: bool) -> None:
    """Write the 25-feature data set in chunks (memory stays flat even at 5M rows)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    drifted_numeric = {0, 1, 2, 3, 4} if drift else set()
    writer = None
    for start in range(0, rows, GEN_CHUNK):
        n = min(GEN_CHUNK, rows - start)
        columns = {f"num_{j:02d}": _numeric_column(rng, j, n, j in drifted_numeric) for j in range(20)}
        for k, levels in enumerate(LEVELS):
            columns[f"cat_{k}"] = _categorical_column(rng, levels, n, drift and k == 0)
        table = pa.table(columns)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()


def ensure_data(workdir: Path, rows: int) -> tuple[Path, Path]:
    ref, cur = workdir / f"ref_{rows}.parquet", workdir / f"cur_{rows}.parquet"
    if not ref.exists():
        generate(ref, rows, seed=rows, drift=False)
    if not cur.exists():
        generate(cur, rows, seed=rows + 1, drift=True)
    return ref, cur


def _peak_mb() -> float:
    """This process's peak RSS. VmHWM belongs to the current address space; ru_maxrss would also
    count the parent's peak, which a vfork + exec child inherits."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(kind: str, workdir: Path, rows: int) -> dict[str, float]:
    """Run one case in this (fresh) process; print timing and peak memory as JSON."""
    sys.path.insert(0, str(ROOT))
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    import scipy.stats

    from monitors.drift.build import build_profile
    from monitors.drift.engine import compare
    from monitors.drift.profile import DatasetProfile
    from monitors.drift.readers import read_parquet

    ref, cur = workdir / f"ref_{rows}.parquet", workdir / f"cur_{rows}.parquet"
    profile_path = workdir / f"profile_{rows}.json"
    baseline_mb = _peak_mb()
    start = time.perf_counter()
    if kind == "profile":  # one pass: numeric values held in memory
        profile_path.write_text(build_profile(read_parquet(ref)).to_json())
    elif kind == "profile3":  # three passes over the file, bounded memory, same deciles
        build_profile(lambda: read_parquet(ref)).to_json()
    elif kind == "compare":
        profile = DatasetProfile.from_json(profile_path.read_bytes())
        result = compare(profile, read_parquet(cur))
        json.dumps(result.to_dict())
    else:
        ref_table, cur_table = pq.read_table(ref), pq.read_table(cur)
        start = time.perf_counter()  # the baseline's figure excludes reading
        for name in ref_table.column_names:
            a, b = ref_table.column(name), cur_table.column(name)
            if pa.types.is_dictionary(a.type):
                import scipy.stats as st

                ca = a.combine_chunks().indices.to_numpy()
                cb = b.combine_chunks().indices.to_numpy()
                size = max(ca.max(), cb.max()) + 1
                st.chi2_contingency(
                    np.vstack([np.bincount(ca, minlength=size), np.bincount(cb, minlength=size)])
                )
            else:
                scipy.stats.ks_2samp(a.to_numpy(), b.to_numpy())
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_mb": _peak_mb(), "import_mb": baseline_mb}


def run_case(kind: str, workdir: Path, rows: int, cores: int) -> dict[str, float]:
    env = {**os.environ, "OMP_NUM_THREADS": str(cores), "OPENBLAS_NUM_THREADS": str(cores)}
    command = [sys.executable, __file__, "--worker", kind, "--rows", str(rows), "--workdir", str(workdir)]
    if cores == 1 and hasattr(os, "sched_setaffinity"):
        command = ["taskset", "-c", str(sorted(os.sched_getaffinity(0))[0]), *command]
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "modelwatch-drift-bench"))
    parser.add_argument("--cores", type=int, default=1, choices=(1, 2))
    parser.add_argument("--repeat", type=int, default=1, help="runs per case (the best is shown)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    workdir = Path(args.workdir)
    if args.worker:
        print(json.dumps(worker(args.worker, workdir, args.rows)))
        return
    workdir.mkdir(parents=True, exist_ok=True)
    print(
        f"drift bench: 25 features (20 numeric, 5 categorical), reference rows = current rows, "
        f"{args.cores} core(s), best of {args.repeat}; data in {workdir}"
    )
    header = (
        f"{'rows':>10} | {'profile s':>9} {'MB':>6} | {'3-pass s':>8} {'MB':>6} | {'compare s':>9} {'MB':>6} "
        f"{'Mrows/s':>7} | {'scipy s':>8} {'MB':>6} | {'scipy/compare':>13}"
    )
    print(header)
    print("-" * len(header))
    for rows in (int(s) for s in args.sizes.split(",")):
        ensure_data(workdir, rows)
        best = {}
        for kind in ("profile", "profile3", "compare", "scipy"):
            runs = [run_case(kind, workdir, rows, args.cores) for _ in range(args.repeat)]
            best[kind] = min(runs, key=lambda r: r["seconds"])
        p, p3, c, s = best["profile"], best["profile3"], best["compare"], best["scipy"]
        print(
            f"{rows:>10,} | {p['seconds']:>9.3f} {p['peak_mb']:>6.0f} | "
            f"{p3['seconds']:>8.3f} {p3['peak_mb']:>6.0f} | "
            f"{c['seconds']:>9.3f} {c['peak_mb']:>6.0f} "
            f"{rows / c['seconds'] / 1e6:>7.2f} | {s['seconds']:>8.3f} {s['peak_mb']:>6.0f} | "
            f"{s['seconds'] / c['seconds']:>12.1f}x"
        )
    print(
        f"(peak MB = the child's peak RSS (VmHWM), including ~{best['compare']['import_mb']:.0f} MB of "
        "interpreter, numpy, scipy and pyarrow before any work)"
    )


if __name__ == "__main__":
    main()
