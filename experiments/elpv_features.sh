#!/usr/bin/env bash
# Hand-crafted features on the real ELPV solar cells (target: defective), 5-fold
# stratified cross-validation: the table in the README's "Results on ELPV" section.
# Needs: pip install -e ".[elpv]". About 15 minutes on 2 CPU cores, plus about 3 the
# first time for the dense SIFT descriptors (~60 ms per image, cached in --cache-dir).
set -euo pipefail
cd "$(dirname "$0")/.."
featcls compare --dataset elpv --models svm,logreg \
    --features default,vlad --mask full --folds 5 --n-jobs 2 \
    --cache-dir "${FEATCLS_CACHE:-.featcls-cache}" \
    --out reports/elpv-defective-features --no-progress "$@"
