"""Initialise a network from a weights file: read safely, match names, report.

A weights file is a state dict saved with ``torch.save`` (read back with
``torch.load(weights_only=True)``, which rebuilds tensors and plain containers
only, so nothing in the file runs) or a ``.safetensors`` file. Checkpoints that
wrap the state dict (``{"state_dict": ...}``, ``{"model": ...}``, a featcls model
file) and names with a wrapper's prefix (``module.`` of DataParallel, ``model.``,
``backbone.`` ...) are understood.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from featcls._nets._channels import adapt_kernels

__all__ = ["file_sha256", "load_weights", "read_state_dict", "weights_message"]

#: Keys under which checkpoints keep their state dict, tried in this order.
_WRAPPERS = ("state_dict", "model_state_dict", "model", "module", "net", "network")
#: Name prefixes that wrappers add (DataParallel, Lightning, torch.compile, SSL).
_PREFIXES = ("module.", "model.", "net.", "_orig_mod.", "backbone.", "encoder.")
#: Names shown per list in the warning.
_SHOWN = 5


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, as 64 hex digits."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read(path: Path):
    if path.suffix == ".safetensors":
        try:
            from safetensors.torch import load_file
        except ImportError as exc:
            raise ImportError(
                f"Reading '{path}' needs the safetensors package; install it with: "
                "pip install 'featcls[cnn]' (or pip install safetensors)."
            ) from exc
        try:
            return load_file(str(path), device="cpu")
        except Exception as exc:
            raise ValueError(
                f"Cannot read weights file '{path}': not a safetensors file ({exc})."
            ) from exc
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        text = str(exc).strip()
        first = text.splitlines()[0] if text else type(exc).__name__
        raise ValueError(
            f"Cannot load weights file '{path}' safely: torch.load(weights_only=True) "
            f"refused it ({first}). featcls never runs code from a weights file; "
            "save plain tensors, torch.save(model.state_dict(), path), or a "
            ".safetensors file."
        ) from exc


def _unwrap(content):
    """The state dict inside a checkpoint (at most three wrappers deep)."""
    for _ in range(3):
        if not isinstance(content, Mapping):
            return None
        if content and all(torch.is_tensor(v) for v in content.values()):
            return content
        inner = next(
            (content[k] for k in _WRAPPERS if isinstance(content.get(k), Mapping)),
            None,
        )
        if inner is None:
            break
        content = inner
    if not isinstance(content, Mapping):
        return None
    tensors = {k: v for k, v in content.items() if torch.is_tensor(v)}
    return tensors or None


def read_state_dict(path: str | Path) -> dict:
    """The ``{name: tensor}`` state dict of a weights file, read safely.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If torch refuses the file as weights-only data (it would need to run code),
        or it holds no tensors.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No weights file at '{path}'.")
    state = _unwrap(_read(path))
    if not state:
        raise ValueError(
            f"Weights file '{path}' holds no state dict (a mapping of names to "
            "tensors, possibly under 'state_dict' or 'model')."
        )
    return {str(k): v for k, v in state.items()}


def _renamed(names: list[str], targets: set[str]) -> dict[str, str]:
    """File name → network name, stripping the prefixes that match the most names."""
    mapping = {n: n for n in names}
    for _ in range(3):
        score = sum(v in targets for v in mapping.values())
        heads = Counter(v.split(".", 1)[0] + "." for v in mapping.values() if "." in v)
        candidates = [*_PREFIXES, *(p for p, _ in heads.most_common(1))]
        best, best_score = None, score
        for prefix in candidates:
            trial = {
                k: v[len(prefix) :] if v.startswith(prefix) else v
                for k, v in mapping.items()
            }
            trial_score = sum(v in targets for v in trial.values())
            if trial_score > best_score:
                best, best_score = trial, trial_score
        if best is None:
            break
        mapping = best
    return mapping


