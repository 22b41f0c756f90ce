"""Self-supervised pretraining: pretrain(), its backbone file, CNN(pretrain=...)."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.base import clone
from torch import nn

from featcls import FeatureExtractor
from featcls.data import as_sample_table
from featcls.evaluation._checkpoint import describe_config
from featcls.features import EmbeddingFeatures
from featcls.features._cache import content_key
from featcls.models import (
    CNNClassifier,
    FusionClassifier,
    PretrainedBackbone,
    describe_model,
    load_model,
    pretrain,
)

SIZE = 16
#: float32 on the CPU, one thread: numbers that can be compared bit for bit.
FAST = {
    "input_size": SIZE,
    "batch_size": 8,
    "device": "cpu",
    "precision": "float32",
    "n_threads": 1,
    "progress": False,
}


def images(n: int = 24, seed: int = 0) -> np.ndarray:
    """Grey images of two kinds: bright blobs on dark, or stripes."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:SIZE, :SIZE]
    out = np.empty((n, SIZE, SIZE), np.uint8)
    for i in range(n):
        if i % 2:
            cy, cx = rng.uniform(4, SIZE - 4, 2)
            field = 200 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 8)
        else:
            field = 100 + 80 * np.sin(xx * rng.uniform(0.5, 1.5) + rng.uniform(0, 6))
        out[i] = np.clip(field + rng.normal(0, 10, field.shape), 0, 255)
    return out


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


class Small(nn.Module):
    """A small network of your own; ``crash_after`` forward calls, it raises."""

    crash_after = None

    def __init__(self, in_channels: int = 1, n_classes: int = 2):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, n_classes)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        if self.crash_after is not None and self.calls > self.crash_after:
            raise RuntimeError("killed in the middle of an epoch")
        return self.fc(F.relu(self.bn(self.conv(x))).mean(dim=(2, 3)))


# -- the method ------------------------------------------------------------------------
def test_the_loss_decreases_over_a_few_epochs():
    backbone = pretrain(images(32), epochs=4, **FAST)
    losses = [row["loss"] for row in backbone.history]
    assert [row["epoch"] for row in backbone.history] == [1, 2, 3, 4]
    assert losses[-1] < 0.8 * losses[0], losses
    terms = backbone.history[-1]
    assert terms["loss"] == pytest.approx(
        25 * terms["invariance"] + 25 * terms["variance"] + terms["covariance"],
        rel=1e-5,
    )


def test_the_same_seed_gives_the_same_weights_and_another_seed_others():
    X = images()
    a = pretrain(X, epochs=1, random_state=3, **FAST)
    b = pretrain(X, epochs=1, random_state=3, **FAST)
    c = pretrain(X, epochs=1, random_state=4, **FAST)
    assert same_weights(a.state_dict, b.state_dict)
    assert not same_weights(a.state_dict, c.state_dict)


def test_pretraining_changes_the_network_and_leaves_out_its_head():
    X = images()
    one = pretrain(X, epochs=1, lr=1e-9, **FAST).state_dict
    two = pretrain(X, epochs=2, **FAST).state_dict
    assert not any(k.startswith("head.") for k in two)
    assert not torch.allclose(one["trunk.0.weight"], two["trunk.0.weight"])


# -- resuming ------------------------------------------------------------------------
def test_a_run_that_crashed_resumes_after_its_last_epoch_with_identical_weights(
    tmp_path, monkeypatch
):
    X = images()  # 24 images in batches of 8: 3 steps an epoch
    settings = {"module": Small, "epochs": 4, **FAST}
    reference = pretrain(X, out=tmp_path / "reference.pt", **settings)
    # One forward call checks the network, then one per step: crash in epoch 3.
    monkeypatch.setattr(Small, "crash_after", 1 + 3 * 2 + 1)
    with pytest.raises(RuntimeError, match="killed"):
        pretrain(X, out=tmp_path / "backbone.pt", **settings)
    partial = tmp_path / ".backbone.pt.partial"
    left = torch.load(partial, weights_only=True)
    assert left["state"]["epoch"] == 2 and not (tmp_path / "backbone.pt").exists()
    monkeypatch.setattr(Small, "crash_after", None)
    resumed = pretrain(X, out=tmp_path / "backbone.pt", **settings)
    assert same_weights(resumed.state_dict, reference.state_dict)
    assert resumed.history == reference.history
    assert not partial.exists()
    on_disk = PretrainedBackbone.load(tmp_path / "backbone.pt")
    assert same_weights(on_disk.state_dict, reference.state_dict)


