"""Where a CNNClassifier training step's time goes: bare steps, variant by variant.

The step of ``CNNClassifier`` without the estimator around it — a uint8 batch
gathered from memory, augmented on the device (``random_augment``), normalised,
LipNet forward and backward in bfloat16 where the CPU computes it natively, AdamW
(``foreach``) and the weight average — on random 128×128 images, timed over
``--steps`` steps after a warm-up. Each variant runs in a fresh process (the heap
settings cannot be undone within one), alternating over ``--rounds`` rounds:

* ``glibc defaults``: the heap as glibc leaves it;
* ``heap``: after :func:`featcls.models._cnn_heap.reuse_freed_memory`, as in
  ``CNNClassifier.fit``;
* ``heap, no augmentation`` and ``heap, fused AdamW``: what those two cost;
* ``float32 NCHW``: the same step with the network computed as the
  straightforward baseline of ``cnn_speed.py`` computes it (float32, default
  memory format; heap as above);
* ``heap, patchify stem`` and ``float32 NCHW, patchify stem``: LipNet with a 4×4
  stride-4 convolution (32 channels) + batch norm + ReLU in place of its first two
  conv-BN-ReLU layers, in both ways of computing — what a network with less work at
  64×64 would give each pipeline.

Prints milliseconds per step, images/s and minor page faults (the whole process,
imports included) of every run.

    python benchmarks/cnn_step.py --rounds 3
    python benchmarks/cnn_step.py --rounds 3 --variants heap "float32 NCHW"
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import time
from concurrent.futures import ProcessPoolExecutor

VARIANTS = (
    "glibc defaults",
    "heap",
    "heap, no augmentation",
    "heap, fused AdamW",
    "float32 NCHW",
    "heap, patchify stem",
    "float32 NCHW, patchify stem",
)


def patchify_stem(net):
    """``net`` (LipNet) with a 4×4 stride-4 conv-BN-ReLU in place of its first two
    conv-BN-ReLU layers (same 32 channels at a quarter of the input side)."""
    from torch import nn

    c = net.trunk[0].in_channels
    stem = [
        nn.Conv2d(c, 32, 4, stride=4, bias=False),
        nn.BatchNorm2d(32),
        nn.ReLU(True),
    ]
    net.trunk = nn.Sequential(*stem, *list(net.trunk)[6:])
    return net


def run(variant: str, args: argparse.Namespace) -> dict:
    """Time ``args.steps`` bare training steps in this (fresh) process."""
    from featcls.models._cnn_heap import reuse_freed_memory

    if variant != "glibc defaults":
        reuse_freed_memory()
    import torch

    from featcls.models import random_augment
    from featcls.models._cnn_device import native_bfloat16
    from featcls.models._cnn_nets import build_network

    cpu = torch.device("cpu")
    generator = torch.Generator().manual_seed(0)
    float32_nchw = variant.startswith("float32 NCHW")
    layout = torch.contiguous_format if float32_nchw else torch.channels_last
    net = build_network("lipnet", 1, 2)
    if "patchify" in variant:
        net = patchify_stem(net)
    net = net.to(memory_format=layout)
    net.train()
    images = torch.randint(
        0, 256, (16 * args.batch_size, 1, args.size, args.size), dtype=torch.uint8
    )
    labels = torch.randint(0, 2, (len(images),), generator=generator)
    optimizer = torch.optim.AdamW(
        net.parameters(),
        lr=1e-3,
        weight_decay=1e-4,
        **({"fused": True} if variant == "heap, fused AdamW" else {"foreach": True}),
    )
    live = [t for t in net.state_dict().values() if t.is_floating_point()]
    average = [t.detach().clone() for t in live]
    bf16 = native_bfloat16(cpu) and not float32_nchw

    def step(i: int) -> None:
        start = (i * args.batch_size) % (len(images) - args.batch_size)
        idx = torch.arange(start, start + args.batch_size)
        x = images[idx].float().div_(255.0)
        if variant != "heap, no augmentation":
            x = random_augment(x, generator=generator)
        x = x.sub_(0.5).div_(0.25).contiguous(memory_format=layout)
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = net(x)
        torch.nn.functional.cross_entropy(logits.float(), labels[idx]).backward()
        optimizer.step()
        torch._foreach_lerp_(average, live, 0.01)

    for i in range(10):
        step(i)
    begin = time.perf_counter()
    for i in range(args.steps):
        step(i)
    seconds = time.perf_counter() - begin
    return {
        "ms_per_step": 1e3 * seconds / args.steps,
        "images_per_s": args.steps * args.batch_size / seconds,
        "page_faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=80)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--variants",
        nargs="+",
        choices=VARIANTS,
        default=list(VARIANTS),
        metavar="VARIANT",
        help="variants to run, quoted (default: all): " + "; ".join(VARIANTS),
    )
    args = parser.parse_args()
    spawn = multiprocessing.get_context("spawn")
    results: dict[str, list[dict]] = {v: [] for v in args.variants}
    for _ in range(args.rounds):
        for variant in args.variants:
            with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
                out = pool.submit(run, variant, args).result()
            results[variant].append(out)
            print(
                f"{variant:<28s} {out['ms_per_step']:6.1f} ms/step "
                f"{out['images_per_s']:6.0f} images/s "
                f"{out['page_faults']:>9,} page faults",
                flush=True,
            )
    print(f"{args.steps} steps of {args.batch_size} images at {args.size}×{args.size}:")
    for variant, runs in results.items():
        ms = sorted(r["ms_per_step"] for r in runs)
        faults = sorted(r["page_faults"] for r in runs)
        print(
            f"  {variant:<28s} {ms[0]:.1f}–{ms[-1]:.1f} ms/step, "
            f"{faults[0]:,}–{faults[-1]:,} page faults"
        )


if __name__ == "__main__":
    main()
