#!/usr/bin/env bash
# Run every test of esm_nb: set-up (first run only), notebook tests (nbdev-test), then tests/ (pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
. "${ESM_NB_VENV:-.venv}/bin/activate"
# A second environment pinned to Google Colab's preinstalled packages (tools/colab/): the tests install esm_nb into it
# the way a Colab user does and fail if that would change any of them; the tutorials run there, install cell included.
python tools/colab_env.py build
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 MPLBACKEND=Agg
if git rev-parse --git-dir >/dev/null 2>&1; then
  # the library must be what the notebooks export, and the notebooks must be clean
  nbdev-export && nbdev-clean
  if ! git diff --quiet -- esm_nb nbs; then
    echo "nbdev-export/nbdev-clean changed tracked files: commit the exported library and cleaned notebooks." >&2
    git --no-pager diff --stat -- esm_nb nbs >&2; exit 1
  fi
fi
ruff check  # settings in pyproject.toml: notebooks, library, tests, bench, tools
# every notebook's tests; the tutorials (2x_tutorial_*) run top to bottom, every cell, in tests/test_colab.py instead, as
# a Colab reader runs them
nbdev-test --n-workers 2 --skip-file-re '^2[0-9]_tutorial'
python -m pytest -q --durations=20 tests
