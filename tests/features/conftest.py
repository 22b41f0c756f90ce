import numpy as np
import pytest


def runnable(cls):
    """An instance of the family ``cls`` that can run as it is.

    Its defaults, except for a family that runs a network (``embedding``), which
    gets a tiny convolution of its own, and one that learns a codebook (``vlad``),
    which gets a vocabulary that a few small images can fit.
    """
    if cls.stateful:
        return cls(n_words=16)
    if not cls.batched:
        return cls()
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU())
    return cls(module=net, input_size=16, device="cpu")


def disk(size=96, radius=20, centre=None, value=0.8, background=0.2):
    yy, xx = np.mgrid[:size, :size]
    cy, cx = centre if centre is not None else (size / 2, size / 2)
    mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2
    image = np.where(mask, value, background).astype(np.float32)
    return image, mask


def textured(size=96, seed=0):
    """A noisy disk with texture inside, as float32 in [0, 1]."""
    rng = np.random.default_rng(seed)
    image, mask = disk(size, radius=size // 3)
    yy, xx = np.mgrid[:size, :size]
    image = (
        image + 0.1 * np.sin(xx / 3.0) * mask + 0.05 * rng.standard_normal(image.shape)
    )
    return np.clip(image, 0, 1).astype(np.float32), mask


@pytest.fixture
def disk_image():
    return disk()


@pytest.fixture
def textured_image():
    return textured()


@pytest.fixture
def small_stack():
    """Eight 64×64 uint8 images of textured disks of different sizes."""
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[:64, :64]
    out = []
    for i in range(8):
        r = 12 + 2 * i
        m = (yy - 32) ** 2 + (xx - 31) ** 2 <= r * r
        im = (
            0.3
            + 0.4 * m
            + 0.05 * np.sin(xx / (2 + i))
            + 0.04 * rng.standard_normal(m.shape)
        )
        out.append((np.clip(im, 0, 1) * 255).astype(np.uint8))
    return np.stack(out)
