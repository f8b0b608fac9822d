#!/usr/bin/env bash
# Set up from scratch (if needed) and run every test: ruff, then pytest. Tests start their own
# Azurite, emulator and devhost on free loopback ports. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
echo "==> ruff"
.venv/bin/ruff check .
echo "==> pytest"
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: failing on purpose (exit 5 must never pass silently)" >&2
  exit 1
fi
exit "$rc"
