#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite: nbval on every notebook plus the checks in tests/.
#   bash ci/test.sh                               # everything
#   bash ci/test.sh notebooks/01_one_step.ipynb   # one notebook (any pytest arguments work)
# Uses the virtual environment in $VENV (default .venv), creating it when missing, with the versions pinned in
# constraints.txt (the ones the stored outputs were built with).
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/env.sh
ensure_env requirements.txt requirements-test.txt
# Two workers on the two cores, one torch thread per kernel (three workers measured slower: 7 min 16 s against
# 5 min 48 s). --dist loadscope keeps each notebook's cells on one worker (nbval runs them in order in one kernel),
# and each test module or class; tests/test_browser.py and tests/test_mutations.py have one class per lesson so that
# their slow runs spread over both workers. --no-loadscope-reorder keeps the order tests/nbval_setup.py gives
# (the long classes first; xdist would otherwise start with the scopes that hold the most tests).
if [ "$#" -eq 0 ]; then
    set -- -n 2 --dist loadscope --no-loadscope-reorder
fi
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
exec "$VENV/bin/python" -m pytest "$@"
