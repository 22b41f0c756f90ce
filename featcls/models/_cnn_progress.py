"""The one-line progress report of a CNN epoch (``verbose=1``)."""

from __future__ import annotations

__all__ = ["epoch_line"]


def epoch_line(row: dict, max_epochs: int, seconds: float) -> str:
    """``epoch   2/30  train_loss 0.4321  val_loss 0.3987  val_f1 0.912  1.3s``."""
    parts = [
        f"epoch {row['epoch']:3d}/{max_epochs}",
        f"train_loss {row['train_loss']:.4f}",
    ]
    if "val_f1" in row:
        parts += [f"val_loss {row['val_loss']:.4f}", f"val_f1 {row['val_f1']:.3f}"]
    parts.append(f"{seconds:.1f}s")
    return "  ".join(parts)
