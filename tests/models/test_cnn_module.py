"""Your own network in CNNClassifier: modules, factories, specs, weights, tuning."""

import hashlib
import pickle
import sys
import types
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.base import clone
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_set_params,
)
from torch import nn

from featcls import FeatureExtractor
from featcls.data import as_sample_table
from featcls.evaluation import compare
from featcls.models import (
    CNNClassifier,
    FusionClassifier,
    describe_model,
    load_model,
)

SIZE = 16
FAST = {"input_size": SIZE, "batch_size": 8, "n_threads": 1, "precision": "float32"}


class Tiny(nn.Module):
    """Two convolutions, batch norm, dropout and a linear head ``fc``."""

    def __init__(self, in_channels: int = 3, n_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.drop = nn.Dropout(0.1)
        self.fc = nn.Linear(16, n_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)), inplace=True)
        x = F.relu(self.conv2(x)).mean(dim=(2, 3))
        return self.fc(self.drop(x))


def seeded(in_channels: int = 3, n_classes: int = 10, seed: int = 0) -> Tiny:
    """A Tiny initialised from ``seed`` (torch's global random state restored)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return Tiny(in_channels, n_classes)


def tiny(in_channels: int, n_classes: int) -> nn.Module:
    """A factory, as ``module`` takes one."""
    return Tiny(in_channels, n_classes)


def dark_and_bright(n: int = 32, channels: int | None = None, seed: int = 0):
    rng = np.random.default_rng(seed)
    shape = (n, SIZE, SIZE) if channels is None else (n, SIZE, SIZE, channels)
    X = rng.integers(0, 100, size=shape, dtype=np.uint8)
    X[n // 2 :] += 120
    return X, np.array(["dark"] * (n // 2) + ["bright"] * (n - n // 2))


def state(module: nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def assert_same_state(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, msg=k)


def backbone_state(clf: CNNClassifier) -> dict:
    """The user network's own state (head lifted out) of a fitted model."""
    return state(clf.module_.net)


@pytest.fixture(scope="module")
def data():
    return dark_and_bright()


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    return CNNClassifier(module=seeded(), lr=1e-2, max_epochs=2, **FAST).fit(X, y)


# -- a module, a factory, a spec ------------------------------------------------------
def test_a_user_module_trains_predicts_embeds_and_is_explained(data, fitted):
    X, y = data
    assert fitted.predict_proba(X).shape == (len(X), 2)
    assert (fitted.predict(X) == y).mean() > 0.8  # brightness: an easy task
    assert fitted.embed(X[:3]).shape == (3, 16)  # the input of Tiny's fc
    report = fitted.featcls_report_
    assert report["architecture"] == "Tiny"
    assert len(report["saliency"]) == len(report["gradcam"]) == 2  # one per class
    assert fitted.network_params_["head"] == "fc"
    assert fitted.network_params_["adapt"] == "sum"  # grey images, 3-channel Tiny
    assert isinstance(fitted.module_.net.fc, nn.Identity)
    assert "Your network Tiny trained from scratch" in describe_model(fitted)


def test_each_fit_starts_from_the_given_weights_and_leaves_them_alone(data):
    X, y = data
    net = seeded()
    before = state(net)
    clf = CNNClassifier(module=net, max_epochs=1, **FAST)
    first = clf.fit(X, y).predict_proba(X)
    assert_same_state(state(net), before)  # a copy was trained
    again = clf.fit(X, y).predict_proba(X)  # not from the first fit's weights
    np.testing.assert_array_equal(again, first)
    assert_same_state(state(clone(clf).module), before)


def test_no_weights_leak_between_the_folds_of_compare(data):
    X, y = data
    net = seeded()
    before = state(net)
    clf = CNNClassifier(module=net, max_epochs=1, **FAST)
    result = compare({"mine": clf}, X, y, cv=2, random_state=0)
    assert result.errors().empty
    assert_same_state(state(net), before)
    table = as_sample_table(X)
    for record in result.records:
        test = np.asarray(record.test_index)
        train = np.setdiff1d(np.arange(len(X)), test)
        alone = clone(clf).fit(table.iloc[train], y[train])
        proba = alone.predict_proba(table.iloc[test])
        cols = [list(result.classes).index(c) for c in alone.classes_]
        np.testing.assert_allclose(
            np.asarray(record.proba)[:, cols], proba, rtol=1e-6, atol=1e-7
        )


