"""Vectorised random augmentation of a batch of image tensors, on their device."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is optional: imported when the function runs
    import torch

__all__ = ["AUGMENT_OPTIONS", "gaussian_fields", "random_augment"]

#: Keyword options of :func:`random_augment` (what ``CNNClassifier(augment=dict)``
#: may set).
AUGMENT_OPTIONS = (
    "dihedral",
    "crop_scale",
    "aspect_ratio",
    "brightness",
    "contrast",
    "noise",
)


def random_augment(
    images: torch.Tensor,
    *,
    generator: torch.Generator | None = None,
    dihedral: bool = True,
    crop_scale: tuple[float, float] = (0.8, 1.0),
    aspect_ratio: tuple[float, float] = (3 / 4, 4 / 3),
    brightness: float = 0.1,
    contrast: float = 0.2,
    noise: float = 0.03,
) -> torch.Tensor:
    """Randomly augment a batch of images, each sample with its own draw.

    Everything runs on the batch's device as a handful of batched tensor operations
    (no Python loop over samples):

    * **flips and 90° rotations** (``dihedral``): one of the 8 symmetries of the
      square, uniformly (of the 4 flips when the images are not square);
    * **random resized crop**: a box whose side is ``crop_scale`` of the image side
      (uniform) with an aspect ratio log-uniform in ``aspect_ratio``, at a uniform
      position inside the image, resized back to the full size;
    * **brightness and contrast**: ``(x - m) * c + m + b`` with ``m`` the image mean,
      ``c`` uniform in ``1 ± contrast`` and ``b`` uniform in ``± brightness``;
    * **Gaussian noise** with a standard deviation uniform in ``[0, noise]``
      (per-pixel independent N(0, 1) values from :func:`gaussian_fields`).

    The geometric part (symmetry + crop) is a single bilinear ``grid_sample`` with a
    per-sample affine matrix (border padding); pure flips and rotations of square
    images land exactly on pixel centres, so they do not blur.

    Parameters
    ----------
    images : Tensor, shape (N, C, H, W)
        Float images on the ``[0, 1]`` scale (before normalisation).
    generator : torch.Generator, optional
        Source of randomness, on the images' device; the same generator state gives
        the same augmentation. None uses torch's global generator.
    dihedral : bool, default=True
        Random flips and 90° rotations.
    crop_scale : (float, float), default=(0.8, 1.0)
        Range of the crop's side relative to the image side; ``(1, 1)`` disables the
        crop (and the aspect-ratio change).
    aspect_ratio : (float, float), default=(3/4, 4/3)
        Range of the crop's width / height (each side capped at the image's).
    brightness, contrast, noise : float
        Strength of each photometric change (0 disables it).

    Returns
    -------
    Tensor
        The augmented batch, same shape, dtype and device.

    Examples
    --------
    >>> import torch
    >>> x = torch.rand(4, 1, 16, 16)
    >>> g = torch.Generator().manual_seed(0)
    >>> random_augment(x, generator=g).shape
    torch.Size([4, 1, 16, 16])
    """
    import torch
    import torch.nn.functional as F

    n, _, h, w = images.shape
    device, dtype = images.device, images.dtype

    def uniform(low: float, high: float) -> torch.Tensor:
        u = torch.rand(n, generator=generator, device=device, dtype=torch.float32)
        return low + (high - low) * u

    lo, hi = crop_scale
    crop = lo < 1.0 or hi < 1.0
    if dihedral or crop:
        bits = torch.rand(n, 3, generator=generator, device=device) < 0.5
        one = torch.ones(n, device=device)
        fx = torch.where(bits[:, 0] & dihedral, -one, one)
        fy = torch.where(bits[:, 1] & dihedral, -one, one)
        swap = bits[:, 2] & (dihedral and h == w)
        side = uniform(lo, hi)
        log_r = uniform(math.log(aspect_ratio[0]), math.log(aspect_ratio[1]))
        log_r = log_r if crop else torch.zeros_like(log_r)
        sx = (side * torch.exp(log_r / 2)).clamp(max=1.0)
        sy = (side * torch.exp(-log_r / 2)).clamp(max=1.0)
        tx = uniform(-1.0, 1.0) * (1.0 - sx)
        ty = uniform(-1.0, 1.0) * (1.0 - sy)
        # Output pixel centres (x, y) in [-1, 1] map to input positions
        # (a x + b y + tx, c x + d y + ty): scale · flip · swap, then shift. The
        # grid is [y (b, d) + (tx, ty)], (N, 2, H, 1), plus x (a, c), (N, 2, 1, W):
        # one broadcast addition into an (N, 2, H, W) tensor, handed to
        # grid_sample as an (N, H, W, 2) view (a broadcast addcmul, or building
        # the grid in the (N, H, W, 2) layout, costs several times more).
        zero = torch.zeros(n, device=device)
        col_x = torch.stack(
            [torch.where(swap, zero, sx * fx), torch.where(swap, sy * fy, zero)], 1
        )
        col_y = torch.stack(
            [torch.where(swap, sx * fx, zero), torch.where(swap, zero, sy * fy)], 1
        )
        shift = torch.stack([tx, ty], 1)
        xs = ((torch.arange(w, device=device) * 2 + 1) / w - 1).view(1, 1, 1, w)
        ys = ((torch.arange(h, device=device) * 2 + 1) / h - 1).view(1, 1, h, 1)
        rows = torch.addcmul(shift.view(n, 2, 1, 1), ys, col_y.view(n, 2, 1, 1))
        cols = col_x.view(n, 2, 1, 1) * xs
        grid = (rows + cols).permute(0, 2, 3, 1)
        images = F.grid_sample(
            images,
            grid.to(dtype),
            mode="bilinear",
            padding_mode="border",
            align_corners=False,
        )
    if brightness or contrast:  # one fused pass: x * c + (m (1 - c) + b)
        factor = uniform(1.0 - contrast, 1.0 + contrast).view(n, 1, 1, 1)
        shift = uniform(-brightness, brightness).view(n, 1, 1, 1)
        mean = images.mean(dim=(1, 2, 3), keepdim=True, dtype=torch.float32)
        offset = mean * (1.0 - factor) + shift
        images = torch.addcmul(offset.to(dtype), images, factor.to(dtype))
    if noise:
        sigma = uniform(0.0, noise).to(dtype).view(n, 1, 1, 1)
        gauss = gaussian_fields(
            images.shape, generator=generator, device=device, dtype=dtype
        )
        images = torch.addcmul(images, gauss, sigma)
    return images


def gaussian_fields(
    shape: tuple[int, ...],
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """A batch of fields of independent standard normal values, cut from one pool.

    Drawing a normal value for every pixel of a batch costs about as much on a CPU
    as the rest of :func:`random_augment` together (the generator is sequential).
    Instead, ``shape[0] // 4 + 2`` fields' worth of values are drawn and every
    field is a window of the pool at a random offset: within a field the values are
    independent draws of N(0, 1), as for fresh noise; fields of one batch may share
    values at shifted positions, which noise augmentation can afford.

    Parameters
    ----------
    shape : tuple of int
        ``(N, ...)``: N fields of shape ``shape[1:]``.
    generator : torch.Generator, optional
        Source of randomness, on ``device``; None uses torch's global generator.
    device : torch.device or str, optional
        Device of the fields; None: the generator's (the CPU without one).
    dtype : torch.dtype, optional
        Floating-point dtype (torch's default without one).

    Returns
    -------
    Tensor of shape ``shape``

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> gaussian_fields((8, 1, 16, 16), generator=g).shape
    torch.Size([8, 1, 16, 16])
    """
    import torch

    n, size = shape[0], math.prod(shape[1:])
    if device is None and generator is not None:
        device = generator.device
    pool = torch.randn(
        size * (n // 4 + 2), generator=generator, device=device, dtype=dtype
    )
    start = torch.randint(
        0, pool.numel() - size + 1, (n,), generator=generator, device=device
    )
    return pool.unfold(0, size, 1)[start].view(shape)
