"""Geometry figures: percolation, components and descriptors across families and coverages."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import occmask as om

from .common import (
    FAMILY_COLORS,
    FAMILY_NAMES,
    SEED,
    components_rgb,
    count,
    figure,
    grid,
    plt_setup,
    save_fig,
    save_png,
)

P_C = 0.592746  # site percolation threshold of the square lattice (4-connectivity)


@figure
def percolation() -> Path:
    """Share of the hidden pixels in the largest component against coverage."""
    plt = plt_setup()
    levels = np.round(np.arange(0.02, 0.99, 0.02), 2)
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.4), layout="constrained")
    side, seeds = 256, 4
    for conn, color in ((4, "C0"), (8, "C3")):
        share = np.zeros(levels.size)
        for s in range(seeds):
            f = om.field("bernoulli", (1, side, side), rng=SEED + s)[0]
            for i, c in enumerate(levels):
                m = om.cut(f, float(c))
                share[i] += om.describe(m, conn).largest_component[0] / max(m.sum(), 1) / seeds
        a.plot(levels, share, "o-", ms=3, color=color, label=f"{conn}-connectivity")
    a.axvline(P_C, color="C0", ls="--", lw=0.9)
    a.axvline(1 - P_C, color="C3", ls="--", lw=0.9)
    a.text(P_C + 0.015, 0.3, "p_c ≈ 0.593", color="C0")
    a.text(1 - P_C - 0.015, 0.5, "1 − p_c ≈ 0.407", color="C3", ha="right")
    a.set_title(f"bernoulli, {side}x{side}, mean of {seeds} seeds")
    a.set_xlabel("coverage")
    a.set_ylabel("share of hidden pixels\nin the largest component")
    a.legend(frameon=False, loc="upper left")
    side = 128
    for name in FAMILY_NAMES:
        share = np.zeros(levels.size)
        for s in range(seeds):
            f = om.field(name, (1, side, side), rng=SEED + s)[0]
            for i, c in enumerate(levels):
                m = om.cut(f, float(c))
                share[i] += om.describe(m, 4).largest_component[0] / max(m.sum(), 1) / seeds
        b.plot(levels, share, "o-", ms=3, color=FAMILY_COLORS[name], label=name)
    b.axvline(P_C, color="k", ls="--", lw=0.8)
    b.set_title(f"every family, 4-connectivity, {side}x{side}")
    b.set_xlabel("coverage")
    b.legend(frameon=False, loc="lower right")
    for ax in (a, b):
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
    return save_fig(fig, "percolation.png")


@figure
def percolation_examples() -> Path:
    """Bernoulli masks around the thresholds, largest component in orange."""
    f = om.field("bernoulli", (1, 96, 96), rng=SEED)[0]
    rows, caps, labels = [], [], []
    for conn, levels in ((4, (0.45, 0.55, 0.6, 0.65)), (8, (0.3, 0.37, 0.41, 0.45))):
        row, cap = [], []
        for c in levels:
            m = om.cut(f, c)
            share = om.describe(m, conn).largest_component[0] / m.sum()
            row.append(components_rgb(m, conn, only_largest=True))
            cap.append(f"coverage {c}\n{share:.0%} in the largest")
        rows.append(row)
        caps.append(cap)
        labels.append(f"{conn}-conn.")
    return save_png(grid(rows, row_labels=labels, captions=caps, scale=2), "percolation_examples.png")


@figure
def components() -> Path:
    """Connected components (4-connectivity) of each family at coverage 0.3."""
    masks = [om.generate(name, (96, 96), 0.3, rng=SEED) for name in FAMILY_NAMES]
    img = grid(
        [[components_rgb(m) for m in masks]], col_labels=FAMILY_NAMES, captions=[[count(m) for m in masks]]
    )
    return save_png(img, "components.png", colors=32)


@figure
def descriptors() -> Path:
    """Mean descriptors against coverage for every family (64x64 frames, 4-connectivity)."""
    plt = plt_setup()
    levels = np.round(np.arange(0.05, 0.96, 0.05), 2)
    seeds, side = 16, 64
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.0), layout="constrained")
    for name in FAMILY_NAMES:
        stats = np.zeros((3, levels.size))
        f = om.field(name, (seeds, side, side), rng=SEED, temporal="independent")
        for i, c in enumerate(levels):
            d = om.describe(om.cut(f, float(c)))
            stats[:, i] = d.n_components.mean(), d.largest_fraction.mean(), d.boundary.mean() / (side * side)
        for ax, values in zip(axes, stats, strict=True):
            ax.plot(levels, values, "o-", ms=3, color=FAMILY_COLORS[name], label=name)
    axes[0].set_yscale("log")
    for ax, title in zip(axes, ("n_components", "largest_fraction", "boundary per pixel"), strict=True):
        ax.set_title(title)
        ax.set_xlabel("coverage")
    axes[0].legend(frameon=False, fontsize=8)
    return save_fig(fig, "descriptors.png")
