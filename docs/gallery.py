#!/usr/bin/env python
"""Regenerate every figure of the occmask documentation, deterministically.

Usage::

    python docs/gallery.py                      # every figure, into docs/images/
    python docs/gallery.py families perlin_gif  # only the named figures
    python docs/gallery.py --list               # the figure names
    python docs/gallery.py --study results --bench benchmarks/results/results.md families

Every figure is drawn from fixed seeds, so running the script again gives the same
masks. Mask panels are drawn pixel for pixel with Pillow (hidden pixels dark,
visible pixels white, integer upscaling, no smoothing); plots use matplotlib at a
low dpi. Everything is saved as palette PNGs and GIFs to keep the site small.

Study figures (``docs/images/study/``) are copies of a real ``occmask study`` run;
``--study DIR`` copies them from that run's output folder. ``--bench FILE`` puts the
table written by ``benchmarks/run.py`` into ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

import occmask as om

HERE = Path(__file__).resolve().parent
OUT = HERE / "images"

#: The seed of every gallery figure (a different seed gives different masks, same look).
SEED = 7
FAMILY_NAMES = tuple(om.FAMILIES)  # in display order
FAMILY_COLORS = {name: family.colour for name, family in om.FAMILIES.items()}

INK = (30, 30, 36)  # hidden pixels
PAPER = (255, 255, 255)  # visible pixels and background
EDGE = (150, 150, 150)  # the frame drawn around every canvas
TEXT = (40, 40, 40)
LARGEST = (230, 110, 20)  # the largest component in component figures
OTHERS = [
    (120, 140, 170),
    (150, 175, 130),
    (175, 140, 160),
    (120, 165, 170),
    (170, 160, 120),
    (140, 130, 180),
]
DPI = 72


# --------------------------------------------------------------------------- helpers


def _font(size: int):
    from matplotlib import font_manager
    from PIL import ImageFont

    return ImageFont.truetype(font_manager.findfont("DejaVu Sans"), size)


def _rgb(panel: np.ndarray) -> np.ndarray:
    """A bool mask (dark = hidden), a float image in [0, 1] (grey) or an RGB uint8 image."""
    panel = np.asarray(panel)
    if panel.dtype == np.bool_:
        out = np.empty((*panel.shape, 3), np.uint8)
        out[...] = PAPER
        out[panel] = INK
        return out
    if panel.ndim == 2:
        grey = np.clip(np.round(panel * 255), 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    return panel.astype(np.uint8)


def grid(
    rows: Sequence[Sequence[np.ndarray]],
    *,
    scale: int = 2,
    col_labels: Sequence[str] | None = None,
    row_labels: Sequence[str] | None = None,
    captions: Sequence[Sequence[str]] | None = None,
    gap: int = 10,
    size: int = 14,
):
    """Lay out mask panels in a grid with labels; returns a Pillow RGB image."""
    from PIL import Image, ImageDraw

    font, small = _font(size), _font(size - 2)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    cell_h = max(p.shape[0] for r in rows for p in r) * scale + 2
    cell_w = max(p.shape[1] for r in rows for p in r) * scale + 2
    left = gap + (max(probe.textlength(t, font=font) for t in row_labels) + gap if row_labels else 0)
    left = int(left)
    top = gap + (size + 6 if col_labels else 0)
    cap_lines = max((c.count("\n") + 1 for r in captions for c in r), default=0) if captions else 0
    cap_h = cap_lines * (size + 2) + 4 if cap_lines else 0
    width = left + n_cols * (cell_w + gap)
    height = top + n_rows * (cell_h + cap_h + gap)
    img = Image.new("RGB", (width, height), PAPER)
    draw = ImageDraw.Draw(img)
    for c, label in enumerate(col_labels or ()):
        x = left + c * (cell_w + gap) + cell_w / 2
        draw.text((x, gap), label, fill=TEXT, font=font, anchor="mt")
    for r, row in enumerate(rows):
        y0 = top + r * (cell_h + cap_h + gap)
        if row_labels:
            draw.text((gap, y0 + cell_h / 2), row_labels[r], fill=TEXT, font=font, anchor="lm")
        for c, panel in enumerate(row):
            x0 = left + c * (cell_w + gap)
            rgb = _rgb(panel)
            big = np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)
            draw.rectangle([x0, y0, x0 + big.shape[1] + 1, y0 + big.shape[0] + 1], outline=EDGE)
            img.paste(Image.fromarray(big), (x0 + 1, y0 + 1))
            if captions and captions[r][c]:
                draw.multiline_text(
                    (x0 + cell_w / 2, y0 + cell_h + 4),
                    captions[r][c],
                    fill=TEXT,
                    font=small,
                    anchor="ma",
                    align="center",
                    spacing=2,
                )
    return img


def save_png(img, name: str, colors: int = 16) -> Path:
    """Save a Pillow image as a palette PNG (few colours, no dithering)."""
    from PIL import Image

    path = OUT / name
    path.parent.mkdir(parents=True, exist_ok=True)
    img.convert("RGB").quantize(
        colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    ).save(path, optimize=True)
    return path


def save_fig(fig, name: str, colors: int = 48) -> Path:
    """Save a matplotlib figure as a small palette PNG."""
    import matplotlib.pyplot as plt
    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    buf.seek(0)
    return save_png(Image.open(buf), name, colors=colors)


def save_gif(frames: Sequence, name: str, ms: int = 140) -> Path:
    """Save Pillow RGB frames as a looping GIF with one shared palette."""
    from PIL import Image

    path = OUT / name
    first = frames[0].quantize(colors=16, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    rest = [f.quantize(palette=first, dither=Image.Dither.NONE) for f in frames[1:]]
    first.save(path, save_all=True, append_images=rest, duration=ms, loop=0, optimize=False, disposal=1)
    return path


def plt_setup():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "font.size": 10,
            "axes.titlesize": 10,
            "axes.labelsize": 10,
            "legend.fontsize": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "figure.facecolor": "white",
            "svg.hashsalt": "occmask",
            "path.simplify": True,
        }
    )
    return plt


def field(
    name: str, shape: tuple[int, int, int], seed: int, temporal: str = "evolving", **params
) -> np.ndarray:
    """The priority field that ``om.generate(name, shape, ..., rng=seed)`` cuts."""
    import inspect

    fam = om.FAMILIES[name]
    args = [shape, np.random.default_rng(seed), temporal]
    if "need" in inspect.signature(fam.field).parameters:
        args.append(None)  # the whole field, finite everywhere
    return fam.field(*args, **fam.params(params))


def ranks(values: np.ndarray) -> np.ndarray:
    """Field values as ranks in [0, 1] (only the order of a field matters to the cut)."""
    flat = values.ravel()
    out = np.empty(flat.size)
    out[np.argsort(flat, kind="stable")] = np.arange(flat.size)
    return (out / max(flat.size - 1, 1)).reshape(values.shape)


def components_rgb(mask: np.ndarray, connectivity: int = 4, only_largest: bool = False) -> np.ndarray:
    """Colour a mask's components: the largest orange, the others muted (or grey)."""
    labels, n = om.label(mask, connectivity)
    out = np.empty((*mask.shape, 3), np.uint8)
    out[...] = PAPER
    if n == 0:
        return out
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    palette = np.array(
        [PAPER] + [(110, 110, 116) if only_largest else OTHERS[i % len(OTHERS)] for i in range(n)], np.uint8
    )
    palette[int(np.argmax(sizes))] = LARGEST
    return palette[labels]


