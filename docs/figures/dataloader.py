"""Data-loader figures: the fills of occluded pixels, side by side on one image."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import occmask as om

from .common import SEED, figure, grid, save_png


def _picture(side: int, phase: float) -> np.ndarray:
    """A smooth colourful test image (C, H, W) in [0, 1]: gradients and rings, no download."""
    y, x = np.mgrid[0:side, 0:side] / side
    rings = 0.5 + 0.5 * np.cos(2 * np.pi * 5 * np.hypot(x - 0.35, y - 0.4) + phase)
    return np.stack([0.2 + 0.7 * x * rings, 0.2 + 0.6 * y, 0.9 - 0.6 * x * (1 - rings)]).astype(np.float32)


def _rgb(image: np.ndarray) -> np.ndarray:
    return np.round(np.clip(image, 0, 1).transpose(1, 2, 0) * 255).astype(np.uint8)


@figure
def fills() -> Path:
    """One image occluded by one Perlin mask with every kind of fill (the data-loader page)."""
    side = 96
    image, other = _picture(side, 0.0), _picture(side, 2.0)[::-1, ::-1, :].copy()
    mask = om.perlin((side, side), 0.4, rng=SEED, scale=10.0)
    mean, std = image.mean(axis=(1, 2), keepdims=True), image.std(axis=(1, 2), keepdims=True)
    normalised = (image - mean) / std  # as after transforms.Normalize
    panels = {
        "image": image,
        "fill=0.0": om.occlude(image, mask, fill=0.0),
        "fill=[0.9, 0.8, 0.2]": om.occlude(image, mask, fill=[0.9, 0.8, 0.2]),
        'fill="mean"': om.occlude(image, mask, fill="mean"),
        'fill="noise"': om.occlude(image, mask, fill="noise", rng=SEED),
        "normalised, Noise(0, 1)": om.occlude(normalised, mask, fill=om.Noise(mean=0.0, std=1.0), rng=SEED)
        * std
        + mean,
        "fill=other image": om.occlude(image, mask, fill=other),
        "fill=0.0, feather=6": om.occlude(image, mask, fill=0.0, feather=6.0),
    }
    labels = list(panels)
    img = grid([[_rgb(p) for p in panels.values()]], col_labels=labels, size=11)
    return save_png(img, "fills.png", colors=128)
