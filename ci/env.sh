# Shared by ci/test.sh and ci/lab.sh (sourced, not run): find Python, make or repair the virtual environment
# $VENV (default .venv), and install what a command needs into it, pinned by constraints.txt.
#   ensure_env requirements.txt [requirements-test.txt]
# It says what to install when Python, venv or pip is missing, and mends a half-made .venv left by a failed run.

VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"

say() { printf '%s\n' "$*" >&2; }

check_python() {
    if ! command -v "$PYTHON" >/dev/null 2>&1; then
        say "Python 3 was not found (looked for '$PYTHON'). Install Python >= 3.10: https://www.python.org/downloads/"
        say "  (Debian/Ubuntu: sudo apt-get install python3 python3-venv; macOS: brew install python)."
        exit 1
    fi
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
        say "Python >= 3.10 is needed; '$PYTHON' is $("$PYTHON" --version 2>&1 || echo 'not a working Python')."
        say "  Install a newer one, or point PYTHON at it: PYTHON=python3.11 bash $0"
        exit 1
    fi
}

venv_works() {
    [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -m pip --version >/dev/null 2>&1
}

make_venv() {
    if [ -e "$VENV" ] && ! venv_works; then
        if [ "$VENV" = ".venv" ]; then
            say "The virtual environment .venv is incomplete (a failed earlier run?): making it again."
            rm -rf "$VENV"
        else
            say "The virtual environment $VENV has no working python/pip: remove it, or choose another VENV."
            exit 1
        fi
    fi
    if [ ! -e "$VENV" ]; then
        if ! "$PYTHON" -m venv "$VENV"; then
            rm -rf "$VENV"
            say "Could not create a virtual environment with '$PYTHON -m venv'."
            say "  Debian/Ubuntu: sudo apt-get install python3-venv (or python3.X-venv for your version); then run again."
            exit 1
        fi
    fi
    if ! venv_works; then
        rm -rf "$VENV"
        say "The new virtual environment has no pip. Debian/Ubuntu: sudo apt-get install python3-venv python3-pip."
        exit 1
    fi
}

ensure_env() {
    check_python
    make_venv
    # Pinned versions (constraints.txt) need Python >= 3.11; on 3.10 the lower bounds of the requirements apply.
    local pins=()
    if "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        pins=(-c constraints.txt)
    else
        say "Python 3.10: installing without the pinned versions of constraints.txt (they need 3.11); CI uses 3.11."
    fi
    # Install only when the requirement files changed since the last successful install (a marker in the venv,
    # one per set of files: the lab and the tests need different sets).
    local stamp="$VENV/.installed-$(echo "$*" | cksum | cut -d' ' -f1)" want
    want=$(cat constraints.txt "$@" | cksum)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        local args=()
        for r in "$@"; do args+=(-r "$r"); done
        if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${pins[@]}" "${args[@]}"; then
            say "Installing the requirements failed (see pip's message above). Fix that and run again."
            exit 1
        fi
        printf '%s' "$want" > "$stamp"
    fi
}
