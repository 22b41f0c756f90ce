"""Shrink committed benchmark reports: recompress and sample their images, re-render.

    python experiments/elpv/compact_reports.py          # every results.json in reports/
    python experiments/elpv/compact_reports.py reports/elpv/defective/results.json
    python experiments/elpv/compact_reports.py --check  # say what it would do only

Reports written before featcls stored its images compactly hold 64-pixel PNG
thumbnails and, per CNN and fold, PNG saliency and Grad-CAM overlays of two images per
class (the Grad-CAM overlay twice). For each ``results.json`` this script changes the
images only, the way a new run stores them:

1. ``dataset["thumbnails"]`` (the examples and most confident errors): each PNG is
   re-encoded by ``featcls.evaluation._compare.thumbnail_uri`` (WebP, 64 px); the same
   samples keep a thumbnail.
2. ``extras[<model>][<fold>]["saliency" | "gradcam"]``: the first
   ``PER_CLASS_EXPLAINED`` image(s) per true class of each fold are kept (the number
   a new run explains), of the first ``--folds`` folds that have any (default: the
   ones the report shows, ``featcls.report._explain.EXPLAINED_FOLDS``), each PNG
   re-encoded by ``featcls.models._cnn_saliency.image_uri`` (WebP, 64 px); the copy of
   the Grad-CAM overlay inside each saliency item is dropped (``gradcam`` holds it).

Nothing else changes: the script checks that the file without its images is equal
before and after (every prediction, probability, score, importance and table), and
that ``fold_scores.csv`` and ``leaderboard.csv`` computed from the new file are the
same bytes as from the old one, before it replaces ``results.json`` and re-renders
``report.html`` next to it (as ``featcls report results.json`` does, with the featcls
this script imports). The CSVs and summaries are not rewritten. Images already stored
as WebP or JPEG are left as they are, so a second run changes nothing (``--render``
still re-renders the HTML, e.g. after a change of the report).
"""

from __future__ import annotations

import argparse
import base64
import copy
import io
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from featcls.evaluation import ComparisonResult
from featcls.evaluation._compare import thumbnail_uri
from featcls.models._cnn_report import PER_CLASS_EXPLAINED
from featcls.models._cnn_saliency import image_uri
from featcls.report import render_report
from featcls.report._explain import EXPLAINED_FOLDS

ROOT = Path(__file__).resolve().parents[2]
#: Image lists of a CNN's extras, per fold.
IMAGE_LISTS = ("saliency", "gradcam")
_PNG = "data:image/png;base64,"


