#!/usr/bin/env bash
# Set up (if needed) and run modelwatch locally: Azurite + Azure emulator (demo scenario) + devhost on :7071.
# Extra arguments go to `python -m tools.stack` (e.g. --fresh, --port 7072, --scenario scenarios/x.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/python -m tools.stack "$@"
