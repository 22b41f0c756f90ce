#!/usr/bin/env bash
# Hand-crafted features on the real ELPV solar cells (target: defective), 5-fold
# stratified cross-validation: the table of the ELPV benchmark page's "The feature
# baseline, step by step". Needs: pip install -e ".[elpv]". About 5 minutes on 2 CPU
# cores with an empty cache (the dense SIFT descriptors, cached in --cache-dir).
set -euo pipefail
cd "$(dirname "$0")/.."
featcls compare --dataset elpv --models svm,logreg \
    --features default,vlad --mask full --folds 5 --n-jobs 2 \
    --cache-dir "${FEATCLS_CACHE:-.featcls-cache}" \
    --out reports/elpv-defective-features --no-progress "$@"
