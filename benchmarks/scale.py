"""Peak memory and speed of ``featcls extract`` or ``compare`` at two data set sizes.

Generates ``N`` synthetic 64×64 grey PNG "cells" (an ellipse or a rounded square on
a noisy background, two class folders) into a temporary folder, then runs the same
``featcls extract --data FOLDER --out OUT.parquet`` command as a subprocess for the
small and the large size, locally (``--n-jobs``, joblib processes) and on a 2-worker
Dask ``LocalCluster`` (``--scheduler local:2``). For every run it prints the images
per second (wall time of the whole command: start-up, loading and validating the
folder, hashing the files, extraction, writing) and two peak resident set sizes:

* **own** — the featcls process alone, its RSS sampled with psutil every 50 ms;
* **main** — the kernel's ``ru_maxrss`` of that child (``os.wait4``), exact: the
  largest peak of the featcls process *and of each child process it waited for*
  (its joblib workers, the workers of the ``local:N`` cluster it starts), so the
  largest single process of the run;
* **tree** — the largest sum, over the command and all its descendants (joblib's
  worker processes, the cluster's nannies and workers), of their RSS, sampled with
  psutil every 50 ms. Shared pages (libraries, a memory-mapped feature matrix)
  count once per process, so this over-states the tree's real footprint; a short
  peak between two samples is missed.

and, per mode, the ratio large/small and the growth in KB per extra image
(``(peak_large - peak_small) / (N_large - N_small)``). The targets: a ratio of at
most 1.5 and at most 0.5 KB per extra image, from 10,000 to 100,000 images. Memory
numbers are the kernel's and noisy only by a few MB; the images per second
depend on what else runs on the cores (the load average is printed).

With ``--command compare`` the command is ``featcls compare --data FOLDER --out
DIR --models logreg,xgboost`` instead (5-fold cross-validation of the models that
train on 80,000 rows in minutes, the report and the results JSON included;
``--models`` changes them): the same sizes, modes and columns.

    python benchmarks/scale.py                 # 10,000 and 100,000 images
    python benchmarks/scale.py --quick         # 2,000 and 20,000
    python benchmarks/scale.py --sizes 5000 50000 --modes local
    python benchmarks/scale.py --command compare

Needs ``psutil`` and, for the cluster, ``dask[distributed]`` (``pip install -e
".[dask]"``).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import psutil

SIDE = 64
MODES = {"local": [], "local:2": ["--scheduler", "local:2"]}


def make_cell(rng: np.random.Generator, kind: int) -> np.ndarray:
    """One 64×64 uint8 image: a bright ellipse (0) or rounded square (1) on noise."""
    image = rng.normal(40, 8, (SIDE, SIDE)).clip(0, 255).astype(np.uint8)
    centre = (int(rng.integers(26, 38)), int(rng.integers(26, 38)))
    axes = (int(rng.integers(10, 18)), int(rng.integers(8, 16)))
    level = int(rng.integers(120, 220))
    if kind == 0:
        angle = float(rng.uniform(0, 180))
        cv2.ellipse(image, centre, axes, angle, 0, 360, level, -1)
    else:
        x0, y0 = centre[0] - axes[0], centre[1] - axes[1]
        cv2.rectangle(
            image, (x0, y0), (centre[0] + axes[0], centre[1] + axes[1]), level, -1
        )
        image = cv2.GaussianBlur(image, (5, 5), 1.5)
    noise = rng.normal(0, 6, image.shape)
    return (image + noise).clip(0, 255).astype(np.uint8)


def generate(folder: Path, n: int, seed: int = 0) -> float:
    """Write ``n`` images into ``folder/<class>/`` and return the seconds it took."""
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    names = ("ellipse", "square")
    for name in names:
        (folder / name).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        kind = i % 2
        path = folder / names[kind] / f"cell_{i:06d}.png"
        if not cv2.imwrite(str(path), make_cell(rng, kind)):
            raise OSError(f"Cannot write {path}")
    return time.perf_counter() - start


def _tree_rss(proc: psutil.Process) -> int:
    """RSS of ``proc`` and all its descendants, in bytes (processes that vanish: 0)."""
    total = 0
    try:
        members = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            pass
    return total


def run(command: list[str], cwd: Path) -> dict:
    """Run ``command``; its wall time, exact peak RSS and sampled tree peak RSS."""
    start = time.perf_counter()
    child = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    proc = psutil.Process(child.pid)
    tree_peak = own_peak = 0
    while True:
        tree_peak = max(tree_peak, _tree_rss(proc))
        try:
            own_peak = max(own_peak, proc.memory_info().rss)
        except psutil.Error:
            pass
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    stderr = child.stderr.read().decode()
    child.stderr.close()
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{stderr[-3000:]}")
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    scale = 1 if sys.platform == "darwin" else 1024
    return {
        "seconds": seconds,
        "own": own_peak,
        "main": usage.ru_maxrss * scale,
        "tree": max(tree_peak, usage.ru_maxrss * scale),
        "stderr": stderr,
    }


def _load() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "load average unknown"
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=(10_000, 100_000))
    parser.add_argument("--quick", action="store_true", help="2,000 and 20,000 images")
    parser.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES))
    parser.add_argument("--n-jobs", type=int, default=2, help="for the local mode")
    parser.add_argument(
        "--features", default=None, help="--features of featcls extract (default: its)"
    )
    parser.add_argument("--keep", type=Path, default=None, help="folder to keep")
    parser.add_argument("--command", choices=["extract", "compare"], default="extract")
    parser.add_argument(
        "--models", default="logreg,xgboost", help="--models of featcls compare"
    )
    args = parser.parse_args()
    small, large = (2_000, 20_000) if args.quick else sorted(args.sizes)
    if large <= small:
        parser.error("--sizes: give two different sizes")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python "
        f"{platform.python_version()}, {_load()}"
    )
    root = Path(args.keep or tempfile.mkdtemp(prefix="featcls-scale-"))
    try:
        folders = {}
        for n in (small, large):
            folders[n] = root / f"cells_{n}"
            if not folders[n].is_dir():
                took = generate(folders[n], n)
                print(f"generated {n} images of {SIDE}×{SIDE} in {took:.1f} s")
        rows = []
        for mode in args.modes:
            for n in (small, large):
                tag = f"{n}_{mode.replace(':', '_')}"
                if args.command == "extract":
                    out = root / f"features_{tag}.parquet"
                    specific = []
                else:
                    out = root / f"compare_{tag}"
                    specific = ["--models", args.models]
                command = [
                    sys.executable,
                    "-m",
                    "featcls.cli",
                    args.command,
                    "--data",
                    str(folders[n]),
                    "--out",
                    str(out),
                    "--no-progress",
                    *specific,
                    *(["--features", args.features] if args.features else []),
                    *(MODES[mode] or ["--n-jobs", str(args.n_jobs)]),
                ]
                if n == small:
                    print("command:", " ".join(command[2:]).replace(str(root), "$TMP"))
                result = run(command, root)
                if out.is_dir():
                    shutil.rmtree(out)
                else:
                    out.unlink()
                rows.append((mode, n, result))
                print(
                    f"  {mode:>8} {n:>7} images: {n / result['seconds']:7.0f} img/s, "
                    f"peak RSS own {result['own'] / 2**20:6.0f} MB, "
                    f"main {result['main'] / 2**20:6.0f} MB, "
                    f"tree {result['tree'] / 2**20:6.0f} MB",
                    flush=True,
                )
        print(f"\n{'mode':>8} | {'peak':>4} | {small:>8} | {large:>8} | ratio | KB/img")
        for mode in args.modes:
            res = {n: r for m, n, r in rows if m == mode}
            for what in ("own", "main", "tree"):
                a, b = res[small][what], res[large][what]
                print(
                    f"{mode:>8} | {what:>4} | {a / 2**20:>5.0f} MB | "
                    f"{b / 2**20:>5.0f} MB | {b / a:>5.2f} | "
                    f"{(b - a) / (large - small) / 1024:>6.2f}"
                )
        print(f"\nat the end: {_load()}")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
