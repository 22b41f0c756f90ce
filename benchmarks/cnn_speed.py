"""Training throughput of CNNClassifier against a straightforward PyTorch pipeline.

Both train the same network (LipNet, default ``lipnet`` architecture) with the same
batch size, number of epochs, optimiser and kinds of augmentation on the same PNG
files, measured in the same run:

* **baseline** — the textbook pipeline: a ``torch.utils.data.Dataset`` that reads and
  decodes every PNG from disk at every epoch, resizes it, augments it per sample in
  numpy (flip, 90° rotation, random resized crop, brightness/contrast, Gaussian
  noise), a ``DataLoader`` (``num_workers`` 0 and 2) and a training loop in the
  default (NCHW) memory format;
* **CNNClassifier** — decodes and resizes once into a uint8 tensor, augments whole
  batches with tensor operations on the device, channels-last, bfloat16 where the
  device computes it natively, glibc's heap set to reuse freed tensor memory
  (``reuse_freed_memory``, as the ``featcls`` command does), no
  validation split (``early_stopping=False``), report (saliency) included in the
  time.

* **skorch** (``--skorch``, on when skorch is installed) — skorch's
  ``NeuralNetClassifier`` on the same LipNet module, the images decoded and resized
  once into an in-memory float32 array (how a skorch user would feed it), the same
  batch size, optimiser (AdamW, lr 1e-3, weight decay 1e-4), loss and epochs, no
  validation split, float32, no augmentation (skorch has none built in);

Every run happens in a fresh process (``spawn``) that first warms up the kernels
for these shapes, so no run inherits another's memory or allocator state: in
particular the baseline runs with glibc's default heap settings, as a hand-written
training script would. One extra baseline row (``--heap-row``, on by default) gives
the baseline the heap settings CNNClassifier uses, to show how much of the ratio
they account for.

Images: a stratified subset of ELPV when ``elpv-dataset`` is installed, else
synthetic images written as 300×300 PNGs to a temporary folder. Each configuration
runs ``--repeats`` times, alternating, and the best run counts (the machine may be
shared). Prints images/s of each and the ratio, where the baseline's time goes and
how many page faults each run took, and the ratio within each repeat (ours against
the faster default-heap baseline of the same repeat) with their median, which is
steadier than the ratio of the best runs when the machine's speed drifts.

    python benchmarks/cnn_speed.py --n-images 512 --size 128 --epochs 5
"""

from __future__ import annotations

import argparse
import copy
import multiprocessing
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from featcls import load_builtin
from featcls.data import read_image, to_float
from featcls.models import CNNClassifier
from featcls.models._cnn_heap import reuse_freed_memory
from featcls.models._cnn_nets import build_network


def load_images(n: int, folder: Path) -> tuple[list[str], np.ndarray, str]:
    """Paths and labels of ``n`` PNG images (ELPV subset, else synthetic)."""
    rng = np.random.default_rng(0)
    try:
        data = load_builtin("elpv")
        name = "ELPV (defective vs functional)"
    except Exception:  # elpv-dataset not installed: synthetic PNGs
        data = load_builtin("synthetic", n_samples=n, image_size=300)
        paths = []
        for i, image in enumerate(data.X["image"]):
            paths.append(str(folder / f"{i:05d}.png"))
            cv2.imwrite(paths[-1], image)
        return paths, np.asarray(data.y), "synthetic 300×300 PNGs"
    y = np.asarray(data.y)
    picked = []
    for c in np.unique(y):  # stratified subset
        members = np.flatnonzero(y == c)
        share = round(n * len(members) / len(y))
        picked += rng.choice(members, size=share, replace=False).tolist()
    picked = sorted(picked)[:n]
    return [str(p) for p in data.X["image"].iloc[picked]], y[picked], name


