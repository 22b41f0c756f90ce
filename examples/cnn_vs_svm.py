"""
A CNN against an SVM on the same folds
======================================

A small CNN trained from scratch on the pixels (two epochs, so that the example
runs in seconds on a CPU) against the RBF SVM on hand-crafted features. ``compare``
gives both models identical folds, so their scores pair up fold by fold; the
corrected resampled t-test and the Wilcoxon test compare them. Needs PyTorch
(``pip install -e ".[cnn]"``).
"""

from featcls import CNNClassifier, compare, load_builtin
from featcls.models import build_model

data = load_builtin("synthetic", n_samples=120, random_state=0)

models = {
    "svm": build_model("svm", random_state=0),
    "cnn": CNNClassifier(
        architecture="lipnet",
        input_size=64,
        max_epochs=2,
        early_stopping=False,
        random_state=0,
    ),
}
result = compare(models, data.X, data.y, cv=3, random_state=0)
print(result.summary())
print(result.pairwise_tests())
