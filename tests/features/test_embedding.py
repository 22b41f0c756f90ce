"""The ``embedding`` family: a network's pooled activations as features, cached."""

import pickle
import sys
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from torch import nn

from featcls import FeatureExtractor
from featcls.exceptions import FeatureWarning
from featcls.features import FEATURE_FAMILIES, EmbeddingFeatures
from featcls.features._extract import compute_family
from featcls.models import CNNClassifier

SIZE = 16


class Tiny(nn.Module):
    """conv → batch norm → ReLU → global average pooling → linear head."""

    def __init__(self, in_channels: int = 3, n_classes: int = 5):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, 6, 3, padding=1)
        self.bn = nn.BatchNorm2d(6)
        self.fc = nn.Linear(6, n_classes)

    def maps(self, x):
        return torch.relu(self.bn(self.conv(x)))

    def forward(self, x):
        return self.fc(self.maps(x).mean(dim=(2, 3)))


def seeded(seed: int, in_channels: int = 3) -> Tiny:
    """A Tiny with seeded weights and batch-norm statistics that matter."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        net = Tiny(in_channels)
        net.bn.running_mean.uniform_(-0.2, 0.2)
        net.bn.running_var.uniform_(0.5, 2.0)
    return net.eval()


def make_tiny(in_channels: int, n_classes: int) -> nn.Module:
    """A factory, as ``module`` takes one."""
    return Tiny(in_channels, n_classes)


def pooled(net: Tiny, x: np.ndarray) -> np.ndarray:
    """The embedding computed directly: (N, S, S[, C]) float in [0, 1] → (N, 6)."""
    t = torch.as_tensor(x, dtype=torch.float32)
    t = t[..., None] if t.ndim == 3 else t
    t = t.permute(0, 3, 1, 2).expand(-1, net.conv.in_channels, -1, -1)
    with torch.no_grad():
        return net.eval().maps(t).mean(dim=(2, 3)).double().numpy()


@pytest.fixture
def images():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (7, SIZE, SIZE), dtype=np.uint8)


@pytest.fixture
def weights(tmp_path):
    path = tmp_path / "backbone.pt"
    torch.save(seeded(1).state_dict(), path)
    return path


def embedding(**params) -> EmbeddingFeatures:
    params = {"input_size": SIZE, "normalize": None, "device": "cpu", **params}
    return EmbeddingFeatures(**params)


def extract(images, family, **params):
    return FeatureExtractor(families=[family], **params).fit(images).transform(images)


# -- what the columns are ------------------------------------------------------------
def test_the_columns_are_the_pooled_activations_computed_with_torch(images, weights):
    family = embedding(module=Tiny(), weights=weights)
    fx = FeatureExtractor(families=["shape", family]).fit(images)
    names = list(fx.get_feature_names_out())
    deep = [n for n in names if n.startswith("embedding__")]
    assert deep == [f"embedding__{i}" for i in range(6)]
    out = fx.transform(images)
    got = out[:, [names.index(n) for n in deep]]
    expected = pooled(seeded(1), images / np.float32(255))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert np.isfinite(out).all()


def test_imagenet_normalisation_is_applied_to_colour_images(weights):
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (4, SIZE, SIZE, 3), dtype=np.uint8)
    got = extract(rgb, embedding(module=Tiny(), weights=weights, normalize="auto"))
    mean = np.array([0.485, 0.456, 0.406], np.float32)
    std = np.array([0.229, 0.224, 0.225], np.float32)
    expected = pooled(seeded(1), (rgb / np.float32(255) - mean) / std)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_grey_images_equal_their_colour_replicas(images, weights):
    family = embedding(module=Tiny(), weights=weights)
    rgb = np.repeat(images[..., None], 3, axis=3)
    mixed = np.empty(len(images) * 2, dtype=object)
    mixed[:] = [*images, *rgb]  # grey and colour samples in one table
    out = extract(list(mixed), family)
    assert out[: len(images)].tobytes() == out[len(images) :].tobytes()


def test_an_opaque_alpha_is_dropped_and_a_fourth_stain_kept(images, weights):
    family = embedding(module=Tiny(), weights=weights)
    rgb = np.stack([images, images[::-1], 255 - images], axis=3)
    opaque = np.concatenate([rgb, np.full_like(rgb[..., :1], 255)], axis=3)
    assert extract(opaque, family).tobytes() == extract(rgb, family).tobytes()
    stained = opaque.copy()
    stained[..., 3] = images  # a varying fourth channel: the first conv is adapted
    out = extract(stained, family)
    assert out.shape == (len(images), 6) and np.isfinite(out).all()
    assert not np.allclose(out, extract(rgb, family))


def test_images_are_resized_to_the_input_size(images, weights):
    large = np.kron(images, np.ones((3, 3), np.uint8))  # 48 × 48, each pixel 3 × 3
    family = embedding(module=Tiny(), weights=weights)
    np.testing.assert_allclose(
        extract(large, family), extract(images, family), rtol=1e-5, atol=1e-6
    )


def test_a_named_layer_is_pooled_instead(images, weights):
    out = extract(images, embedding(module=Tiny(), weights=weights, layer="conv"))
    net = seeded(1)
    x = torch.as_tensor(images / np.float32(255))[:, None].expand(-1, 3, -1, -1)
    with torch.no_grad():
        expected = net.conv(x).mean(dim=(2, 3)).double().numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_a_state_dict_of_a_built_in_architecture(images, tmp_path):
    from featcls.models._cnn_nets import build_network

    net = build_network("simple", 1, 3, generator=torch.Generator().manual_seed(4))
    path = tmp_path / "simple.safetensors"
    from safetensors.torch import save_file

    save_file(net.state_dict(), str(path))
    out = extract(images, embedding(weights=path, architecture="simple"))
    x = torch.as_tensor(images / np.float32(255))[:, None]
    with torch.no_grad():
        expected = net.eval().embed(x).double().numpy()
    assert out.shape == (len(images), 128)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_a_factory_spec_is_built_for_the_weights_channels(images, tmp_path):
    path = tmp_path / "grey.pt"
    torch.save(seeded(2, in_channels=1).state_dict(), path)
    spec = f"{__name__}:make_tiny"
    out = extract(images, embedding(module=spec, weights=path))
    expected = pooled(seeded(2, in_channels=1), images / np.float32(255))
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


class LateNames(nn.Module):
    """A stem named after the layer that follows it: sorted names put it second."""

    def __init__(self, in_channels: int = 3, n_classes: int = 2):
        super().__init__()
        self.z_stem = nn.Conv2d(in_channels, 4, 3, padding=1)
        self.a_next = nn.Conv2d(4, 5, 3, padding=1)
        self.fc = nn.Linear(5, n_classes)

    def forward(self, x):
        return self.fc(self.a_next(torch.relu(self.z_stem(x))).mean(dim=(2, 3)))


def make_late(in_channels: int, n_classes: int) -> nn.Module:
    return LateNames(in_channels, n_classes)


def test_a_safetensors_stem_is_found_by_name_not_by_sorted_order(images, tmp_path):
    from safetensors.torch import load_file, save_file

    with torch.random.fork_rng():
        torch.manual_seed(5)
        net = LateNames(1).eval()
    path = tmp_path / "late.safetensors"
    save_file(net.state_dict(), str(path))
    assert next(iter(load_file(str(path)))).startswith("a_next")  # listed first
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every tensor fits: no report
        out = extract(images, embedding(module=make_late, weights=path))
    x = torch.as_tensor(images / np.float32(255))[:, None]
    with torch.no_grad():
        expected = net.a_next(torch.relu(net.z_stem(x))).mean(dim=(2, 3)).double()
    np.testing.assert_allclose(out, expected.numpy(), rtol=1e-5, atol=1e-6)


# -- a featcls model file as the backbone -------------------------------------------
def _trained(images, **params):
    y = np.array(["a", "b"] * 4)[: len(images)]
    clf = CNNClassifier(
        input_size=SIZE,
        max_epochs=1,
        early_stopping=False,
        augment=False,
        precision="float32",
        device="cpu",
        **params,
    )
    return clf.fit(images, y)


def test_a_featcls_model_file_is_the_backbone(images, tmp_path):
    clf = _trained(images)
    path = clf.save(tmp_path / "model.pt")
    out = extract(images, EmbeddingFeatures(weights=path, device="cpu"))
    assert out.shape == (len(images), 256)  # lipnet's embedding
    np.testing.assert_allclose(out, clf.embed(images), rtol=1e-4, atol=1e-5)


def test_a_model_file_of_your_own_network_needs_the_network(images, tmp_path):
    clf = _trained(images, module=make_tiny)
    path = clf.save(tmp_path / "own.pt")
    with pytest.raises(ValueError, match="trained on your own network"):
        extract(images, EmbeddingFeatures(weights=path, device="cpu"))
    out = extract(images, EmbeddingFeatures(weights=path, module=make_tiny))
    np.testing.assert_allclose(out, clf.embed(images), rtol=1e-4, atol=1e-5)


def _colour(images):
    return np.stack([images, images[::-1], 255 - images], axis=3)


def test_a_model_file_brings_its_own_channel_policy(images, tmp_path):
    rgb = _colour(images)
    clf = _trained(rgb, channels="hsv")
    path = clf.save(tmp_path / "hsv.pt")
    out = extract(rgb, EmbeddingFeatures(weights=path, device="cpu"))
    np.testing.assert_allclose(out, clf.embed(rgb), rtol=1e-4, atol=1e-4)
    plain = _trained(rgb)  # the same images as colours: other features
    assert not np.allclose(out, plain.embed(rgb), atol=1e-3)


def test_a_model_file_of_cropped_images_needs_the_same_crop(images, tmp_path):
    import pandas as pd

    masks = []
    for i in range(len(images)):
        m = np.zeros((SIZE, SIZE), bool)
        m[i % 4 : i % 4 + 9, 2:12] = True
        masks.append(m)
    table = pd.DataFrame({"image": list(images), "mask": masks})
    clf = _trained(table, crop=True, margin=0.2, mask_out=True)
    path = clf.save(tmp_path / "cropped.pt")
    family = EmbeddingFeatures(weights=path, device="cpu")
    with pytest.raises(
        ValueError, match=r"crop=True, margin=0.2, mask_out=True.*--crop"
    ):
        FeatureExtractor(families=[family]).fit(table)
    with pytest.raises(ValueError, match="margin=0.1"):
        FeatureExtractor(families=[family], crop=True, mask_out=True).fit(table)
    fx = FeatureExtractor(families=[family], crop=True, margin=0.2, mask_out=True)
    out = fx.fit(table).transform(table)
    np.testing.assert_allclose(out, clf.embed(table), rtol=1e-4, atol=1e-4)


def test_mask_full_with_crop_or_mask_out_is_refused(images):
    for setting in ({"crop": True}, {"mask_out": True}):
        fx = FeatureExtractor(families=["shape"], mask="full", **setting)
        with pytest.raises(ValueError, match="nothing to crop to or mask out"):
            fx.fit(images)


def test_an_opaque_alpha_is_dropped_under_mask_out_too(images, weights):
    import pandas as pd

    rgb = _colour(images)
    opaque = np.concatenate([rgb, np.full_like(rgb[..., :1], 255)], axis=3)
    masks = [np.pad(np.ones((8, 8), bool), 4) for _ in images]
    family = embedding(module=Tiny(), weights=weights)

    def run(x):
        table = pd.DataFrame({"image": list(x), "mask": masks})
        return extract(table, family, mask_out=True)

    assert run(opaque).tobytes() == run(rgb).tobytes()


# -- caching and reproducibility --------------------------------------------------
def test_same_bytes_again_from_the_cache_and_in_parallel(images, weights, tmp_path):
    family = embedding(module=Tiny(), weights=weights, batch_size=4)
    first = FeatureExtractor(families=[family], cache_dir=tmp_path / "c").fit(images)
    expected = first.transform(images)
    assert first.n_computed_ == len(images)
    again = FeatureExtractor(families=[family], cache_dir=tmp_path / "c").fit(images)
    assert again.transform(images).tobytes() == expected.tobytes()
    assert again.n_computed_ == 0
    for params in ({"chunk_size": 3}, {"chunk_size": 2, "n_jobs": 2}):
        assert extract(images, family, **params).tobytes() == expected.tobytes()


def test_other_weights_change_the_cache_key_a_renamed_file_does_not(
    images, weights, tmp_path
):
    cache = tmp_path / "cache"

    def run(path):
        fx = FeatureExtractor(
            families=["shape", embedding(module=Tiny(), weights=path)],
            cache_dir=cache,
        )
        out = fx.fit(images).transform(images)
        return out, fx.n_computed_

    before, _ = run(weights)
    renamed = tmp_path / "renamed.pt"
    weights.rename(renamed)
    same, n = run(renamed)
    assert n == 0 and same.tobytes() == before.tobytes()
    torch.save(seeded(9).state_dict(), renamed)
    after, n = run(renamed)
    assert n == len(images)
    shape = slice(0, 11)  # the hand-crafted columns: unchanged, from the cache
    assert after[:, shape].tobytes() == before[:, shape].tobytes()
    assert not np.allclose(after[:, 11:], before[:, 11:])


def test_a_fitted_extractor_refuses_a_replaced_weights_file(images, weights):
    fx = FeatureExtractor(families=[embedding(module=Tiny(), weights=weights)])
    fx.fit(images)
    torch.save(seeded(5).state_dict(), weights)
    with pytest.raises(ValueError, match="changed since they were fitted"):
        fx.transform(images)


def test_clone_and_pickle_round_trip_reload_the_network(images, weights):
    fx = FeatureExtractor(families=[embedding(module=Tiny(), weights=weights)])
    expected = fx.fit(images).transform(images)
    blob = pickle.dumps(fx)
    assert b"_backbone_memo" not in blob  # the network is not pickled, only named
    assert pickle.loads(blob).transform(images).tobytes() == expected.tobytes()
    assert clone(fx).fit_transform(images).tobytes() == expected.tobytes()


def test_the_labels_are_not_used(images, weights):
    family = embedding(module=Tiny(), weights=weights)
    a = FeatureExtractor(families=[family]).fit(images, ["a"] * 7).transform(images)
    b = FeatureExtractor(families=[family]).fit(images, list("abcdefg"))
    assert b.transform(images).tobytes() == a.tobytes()


def test_a_family_alone_is_a_transformer(images, weights):
    family = embedding(module=Tiny(), weights=weights)
    out = family.fit(images).transform(images)
    assert list(family.get_feature_names_out()) == [str(i) for i in range(6)]
    assert out.shape == (len(images), 6)
    assert family.extractor_.families_[0].network_sha256_


def test_an_empty_mask_with_mask_out_gives_nan_and_a_warning(images, weights):
    import pandas as pd

    masks = [np.ones((SIZE, SIZE), bool) for _ in images]
    masks[2] = np.zeros((SIZE, SIZE), bool)
    table = pd.DataFrame({"image": list(images), "mask": masks})
    fx = FeatureExtractor(
        families=[embedding(module=Tiny(), weights=weights)], mask_out=True
    ).fit(table)
    with pytest.warns(FeatureWarning, match="the object mask is empty"):
        out = fx.transform(table)
    assert np.isnan(out[2]).all() and np.isfinite(np.delete(out, 2, axis=0)).all()


# -- bad inputs ---------------------------------------------------------------------
def test_without_a_network_it_is_refused_by_name():
    assert FEATURE_FAMILIES["embedding"] is EmbeddingFeatures
    with pytest.raises(ValueError, match="'embedding' feature family needs a network"):
        FeatureExtractor(families="shape,embedding").fit(np.zeros((2, 8, 8), np.uint8))


def test_a_file_that_fits_nothing_is_refused(images, tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"encoder.layer9.weight": torch.zeros(2, 2)}, path)
    with pytest.raises(ValueError, match="fits none of the network's"):
        extract(images, embedding(module=Tiny(), weights=path))


class _Exploit:
    def __reduce__(self):
        return (print, ("this ran",))


def test_a_weights_file_that_would_run_code_is_refused(images, tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"conv.weight": _Exploit()}, path)
    with pytest.raises(ValueError, match=r"weights_only=True\) refused it"):
        extract(images, embedding(module=Tiny(), weights=path))


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ({"weights": "missing.pt"}, FileNotFoundError, "No weights file at"),
        ({"layer": "conv9"}, ValueError, "names no layer of the network: 'conv9'"),
        ({"normalize": ((0.5, 0.5), (1, 1))}, ValueError, "has 2 values per stat"),
        ({"input_size": 4}, ValueError, "'input_size' parameter of Embedding"),
        ({"device": "gpu"}, ValueError, "'device' parameter of EmbeddingFeatures"),
    ],
)
def test_bad_parameters_are_named(images, weights, params, error, message):
    family = embedding(module=Tiny(), weights=weights)
    with pytest.raises(error, match=message):
        extract(images, family.set_params(**params))


def test_without_torch_the_error_says_how_to_install_it(images, weights, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match=r"pip install 'featcls\[cnn\]'"):
        extract(images, embedding(weights=weights))


def test_it_has_no_single_image_form(images, weights):
    with pytest.raises(ValueError, match="no single-image form"):
        compute_family(embedding(module=Tiny(), weights=weights), images[0])


def test_weights_that_do_not_all_fit_are_reported_once(images, tmp_path):
    state = seeded(1).state_dict()
    state["extra.weight"] = torch.zeros(3)
    path = tmp_path / "more.pt"
    torch.save(state, path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = extract(images, embedding(module=Tiny(), weights=path))
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and "1 unexpected in the file" in messages[0]
    np.testing.assert_allclose(
        out, pooled(seeded(1), images / np.float32(255)), rtol=1e-5, atol=1e-6
    )


# -- a saved feature model never imports the network a file names -------------------
def test_a_saved_model_with_a_named_network_needs_it_given_again(
    images, weights, tmp_path
):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from featcls.models import load_model, save_model

    spec = f"{__name__}:make_tiny"
    fx = FeatureExtractor(families=[embedding(module=spec, weights=str(weights))])
    y = np.array(["a", "b"] * 4)[: len(images)]
    pipe = make_pipeline(fx, LogisticRegression()).fit(images, y)
    path = save_model(pipe, tmp_path / "model.skops")
    with pytest.raises(ValueError, match=r"never imports.*--cnn-module"):
        load_model(path)
    loaded, _ = load_model(path, module=make_tiny)
    np.testing.assert_array_equal(
        loaded.predict_proba(images), pipe.predict_proba(images)
    )


def test_weights_given_as_a_path_are_saved_as_text(images, weights, tmp_path):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from featcls.models import load_model, save_model

    family = embedding(module=f"{__name__}:make_tiny", weights=weights)
    y = np.array(["a", "b"] * 4)[: len(images)]
    pipe = make_pipeline(FeatureExtractor(families=[family]), LogisticRegression())
    pipe.fit(images, y)
    path = save_model(pipe, tmp_path / "model.skops")  # a Path is not allow-listed
    assert family.weights is weights  # the model itself is left as it was
    loaded, _ = load_model(path, module=make_tiny)
    np.testing.assert_array_equal(
        loaded.predict_proba(images), pipe.predict_proba(images)
    )