def load_weights(
    net: nn.Module,
    path: str | Path,
    *,
    head: str | None = None,
    first_conv: str | None = None,
) -> dict:
    """Copy the tensors of the weights file ``path`` into ``net``, where they fit.

    File names are matched to the network's state-dict names (after stripping the
    wrapper prefixes that match the most names). A tensor of another shape is
    skipped, except the first convolution's kernels (``first_conv``, a layer name),
    which are refitted to the network's input channels
    (:func:`~featcls._nets._channels.adapt_kernels`). The tensors of the
    classifier layer ``head`` are reported apart: that layer is replaced anyway
    when it does not fit the classes.

    Returns
    -------
    dict
        Plain data: ``file`` (the path), ``sha256``, ``matched`` (count), and lists
        of names: ``missing`` (in the network, not in the file), ``unexpected`` (in
        the file, not in the network), ``mismatched`` (``"name: file shape vs
        network shape"``), ``adapted`` and ``head``.

    Raises
    ------
    ValueError
        If no tensor of the file fits the network outside its head: the file is
        not weights of this architecture.
    """
    path = Path(path)
    state = read_state_dict(path)
    own = net.state_dict()
    mapping = _renamed(list(state), set(own))

    def in_head(name: str) -> bool:
        return head is not None and name.startswith(head + ".")

    conv_weight = None if first_conv is None else f"{first_conv}.weight"
    loaded, matched = {}, []
    unexpected, mismatched, adapted, head_names = [], [], [], []
    for file_name, name in mapping.items():
        tensor = state[file_name]
        if name not in own:
            (head_names if in_head(name) else unexpected).append(file_name)
            continue
        target = own[name]
        if in_head(name):
            head_names.append(name)
            if tensor.shape != target.shape:
                continue
        elif tensor.shape != target.shape:
            fits = (
                name == conv_weight
                and tensor.ndim == 4
                and tensor.shape[0] == target.shape[0]
                and tensor.shape[2:] == target.shape[2:]
            )
            if not fits:
                mismatched.append(
                    f"{name}: file {tuple(tensor.shape)} vs network "
                    f"{tuple(target.shape)}"
                )
                continue
            adapted.append(f"{name}: {tensor.shape[1]} → {target.shape[1]} channels")
            tensor = adapt_kernels(tensor.float(), target.shape[1])
        loaded[name] = tensor.to(dtype=target.dtype)
        if not in_head(name):
            matched.append(name)
    missing = [
        n
        for n in own
        if n not in loaded
        and not in_head(n)
        and not n.endswith("num_batches_tracked")
        and n not in {m.split(":")[0] for m in mismatched}
    ]
    if not matched:
        raise ValueError(_nothing_matched(path, list(state), list(own), mismatched))
    with torch.no_grad():
        net.load_state_dict({**own, **loaded})
    head_names += [n for n in own if in_head(n) and n not in head_names]
    return {
        "file": str(path),
        "sha256": file_sha256(path),
        "matched": len(matched),
        "missing": missing,
        "unexpected": unexpected,
        "mismatched": mismatched,
        "adapted": adapted,
        "head": sorted(set(head_names)),
    }


def _examples(names: list[str], k: int = 2) -> str:
    return ", ".join(f"'{n}'" for n in names[:k]) or "none"


def _nothing_matched(
    path: Path, file_names: list[str], net_names: list[str], mismatched: list[str]
) -> str:
    if mismatched:
        why = (
            f"every tensor whose name matches has another shape (e.g. {mismatched[0]})"
        )
    else:
        why = (
            f"no name matches: the file's names look like {_examples(file_names)}, "
            f"the network's like {_examples(net_names)}"
        )
    return (
        f"Weights file '{path}' fits none of the network's {len(net_names)} "
        f"tensors outside its classifier head: {why}. Is it a checkpoint of this "
        "architecture?"
    )


def _listed(names: list[str]) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:_SHOWN])
    more = len(names) - _SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def weights_message(report: Mapping, owner: str) -> str | None:
    """One warning's text about what did not fit, or None when everything did."""
    parts = []
    if report["missing"]:
        parts.append(
            f"{len(report['missing'])} missing from the file (left as initialised): "
            + _listed(report["missing"])
        )
    if report["unexpected"]:
        parts.append(
            f"{len(report['unexpected'])} unexpected in the file (ignored): "
            + _listed(report["unexpected"])
        )
    if report["mismatched"]:
        parts.append(
            f"{len(report['mismatched'])} skipped for another shape: "
            + _listed(report["mismatched"])
        )
    if not parts:
        return None
    return (
        f"{owner}: weights file '{report['file']}' (sha256 {report['sha256'][:12]}…) "
        f"initialised {report['matched']} tensors of the network; "
        + "; ".join(parts)
        + "."
    )
