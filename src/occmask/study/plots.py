"""Figures and the animation of the study (matplotlib without pyplot, Pillow for the GIF).

Every figure is drawn on a :class:`matplotlib.figure.Figure` with the Agg
canvas, so no global backend is switched and nothing is shown on screen.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .. import FAMILIES
from ..robustness.metrics import RULES
from ..robustness.plots import reliability_panel
from .analysis import cell_scores
from .evaluate import mask_for

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .context import Context

__all__ = ["FIGURES", "gif_families", "make_figures"]

_STYLES = {"evolving": "-", "static": "--", "independent": ":"}
_METRIC_LABELS = {"accuracy": "accuracy", "nll": "NLL", "brier": "Brier score", "ece": "ECE (15 bins)"}


def _colour(family: str) -> str:
    return FAMILIES[family].colour


def _figure(
    rows: int, cols: int, width: float = 3.4, height: float = 2.8, **kwargs
) -> tuple[Figure, np.ndarray]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * cols, height * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False, **kwargs)
    return fig, axes


def _select(ctx: Context, **where) -> list[dict]:
    """Rows of results.csv matching every ``column=value``, sorted by coverage."""
    rows = [r for r in ctx.rows if all(r[k] == v for k, v in where.items())]
    return sorted(rows, key=lambda r: r["coverage"])


def _curve(
    ax: Axes,
    rows: list[dict],
    metric: str,
    *,
    colour: str,
    label: str | None,
    style: str = "-",
    band: bool = True,
) -> None:
    x = np.array([r["coverage"] for r in rows])
    y = np.array([r[metric] for r in rows])
    ax.plot(x, y, style, color=colour, label=label, marker="o", markersize=3)
    if band:
        lo = np.array([r[f"{metric}_lo"] for r in rows])
        hi = np.array([r[f"{metric}_hi"] for r in rows])
        ax.fill_between(x, lo, hi, color=colour, alpha=0.18, linewidth=0)


def _video(ctx: Context, temporal: str, family: str, rule: str | None = None) -> list[dict]:
    return _select(ctx, temporal=temporal, family=family, level="video", rule=rule or ctx.config.rule)


def coverage_summary(ctx: Context) -> Figure:
    """Accuracy, NLL, Brier and ECE vs coverage per family; video level on top, frame level below."""
    temporal = ctx.config.temporal[0]
    fig, axes = _figure(2, 4, sharex=True, sharey="col")
    for col, metric in enumerate(_METRIC_LABELS):
        for family in ctx.config.families:
            label = family if col == 0 else None
            _curve(axes[0, col], _video(ctx, temporal, family), metric, colour=_colour(family), label=label)
            _curve(
                axes[1, col],
                _select(ctx, temporal=temporal, family=family, level="frame"),
                metric,
                colour=_colour(family),
                label=None,
            )
        axes[0, col].set_title(_METRIC_LABELS[metric])
        axes[1, col].set_xlabel("canvas coverage")
    axes[0, 0].set_ylabel(f"video ({ctx.config.rule}, {ctx.config.frames} frames)")
    axes[1, 0].set_ylabel("single frame")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(
        f"Occluded Moving MNIST, masks {temporal}; bands: 95% bootstrap intervals over "
        f"{ctx.config.videos} videos"
    )
    return fig


def reliability_diagrams(ctx: Context) -> Figure:
    """Reliability diagrams per family (columns) at the focus coverages (row pairs), video level."""
    from matplotlib.figure import Figure

    temporal, focus = ctx.config.temporal[0], ctx.config.focus_coverages()
    families = ctx.config.families
    fig = Figure(figsize=(3.0 * len(families), 3.6 * len(focus)), layout="constrained")
    grid = fig.add_gridspec(2 * len(focus), len(families), height_ratios=[3, 1] * len(focus))
    for i, coverage in enumerate(focus):
        for j, family in enumerate(families):
            top, bottom = fig.add_subplot(grid[2 * i, j]), fig.add_subplot(grid[2 * i + 1, j])
            cell = ctx.cell(temporal, family, coverage)
            s = cell_scores(cell, ctx.test.labels, ctx.config.rule)
            row = _video(ctx, temporal, family)[ctx.config.coverages.index(coverage)]
            reliability_panel(top, bottom, s.confidence, s.correct, 15, _colour(family))
            top.text(0.03, 0.82, f"ECE {row['ece']:.3f}", transform=top.transAxes, fontsize=8, va="top")
            top.set_title(f"{family}, coverage {coverage:g}", fontsize=10)
            if j == 0:
                top.set_ylabel("accuracy in bin")
                bottom.set_ylabel("videos")
    fig.axes[0].legend(fontsize=7, loc="lower right")
    fig.suptitle(
        f"Reliability of the video prediction ({ctx.config.rule}, masks {temporal}): bars below the orange "
        "marks (mean confidence) are overconfident; dashed: perfect calibration"
    )
    return fig


def _overlay(frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """RGB view: hidden background dark blue, hidden ink orange, visible ink white."""
    rgb = np.repeat(frame[..., None], 3, axis=-1).astype(np.float64)
    hidden = mask[..., None]
    ink = frame[..., None] / 255.0
    hidden_colour = (1 - ink) * np.array([25, 45, 110]) + ink * np.array([255, 150, 0])
    return np.where(hidden, hidden_colour, rgb).astype(np.uint8)


def gallery(ctx: Context) -> Figure:
    """The four families at equal coverage on one test video: mask and what the model sees."""
    temporal, coverage = ctx.config.temporal[0], ctx.config.focus_coverages()[-1]
    video = ctx.test.frames[0]
    times = sorted({0, video.shape[0] // 2, video.shape[0] - 1})
    families = ctx.config.families
    fig, axes = _figure(len(families), 2 + len(times), width=1.9, height=2.0)
    for i, family in enumerate(families):
        mask = mask_for(ctx.config, family, temporal, coverage, 0, video.shape)
        cell = ctx.cell(temporal, family, coverage)
        panels = [(video[0], "clean, t=0"), (_overlay(video[0], mask[0]), "mask over digit, t=0")]
        panels += [(np.where(mask[t], 0, video[t]), f"model input, t={t}") for t in times]
        for j, (image, title) in enumerate(panels):
            axes[i, j].imshow(image, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            axes[i, j].set_xticks([])
            axes[i, j].set_yticks([])
            if i == 0:
                axes[i, j].set_title(title, fontsize=8)
        axes[i, 0].set_ylabel(
            f"{family}\n{cell.components[0, 0]} regions, largest {cell.largest[0, 0]:.0%}\n"
            f"hides {cell.hidden_ink[0, 0]:.0%} of the ink",
            fontsize=8,
        )
    fig.suptitle(
        f"Equal coverage {coverage:g} (masks {temporal}): blue = hidden, orange = hidden ink; "
        "the model sees the last three columns"
    )
    return fig


def training_curves(ctx: Context) -> Figure:
    """Train and validation loss and accuracy per epoch (clean frames)."""
    h = ctx.history
    epochs = np.arange(1, len(h.train_loss) + 1)
    fig, axes = _figure(1, 2)
    for ax, (train, val, name) in zip(
        axes[0],
        ((h.train_loss, h.val_loss, "loss (cross-entropy)"), (h.train_acc, h.val_acc, "accuracy")),
        strict=True,
    ):
        ax.plot(epochs, train, "o-", label="train")
        ax.plot(epochs, val, "s-", label="validation")
        ax.set(xlabel="epoch", title=name)
        ax.legend(fontsize=8)
    axes[0, 1].annotate(
        f"{h.val_acc[-1]:.3f}",
        (epochs[-1], h.val_acc[-1]),
        xytext=(0, -14),
        textcoords="offset points",
        ha="right",
        fontsize=8,
    )
    fig.suptitle("Training on clean Moving MNIST frames")
    return fig


def descriptors(ctx: Context) -> Figure:
    """Realised coverage, largest hidden region and region count vs coverage."""
    temporal = ctx.config.temporal[0]
    fig, axes = _figure(1, 3)
    panels = (
        ("realised_coverage", "realised coverage"),
        ("largest_fraction", "largest hidden region (share of frame)"),
        ("n_components", "hidden regions per frame"),
    )
    for ax, (column, title) in zip(axes[0], panels, strict=True):
        for family in ctx.config.families:
            rows = _select(ctx, temporal=temporal, family=family, level="frame")
            ax.plot(
                [r["coverage"] for r in rows],
                [r[column] for r in rows],
                "o-",
                markersize=3,
                color=_colour(family),
                label=family,
            )
        ax.set(xlabel="nominal coverage", title=title)
    axes[0, 0].plot([0, 1], [0, 1], "k:", linewidth=0.8)
    axes[0, 2].set_yscale("symlog", linthresh=1)
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(f"Mask descriptors (4-connectivity, mean over frames; masks {temporal})")
    return fig


def hidden_ink_analysis(ctx: Context) -> Figure:
    """Hidden-ink share vs coverage (spread per family) and frame accuracy vs hidden-ink share."""
    temporal = ctx.config.temporal[0]
    fig, axes = _figure(1, 2, width=4.6, height=3.4)
    left, right = axes[0]
    for family in ctx.config.families:
        cells = [ctx.cell(temporal, family, c) for c in ctx.config.coverages]
        x = np.array(ctx.config.coverages)
        q10, q50, q90 = np.array([np.nanpercentile(c.hidden_ink, [10, 50, 90]) for c in cells]).T
        left.plot(x, q50, "o-", markersize=3, color=_colour(family), label=family)
        left.fill_between(x, q10, q90, color=_colour(family), alpha=0.15, linewidth=0)
        curve = ctx.ink[temporal][family]
        centres = (curve.edges[:-1] + curve.edges[1:]) / 2
        enough = curve.count >= 30
        right.errorbar(
            centres[enough],
            curve.accuracy[enough],
            yerr=[(curve.accuracy - curve.lo)[enough], (curve.hi - curve.accuracy)[enough]],
            fmt="o-",
            markersize=3,
            capsize=2,
            color=_colour(family),
            label=family,
        )
    left.plot([0, 1], [0, 1], "k:", linewidth=0.8)
    left.set(
        xlabel="canvas coverage",
        ylabel="share of the digit's ink hidden",
        title="median and 10-90% range per frame",
    )
    right.set(
        xlabel="share of the digit's ink hidden (bins of 0.1)",
        ylabel="frame accuracy",
        title="frame accuracy at equal hidden ink (95% Wilson)",
        ylim=(0, 1),
    )
    left.legend(fontsize=8)
    fig.suptitle(
        f"Share of the digit hidden, and accuracy at equal share (masks {temporal}; bins with at least "
        "30 frames)"
    )
    return fig


def temporal_modes(ctx: Context) -> Figure:
    """Video accuracy per temporal mode (line style) with frame accuracy (thin) for each family."""
    families = ctx.config.families
    fig, axes = _figure(1, len(families), sharey=True)
    for ax, family in zip(axes[0], families, strict=True):
        for temporal in ctx.config.temporal:
            style = _STYLES[temporal]
            _curve(
                ax,
                _video(ctx, temporal, family),
                "accuracy",
                colour=_colour(family),
                label=f"video, {temporal}",
                style=style,
            )
            frame = _select(ctx, temporal=temporal, family=family, level="frame")
            ax.plot(
                [r["coverage"] for r in frame],
                [r["accuracy"] for r in frame],
                style,
                color="grey",
                linewidth=1,
                label=f"frame, {temporal}",
            )
        ax.set(title=family, xlabel="canvas coverage")
        ax.legend(fontsize=7)
    axes[0, 0].set_ylabel("accuracy")
    fig.suptitle(
        f"How masks behave in time: pooling {ctx.config.frames} frames ({ctx.config.rule}) vs one frame"
    )
    return fig


def combination_rules(ctx: Context) -> Figure:
    """NLL and ECE of the video prediction under each combination rule, per family."""
    temporal, families = ctx.config.temporal[0], ctx.config.families
    fig, axes = _figure(2, len(families), sharey="row", sharex=True)
    colours = dict(zip(RULES, ("#D55E00", "#0072B2", "#009E73"), strict=True))
    for j, family in enumerate(families):
        for i, metric in enumerate(("nll", "ece")):
            for rule in RULES:
                _curve(
                    axes[i, j], _video(ctx, temporal, family, rule), metric, colour=colours[rule], label=rule
                )
            frame = _select(ctx, temporal=temporal, family=family, level="frame")
            axes[i, j].plot(
                [r["coverage"] for r in frame],
                [r[metric] for r in frame],
                "k:",
                linewidth=1,
                label="single frame",
            )
            axes[i, j].set_ylabel(_METRIC_LABELS[metric] if j == 0 else None)
        axes[0, j].set_title(family)
        axes[1, j].set_xlabel("canvas coverage")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(
        f"Combining {ctx.config.frames} frames: summing log-probabilities compounds confidence (masks "
        f"{temporal})"
    )
    return fig


def paired_differences(ctx: Context) -> Figure:
    """Video accuracy minus the reference family's, on the same videos (paired bootstrap)."""
    ref = ctx.config.reference
    fig, axes = _figure(1, len(ctx.config.temporal), sharey=True, width=4.0)
    for ax, temporal in zip(axes[0], ctx.config.temporal, strict=True):
        for family in ctx.config.families:
            if family != ref:
                _curve(
                    ax,
                    _video(ctx, temporal, family),
                    "accuracy_minus_reference",
                    colour=_colour(family),
                    label=family,
                )
        ax.axhline(0, color=_colour(ref), linewidth=1.2, label=ref)
        ax.set(title=f"masks {temporal}", xlabel="canvas coverage")
        ax.legend(fontsize=7)
    axes[0, 0].set_ylabel(f"video accuracy minus {ref}")
    fig.suptitle("Paired comparison on the same videos and mask seeds (95% paired bootstrap)")
    return fig