def test_a_factory_gets_channels_and_classes_and_its_init_is_seeded(data):
    X, y = data
    calls = []

    def factory(in_channels, n_classes):
        calls.append((in_channels, n_classes))
        return Tiny(in_channels, n_classes)

    rng_before = torch.random.get_rng_state()
    one = CNNClassifier(module=factory, max_epochs=1, **FAST).fit(X, y)
    two = CNNClassifier(module=factory, max_epochs=1, **FAST).fit(X, y)
    other = CNNClassifier(module=factory, max_epochs=1, random_state=1, **FAST)
    other.fit(X, y)
    assert calls == [(1, 2)] * 3
    assert torch.equal(rng_before, torch.random.get_rng_state())
    np.testing.assert_array_equal(one.predict_proba(X), two.predict_proba(X))
    assert not np.array_equal(one.predict_proba(X), other.predict_proba(X))
    # the factory built the head for the two classes: it is kept, not replaced
    assert one.network_params_["adapt"] is None


NETS_SOURCE = """
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, in_channels, n_classes):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, 4, 3, padding=1)
        self.fc = nn.Linear(4, n_classes)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).mean(dim=(2, 3)))


def make(in_channels, n_classes):
    return Net(in_channels, n_classes)
"""


@pytest.fixture
def user_package(tmp_path, monkeypatch):
    """An importable module ``usernets_<id>`` with a factory ``make``."""
    name = f"usernets_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(NETS_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def test_a_spec_string_is_imported_at_fit_time_only(data, user_package):
    X, y = data
    clf = CNNClassifier(module=f"{user_package}:make", max_epochs=1, **FAST)
    clone(clf).get_params()
    assert user_package not in sys.modules  # not on construction nor cloning
    clf.fit(X, y)
    assert user_package in sys.modules
    assert clf.featcls_report_["architecture"] == f"{user_package}:make"
    assert clf.network_params_["module"] == f"{user_package}:make"


@pytest.mark.parametrize(
    ("spec", "error", "message"),
    [
        ("just_a_name", ValueError, "'module' parameter of CNNClassifier must be"),
        ("no_such_package_xyz:make", ImportError, "Cannot import the network"),
        ("{pkg}:missing", ValueError, "has no attribute 'missing'"),
    ],
)
def test_bad_specs_are_refused_clearly(data, user_package, spec, error, message):
    X, y = data
    clf = CNNClassifier(module=spec.format(pkg=user_package), max_epochs=1, **FAST)
    with pytest.raises(error, match=message):
        clf.fit(X, y)


def test_timm_specs_build_through_timm_create_model(data, monkeypatch, tmp_path):
    X, y = data
    calls = []

    def create_model(name, *, pretrained, num_classes, in_chans):
        calls.append((name, pretrained, num_classes, in_chans))
        return Tiny(in_chans, num_classes)

    monkeypatch.setitem(
        sys.modules, "timm", types.SimpleNamespace(create_model=create_model)
    )
    clf = CNNClassifier(module="timm:resnet18", max_epochs=1, **FAST).fit(X, y)
    assert calls == [("resnet18", True, 2, 1)]  # timm's own pretrained weights
    assert "timm's pretrained weights" in describe_model(clf)
    path = tmp_path / "w.pt"
    torch.save(Tiny(1, 2).state_dict(), path)
    CNNClassifier(module="timm:resnet18", weights=path, max_epochs=1, **FAST).fit(X, y)
    assert calls[-1] == ("resnet18", False, 2, 1)  # the file initialises it


