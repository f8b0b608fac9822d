"""Cold-start cost of the function app: wall time of `import function_app` in fresh interpreters.

Prints min / median / max over N runs (each in a new process, as a cold worker would), and which
Azure SDK packages the import pulled in (only azure.functions is allowed at load time).

    .venv/bin/python bench/import_time.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE = """
import json, sys, time
t = time.perf_counter()
import function_app
elapsed = (time.perf_counter() - t) * 1000
heavy = sorted({m.split('.')[0] + '.' + m.split('.')[1] for m in sys.modules
                if m.startswith('azure.') and not m.startswith('azure.functions') and m.count('.') >= 1})
others = sorted(m for m in ('numpy', 'scipy', 'pyarrow', 'matplotlib', 'pydantic', 'requests') if m in sys.modules)
print(json.dumps({"ms": elapsed, "azure": heavy, "others": others}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    samples = []
    for _ in range(args.runs):
        out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True)
        samples.append(json.loads(out.stdout.strip().splitlines()[-1]))
    times = sorted(s["ms"] for s in samples)
    print(f"import function_app over {args.runs} fresh processes: min {times[0]:.0f} ms, "
          f"median {statistics.median(times):.0f} ms, max {times[-1]:.0f} ms (budget 150 ms)")
    print(f"Azure packages loaded besides azure.functions: {samples[0]['azure'] or 'none'}")
    print(f"other heavy packages loaded: {samples[0]['others'] or 'none'}")
    return 0 if statistics.median(times) < 150 and not samples[0]["azure"] else 1


if __name__ == "__main__":
    sys.exit(main())
