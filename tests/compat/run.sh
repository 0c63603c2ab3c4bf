#!/usr/bin/env bash
# Contract tests against older Gradio releases, each in its own virtualenv (an old Gradio
# needs the web stack of its day and cannot share a virtualenv with the current release).
# Usage: tests/compat/run.sh [3.50.2] [4.44.1]      (`make test-compat` runs both)
#
# The virtualenvs live in .cache/compat/gradio-<version>/ (git-ignored) and are rebuilt
# only when this file's pins or the project's pytest/requests pins change (a stamp holds
# a hash of the pin list), so a second run skips the install.
# Pins: shared docs, webui-protocol.md, "Installing old Gradio releases" (checked on
# Python 3.11). Old Gradio imports HfFolder, gone from huggingface_hub 1.0.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python3.11}

pins_for() {
  case "$1" in
    3.50.2) echo 'gradio==3.50.2 fastapi==0.104.1 starlette<0.28 pydantic==2.5.3 httpx==0.25.2 huggingface_hub<0.26' ;;
    4.44.1) echo 'gradio==4.44.1 fastapi==0.115.0 starlette<0.39 huggingface_hub<0.26' ;;
    *) echo "tests/compat/run.sh: no pins for Gradio $1; add them beside the others" >&2; return 1 ;;
  esac
}

if [ "$#" -eq 0 ]; then set -- 3.50.2 4.44.1; fi
common="$(grep -i '^requests==' requirements.txt) $(grep -i '^pytest==' requirements-dev.txt) $(grep -i '^pytest-timeout==' requirements-dev.txt)"
status=0
for version in "$@"; do
  pins="$(pins_for "$version") $common"
  venv=".cache/compat/gradio-${version}"
  stamp="${venv}/.pins-$(printf '%s' "$pins" | sha256sum | cut -c1-16)"
  if [ ! -e "$stamp" ]; then
    echo "== building ${venv} (${pins})"
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv"
    # shellcheck disable=SC2086  # the pins are words on purpose
    PIP_DISABLE_PIP_VERSION_CHECK=1 "${venv}/bin/pip" install -q $pins
    touch "$stamp"
  fi
  echo "== contract tests against gradio ${version}"
  # Only the client's contract tests, which start real Gradio servers shaped like the
  # WEBUI; no Django needed (confcutdir skips the project conftest). A temporary folder
  # of its own: pytest prunes old ones in the shared /tmp/pytest-of-<user>.
  "${venv}/bin/python" -m pytest tests/webui/test_contract_gradio.py -q -p no:django \
    -p no:cacheprovider --confcutdir=tests/webui -o addopts="" -m "not browser" \
    --basetemp=".cache/compat/tmp-${version}" || status=1
done
exit $status