def test_timm_that_does_not_import_is_a_clear_error(data, monkeypatch):
    X, y = data
    monkeypatch.setitem(sys.modules, "timm", None)  # import timm raises ImportError
    with pytest.raises(ImportError, match="needs the timm package"):
        CNNClassifier(module="timm:resnet18", max_epochs=1, **FAST).fit(X, y)


def test_a_network_without_convolutions_has_saliency_but_no_gradcam(data):
    X, y = data
    mlp = nn.Sequential(
        nn.Flatten(), nn.Linear(SIZE * SIZE, 8), nn.ReLU(), nn.Linear(8, 2)
    )
    clf = CNNClassifier(module=mlp, max_epochs=1, **FAST).fit(X, y)
    assert clf.network_params_["head"] == "3"  # its last Linear
    assert len(clf.featcls_report_["saliency"]) == 2
    assert clf.featcls_report_["gradcam"] == []


class _Reshaped(nn.Module):
    def forward(self, x):
        return x.view(len(x), -1, 1)


def test_the_head_must_be_the_last_step_and_a_linear_layer(data):
    X, y = data

    class NoLinear(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3)

        def forward(self, x):
            return self.conv(x).mean(dim=(2, 3))

    with pytest.raises(ValueError, match="has no torch.nn.Linear layer"):
        CNNClassifier(module=NoLinear(), max_epochs=1, **FAST).fit(X, y)
    after_head = nn.Sequential(nn.Flatten(), nn.Linear(SIZE * SIZE, 2), _Reshaped())
    clf = CNNClassifier(module=after_head, max_epochs=1, **FAST)
    with pytest.raises(ValueError, match="must output the head's input"):
        clf.fit(X, y)


# -- Grad-CAM -------------------------------------------------------------------------
def test_gradcam_on_a_named_layer_and_a_refused_name(data):
    X, y = data
    clf = CNNClassifier(module=Tiny(), cam_layer="conv1", max_epochs=1, **FAST)
    assert len(clf.fit(X, y).featcls_report_["gradcam"]) == 2
    with pytest.raises(ValueError, match="names no layer of the network: 'conv9'"):
        CNNClassifier(module=Tiny(), cam_layer="conv9", max_epochs=1, **FAST).fit(X, y)


def test_hooked_gradcam_equals_the_built_in_path_on_the_same_maps():
    from featcls.models._cnn_nets import build_network
    from featcls.models._cnn_saliency import saliency_maps

    net = build_network("lipnet", 1, 2, dropout=0.0).eval()
    x = torch.randn(3, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    targets = torch.tensor([0, 1, 0])
    grad, cam = saliency_maps(net, x, targets)
    hooked_grad, hooked_cam = saliency_maps(net, x, targets, layer=net.trunk)
    np.testing.assert_allclose(hooked_grad, grad, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(hooked_cam, cam, rtol=1e-5, atol=1e-7)
    assert cam.max() > 0


# -- weights files --------------------------------------------------------------------
def _save(state_dict: dict, path):
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in state_dict.items()}, str(path))
    else:
        torch.save(state_dict, path)
    return path


