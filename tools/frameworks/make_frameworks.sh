#!/usr/bin/env bash
# `make frameworks [UPDATE=1] [FRAMEWORKS="keras flax paddle"]`: regenerate the other frameworks' converter outputs
# (tests/data/frameworks/) in a venv per framework, then compare them canonically with the checked-in files.
#
# Each framework gets build/frameworks/<fw>-venv (made when missing, from tools/frameworks/requirements-<fw>.txt),
# its generator writes into build/frameworks/out/, and the main venv's manifest.py prints one line per file
# (same / what differs) and fails when a file differs. With UPDATE=1 the comparison only reports, then the valid
# regenerated files are copied in and tests/data/frameworks/manifest.json is rewritten.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD="$ROOT/build/frameworks"
OUT="$BUILD/out"
MAIN_PY="${MAIN_PY:-$ROOT/.venv/bin/python}"
FRAMEWORKS="${FRAMEWORKS:-keras flax paddle}"
UPDATE="${UPDATE:-}"

# A python of the given minor version that runs (a pyenv shim for a version not selected does not).
find_python() {
    local version="$1" candidate
    for candidate in "python$version" "$(pyenv root 2>/dev/null)"/versions/"$version".*/bin/"python$version"; do
        if "$candidate" -c 'pass' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "make_frameworks.sh: no working python$version (set PYTHON_<FW> to one)" >&2
    return 1
}

# The framework's Python: jax 0.11 and newer (so the flax venv) need Python 3.12; the others use 3.11, as spa does.
python_for() {
    case "$1" in
        keras) echo "${PYTHON_KERAS:-$(find_python 3.11)}" ;;
        flax) echo "${PYTHON_FLAX:-$(find_python 3.12)}" ;;
        paddle) echo "${PYTHON_PADDLE:-$(find_python 3.11)}" ;;
        *) echo "make_frameworks.sh: unknown framework '$1' (keras, flax, paddle)" >&2; return 1 ;;
    esac
}

venv_for() {
    local fw="$1" venv="$BUILD/$1-venv" requirements="$ROOT/tools/frameworks/requirements-$1.txt"
    if [ ! -x "$venv/bin/python" ]; then
        "$(python_for "$fw")" -m venv "$venv"
    fi
    # The stamp holds the requirements file it was installed from: an edited pin reinstalls.
    if ! cmp -s "$requirements" "$venv/.installed" 2>/dev/null; then
        "$venv/bin/python" -m pip install --quiet -r "$requirements"
        cp "$requirements" "$venv/.installed"
    fi
}

rm -rf "$OUT"
mkdir -p "$OUT"
for fw in $FRAMEWORKS; do
    echo "== $fw"
    venv_for "$fw"
    (cd "$ROOT" && "$BUILD/$fw-venv/bin/python" tools/frameworks/generate.py "$fw" "$OUT")
done

echo "== canonical comparison with tests/data/frameworks/"
if [ -n "$UPDATE" ]; then
    "$MAIN_PY" "$ROOT/tools/frameworks/manifest.py" compare "$OUT" || true
    "$MAIN_PY" "$ROOT/tools/frameworks/manifest.py" update "$OUT"
else
    "$MAIN_PY" "$ROOT/tools/frameworks/manifest.py" compare "$OUT"
fi
