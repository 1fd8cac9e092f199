#!/usr/bin/env bash
# Set up (if needed) and open the collection in JupyterLab.
# Uses the virtual environment in $VENV (default .venv), creating it when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.txt
exec "$VENV/bin/python" -m jupyter lab notebooks/ "$@"