def test_a_partial_file_of_other_settings_is_replaced_with_a_warning(tmp_path):
    X = images()
    pretrain(X, out=tmp_path / "b.pt", epochs=1, checkpoint=tmp_path / "state", **FAST)
    assert not (tmp_path / "state").exists()  # removed once written
    (tmp_path / "state").write_bytes(b"not a checkpoint")
    with pytest.warns(UserWarning, match="starting afresh"):
        backbone = pretrain(
            X, out=tmp_path / "b.pt", epochs=1, checkpoint=tmp_path / "state", **FAST
        )
    assert len(backbone.history) == 1


# -- the file ------------------------------------------------------------------------
def test_the_file_records_the_network_the_views_and_every_image_it_saw(tmp_path):
    X = images(12)
    X[11] = X[0]  # the same image twice: one key
    backbone = pretrain(
        X,
        out=tmp_path / "bb.pt",
        architecture="simple",
        epochs=2,
        augment={"brightness": 0.0},
        method_params={"projector": [64, 32]},
        **FAST,
    )
    payload = torch.load(tmp_path / "bb.pt", weights_only=True)
    assert payload["format"] == "featcls-backbone" and payload["version"] == 1
    info = payload["info"]
    assert info["network"] == {"architecture": "simple"}
    assert info["in_channels"] == 1 and info["input_size"] == SIZE
    assert info["embedding_dim"] == 128
    assert info["method"] == "vicreg"
    assert info["method_params"] == {
        "invariance": 25.0,
        "variance": 25.0,
        "covariance": 1.0,
        "projector": [64, 32],
    }
    assert info["augment"]["brightness"] == 0.0
    assert info["augment"]["crop_scale"] == [0.4, 1.0]  # the pretraining default
    assert (
        info["training"]["epochs"] == 2 and info["training"]["precision"] == "float32"
    )
    assert info["featcls"] == __import__("featcls").__version__
    assert info["n_images"] == 12
    assert info["images"] == sorted({content_key(image) for image in X})
    assert len(info["images"]) == 11
    mean = X.astype(np.float64).mean() / 255
    assert info["channel_mean"] == pytest.approx([mean], rel=1e-5)
    assert backbone.image_keys == frozenset(info["images"])


def test_the_backbone_initialises_a_cnn_and_the_embedding_features_alike(tmp_path):
    X = images()
    y = np.array(["a", "b"] * 12)
    pretrain(X, out=tmp_path / "bb.pt", epochs=2, **FAST)
    fast = {k: v for k, v in FAST.items() if k != "progress"}
    # Only the head trains (frozen backbone): the embeddings are the backbone's.
    cnn = CNNClassifier(
        weights=tmp_path / "bb.pt",
        freeze_epochs=1,
        max_epochs=1,
        early_stopping=False,
        **fast,
    ).fit(X, y)
    assert cnn.weights_report_["matched"] > 0
    deep = EmbeddingFeatures(weights=tmp_path / "bb.pt", device="cpu")
    features = FeatureExtractor(families=[deep]).fit(X).transform(X)
    np.testing.assert_allclose(features, cnn.embed(X), rtol=1e-5, atol=1e-6)


def test_a_backbone_of_your_own_network_needs_that_network_again(tmp_path):
    X = images()
    y = np.array(["a", "b"] * 12)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        fixed = Small(3)  # a module for colour images, pretrained on grey ones
    backbone = pretrain(X, out=tmp_path / "own.pt", module=fixed, epochs=1, **FAST)
    assert backbone.info["network"]["module_class"].endswith("Small")
    assert backbone.state_dict["conv.weight"].shape[1] == 1
    deep = EmbeddingFeatures(weights=tmp_path / "own.pt", module=fixed, device="cpu")
    features = FeatureExtractor(families=[deep]).fit(X).transform(X)
    fast = {k: v for k, v in FAST.items() if k != "progress"}
    cnn = CNNClassifier(
        module=fixed,
        weights=tmp_path / "own.pt",
        freeze_epochs=1,
        max_epochs=1,
        early_stopping=False,
        **fast,
    ).fit(X, y)
    np.testing.assert_allclose(features, cnn.embed(X), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="pretrained on your own network"):
        CNNClassifier(weights=tmp_path / "own.pt", max_epochs=1, **fast).fit(X, y)
    with pytest.raises(ValueError, match="give that network again as 'module'"):
        EmbeddingFeatures(weights=tmp_path / "own.pt", device="cpu").load()