def _count(mask: np.ndarray) -> str:
    d = om.describe(mask)
    return f"{int(d.n_components[0]):,} comp., largest {d.largest_fraction[0]:.0%}"


# --------------------------------------------------------------------------- figures

FIGURES: dict[str, Callable[[], list[Path]]] = {}


def figure(fn: Callable[[], list[Path] | Path]) -> Callable[[], list[Path]]:
    def run() -> list[Path]:
        out = fn()
        return out if isinstance(out, list) else [out]

    FIGURES[fn.__name__] = run
    return run


@figure
def families() -> Path:
    """Every family side by side at the same coverage and seed (README and home page)."""
    masks = [om.generate(name, (96, 96), 0.4, rng=SEED) for name in FAMILY_NAMES]
    caps = [_count(m) for m in masks]
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
                    captions=[[_count(m) for m in masks]],
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
        f = field(name, shape, SEED)[0]
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
            f = field("bernoulli", (1, side, side), SEED + s)[0]
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
            f = field(name, (1, side, side), SEED + s)[0]
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
    f = field("bernoulli", (1, 96, 96), SEED)[0]
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
        [[components_rgb(m) for m in masks]], col_labels=FAMILY_NAMES, captions=[[_count(m) for m in masks]]
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
        f = field(name, (seeds, side, side), SEED, temporal="independent")
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


