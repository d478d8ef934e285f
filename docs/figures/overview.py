"""Overview figures: the families side by side, coverages, videos, fields, temporal and match modes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import occmask as om

from .common import FAMILY_NAMES, SEED, count, figure, grid, plt_setup, ranks, save_fig, save_gif, save_png


@figure
def families() -> Path:
    """Every family side by side at the same coverage and seed (README and home page)."""
    masks = [om.generate(name, (96, 96), 0.4, rng=SEED) for name in FAMILY_NAMES]
    caps = [count(m) for m in masks]
    return save_png(grid([masks], col_labels=FAMILY_NAMES, captions=[caps]), "families.png")


@figure
def families_gif() -> Path:
    """Every family as evolving videos at coverage 0.4."""
    videos = [om.generate(name, (24, 96, 96), 0.4, rng=SEED) for name in FAMILY_NAMES]
    frames = [grid([[v[t] for v in videos]], col_labels=FAMILY_NAMES) for t in range(24)]
    return save_gif(frames, "families.gif")


@figure
def coverages() -> list[Path]:
    """Per family: one seed at coverages 0.1, 0.3, 0.5, 0.7 (the masks are nested)."""
    out = []
    levels = (0.1, 0.3, 0.5, 0.7)
    for name in FAMILY_NAMES:
        masks = [om.generate(name, (96, 96), c, rng=SEED) for c in levels]
        out.append(
            save_png(
                grid(
                    [masks],
                    col_labels=[f"coverage {c}" for c in levels],
                    captions=[[count(m) for m in masks]],
                ),
                f"{name}_coverage.png",
            )
        )
    return out


@figure
def videos() -> list[Path]:
    """Per family: an animated video in the three temporal modes, coverage 0.4."""
    out = []
    modes = ("evolving", "static", "independent")
    for name in FAMILY_NAMES:
        vids = [om.generate(name, (20, 96, 96), 0.4, rng=SEED, temporal=m) for m in modes]
        frames = [
            grid([[v[t] for v in vids]], col_labels=[f'temporal="{m}"' for m in modes]) for t in range(20)
        ]
        out.append(save_gif(frames, f"{name}.gif"))
    return out


@figure
def fields() -> Path:
    """Each family's priority field (as ranks) and its cuts at 0.2 and 0.5."""
    shape = (1, 96, 96)
    rows: list[list[np.ndarray]] = [[], [], []]
    for name in FAMILY_NAMES:
        f = om.field(name, shape, rng=SEED)[0]
        rows[0].append(ranks(f))
        rows[1].append(om.cut(f, 0.2))
        rows[2].append(om.cut(f, 0.5))
    img = grid(rows, col_labels=FAMILY_NAMES, row_labels=["priority field", "cut at 0.2", "cut at 0.5"])
    return save_png(img, "fields.png", colors=64)


@figure
def temporal() -> Path:
    """Perlin at coverage 0.4 in the three temporal modes, every fourth frame."""
    modes = ("evolving", "static", "independent")
    frames = (0, 4, 8, 12, 16)
    rows = [list(om.perlin((17, 64, 64), 0.4, rng=SEED, temporal=m)[list(frames)]) for m in modes]
    img = grid(rows, col_labels=[f"frame {t}" for t in frames], row_labels=list(modes))
    return save_png(img, "temporal.png")


@figure
def match_modes() -> Path:
    """Per-frame coverage of Perlin videos under the three match modes."""
    plt = plt_setup()
    shape, target = (48, 64, 64), 0.3
    fig, axes = plt.subplots(1, 3, figsize=(10, 2.8), sharey=True, layout="constrained")
    for ax, match in zip(axes, ("frame", "video", "expected"), strict=True):
        for seed in range(5):
            m = om.perlin(shape, target, rng=SEED + seed, match=match)
            cov = om.describe(m).coverage
            ax.plot(cov, lw=1.2, color=f"C{seed}", label=f"video {seed + 1}: mean {cov.mean():.4f}")
        ax.axhline(target, color="k", lw=0.8, ls=":")
        ax.set_title(f'match="{match}"')
        ax.set_xlabel("frame")
        ax.legend(loc="lower left", frameon=False, fontsize=7, ncol=1)
    axes[0].set_ylabel("coverage of the frame")
    axes[0].set_ylim(0.0, 0.5)
    return save_fig(fig, "match_modes.png")


@figure
def stationarity() -> Path:
    """How often each pixel is hidden, over 1024 independent masks per family."""
    plt = plt_setup()
    n, side, target = 1024, 48, 0.3
    fig, axes = plt.subplots(
        1, len(FAMILY_NAMES), figsize=(2.5 * len(FAMILY_NAMES), 2.9), layout="constrained"
    )
    noise = np.sqrt(target * (1 - target) / n)
    for ax, name in zip(axes, FAMILY_NAMES, strict=True):
        m = om.generate(name, (n, side, side), target, rng=SEED, temporal="independent")
        rate = m.mean(axis=0)
        im = ax.imshow(
            rate, cmap="RdBu_r", vmin=target - 5 * noise, vmax=target + 5 * noise, interpolation="nearest"
        )
        ring = np.ones_like(rate, dtype=bool)
        ring[6:-6, 6:-6] = False
        ax.set_title(f"{name}\nborder {rate[ring].mean():.3f}, centre {rate[~ring].mean():.3f}")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=axes, shrink=0.85, label="share of masks hiding the pixel")
    return save_fig(fig, "stationarity.png", colors=256)
