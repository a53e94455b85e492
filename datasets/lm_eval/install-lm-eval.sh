#!/bin/sh
# Installs the pinned lm-eval (requirements-lm-eval.txt beside this file) into
# a venv, creating it if needed:  datasets/lm_eval/install-lm-eval.sh <venv-dir>
# PYTHON picks the interpreter (default python3; 3.11 or newer). kvgate runs
# this itself when lm_eval is missing (src/workloads/lm-eval/driver.ts).
set -eu
venv="${1:?usage: install-lm-eval.sh <venv-dir>}"
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-python3}"
if ! command -v "$python" >/dev/null 2>&1; then
  echo "install-lm-eval: $python not found: install Python 3.11+ or set PYTHON" >&2
  exit 127
fi
if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  echo "install-lm-eval: $("$python" -V 2>&1) is too old: the pinned numpy/pandas/scipy need Python 3.11+ (set PYTHON)" >&2
  exit 1
fi
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv" || {
    echo "install-lm-eval: '$python -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)" >&2
    exit 1
  }
fi
"$venv/bin/python" -m pip install --disable-pip-version-check --no-input --quiet -r "$here/requirements-lm-eval.txt"
"$venv/bin/lm_eval" -h >/dev/null
echo "lm_eval $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("lm_eval"))') installed in $venv"
