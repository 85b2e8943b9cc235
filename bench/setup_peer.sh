#!/usr/bin/env bash
# The peer, hf-dataset-selector 0.2.1, in its own virtual environment (it pins numpy==2.0.0 and needs scipy,
# which it does not declare). Idempotent. Prints the environment's python.
set -euo pipefail
cd "$(dirname "$0")"
PEER=${ESM_NB_PEER_VENV:-.peer-venv}
case "$PEER" in /*) ;; *) PEER="$(pwd)/$PEER" ;; esac
if [ ! -f "$PEER/.ready" ]; then
  python3 -m venv "$PEER"
  "$PEER/bin/python" -m pip install -q --upgrade pip >&2
  "$PEER/bin/python" -m pip install -q "torch==2.13.0" >&2
  "$PEER/bin/python" -m pip install -q "hf-dataset-selector==0.2.1" scipy >&2
  touch "$PEER/.ready"
fi
echo "$PEER/bin/python"
