#!/usr/bin/env bash
# Graph compatibility proof: Microsoft's Python SDKs (msgraph-sdk, msgraph-beta-sdk) against a real
# `hangar serve`. Uses the installed packages when present, else a venv in target/compat-venv.
set -euo pipefail
cd "$(dirname "$0")/../.."

if python3 -c "import msgraph, msgraph_beta, pytest" 2>/dev/null; then
  PY=python3
else
  VENV="${HANGAR_COMPAT_VENV:-${CARGO_TARGET_DIR:-target}/compat-venv}"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check msgraph-sdk msgraph-beta-sdk pytest
  PY="$VENV/bin/python"
fi

cargo build -q -p hangar --locked
exec "$PY" -m pytest -q -p no:warnings -p no:cacheprovider tests/compat "$@"