@pytest.mark.parametrize(
    ("suffix", "wrap"),
    [
        (".pt", lambda s: s),
        (".safetensors", lambda s: s),
        (".pth", lambda s: {"state_dict": {f"module.{k}": v for k, v in s.items()}}),
        (".pt", lambda s: {"model": s, "epoch": 3}),
    ],
)
def test_weights_initialise_the_network_and_their_hash_is_kept(
    data, tmp_path, suffix, wrap
):
    X, y = data
    source = Tiny(1, 5)  # a head for 5 classes: replaced for the 2 here
    for p in source.parameters():
        p.data.uniform_(-1, 1, generator=torch.Generator().manual_seed(1))
    path = _save(wrap(source.state_dict()), tmp_path / f"backbone{suffix}")
    clf = CNNClassifier(
        module=Tiny, weights=path, freeze_epochs=1, max_epochs=1, **FAST
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # everything fits: no warning
        clf.fit(X, y)
    expected = {k: v for k, v in source.state_dict().items() if not k.startswith("fc.")}
    # a frozen backbone keeps the file's tensors exactly (batch norm included)
    assert_same_state(backbone_state(clf), expected)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert clf.weights_sha256_ == sha == clf.featcls_report_["weights_sha256"]
    assert clf.weights_report_["matched"] == len(expected)
    assert clf.weights_report_["head"] == ["fc.bias", "fc.weight"]
    assert clf.module_.head.out_features == 2
    assert f"fine-tuned from {path.name}" in describe_model(clf)


def test_missing_unexpected_and_mismatched_tensors_are_reported_once(data, tmp_path):
    X, y = data
    weights = Tiny(1, 2).state_dict()
    del weights["bn1.weight"]
    weights["extra.weight"] = torch.zeros(3)
    weights["conv2.weight"] = torch.zeros(16, 8, 5, 5)
    path = _save(weights, tmp_path / "partial.pt")
    clf = CNNClassifier(module=tiny, weights=path, max_epochs=1, **FAST)
    with pytest.warns(UserWarning) as record:
        clf.fit(X, y)
    messages = [str(w.message) for w in record if "weights file" in str(w.message)]
    assert len(messages) == 1
    (message,) = messages
    assert str(path) in message
    assert "1 missing from the file (left as initialised): 'bn1.weight'" in message
    assert "1 unexpected in the file (ignored): 'extra.weight'" in message
    assert "1 skipped for another shape: 'conv2.weight: file (16, 8, 5, 5)" in message
    report = clf.weights_report_
    assert report["missing"] == ["bn1.weight"]
    assert report["unexpected"] == ["extra.weight"]
    assert report["mismatched"] == [
        "conv2.weight: file (16, 8, 5, 5) vs network (16, 8, 3, 3)"
    ]


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"encoder.layer.weight": torch.zeros(4, 4)}, "no name matches"),
        ({"conv2.weight": torch.zeros(16, 8, 5, 5)}, "has another shape"),
    ],
)
def test_a_file_that_fits_nothing_is_refused(data, tmp_path, weights, message):
    X, y = data
    path = _save(weights, tmp_path / "other.pt")
    clf = CNNClassifier(module=tiny, weights=path, max_epochs=1, **FAST)
    with pytest.raises(
        ValueError, match=f"Weights file '.*other.pt' fits none.*{message}"
    ):
        clf.fit(X, y)


class _RunsCode:
    """Unpickling this would create a folder: the proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import os

        return (os.mkdir, (self.marker,))


def test_a_weights_file_that_would_run_code_is_refused(data, tmp_path):
    X, y = data
    marker = tmp_path / "code-ran"
    path = tmp_path / "evil.pt"
    torch.save({"conv1.weight": torch.zeros(8, 1, 3, 3), "x": _RunsCode(marker)}, path)
    clf = CNNClassifier(module=tiny, weights=path, max_epochs=1, **FAST)
    with pytest.raises(ValueError, match="Cannot load weights file '.*evil.pt' safely"):
        clf.fit(X, y)
    assert not marker.exists()
    with pytest.raises(FileNotFoundError, match="No weights file at"):
        CNNClassifier(module=tiny, weights=tmp_path / "nope.pt", **FAST).fit(X, y)


def test_built_in_architectures_take_weights_too(data, tmp_path):
    X, y = data
    first = CNNClassifier(architecture="simple", max_epochs=1, **FAST).fit(X, y)
    path = first.save(tmp_path / "simple.pt")  # a featcls model file as weights
    second = CNNClassifier(
        architecture="simple", weights=path, freeze_epochs=1, max_epochs=1, **FAST
    ).fit(X, y)
    for name, tensor in first.module_.state_dict().items():
        if not name.startswith("head."):
            torch.testing.assert_close(second.module_.state_dict()[name], tensor)


# -- fine-tuning ----------------------------------------------------------------------
def test_freeze_epochs_freeze_the_backbone_then_it_trains(data):
    X, y = data
    net = seeded(1, 2)
    frozen = CNNClassifier(module=net, freeze_epochs=2, max_epochs=2, **FAST)
    frozen.fit(X, y)
    backbone = {k: v for k, v in state(net).items() if not k.startswith("fc.")}
    assert_same_state(backbone_state(frozen), backbone)
    head_before = state(net)["fc.weight"]
    assert not torch.equal(frozen.module_.head.weight.detach(), head_before)
    assert all(p.requires_grad for p in frozen.module_.parameters())
    thawed = CNNClassifier(
        module=net, freeze_epochs=1, max_epochs=2, early_stopping=False, **FAST
    )
    thawed.fit(X, y)
    after = backbone_state(thawed)
    assert not torch.equal(after["conv1.weight"], state(net)["conv1.weight"])


class _Spy(CNNClassifier):
    """Records the optimiser's parameter groups before and after the fit loop."""

    def _fit_loop(self, run):
        self.groups_ = [
            (g["lr"], list(g["params"])) for g in run.optimizer.param_groups
        ]
        super()._fit_loop(run)
        self.final_lrs_ = [g["lr"] for g in run.optimizer.param_groups]


