"""Model files never execute code: crafted skops schemas, pickles under model names.

Each crafted file names a callable that writes a marker file when skops builds it.
A first test proves the corpus is live (skops with everything trusted does run it);
the others check that featcls refuses every file and that no marker appears.
"""

import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest
import skops.io as sio
from typer.testing import CliRunner

from featcls.cli import app
from featcls.models import UntrustedModelError, load_model, save_model, trusted_types

pytest.importorskip("torch")


def _json(value) -> dict:
    return {
        "__class__": "str",
        "__module__": "builtins",
        "__loader__": "JsonNode",
        "content": json.dumps(value),
        "is_json": True,
    }


def _call(module: str, name: str, *args: dict) -> dict:
    """A skops node that calls ``module.name(*args)`` when it is built."""
    return {
        "__class__": name,
        "__module__": module,
        "__loader__": "ConstructorFromReduceNode",
        "content": {
            "__class__": "tuple",
            "__module__": "builtins",
            "__loader__": "TupleNode",
            "content": list(args),
        },
    }


def _payloads(marker: str) -> dict[str, dict]:
    touch = f"open({marker!r}, 'w').close()"
    return {
        "builtins.exec": _call("builtins", "exec", _json(touch)),
        "builtins.eval": _call("builtins", "eval", _json(touch)),
        "numpy.savetxt": _call(
            "numpy",
            "savetxt",
            _json(marker),
            {
                "__class__": "list",
                "__module__": "builtins",
                "__loader__": "ListNode",
                "content": [_json(1), _json(2)],
            },
        ),
        "os.system": _call("os", "system", _json(f"touch {marker}")),
        "subprocess.Popen": _call(
            "subprocess",
            "Popen",
            {
                "__class__": "list",
                "__module__": "builtins",
                "__loader__": "ListNode",
                "content": [_json("touch"), _json(marker)],
            },
        ),
    }


def _crafted(path, node: dict) -> None:
    """A skops file of featcls's layout whose model node is ``node``."""
    data = sio.dumps({"model": ["placeholder"], "metadata": {}})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        schema = json.loads(archive.read("schema.json"))
    schema["content"]["model"] = node
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("schema.json", json.dumps(schema))