def test_a_backbone_of_another_architecture_is_refused_in_one_line(tmp_path):
    X = images()
    y = np.array(["a", "b"] * 12)
    pretrain(X, out=tmp_path / "lipnet.pt", epochs=1, **FAST)
    fast = {k: v for k, v in FAST.items() if k != "progress"}
    with pytest.raises(ValueError, match="built-in 'lipnet' architecture; .*'resnet'"):
        CNNClassifier(
            architecture="resnet", weights=tmp_path / "lipnet.pt", **fast
        ).fit(X, y)
    with pytest.raises(ValueError, match="is a backbone pretrained without labels"):
        load_model(tmp_path / "lipnet.pt")
    with pytest.raises(ValueError, match="not a featcls backbone file"):
        PretrainedBackbone.load(__file__)


# -- bad input -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("X", "kwargs", "message"),
    [
        (np.zeros((0, SIZE, SIZE), np.uint8), {}, "X has 0 images"),
        (images(1), {}, "at least 2 images"),
        (images(4), {"architecture": "vgg"}, "'architecture' parameter of pretrain"),
        (images(4), {"method": "simclr"}, "'method' parameter of pretrain"),
        (images(4), {"epochs": 0}, "'epochs' parameter of pretrain"),
        (images(4), {"batch_size": 1}, "'batch_size' parameter of pretrain"),
        (images(4), {"augment": False}, "two identical views teach nothing"),
        (images(4), {"augment": {"blur": 1}}, r"got unknown \['blur'\]"),
        (images(4), {"method_params": {"lambda": 1}}, r"got unknown \['lambda'\]"),
        (images(4), {"method_params": {"projector": []}}, "non-empty list"),
        (images(4), {"device": "tpu"}, "'device' parameter of pretrain"),
        (images(4), {"module": "not a spec"}, "network spec must be"),
    ],
)
def test_bad_input_is_refused_with_one_clear_error(X, kwargs, message):
    with pytest.raises(ValueError, match=message):
        pretrain(X, **{**FAST, **kwargs})


# -- inside a fit ----------------------------------------------------------------------
def test_a_cnn_pretrains_on_its_own_training_images_before_training(tmp_path):
    X = images(20)
    y = np.array(["a", "b"] * 10)
    fast = {k: v for k, v in FAST.items() if k != "progress"}
    cnn = CNNClassifier(
        pretrain={"epochs": 2, "batch_size": 8},
        max_epochs=1,
        early_stopping=False,
        **fast,
    ).fit(X[:14], y[:14])
    assert [row["epoch"] for row in cnn.pretrain_history_] == [1, 2]
    assert cnn.pretrain_images_ == tuple(sorted(content_key(im) for im in X[:14]))
    report = cnn.featcls_report_
    assert report["pretrain"]["images"] == list(cnn.pretrain_images_)
    assert report["pretraining"].startswith("VICReg, 2 epochs on 14 images")
    assert "pretrained without labels (VICReg)" in describe_model(cnn)
    # The parameter is plain data: describable for a checkpoint, cloned, saved.
    assert describe_config(cnn)["params"]["pretrain"] == {"batch_size": 8, "epochs": 2}
    assert clone(cnn).get_params()["pretrain"] == {"epochs": 2, "batch_size": 8}
    cnn.save(tmp_path / "m.pt")
    assert torch.load(tmp_path / "m.pt", weights_only=True)["version"] == 7
    loaded = CNNClassifier.load(tmp_path / "m.pt")
    np.testing.assert_array_equal(loaded.predict_proba(X), cnn.predict_proba(X))
    assert loaded.pretrain_images_ == cnn.pretrain_images_
    assert loaded.pretrain_history_ == cnn.pretrain_history_
    plain = CNNClassifier(max_epochs=1, early_stopping=False, **fast).fit(X, y)
    assert plain.pretrain_history_ is None and plain.pretrain_images_ is None


def test_a_fusion_model_pretrains_its_network():
    X = images(16)
    y = np.array(["a", "b"] * 8)
    fast = {k: v for k, v in FAST.items() if k != "progress"}
    cnn = CNNClassifier(
        pretrain={"epochs": 1}, max_epochs=1, early_stopping=False, **fast
    )
    fusion = FusionClassifier(cnn=cnn, features=FeatureExtractor(["intensity"]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fusion.fit(as_sample_table(X), y)
    assert len(fusion.cnn_.pretrain_images_) == 16


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"epoch": 2}, r"Unknown pretraining setting\(s\) \['epoch'\]"),
        ({"epochs": 0}, r"'epochs' parameter of CNNClassifier\(pretrain=...\)"),
        ({"augment": False}, "two identical views"),
    ],
)
def test_bad_pretrain_settings_of_a_cnn_are_refused_before_training(settings, message):
    with pytest.raises(ValueError, match=message):
        CNNClassifier(pretrain=settings).fit(images(4), ["a", "b", "a", "b"])