def test_backbone_lr_is_a_multiple_of_the_head_lr_in_the_param_groups(data):
    X, y = data
    clf = _Spy(module=seeded(), lr=2e-3, backbone_lr=0.1, max_epochs=2, **FAST)
    clf.fit(X, y)
    (head_lr, head), (backbone_lr, backbone) = clf.groups_
    assert head_lr == pytest.approx(2e-3) and backbone_lr == pytest.approx(2e-4)
    assert {id(p) for p in head} == {id(p) for p in clf.module_.head.parameters()}
    others = {id(p) for p in clf.module_.parameters()} - {id(p) for p in head}
    assert {id(p) for p in backbone} == others
    final_head, final_backbone = clf.final_lrs_
    assert final_head < head_lr  # decayed, the backbone along the same curve
    assert final_backbone / final_head == pytest.approx(0.1)
    one = _Spy(module=Tiny(), max_epochs=1, **FAST).fit(X, y)
    assert len(one.groups_) == 1


# -- channels and normalisation -------------------------------------------------------
def test_summed_kernels_compute_what_the_network_computes_on_replicated_grey():
    from featcls.models._cnn_channels import adapt_kernels

    g = torch.Generator().manual_seed(0)
    weight = torch.randn(5, 3, 3, 3, generator=g)
    grey = torch.randn(2, 1, 9, 9, generator=g)
    replicated = F.conv2d(grey.expand(-1, 3, -1, -1), weight, padding=1)
    summed = F.conv2d(grey, adapt_kernels(weight, 1), padding=1)
    torch.testing.assert_close(summed, replicated, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("channels", [None, 4])
def test_grey_and_four_channel_images_meet_a_three_channel_network(channels):
    X, y = dark_and_bright(channels=channels)
    net = seeded(3, 2)
    kernels = net.conv1.weight.detach().clone()
    clf = CNNClassifier(module=net, freeze_epochs=1, max_epochs=1, **FAST).fit(X, y)
    conv1 = clf.module_.net.conv1.weight.detach()  # frozen: as adapted
    if channels is None:
        torch.testing.assert_close(conv1[:, 0], kernels.sum(dim=1))
    else:
        torch.testing.assert_close(conv1[:, :3], kernels)
        torch.testing.assert_close(conv1[:, 3], kernels.mean(dim=1))
    assert clf.n_channels_ == (channels or 1)
    assert clf.predict_proba(X[:2]).shape == (2, 2)
    assert "adapt_channels" in clf.featcls_report_


def test_replicate_feeds_grey_images_as_three_channels(data):
    X, y = data
    clf = CNNClassifier(
        module=seeded(3, 2),
        adapt_channels="replicate",
        normalize="imagenet",
        max_epochs=1,
        **FAST,
    ).fit(X, y)
    assert clf.n_channels_ == 3 and clf.module_.net.conv1.in_channels == 3
    np.testing.assert_allclose(clf.channel_mean_, [0.485, 0.456, 0.406], rtol=1e-6)
    assert clf.predict(X[:3]).shape == (3,)
    X4, y4 = dark_and_bright(channels=4)
    with pytest.raises(ValueError, match="feeds grey images to a three-channel"):
        CNNClassifier(
            module=Tiny(3, 2), adapt_channels="replicate", max_epochs=1, **FAST
        ).fit(X4, y4)


def test_normalize_sets_the_statistics_and_refuses_the_wrong_count(data):
    X, y = data
    clf = CNNClassifier(module=tiny, normalize=(0.5, 0.25), max_epochs=1, **FAST)
    clf.fit(X, y)
    assert clf.channel_mean_.tolist() == [0.5] and clf.channel_std_.tolist() == [0.25]
    with pytest.raises(ValueError, match="has 3 values per statistic.*give 1\\."):
        CNNClassifier(module=tiny, normalize="imagenet", max_epochs=1, **FAST).fit(X, y)
    with pytest.raises(ValueError, match="'normalize' parameter of CNNClassifier"):
        CNNClassifier(normalize=((0.5,), (0.0,)), max_epochs=1, **FAST).fit(X, y)


# -- saving and loading ---------------------------------------------------------------
def test_a_saved_user_network_loads_only_with_its_module_given(
    data, tmp_path, user_package
):
    X, y = data
    spec = f"{user_package}:make"
    clf = CNNClassifier(module=spec, max_epochs=1, **FAST).fit(X, y)
    path = clf.save(tmp_path / "mine.pt")
    payload = torch.load(path, weights_only=True)
    assert payload["version"] == 4 and payload["params"]["module"] == spec
    sys.modules.pop(user_package)
    with pytest.raises(
        ValueError, match=f"give that network again.*--cnn-module {spec}"
    ):
        load_model(path)
    assert user_package not in sys.modules  # the file's spec is never imported
    loaded, meta = load_model(path, module=spec)  # the caller's choice: imported
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert loaded.get_params() == clf.get_params()
    with pytest.raises(ValueError, match="does not fit the weights"):
        CNNClassifier.load(path, module=tiny)


def test_an_instance_is_stored_as_weights_and_given_again(data, tmp_path, fitted):
    X, _ = data
    path = fitted.save(tmp_path / "tiny.pt")
    payload = torch.load(path, weights_only=True)
    assert "module" not in payload["params"]  # no pickled module in the file
    with pytest.raises(ValueError, match="package.module:factory"):
        CNNClassifier.load(path)
    loaded = CNNClassifier.load(path, module=Tiny())
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict_proba(X), fitted.predict_proba(X))