def _sweep(
    name: str,
    param: str,
    values: Sequence,
    labels: Sequence[str] | None = None,
    coverage: float = 0.4,
    side: int = 96,
    **fixed,
) -> Path:
    masks = [om.generate(name, (side, side), coverage, rng=SEED, **fixed, **{param: v}) for v in values]
    labels = labels or [f"{param}={v}" for v in values]
    return save_png(
        grid([masks], col_labels=labels, captions=[[_count(m) for m in masks]]), f"{name}_{param}.png"
    )


def _frames(
    name: str,
    param: str,
    values: Sequence,
    frames: Sequence[int],
    coverage: float = 0.4,
    labels: Sequence[str] | None = None,
    filename: str | None = None,
    **fixed,
) -> Path:
    rows = [
        list(
            om.generate(
                name, (max(frames) + 1, 64, 64), coverage, rng=SEED, **fixed, **({param: v} if param else v)
            )[list(frames)]
        )
        for v in values
    ]
    labels = labels or [f"{param}={v}" for v in values]
    img = grid(rows, col_labels=[f"frame {t}" for t in frames], row_labels=labels)
    return save_png(img, filename or f"{name}_{param}.png")


@figure
def perlin_params() -> list[Path]:
    return [
        _sweep("perlin", "scale", (4, 8, 16, 32)),
        _sweep("perlin", "octaves", (1, 2, 3, 6)),
        _sweep("perlin", "persistence", (0.25, 0.5, 0.75, 1.0)),
        _sweep("perlin", "basis", ("perlin", "simplex"), labels=['basis="perlin"', 'basis="simplex"']),
        _frames("perlin", "time_scale", (3, 12, 48), (0, 3, 6, 9, 12)),
        perlin_periodic(),
    ]


def perlin_periodic() -> Path:
    masks = [np.tile(om.perlin((64, 64), 0.4, rng=SEED, periodic=p), (2, 2)) for p in (False, True)]
    img = grid([masks], col_labels=["periodic=False, 2x2 copies", "periodic=True, 2x2 copies"])
    return save_png(img, "perlin_periodic.png")


@figure
def cgol_params() -> list[Path]:
    return [
        _sweep("cgol", "density", (0.1, 0.2, 0.35, 0.6)),
        _sweep("cgol", "burn_in", (0, 3, 24, 200)),
        _sweep("cgol", "memory", (1, 2, 8, 32)),
        _sweep("cgol", "decay", (0.0, 0.5, 1.0, 4.0)),
        _frames("cgol", "step", (1, 4), (0, 1, 2, 3, 4)),
        cgol_life(),
    ]


