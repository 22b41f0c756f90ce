"""
Answer per patient: cells classified, patients diagnosed
========================================================

Malaria screening classifies blood cells, but the answer a clinic needs is per
patient. Here 40 synthetic "patients" give 12 cell images each; a cell is
*parasitized* when it holds a small dark ring, and an infected patient has a few
such cells among healthy ones. ``compare(..., aggregate_by="patient")`` keeps
every patient's cells in one fold, aggregates each model's out-of-fold cell
probabilities per patient (here by their maximum: one parasitized cell makes a
patient positive, and a mean would dilute it among healthy cells), and chooses
both decision thresholds by Youden's J inside the training folds only. The
out-of-fold frame joins back to the table.
"""

import numpy as np
import pandas as pd

from featcls import FeatureExtractor, compare
from featcls.report import write_outputs

rng = np.random.default_rng(0)
SIZE, PATIENTS, CELLS = 48, 40, 12
yy, xx = np.mgrid[:SIZE, :SIZE]


def cell(parasitized: bool) -> np.ndarray:
    """A bright disc of a cell, with a dark ring inside when parasitized."""
    r = rng.uniform(14, 19)
    cy, cx = SIZE / 2 + rng.normal(0, 1.5, 2)
    d = np.hypot(yy - cy, xx - cx)
    image = np.where(d < r, 170.0, 40.0) + rng.normal(0, 25, (SIZE, SIZE))
    if parasitized:
        py, px = cy + rng.uniform(-r / 2, r / 2), cx + rng.uniform(-r / 2, r / 2)
        ring = np.abs(np.hypot(yy - py, xx - px) - rng.uniform(2.5, 4)) < 1.0
        image[ring] -= rng.uniform(20, 60)
    return np.clip(image, 0, 255).astype(np.uint8)


rows = []
for p in range(PATIENTS):
    infected = p % 2 == 0
    share = rng.uniform(0.15, 0.5) if infected else 0.0
    for _ in range(CELLS):
        sick = bool(rng.random() < share)
        rows.append(
            {
                "image": cell(sick),
                "patient": f"patient-{p:02d}",
                "label": "parasitized" if sick else "uninfected",
            }
        )
table = pd.DataFrame(rows)
print(table.groupby("label").size().to_string(), "\n")

result = compare(
    ["logreg", "svm"],
    table[["image", "patient"]],
    table["label"],
    cv=4,
    threshold="youden",
    pos_label="parasitized",
    aggregate_by="patient",
    aggregate_with="max",
    features=FeatureExtractor(families=["intensity", "radial", "lbp"]),
    random_state=0,
)
print(result.summary(), "\n")
summary = result.decision_summary()
print(summary[["threshold", "sensitivity", "specificity", "ppv", "npv", "f1"]].round(3))

# The out-of-fold predictions join back to the input, row for row.
cells = table.join(result.oof("svm"))
print("\ncells of the first patient:")
print(cells.loc[cells["patient"] == "patient-00", ["label", "y_pred", "p_parasitized"]])
print("\npatients, as svm answers them:")
print(result.group_oof("svm").head())

paths = write_outputs(result, "featcls-out/example-patients")
print("\nreport:", paths["report"])