def test_a_built_in_file_refuses_a_module_and_stays_version_2(data, tmp_path):
    X, y = data
    clf = CNNClassifier(max_epochs=1, **FAST).fit(X, y)
    path = clf.save(tmp_path / "lipnet.pt")
    assert torch.load(path, weights_only=True)["version"] == 2
    with pytest.raises(ValueError, match="built-in 'lipnet' architecture"):
        load_model(path, module=Tiny())


def test_fusion_runs_on_a_user_network_and_reloads(data, tmp_path):
    X, y = data
    fusion = FusionClassifier(
        cnn=CNNClassifier(module=tiny, max_epochs=1, **FAST),
        features=FeatureExtractor(["intensity"]),
    ).fit(X, y)
    assert fusion.cnn_.module_.head.in_features == 16 + fusion.n_extra_
    path = fusion.save(tmp_path / "fusion.pt")
    with pytest.raises(ValueError, match="your own network"):
        load_model(path)
    loaded, _ = load_model(path, module=tiny)
    np.testing.assert_allclose(loaded.predict_proba(X), fusion.predict_proba(X))


def test_sklearn_data_free_checks_with_a_module():
    for estimator in (CNNClassifier(module=Tiny()), CNNClassifier(module="a.b:c")):
        for check in (
            check_no_attributes_set_in_init,
            check_get_params_invariance,
            check_set_params,
        ):
            check("CNNClassifier", estimator)