def decode_png(uri: str) -> np.ndarray | None:
    """The uint8 grey or BGR image of a PNG data URI; None for anything else."""
    if not isinstance(uri, str) or not uri.startswith(_PNG):
        return None
    data = np.frombuffer(base64.b64decode(uri[len(_PNG) :]), np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if image is None or image.dtype != np.uint8:
        return None
    if image.ndim == 3 and image.shape[2] == 4:  # no alpha in featcls's images
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


def recompress(uri, encode: Callable[[np.ndarray], str]):
    """``uri`` re-encoded with ``encode`` if it is a PNG, else unchanged."""
    image = decode_png(uri)
    return uri if image is None else encode(image)


def _sample_fold(fold: dict) -> None:
    """Keep the first ``PER_CLASS_EXPLAINED`` item(s) per true class, recompressed."""
    for key in IMAGE_LISTS:
        items = fold.get(key)
        if not isinstance(items, list):
            continue
        seen: dict[str, int] = {}
        kept = []
        for item in items:
            label = str(item.get("true", ""))
            if seen.get(label, 0) >= PER_CLASS_EXPLAINED:
                continue
            seen[label] = seen.get(label, 0) + 1
            item = dict(item)
            if key == "saliency":
                item.pop("gradcam", None)
            for name in ("image", "input"):
                if name in item:
                    item[name] = recompress(item[name], image_uri)
            kept.append(item)
        fold[key] = kept


def compact(data: dict, folds: int = EXPLAINED_FOLDS) -> dict:
    """A copy of a results.json dict with its images recompressed and sampled."""
    data = copy.deepcopy(data)
    thumbs = (data.get("dataset") or {}).get("thumbnails")
    if isinstance(thumbs, dict):
        data["dataset"]["thumbnails"] = {
            k: recompress(v, thumbnail_uri) for k, v in thumbs.items()
        }
    for entries in (data.get("extras") or {}).values():
        if not isinstance(entries, list):
            continue
        with_images = 0
        for fold in entries:
            if not isinstance(fold, dict):
                continue
            if not any(isinstance(fold.get(k), list) and fold[k] for k in IMAGE_LISTS):
                continue
            if with_images < folds:
                _sample_fold(fold)
            else:
                for key in IMAGE_LISTS:
                    if key in fold:
                        fold[key] = []
            with_images += 1
    return data


def without_images(data: dict) -> dict:
    """The dict minus what :func:`compact` may change: thumbnails, image lists."""
    data = copy.deepcopy(data)
    (data.get("dataset") or {}).pop("thumbnails", None)
    for entries in (data.get("extras") or {}).values():
        for fold in entries if isinstance(entries, list) else []:
            for key in IMAGE_LISTS:
                if isinstance(fold, dict):
                    fold.pop(key, None)
    return data


def _csvs(data: dict) -> tuple[str, str]:
    """fold_scores.csv and leaderboard.csv as ``write_outputs`` writes them."""
    result = ComparisonResult.from_dict(data)
    return result.to_frame().to_csv(index=False), result.leaderboard().to_csv()


def _check(old: dict, new: dict) -> list[str]:
    """What differs between ``old`` and ``new`` beyond the images (empty: nothing),
    and notes on the committed CSVs."""
    problems = []
    if without_images(old) != without_images(new):
        problems.append("the result changed beyond its images")
    old_thumbs = set((old.get("dataset") or {}).get("thumbnails") or {})
    new_thumbs = set((new.get("dataset") or {}).get("thumbnails") or {})
    if old_thumbs != new_thumbs:
        problems.append("the samples with a thumbnail changed")
    if _csvs(old) != _csvs(new):
        problems.append("fold_scores.csv or leaderboard.csv would change")
    return problems


def _committed_csvs_match(data: dict, folder: Path) -> str:
    """How the committed CSVs compare with the ones computed from ``data``: the
    same bytes, or the same numbers in every committed column (a newer featcls may
    add columns, such as ``ci_clipped``)."""
    out = []
    names = ("fold_scores.csv", "leaderboard.csv")
    for name, text in zip(names, _csvs(data), strict=True):
        path = folder / name
        if not path.exists():
            continue
        if path.read_text() == text:
            out.append(f"{name} identical")
            continue
        committed = pd.read_csv(path)
        computed = pd.read_csv(io.StringIO(text))
        added = [c for c in computed.columns if c not in committed.columns]
        same = set(committed.columns) <= set(computed.columns) and computed[
            list(committed.columns)
        ].equals(committed)
        out.append(
            f"{name} same numbers (featcls now adds {', '.join(added)})"
            if same
            else f"{name} DIFFERS"
        )
    return ", ".join(out)


def _size(folder: Path) -> int:
    """Bytes of the report files directly in ``folder`` (not its sub-reports)."""
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def _write_json(path: Path, data: dict) -> None:
    """As ``ComparisonResult.to_json`` writes it, replaced atomically."""
    part = path.with_name(f".{path.name}.part")
    part.write_text(json.dumps(data, indent=1))
    os.replace(part, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[1:]),
    )
    parser.add_argument(
        "results",
        nargs="*",
        type=Path,
        help="results.json files (default: every one under reports/)",
    )
    parser.add_argument(
        "--folds",
        type=int,
        default=EXPLAINED_FOLDS,
        help="folds per CNN that keep explanation images (default "
        f"{EXPLAINED_FOLDS}: the ones the report shows)",
    )
    parser.add_argument(
        "--check", action="store_true", help="print what would change, write nothing"
    )
    parser.add_argument(
        "--render",
        action="store_true",
        help="re-render report.html even where results.json is already compact",
    )
    args = parser.parse_args(argv)
    paths = args.results or sorted((ROOT / "reports").rglob("results.json"))
    failed = False
    for path in paths:
        folder = path.parent
        old = json.loads(path.read_text())
        new = compact(old, folds=args.folds)
        problems = _check(old, new)
        if problems:
            print(f"{path}: NOT written: {'; '.join(problems)}", file=sys.stderr)
            failed = True
            continue
        before = _size(folder)
        if new == old and not args.render:
            print(f"{path}: already compact ({before / 1e6:.2f} MB)")
            continue
        if args.check:
            print(f"{path}: would shrink its images ({before / 1e6:.2f} MB now)")
            continue
        if new != old:
            _write_json(path, new)
        # what `featcls report results.json` does, with this featcls
        render_report(ComparisonResult.from_json(path), folder / "report.html")
        print(
            f"{path.parent}: {before / 1e6:.2f} MB -> {_size(folder) / 1e6:.2f} MB "
            f"({_committed_csvs_match(new, folder)})"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
