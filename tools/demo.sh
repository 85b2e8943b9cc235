#!/usr/bin/env bash
# The main job: rank the bundled ESM zoo for BBC News, print the top 10, write demo_out/ranking.{csv,png}.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
. "${ESM_NB_VENV:-.venv}/bin/activate"
HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 esm-nb demo --out "${1:-demo_out}"