def _life(soup: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Run B3/S23 on a torus; return the final state and each cell's age (generations since alive)."""
    state = soup.astype(np.uint8)
    age = np.where(state == 1, 0, 10**6)
    for _ in range(steps):
        n = sum(np.roll(np.roll(state, a, 0), b, 1) for a in (-1, 0, 1) for b in (-1, 0, 1)) - state
        state = ((n == 3) | ((n == 2) & (state == 1))).astype(np.uint8)
        age = np.where(state == 1, 0, age + 1)
    return state.astype(bool), age


def cgol_life() -> Path:
    """What the cgol field is made of: live cells, their trails, the distance field, the cut."""
    side, defaults = 96, om.FAMILIES["cgol"].params({})
    # The family draws its soup first from the Generator, so this is the mask's own soup.
    soup = np.random.default_rng(SEED).random((1, side, side))[0] < defaults["density"]
    alive, age = _life(soup, defaults["burn_in"])
    trails = np.where(age < defaults["memory"], 0.35 + 0.6 * age / defaults["memory"], 1.0)
    f = field("cgol", (1, side, side), SEED)[0]
    # Live cells are at distance 0 (plus a tie-break below 1): check that this is the mask's own soup.
    assert alive.any() and (f[alive] < 1).all(), "the cgol family no longer draws its soup first"
    mask = om.cgol((side, side), 0.3, rng=SEED)
    panels = [alive, trails, ranks(f), mask]
    labels = ["live cells (generation 24)", "trails (age < memory)", "priority field", "cut at 0.3"]
    return save_png(grid([panels], col_labels=labels, size=12), "cgol_life.png", colors=32)


@figure
def triangles_params() -> list[Path]:
    return [
        _sweep(
            "triangles",
            "size",
            (4.0, 8.0, (8.0, 24.0), 32.0),
            labels=["size=4", "size=8", "size=(8, 24)", "size=32"],
        ),
        _sweep("triangles", "aspect", (1.0, 2.0, 4.0, 8.0)),
        _frames(
            "triangles",
            "",
            ({"speed": 0.0, "spin": 0.0}, {"speed": 1.0, "spin": 0.05}, {"speed": 3.0, "spin": 0.2}),
            (0, 3, 6, 9, 12),
            labels=["speed=0, spin=0", "speed=1, spin=0.05", "speed=3, spin=0.2"],
            filename="triangles_motion.png",
        ),
    ]


# --------------------------------------------------------------------------- study


#: The figures of a study run that the docs show (names as ``occmask study`` writes them).
STUDY_FIGURES = (
    "gallery.png",
    "video.gif",
    "training.png",
    "coverage_summary.png",
    "hidden_ink.png",
    "reliability.png",
    "temporal.png",
    "rules.png",
)


def copy_study(results: Path) -> list[Path]:
    """Copy the study figures the docs use from a real run's output folder (PNGs as palette PNGs)."""
    from PIL import Image

    out = []
    for name in STUDY_FIGURES:
        src = results / name
        if not src.exists():
            raise SystemExit(f"{src} is missing: run `occmask study --out {results}` first")
        if name.endswith(".png"):
            out.append(save_png(Image.open(src), f"study/{name}", colors=96))
        else:
            dst = OUT / "study" / name
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            out.append(dst)
    return out


BENCH_START, BENCH_END = "<!-- bench:start -->", "<!-- bench:end -->"


def copy_benchmarks(results_md: Path) -> Path:
    """Put the table that ``benchmarks/run.py`` wrote into docs/benchmarks.md (between the markers)."""
    text = results_md.read_text().strip()
    lines = text.splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]  # the page has its own title
    text = "\n".join(lines).strip()
    page = HERE / "benchmarks.md"
    content = page.read_text()
    head, rest = content.split(BENCH_START, 1)
    _, tail = rest.split(BENCH_END, 1)
    page.write_text(f"{head}{BENCH_START}\n\n{text}\n\n{BENCH_END}{tail}")
    return page


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="figures to draw (default: all)")
    parser.add_argument("--list", action="store_true", help="list the figure names and exit")
    parser.add_argument("--study", type=Path, metavar="DIR", help="also copy the study figures from DIR")
    parser.add_argument(
        "--bench",
        type=Path,
        metavar="FILE",
        help="also put the table of a benchmark run (benchmarks/results/results.md) into benchmarks.md",
    )
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(FIGURES))
        return 0
    unknown = sorted(set(args.names) - set(FIGURES))
    if unknown:
        parser.error(f"unknown figure(s) {unknown}; choose from {sorted(FIGURES)}")
    OUT.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in args.names or FIGURES:
        paths += FIGURES[name]()
    if args.study:
        paths += copy_study(args.study)
    if args.bench:
        print(f"{copy_benchmarks(args.bench).relative_to(HERE)}: table updated from {args.bench}")
    total = 0
    for p in paths:
        total += p.stat().st_size
        print(f"{p.relative_to(HERE)}  {p.stat().st_size / 1024:7.1f} KiB")
    print(f"{len(paths)} files, {total / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
