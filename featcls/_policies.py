"""The choices of featcls's string options, in one module that imports nothing.

The library checks its arguments against these tuples and the command line
derives its choices from them, without importing numpy or OpenCV at start-up.
"""

__all__ = [
    "AGGREGATIONS",
    "ARCHITECTURES",
    "CHANNEL_POLICIES",
    "MASK_POLICIES",
    "NORMALIZATIONS",
    "ON_ERROR",
    "PRECISIONS",
    "PRETRAIN_MODES",
]

#: Valid values of the ``channels`` argument (grey image, or per channel).
CHANNEL_POLICIES = ("gray", "rgb", "hsv", "channels")
#: Valid values of FeatureExtractor's ``mask``: the dataset's or an automatic mask,
#: or the whole image.
MASK_POLICIES = ("auto", "full")
#: Valid values of a loader's ``on_error``: stop on an unusable file, or skip it.
ON_ERROR = ("raise", "skip")
#: How image scores become a group's score in compare(aggregate_by=...): their
#: mean, their maximum, or the fraction of the group's images called positive.
AGGREGATIONS = ("mean", "max", "fraction")
#: The built-in network architectures (:mod:`featcls._nets._builtin`): the
#: ``architecture`` of CNNClassifier and of the ``embedding`` feature family.
ARCHITECTURES = ("lipnet", "simple", "resnet")
#: Named input normalisations of a network (``normalize`` parameter): per-channel
#: mean and standard deviation on the [0, 1] scale.
NORMALIZATIONS = {"imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))}
#: Compute precisions of a network (``precision`` parameter): bfloat16 where the
#: device computes it natively (``"auto"``), or always one of the two.
PRECISIONS = ("auto", "float32", "bfloat16")
#: Where ``compare(pretrain=...)`` pretrains the networks without labels: inside
#: each fit, on its training fold's images.
PRETRAIN_MODES = ("fold",)
