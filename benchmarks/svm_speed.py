"""Fit + predict time of SVMClassifier against plain RBF SVC + CalibratedClassifierCV.

Both compute the same model — an RBF ``SVC(C=3, gamma="scale",
class_weight="balanced")`` whose probabilities are Platt-calibrated on stratified
3-fold out-of-fold decision values (``CalibratedClassifierCV(method="sigmoid",
ensemble=False)``) — on the same synthetic matrix shaped like the ELPV feature table
(2,100 training rows × 8,500 standardised features, 525 test rows, four imbalanced
classes), measured in the same run:

* **reference** — ``CalibratedClassifierCV(SVC(kernel="rbf"), ...)``: libsvm computes
  every kernel row itself, with a scalar loop over the features;
* **SVMClassifier** — the RBF kernel from BLAS (``||x||² + ||y||² - 2 x·yᵀ``), squared
  distances computed once and shared by the calibration folds, libsvm on the
  precomputed kernel.

Each configuration runs ``--repeats`` times, alternating, and the best run counts
(the machine may be shared). Prints the seconds of fit and of predict_proba on the
test rows, the ratios, and checks that the two agree (identical predicted labels,
probabilities and decision values to rounding); exits with status 1 if they do not.

    python benchmarks/svm_speed.py
    python benchmarks/svm_speed.py --n-train 1000 --n-features 4000 --repeats 2
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import make_classification
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from featcls.models import SVMClassifier

#: Class shares of ELPV's four defect probabilities (0, 1/3, 2/3, 1).
CLASS_WEIGHTS = (0.57, 0.11, 0.04, 0.28)


def make_data(n_train: int, n_test: int, n_features: int, seed: int):
    """Standardised synthetic train/test matrices with four imbalanced classes."""
    X, y = make_classification(
        n_samples=n_train + n_test,
        n_features=n_features,
        n_informative=48,
        n_redundant=48,
        n_repeated=0,
        n_classes=len(CLASS_WEIGHTS),
        n_clusters_per_class=2,
        weights=list(CLASS_WEIGHTS),
        class_sep=1.0,
        flip_y=0.02,
        random_state=seed,
    )
    X_train, X_test, y_train = X[:n_train], X[n_train:], y[:n_train]
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), y_train, scaler.transform(X_test)


def reference(model: SVMClassifier, y) -> CalibratedClassifierCV:
    """The textbook estimator with the same settings as ``model``."""
    svc = SVC(
        C=model.C,
        gamma=model.gamma,
        class_weight=model.class_weight,
        decision_function_shape="ovr",
        random_state=model.random_state,
    )
    folds = min(model.calibration_cv, int(np.unique(y, return_counts=True)[1].min()))
    cv = StratifiedKFold(folds, shuffle=True, random_state=model.random_state)
    return CalibratedClassifierCV(svc, method="sigmoid", cv=cv, ensemble=False)


def run_reference(X, y, X_test):
    t0 = time.perf_counter()
    est = reference(SVMClassifier(), y).fit(X, y)
    t1 = time.perf_counter()
    proba = est.predict_proba(X_test)
    t2 = time.perf_counter()
    svc = est.calibrated_classifiers_[0].estimator
    out = (proba, svc.decision_function(X_test), svc.predict(X_test))
    return t1 - t0, t2 - t1, out


def run_svm(X, y, X_test):
    t0 = time.perf_counter()
    est = SVMClassifier().fit(X, y)
    t1 = time.perf_counter()
    proba = est.predict_proba(X_test)
    t2 = time.perf_counter()
    out = (proba, est.decision_function(X_test), est.predict(X_test))
    return t1 - t0, t2 - t1, out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=2100)
    parser.add_argument("--n-test", type=int, default=525)
    parser.add_argument("--n-features", type=int, default=8500)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    X, y, X_test = make_data(args.n_train, args.n_test, args.n_features, args.seed)
    print(
        f"{X.shape[0]} training × {X.shape[1]} features, {len(X_test)} test rows, "
        f"class counts {np.bincount(y).tolist()}"
    )
    best = {"reference": [np.inf, np.inf], "SVMClassifier": [np.inf, np.inf]}
    outputs = {}
    for repeat in range(args.repeats):
        for name, run in (("reference", run_reference), ("SVMClassifier", run_svm)):
            fit_s, proba_s, outputs[name] = run(X, y, X_test)
            best[name] = [min(best[name][0], fit_s), min(best[name][1], proba_s)]
            print(
                f"  run {repeat + 1} {name:>13}: fit {fit_s:7.2f} s, "
                f"predict_proba {proba_s:6.3f} s"
            )

    print(f"{'':>15} {'fit (s)':>9} {'predict_proba (s)':>18}")
    for name, (fit_s, proba_s) in best.items():
        print(f"{name:>15} {fit_s:9.2f} {proba_s:18.3f}")
    (ref_fit, ref_proba), (new_fit, new_proba) = best.values()
    print(
        f"speed-up: fit ×{ref_fit / new_fit:.1f}, "
        f"predict_proba ×{ref_proba / new_proba:.1f}, "
        f"fit + predict_proba ×{(ref_fit + ref_proba) / (new_fit + new_proba):.1f}"
    )

    (p0, d0, l0), (p1, d1, l1) = outputs["reference"], outputs["SVMClassifier"]
    same_labels = float((l0 == l1).mean())
    proba_diff = float(np.abs(p0 - p1).max())
    decision_diff = float(np.max(np.abs(d0 - d1) / np.maximum(np.abs(d0), 1e-3)))
    print(
        f"agreement: identical labels {same_labels:.2%}, max |Δ proba| "
        f"{proba_diff:.1e}, max relative |Δ decision| {decision_diff:.1e}"
    )
    if same_labels < 1.0 or proba_diff > 1e-6 or decision_diff > 1e-6:
        print("FAILED: SVMClassifier does not reproduce the reference.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
