#!/usr/bin/env bash
# Shared setup for scripts/run and scripts/test (sourced by both; can also be run on its own).
# Idempotent: creates .venv, installs the Python package when pyproject.toml changed,
# installs the npm packages when package-lock.json changed, and vendors them into static/vendor/.
# Leaves the caller in the repository root with .venv/bin first on PATH.

set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

_say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Ignore any virtualenv the caller has activated: we always use ./.venv.
unset VIRTUAL_ENV PYTHONHOME
export PATH="$ROOT/.venv/bin:$PATH"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PYTHONUNBUFFERED=1

_hash() { sha256sum "$@" | sha256sum | cut -d' ' -f1; }

# Serialise concurrent setups (e.g. two ./scripts/test at once) so pip/npm never race.
mkdir -p "$ROOT/instance"
exec {_setup_lock}>"$ROOT/instance/.setup.lock"
flock "$_setup_lock"

# --- Python -----------------------------------------------------------------
if [[ ! -x .venv/bin/python ]]; then
  py="${PYTHON:-python3}"
  command -v "$py" >/dev/null || _die "python3 not found (Python 3.11+ is required)"
  "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || _die "Python 3.11+ is required, $py is $("$py" -V 2>&1)"
  _say "creating .venv with $("$py" -V 2>&1)"
  rm -rf .venv
  "$py" -m venv .venv \
    || _die "could not create .venv (on Debian: apt-get install -y python3-venv)"
fi

py_stamp=".venv/.procly-installed"
py_hash="$(_hash pyproject.toml)"
if [[ "$(cat "$py_stamp" 2>/dev/null)" != "$py_hash" ]]; then
  _say "installing Python packages (pip install -e '.[test,dev]')"
  # (drop pip's harmless "Location file:///… is ignored" notices about absent local mirrors)
  .venv/bin/python -m pip install -q -e '.[test,dev]' 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
  echo "$py_hash" >"$py_stamp"
fi

# --- Front-end --------------------------------------------------------------
command -v npm >/dev/null || _die "npm not found (Node 20 + npm are required for the front-end assets)"
npm_stamp="node_modules/.procly-installed"
if [[ -f package-lock.json ]]; then
  npm_hash="$(_hash package.json package-lock.json)"
  if [[ "$(cat "$npm_stamp" 2>/dev/null)" != "$npm_hash" ]]; then
    _say "installing front-end packages (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$npm_hash" >"$npm_stamp"
  fi
else
  _say "installing front-end packages (npm install: no package-lock.json yet)"
  npm install --no-audit --no-fund --loglevel=error
  _hash package.json package-lock.json >"$npm_stamp"
fi
"$ROOT/scripts/vendor.sh"

flock -u "$_setup_lock"
exec {_setup_lock}>&-
unset -f _hash
