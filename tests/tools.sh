#!/usr/bin/env bash
# Sourced by tests/standins.sh: the Python tools the tests use (cfn-lint, the SAM CLI and its
# translator, moto), installed at the versions pinned in tests/python-requirements.txt into a
# virtualenv of the project's own under the cache dir. Never the machine's copies: a fresh
# machine ships other versions, and they disagree (one cfn-lint reports a dependency cycle
# another misses). The venv is rebuilt whenever the pins change.

CACHE="${WALLETPAY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/walletpay}"
mkdir -p "$CACHE"
log() { printf '\n== %s\n' "$*" >&2; }

requirements="$(dirname "${BASH_SOURCE[0]}")/python-requirements.txt"
pins=$(sha256sum "$requirements" | cut -c1-16)
VENV="$CACHE/venv-$pins"
if [ ! -f "$VENV/.complete" ]; then
  log "installing the pinned Python tools into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$requirements"
  "$VENV/bin/pip" check >/dev/null
  touch "$VENV/.complete"
fi
PY="$VENV/bin/python"
export SAM_CLI_TELEMETRY=0
