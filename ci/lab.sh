#!/usr/bin/env bash
# Set up (if needed) and open the lessons in JupyterLab.
# You work in work/, a copy of notebooks/ that git ignores: JupyterLab saves your runs and edits there, and the
# committed lessons (which the tests compare against) stay as they are. A lesson already in work/ is kept; delete
# work/NN_topic.ipynb to get a fresh copy of it. Uses the virtual environment in $VENV (default .venv).
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/env.sh
ensure_env requirements.txt
mkdir -p work
for nb in notebooks/*.ipynb; do
    [ -e "work/$(basename "$nb")" ] || cp "$nb" work/
done
echo "Your working copies are in work/ (git ignores it); notebooks/ stays as committed."
exec "$VENV/bin/python" -m jupyter lab work/ "$@"