@pytest.fixture(params=sorted(_payloads("m")))
def crafted(request, tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "evil.skops"
    _crafted(path, _payloads(str(marker))[request.param])
    return request.param, path, marker


def test_the_crafted_files_are_live(crafted):
    """skops, told to trust what the file names, really runs the payload."""
    name, path, marker = crafted
    loaded = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    if name == "subprocess.Popen":
        loaded["model"].wait(timeout=10)  # the process the file started has ended
    assert marker.exists()


def test_load_model_refuses_crafted_files(crafted):
    name, path, marker = crafted
    with pytest.raises(UntrustedModelError, match=f"does not trust: {name}") as info:
        load_model(path)
    assert str(path) in str(info.value)
    assert not marker.exists()


def test_predict_refuses_crafted_files(crafted, tmp_path):
    name, path, marker = crafted
    images = tmp_path / "images"
    images.mkdir()
    import cv2

    cv2.imwrite(str(images / "a.png"), np.zeros((8, 8), np.uint8))
    result = CliRunner().invoke(
        app, ["predict", str(path), "--data", str(images), "--out", "p.csv"]
    )
    assert result.exit_code != 0
    assert f"does not trust: {name}" in result.output
    assert "Traceback" not in result.output
    assert not marker.exists()


def test_trusted_types_are_whole_names():
    """No module prefix is trusted: each entry names one class or function."""
    for name in trusted_types():
        module, _, leaf = name.rpartition(".")
        assert module and leaf
    for dangerous in ("builtins.exec", "builtins.eval", "numpy.savetxt", "os.system"):
        assert dangerous not in trusted_types()


class _Touch:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")
@pytest.mark.parametrize("suffix", [".skops", ".pt", ".pth"])
def test_a_plain_pickle_under_a_model_name_is_refused(tmp_path, suffix):
    marker = tmp_path / "marker"
    path = tmp_path / f"model{suffix}"
    path.write_bytes(pickle.dumps({"model": _Touch(marker)}))
    with pytest.raises(ValueError, match="not a featcls"):
        load_model(path)
    assert not marker.exists()


def test_a_torch_file_with_a_code_object_is_refused(tmp_path):
    """A real torch.save file whose payload pickles a callable is refused by
    weights_only loading, before featcls looks at its content."""
    import torch

    marker = tmp_path / "marker"
    path = tmp_path / "model.pt"
    torch.save({"format": "featcls-cnn", "version": 2, "x": _Touch(marker)}, path)
    with pytest.raises(ValueError, match="torch refused it as weights-only data"):
        load_model(path)
    assert not marker.exists()


def test_torch_files_are_only_read_weights_only(tmp_path, monkeypatch):
    import torch

    from featcls import CNNClassifier, FusionClassifier
    from featcls.features import FeatureExtractor

    rng = np.random.default_rng(0)
    X = rng.integers(0, 100, size=(12, 16, 16), dtype=np.uint8)
    X[6:] += 120
    y = np.array([0] * 6 + [1] * 6)
    params = {"max_epochs": 1, "batch_size": 6, "input_size": 16, "random_state": 0}
    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    for model in (
        CNNClassifier(**params),
        FusionClassifier(
            cnn=CNNClassifier(**params),
            features=FeatureExtractor(families=["intensity"]),
        ),
    ):
        path = model.fit(X, y).save(tmp_path / f"{type(model).__name__}.pt")
        loaded, meta = load_model(path)
        assert type(loaded) is type(model)
        assert meta["model"] == type(model).__name__
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert calls and all(flag is True for flag in calls)


def test_source_only_calls_torch_load_weights_only():
    """Every torch.load in the package passes weights_only=True."""
    import re
    from pathlib import Path

    import featcls

    root = Path(featcls.__file__).parent
    for file in root.rglob("*.py"):
        for call in re.findall(r"torch\.load\(([^)]*)\)", file.read_text()):
            assert "weights_only=True" in call, f"{file}: torch.load({call})"


def test_fusion_feature_extractor_is_loaded_through_the_trusted_list(tmp_path):
    """The skops bytes a fusion file carries are checked like a .skops file."""
    from featcls.models._fusion import _loads

    marker = tmp_path / "marker"
    evil = tmp_path / "evil.skops"
    _crafted(evil, _payloads(str(marker))["builtins.exec"])
    with pytest.raises(UntrustedModelError, match="fusion model"):
        _loads(evil.read_bytes())
    assert not marker.exists()


def test_model_file_suffix_must_fit_the_model(tmp_path):
    from featcls import CNNClassifier
    from featcls.models import build_model

    X = np.random.default_rng(0).normal(size=(20, 3))
    y = np.array([0, 1] * 10)
    pipe = build_model("logreg").fit(X, y)
    with pytest.raises(ValueError, match=r"use a \.skops file name"):
        save_model(pipe, tmp_path / "m.pt")
    cnn = CNNClassifier(max_epochs=1, batch_size=4, input_size=16, random_state=0)
    images = (
        np.zeros((8, 16, 16), np.uint8)
        + 20 * np.arange(8, dtype=np.uint8)[:, None, None]
    )
    cnn.fit(images, y[:8])
    with pytest.raises(ValueError, match=r"use a \.pt file name"):
        cnn.save(tmp_path / "m.skops")
    with pytest.raises(ValueError, match="saved with its own save"):
        save_model(cnn, tmp_path / "m.skops")
    assert not list(tmp_path.iterdir())


def test_saving_leaves_no_partial_file(tmp_path, monkeypatch):
    """A save that dies mid-write leaves neither the target nor a temporary file."""
    from featcls.models import build_model

    X = np.random.default_rng(0).normal(size=(20, 3))
    y = np.array([0, 1] * 10)
    pipe = build_model("logreg").fit(X, y)

    def broken_dump(obj, file):
        with open(file, "wb") as handle:
            handle.write(b"PK\x03\x04 half")
        raise OSError("disk full")

    monkeypatch.setattr(sio, "dump", broken_dump)
    with pytest.raises(OSError, match="disk full"):
        save_model(pipe, tmp_path / "m.skops")
    assert not list(tmp_path.iterdir())
