#!/usr/bin/env bash
# Install everything the project needs on a fresh machine: the Python venv at .venv with runtime and
# dev requirements, and the npm tools (Azurite) from package-lock.json. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# Python 3.11 or 3.12, the versions Azure Functions Flex Consumption runs (infra: pythonVersion). The first of
# python3.11, python3.12, python3 found is used; PYTHON=python3.12 ./scripts/setup.sh picks one.
if [ -z "${PYTHON:-}" ]; then
  for PYTHON in python3.11 python3.12 python3; do
    command -v "$PYTHON" >/dev/null 2>&1 && break
  done
fi
if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] not in ((3, 11), (3, 12)))' 2>/dev/null; then
    echo "error: $PYTHON is $("$PYTHON" --version 2>&1); modelwatch needs Python 3.11 or 3.12" >&2
    exit 1
  fi
  echo "==> creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.requirements.sha
want="$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> installing Python requirements"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
  echo "$want" > "$stamp"
fi
if [ ! -x node_modules/.bin/azurite ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> installing npm tools (Azurite)"
  npm ci --no-audit --no-fund --loglevel=error
fi
