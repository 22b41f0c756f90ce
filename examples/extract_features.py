"""
Extract features to a table
===========================

The hand-crafted features of every image as a pandas DataFrame with one named
column per feature (``<family>__<feature>``), saved as CSV. The families and their
sizes come from ``FEATURE_FAMILIES``, the registry the command line and the docs
read too.
"""

from featcls import FEATURE_FAMILIES, FeatureExtractor, load_builtin

data = load_builtin("synthetic", n_samples=60, random_state=0)

extractor = FeatureExtractor(families=["shape", "intensity", "haralick"])
extractor.set_output(transform="pandas")
features = extractor.fit_transform(data.X)
print(features.shape)  # 60 rows, one column per feature
print(features.filter(like="shape__").head())

features.assign(label=data.y).to_csv("features.csv", index=False)
print("families available:", ", ".join(FEATURE_FAMILIES))