#: File name (without .png) -> figure builder.
FIGURES: dict[str, Callable[[Context], Figure]] = {
    "coverage_summary": coverage_summary,
    "reliability": reliability_diagrams,
    "gallery": gallery,
    "training": training_curves,
    "descriptors": descriptors,
    "hidden_ink": hidden_ink_analysis,
    "temporal": temporal_modes,
    "rules": combination_rules,
    "paired": paired_differences,
}


def gif_families(families: tuple[str, ...]) -> tuple[str, ...]:
    """The two families of the animation: Bernoulli and Perlin when both run, else the first two.

    Examples
    --------
    >>> gif_families(("cgol", "perlin", "bernoulli"))
    ('bernoulli', 'perlin')
    >>> gif_families(("triangles",))
    ('triangles',)
    """
    wanted = tuple(f for f in ("bernoulli", "perlin") if f in families)
    return wanted if len(wanted) == 2 else families[:2]


def _write_gif(ctx: Context, path: Path, scale: int = 4) -> None:
    """One test video side by side under two families, with each frame's prediction."""
    from PIL import Image, ImageDraw

    temporal, coverage = ctx.config.temporal[0], ctx.config.focus_coverages()[-1]
    video, label = ctx.test.frames[0], int(ctx.test.labels[0])
    families = gif_families(ctx.config.families)
    t, h, w = video.shape
    header, gap = 28, 8
    frames = []
    masks = {f: mask_for(ctx.config, f, temporal, coverage, 0, video.shape) for f in families}
    logp = {f: ctx.cell(temporal, f, coverage).logp[0] for f in families}
    for k in range(t):
        canvas = Image.new("L", (len(families) * (w * scale + gap) - gap, h * scale + header), color=40)
        draw = ImageDraw.Draw(canvas)
        for j, family in enumerate(families):
            seen = np.where(masks[family][k], 0, video[k]).astype(np.uint8)
            left = j * (w * scale + gap)
            canvas.paste(
                Image.fromarray(seen).resize((w * scale, h * scale), Image.Resampling.NEAREST), (left, header)
            )
            guess = int(logp[family][k].argmax())
            draw.text((left + 4, 2), f"{family} {coverage:.0%}", fill=255)
            draw.text(
                (left + 4, 14),
                f"t={k} says {guess} ({np.exp(logp[family][k, guess]):.0%}), true {label}",
                fill=255,
            )
        frames.append(canvas)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=350, loop=0)


def make_figures(ctx: Context) -> dict[str, str]:
    """Write every figure (PNG) and the animation (GIF) into ``ctx.config.out``.

    Returns
    -------
    dict
        Figure name -> file name inside the output folder.
    """
    out = ctx.config.out
    written = {}
    for name, build in FIGURES.items():
        fig = build(ctx)
        fig.savefig(out / f"{name}.png", dpi=110)
        written[name] = f"{name}.png"
    _write_gif(ctx, out / "video.gif")
    written["video"] = "video.gif"
    return written
