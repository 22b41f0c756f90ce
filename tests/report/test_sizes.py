"""Reports stay small: WebP thumbnails, palette figures, sampled explanations."""

from __future__ import annotations

import base64
import io
import re

import cv2
import numpy as np
import pytest
from PIL import Image

from featcls.evaluation._compare import THUMBNAIL_SIZE, thumbnail_uri
from featcls.report import render_report, write_outputs
from featcls.report._explain import EXPLAINED_FOLDS
from featcls.report._figures import (
    PALETTE_COLOURS,
    fold_scores_figure,
    history_figure,
    model_colors,
)
from tests.report.conftest import Page, make_result, png_uri

#: Upper bounds for the real result (logreg and XGBoost, 60 synthetic images, 3
#: folds), with headroom; before the images were compacted the report took 455 kB,
#: results.json 145 kB, a thumbnail 3.3 kB and the eight figures 275 kB.
MAX_REPORT_BYTES = 280_000
MAX_RESULTS_BYTES = 130_000
MAX_THUMBNAIL_BYTES = 1_500
MAX_FIGURE_BYTES = 150_000

_URI = re.compile(r"data:image/(\w+);base64,([A-Za-z0-9+/=]+)")


def _decode(uri: str) -> tuple[str, np.ndarray, int]:
    """Format, image and size in bytes of a base64 data URI."""
    kind, payload = _URI.fullmatch(uri).groups()
    data = base64.b64decode(payload)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    return kind, image, len(data)


def test_thumbnails_are_small_webp(real_result):
    thumbs = real_result.dataset["thumbnails"]
    assert len(thumbs) >= 10
    for uri in thumbs.values():
        kind, image, size = _decode(uri)
        assert kind == "webp"
        assert image.shape[:2] == (48, 48)  # smaller than THUMBNAIL_SIZE: kept
        assert size <= MAX_THUMBNAIL_BYTES


@pytest.mark.parametrize(
    "shape, expected",
    [
        ((300, 200), (64, 43)),
        ((200, 300, 3), (43, 64)),
        ((30, 20), (30, 20)),
        ((64, 64), (64, 64)),
    ],
)
def test_thumbnail_uri_scales_down_only(shape, expected):
    image = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    kind, decoded, size = _decode(thumbnail_uri(image))
    assert kind == "webp" and decoded.shape[:2] == expected
    assert max(decoded.shape[:2]) <= THUMBNAIL_SIZE
    assert size <= 4_000  # even for noise, the worst case


def test_report_of_the_synthetic_dataset_stays_small(real_result, tmp_path):
    paths = write_outputs(real_result, tmp_path)
    assert paths["report"].stat().st_size <= MAX_REPORT_BYTES
    assert paths["results"].stat().st_size <= MAX_RESULTS_BYTES
    html = paths["report"].read_text(encoding="utf-8")
    figures = [m for m in _URI.finditer(html) if m.group(1) == "png"]
    assert len(figures) >= 8
    assert sum(len(base64.b64decode(m.group(2))) for m in figures) <= MAX_FIGURE_BYTES


def _palette_image(figure: dict) -> Image.Image:
    data = base64.b64decode(figure["src"].split(",", 1)[1])
    return Image.open(io.BytesIO(data))


def test_figures_keep_every_model_colour_in_a_small_palette():
    """Twenty models as small markers: each keeps its exact colour."""
    models = [f"model {i}" for i in range(20)]
    colors = model_colors(models)
    rng = np.random.default_rng(0)
    scores = {
        m: [((0, f), float(rng.uniform(0.5, 0.9))) for f in range(5)] for m in models
    }
    image = _palette_image(fold_scores_figure(scores, colors, "macro-F1"))
    assert image.mode == "P" and len(image.getpalette()) // 3 <= PALETTE_COLOURS
    drawn = {tuple(c) for c in np.asarray(image.convert("RGB")).reshape(-1, 3).tolist()}
    for color in colors.values():
        assert tuple(round(v * 255) for v in color[:3]) in drawn


def test_learning_curves_name_series_and_folds_once(monkeypatch):
    """Colour: the series; line style: the fold, each fold its own (legend once)."""
    import featcls.report._figures as figures

    monkeypatch.setattr(figures, "_encode", lambda fig, alt: fig)
    histories = [
        (
            f"fold {f}",
            [
                {"epoch": e, "train_loss": 1 / (e + f), "val_f1": e / 10}
                for e in range(1, 6)
            ],
        )
        for f in range(5)
    ]
    losses, metrics = history_figure(histories, "cnn").axes
    legend = [t.get_text() for t in losses.get_legend().get_texts()]
    assert legend == ["train_loss"] + [f"fold {f}" for f in range(5)]
    assert [t.get_text() for t in metrics.get_legend().get_texts()] == ["val_f1"]
    styles = figures._FOLD_STYLES
    assert len({repr(style) for style in styles}) == len(styles) >= 5


def _explained_folds(n_folds: int, per_fold: int) -> list[dict]:
    return [
        {
            "repeat": 0,
            "fold": f,
            "history": [
                {"epoch": 1, "train_loss": 1.0},
                {"epoch": 2, "train_loss": 0.5},
            ],
            **{
                key: [
                    {
                        "index": per_fold * f + i,
                        "true": "cat",
                        "pred": "dog",
                        "image": png_uri(10 * f + i),
                    }
                    for i in range(per_fold)
                ]
                for key in ("saliency", "gradcam")
            },
        }
        for f in range(n_folds)
    ]


def test_extras_show_the_explanations_of_the_first_folds():
    result = make_result(cv=5, extras={"good": _explained_folds(5, 2)})
    html = render_report(result)
    page = Page(html)
    for key in ("saliency", "gradcam"):
        shown = [a for a in page.attributes("alt") if a.startswith(f"{key} ")]
        assert len(shown) == 2 * EXPLAINED_FOLDS
        assert (
            f"{key} (4 of 10 images: the first 2 of 5 folds; results.json holds "
            "them all)" in html
        )
    captions = re.findall(r"repeat 0, fold (\d)<br>", html)
    assert sorted(set(captions)) == ["0", "1"]


def test_extras_with_few_folds_show_every_image():
    html = render_report(make_result(cv=2, extras={"good": _explained_folds(2, 2)}))
    shown = [a for a in Page(html).attributes("alt") if a.startswith("saliency ")]
    assert len(shown) == 4 and "results.json holds them all" not in html