def numpy_augment(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The per-sample CPU augmentation of the baseline (same kinds as ours)."""
    size = image.shape[0]
    if rng.random() < 0.5:
        image = image[:, ::-1]
    image = np.rot90(image, int(rng.integers(4)))
    side = rng.uniform(0.8, 1.0)
    ratio = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
    w = min(size, max(1, round(size * side * np.sqrt(ratio))))
    h = min(size, max(1, round(size * side / np.sqrt(ratio))))
    top, left = rng.integers(size - h + 1), rng.integers(size - w + 1)
    crop = np.ascontiguousarray(image[top : top + h, left : left + w])
    image = cv2.resize(crop, (size, size), interpolation=cv2.INTER_LINEAR)
    mean = image.mean()
    image = (image - mean) * rng.uniform(0.8, 1.2) + mean + rng.uniform(-0.1, 0.1)
    image = image + rng.normal(0, rng.uniform(0, 0.03), image.shape)
    return image.astype(np.float32)


class DiskDataset(Dataset):
    """Reads, decodes, resizes and augments one PNG per item, every epoch."""

    def __init__(self, paths, labels, size, mean, std, seed=0):
        self.paths, self.labels, self.size = paths, labels, size
        self.mean, self.std = mean, std
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i):
        image = to_float(read_image(self.paths[i]))
        if image.ndim == 3:
            image = image.mean(axis=2)
        image = cv2.resize(image, (self.size, self.size), interpolation=cv2.INTER_AREA)
        image = (numpy_augment(image, self.rng) - self.mean) / self.std
        return torch.from_numpy(image[None]), int(self.labels[i])


def page_faults() -> int:
    """Minor page faults of this process so far (0 where ``resource`` is missing)."""
    try:
        import resource
    except ImportError:  # not a Unix system
        return 0
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _warm_up_baseline(net, paths, y_idx, args, device) -> None:
    """One untimed baseline epoch on a few images (kernels for these shapes)."""
    small = argparse.Namespace(**{**vars(args), "epochs": 1})
    run_baseline(net, paths[:64], y_idx[:64], small, 0, device)


def run_baseline(net, paths, y_idx, args, workers, device) -> dict:
    """The textbook loop; returns throughput and the time spent waiting for data."""
    start = time.perf_counter()
    dataset = DiskDataset(paths, y_idx, args.size, 0.5, 0.25)
    loader = DataLoader(
        dataset,
        batch_size=args.batch_size,
        shuffle=True,
        num_workers=workers,
        persistent_workers=workers > 0,
        generator=torch.Generator().manual_seed(0),
    )
    net = copy.deepcopy(net).to(device, memory_format=torch.contiguous_format)
    net.train()
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-4)
    loss_fn = torch.nn.CrossEntropyLoss()
    waiting = 0.0
    for _ in range(args.epochs):
        tick = time.perf_counter()
        for x, target in loader:
            waiting += time.perf_counter() - tick
            x, target = x.to(device), target.to(device)
            optimizer.zero_grad(set_to_none=True)
            loss_fn(net(x), target).backward()
            optimizer.step()
            tick = time.perf_counter()
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {
        "images_per_s": len(paths) * args.epochs / seconds,
        "seconds": seconds,
        "data_share": waiting / seconds,
    }


def decode_all(paths, size: int) -> np.ndarray:
    """Every image decoded, grey, resized and standardised once: ``(N, 1, S, S)``."""
    out = np.empty((len(paths), 1, size, size), np.float32)
    for i, path in enumerate(paths):
        image = to_float(read_image(path))
        if image.ndim == 3:
            image = image.mean(axis=2)
        image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
        out[i, 0] = (image - 0.5) / 0.25
    return out


def run_skorch(net, paths, y_idx, args, device) -> dict:
    """skorch's NeuralNetClassifier on pre-decoded float32 images."""
    from skorch import NeuralNetClassifier

    start = time.perf_counter()
    X = decode_all(paths, args.size)
    torch.manual_seed(0)
    clf = NeuralNetClassifier(
        copy.deepcopy(net),
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.AdamW,
        lr=1e-3,
        optimizer__weight_decay=1e-4,
        batch_size=args.batch_size,
        max_epochs=args.epochs,
        train_split=None,
        iterator_train__shuffle=True,
        classes=np.unique(y_idx),
        device=device.type,
        verbose=0,
    )
    clf.fit(X, y_idx.astype(np.int64))
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {
        "images_per_s": len(paths) * args.epochs / seconds,
        "seconds": seconds,
        "data_share": float("nan"),
    }


def _fit_ours(paths, y, args, precision, epochs):
    clf = CNNClassifier(
        precision=precision,
        input_size=args.size,
        max_epochs=epochs,
        batch_size=args.batch_size,
        early_stopping=False,
        class_weight=None,
        n_threads=args.threads,
    )
    start = time.perf_counter()
    clf.fit(paths, y)
    return clf, time.perf_counter() - start


def measure(kind: str, paths, y, args, workers: int = 0) -> dict:
    """One timed run in this (fresh) process, after an untimed warm-up.

    ``kind``: ``"baseline"``, ``"baseline-heap"`` (the baseline after the heap
    settings CNNClassifier makes), ``"ours"`` or ``"ours-float32"``.
    """
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if kind == "skorch":
        y_idx = np.unique(y, return_inverse=True)[1]
        channels = 1
        net = build_network(
            "lipnet",
            channels,
            int(y_idx.max()) + 1,
            generator=torch.Generator().manual_seed(0),
        )
        small = argparse.Namespace(**{**vars(args), "epochs": 1})
        run_skorch(net, paths[:64], y_idx[:64], small, device)  # warm-up
        faults = page_faults()
        out = run_skorch(net, paths, y_idx, args, device)
    elif kind.startswith("baseline"):
        if kind == "baseline-heap":
            reuse_freed_memory()
        y_idx = np.unique(y, return_inverse=True)[1]
        channels = 1 if read_image(paths[0]).ndim == 2 else 3
        net = build_network(
            "lipnet",
            channels,
            int(y_idx.max()) + 1,
            generator=torch.Generator().manual_seed(0),
        )
        _warm_up_baseline(net, paths, y_idx, args, device)
        faults = page_faults()
        out = run_baseline(net, paths, y_idx, args, workers, device)
    else:
        precision = "float32" if kind == "ours-float32" else "auto"
        reuse_freed_memory()  # as the featcls command runs it (opt-in in the API)
        _fit_ours(paths[:64], y[:64], args, precision, 1)  # warm-up
        faults = page_faults()
        clf, seconds = _fit_ours(paths, y, args, precision, args.epochs)
        report = clf.featcls_report_
        out = {
            "images_per_s": len(paths) * args.epochs / seconds,
            "seconds": seconds,
            "loop_images_per_s": report["train_images_per_s"],
            "precision": report["precision"],
        }
    out["page_faults"] = page_faults() - faults
    return out


def in_fresh_process(*arguments, **options) -> dict:
    """:func:`measure` in a new interpreter (nothing inherited from earlier runs)."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        return pool.submit(measure, *arguments, **options).result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-images", type=int, default=512)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads (default: torch's own setting)",
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--heap-row",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run the baseline (num_workers=0) with CNNClassifier's heap settings",
    )
    parser.add_argument(
        "--skorch",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also run skorch's NeuralNetClassifier (default: when it imports)",
    )
    args = parser.parse_args()
    if args.skorch is None:
        try:
            import skorch  # noqa: F401
        except ImportError:
            args.skorch = False
        else:
            args.skorch = True
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        paths, y, source = load_images(args.n_images, Path(tmp))
        what = (
            torch.cuda.get_device_name(0)
            if device.type == "cuda"
            else f"CPU, {torch.get_num_threads()} torch threads"
        )
        print(
            f"{len(paths)} images from {source}; {args.size}×{args.size}, batch "
            f"{args.batch_size}, {args.epochs} epochs, LipNet; device: {what}; "
            "every run in a fresh process",
            flush=True,
        )
        runs = [
            (f"baseline, DataLoader num_workers={w}", "baseline", w)
            for w in args.workers
        ]
        if args.heap_row:
            heap = f"baseline, num_workers={args.workers[0]}, CNNClassifier's heap"
            runs.append((heap, "baseline-heap", args.workers[0]))
        if args.skorch:
            runs.append(("skorch NeuralNetClassifier, float32", "skorch", 0))
        runs += [
            ("CNNClassifier", "ours", 0),
            ("CNNClassifier, float32", "ours-float32", 0),
        ]
        results: dict[str, list[dict]] = {}
        for _ in range(args.repeats):
            for key, kind, workers in runs:
                out = in_fresh_process(kind, paths, y, args, workers)
                if (
                    kind == "ours-float32"
                    and results["CNNClassifier"][-1]["precision"] == "float32"
                ):
                    continue  # the default already computes in float32 here
                results.setdefault(key, []).append(out)
    report(results, args)


def report(results: dict[str, list[dict]], args) -> None:
    """Print the best run of each configuration, the ratios and every run."""
    best = {k: max(v, key=lambda r: r["images_per_s"]) for k, v in results.items()}
    ours = best.pop("CNNClassifier")
    ours_fp32 = best.pop("CNNClassifier, float32", None)
    skorch_key = "skorch NeuralNetClassifier, float32"
    skorch = best.pop(skorch_key, None)
    if skorch is not None:
        print(
            f"{skorch_key + ', fit incl. decoding':<48s} "
            f"{skorch['images_per_s']:7.1f} images/s  "
            f"({skorch['page_faults']:,} page faults)"
        )
    for key, r in best.items():
        print(
            f"{key:<48s} {r['images_per_s']:7.1f} images/s  (waiting for data "
            f"{100 * r['data_share']:.0f} % of the time; "
            f"{r['page_faults']:,} page faults)"
        )
    baselines = [k for k in best if "heap" not in k]
    top = max((best[k] for k in baselines), key=lambda r: r["images_per_s"])
    first = best[baselines[0]]
    rows = [(f"CNNClassifier (default: {ours['precision']})", ours)]
    if ours_fp32 is not None:
        rows.append(("CNNClassifier (precision='float32')", ours_fp32))
    for label, r in rows:
        line = (
            f"{label + ', fit incl. decoding':<48s} {r['images_per_s']:7.1f} images/s"
            f"  (training loop alone {r['loop_images_per_s']:.1f} images/s; "
            f"{r['page_faults']:,} page faults); ratio vs the fastest baseline "
            f"{r['images_per_s'] / top['images_per_s']:.2f}×, vs num_workers="
            f"{args.workers[0]} {r['images_per_s'] / first['images_per_s']:.2f}×"
        )
        for key in (k for k in best if "heap" in k):
            ratio = r["images_per_s"] / best[key]["images_per_s"]
            line += f", vs the baseline with its heap {ratio:.2f}×"
        if skorch is not None:
            line += f", vs skorch {r['images_per_s'] / skorch['images_per_s']:.2f}×"
        print(line)
    paired = [
        results["CNNClassifier"][i]["images_per_s"]
        / max(results[k][i]["images_per_s"] for k in baselines)
        for i in range(args.repeats)
    ]
    print(
        "ratio within each repeat:",
        [round(r, 2) for r in paired],
        f"median {np.median(paired):.2f}×",
    )
    if skorch is not None:
        against = [
            results["CNNClassifier"][i]["images_per_s"]
            / results[skorch_key][i]["images_per_s"]
            for i in range(args.repeats)
        ]
        print(
            "ratio to skorch within each repeat:",
            [round(r, 2) for r in against],
            f"median {np.median(against):.2f}×",
        )
    print(
        "all runs (images/s):",
        {k: [round(r["images_per_s"], 1) for r in v] for k, v in results.items()},
    )


if __name__ == "__main__":
    main()
