"""Figures of the study (matplotlib without pyplot; shared helpers from :mod:`occmask.robustness.plots`).

Every figure is drawn on a :class:`matplotlib.figure.Figure` with the Agg
canvas, so no global backend is switched and nothing is shown on screen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..robustness.plots import band, colour, figure, reliability_panel
from .analysis import Decisions, Where, pooled_curve

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .context import Run

__all__ = ["FIGURES", "make_figures"]

_STATUS_COLOURS = {"supported": "#009E73", "contradicted": "#D55E00", "not separable": "#DDDDDD"}
_STYLES = {"evolving": "-", "static": "--", "independent": ":"}


def _panels(run: Run, reports: dict | None = None) -> list[tuple[str, float]]:
    """(architecture, fill) of each column: those of ``reports`` (default: the canvas-matched ones)."""
    fills = sorted({f for _, _, f in (run.reports if reports is None else reports)})
    return [(a, f) for a in run.config.archs for f in fills]


def claims(run: Run, decisions: Decisions) -> Figure:
    """The claims table as a picture: settings (rows) by claims (columns), coloured by status."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    keys = list(dict.fromkeys(c.key for c, _, _ in decisions.claims))
    wheres = list(dict.fromkeys(d.where for _, d, _ in decisions.claims))
    if not keys:
        fig = Figure(figsize=(5, 1), layout="constrained")
        fig.text(0.5, 0.5, "No claim of the post involves two of this run's families.", ha="center")
        return fig
    status = {(d.where, c.key): s for c, d, s in decisions.claims}
    order = list(_STATUS_COLOURS)
    grid = np.array([[order.index(status[(w, k)]) for k in keys] for w in wheres])
    fig = Figure(figsize=(3.6 + 0.55 * len(keys), 1.6 + 0.24 * len(wheres)), layout="constrained")
    ax = fig.subplots()
    from matplotlib.colors import ListedColormap

    ax.imshow(grid, cmap=ListedColormap([_STATUS_COLOURS[s] for s in order]), vmin=0, vmax=2, aspect="auto")
    ax.set_xticks(range(len(keys)), keys, rotation=50, ha="right", fontsize=8)
    ax.set_yticks(range(len(wheres)), [w.label() for w in wheres], fontsize=7)
    ax.set_xticks(np.arange(len(keys) + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(len(wheres) + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", linewidth=1)
    ax.tick_params(which="minor", length=0)
    fig.legend(
        handles=[Patch(color=_STATUS_COLOURS[s], label=s) for s in order], loc="outside lower center", ncols=3
    )
    fig.suptitle("The blog's claims per setting (Holm-adjusted paired tests, pooled over seeds)", fontsize=10)
    return fig


def _accuracy_grid(run: Run, reports: dict, arm: str, xlabel: str, title: str) -> Figure:
    """Accuracy curves per family, frame and video level (rows) by architecture and fill (columns)."""
    c = run.config
    panels = _panels(run, reports)
    levels = [("frame", ""), ("video", c.rule)]
    fig, axes = figure(len(levels), len(panels), width=3.3, height=2.7, sharex=True, sharey=True)
    for j, (arch, fill) in enumerate(panels):
        for i, (level, rule) in enumerate(levels):
            ax = axes[i, j]
            where = Where(arch, fill, c.temporal[0], level, rule, arm)
            for family in c.families:
                x, pooled = pooled_curve(reports, where, family, "accuracy")
                for s in range(c.seeds):
                    ax.plot(
                        x, [p.per_seed[s] for p in pooled], color=colour(family), linewidth=0.6, alpha=0.5
                    )
                lo, hi = np.array([p.interval() for p in pooled]).T
                band(ax, x, np.array([p.value for p in pooled]), lo, hi, color=colour(family), label=family)
            ax.set_title(
                f"{arch}, fill {fill:g}, {'frame' if level == 'frame' else 'video ' + rule}", fontsize=9
            )
            if i == len(levels) - 1:
                ax.set_xlabel(xlabel)
        for i in range(len(levels)):
            axes[i, 0].set_ylabel("accuracy")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(
        f"{title}, masks {c.temporal[0]}\nthin lines: one training seed each; thick: the mean over "
        f"{c.seeds} seeds, two-level 95% band",
        fontsize=10,
    )
    return fig


def curves(run: Run, decisions: Decisions) -> Figure:
    """Accuracy vs canvas coverage per family: seeds thin, pooled mean thick with its 95% band."""
    return _accuracy_grid(run, run.reports, "canvas", "canvas coverage", "Accuracy")


def ink(run: Run, decisions: Decisions) -> Figure:
    """Accuracy vs the share of each frame's ink hidden (the ink-matched arm), as :func:`curves`."""
    if not run.ink_reports:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(5, 1), layout="constrained")
        fig.text(0.5, 0.5, "No ink-matched arm ran (ink_shares is empty).", ha="center")
        return fig
    return _accuracy_grid(
        run, run.ink_reports, "ink", "share of the ink hidden", "Accuracy at a matched share of the ink"
    )


def gaps(run: Run, decisions: Decisions) -> Figure:
    """Each family's geometry gap per training seed (dots) and pooled (bar: 95% interval), single frames."""
    c = run.config
    panels = _panels(run)
    temporal = c.temporal[0]
    fig, axes = figure(1, len(panels), width=3.3, height=0.5 + 0.42 * len(c.families), sharey=True)
    for j, (arch, fill) in enumerate(panels):
        ax = axes[0, j]
        mine = [d for d in decisions.gaps if d.where == Where(arch, fill, temporal, "frame", "")]
        for k, d in enumerate(mine):
            xerr = [[d.value - d.lo], [d.hi - d.value]]
            ax.errorbar(d.value, k, xerr=xerr, fmt="s", color=colour(d.subject), capsize=3, markersize=5)
            ax.plot(d.per_seed, [k] * len(d.per_seed), "o", color="black", markersize=2.5, alpha=0.7)
        ax.axvline(0, color=colour(c.reference), linewidth=1)
        ax.set_yticks(range(len(mine)), [d.subject for d in mine])
        ax.set(title=f"{arch}, fill {fill:g}", xlabel=f"accuracy area vs {c.reference}")
        ax.title.set_fontsize(9)
    fig.suptitle(
        f"Geometry gap per family, single frames, masks {temporal}: "
        "dots one seed each, squares the mean [95%]",
        fontsize=10,
    )
    return fig


def reliability(run: Run, decisions: Decisions) -> Figure:
    """Reliability diagrams at the focus coverage, per frame and per pooling rule (rows), per family."""
    from matplotlib.figure import Figure

    c = run.config
    arch, fill, temporal = c.archs[0], c.fills[0], c.temporal[0]
    any_report = next(iter(run.reports.values()))
    levels = any_report.levels
    fig = Figure(figsize=(1.9 * len(c.families) + 0.6, 2.5 * len(levels) + 0.6), layout="constrained")
    grid = fig.add_gridspec(2 * len(levels), len(c.families), height_ratios=[3, 1] * len(levels))
    seeds = [r for (a, _, f), r in sorted(run.reports.items()) if (a, f) == (arch, fill)]
    for i, (level, rule) in enumerate(levels):
        for j, family in enumerate(c.families):
            top, bottom = fig.add_subplot(grid[2 * i, j]), fig.add_subplot(grid[2 * i + 1, j])
            found = [r.scores(temporal, family, decisions.focus, level, rule) for r in seeds]
            conf = np.concatenate([s.confidence for s in found])
            right = np.concatenate([s.correct for s in found])
            reliability_panel(top, bottom, conf, right, 15, colour(family))
            name = "frame" if level == "frame" else rule
            top.set_title(f"{family}, {name}", fontsize=8)
            top.tick_params(labelsize=7)
            bottom.tick_params(labelsize=7)
            bottom.set_xlabel("confidence", fontsize=7)
    fig.axes[0].legend(fontsize=6, loc="lower right")
    fig.suptitle(
        f"Reliability at coverage {decisions.focus:g} ({arch}, fill {fill:g}, masks {temporal}, "
        f"{len(seeds)} seeds pooled):\nbars below the orange marks are overconfident",
        fontsize=10,
    )
    return fig


def temporal(run: Run, decisions: Decisions) -> Figure:
    """Video accuracy per temporal mode (line style) for each family, pooled over seeds."""
    c = run.config
    arch, fill = c.archs[0], c.fills[0]
    fig, axes = figure(1, len(c.families), width=2.3, height=2.5, sharey=True)
    for ax, family in zip(axes[0], c.families, strict=True):
        for mode in c.temporal:
            x, pooled = pooled_curve(
                run.reports, Where(arch, fill, mode, "video", c.rule), family, "accuracy"
            )
            lo, hi = np.array([p.interval() for p in pooled]).T
            values = np.array([p.value for p in pooled])
            band(ax, x, values, lo, hi, color=colour(family), linestyle=_STYLES[mode], label=mode)
        ax.set_title(family, fontsize=9)
        ax.set_xlabel("coverage")
        ax.legend(fontsize=6)
    axes[0, 0].set_ylabel(f"video accuracy ({c.rule})")
    fig.suptitle(f"Masks in time ({arch}, fill {fill:g}, mean over {c.seeds} seeds, 95% bands)", fontsize=10)
    return fig


def gallery(run: Run, decisions: Decisions) -> Figure:
    """Every family at the focus coverage on one test video, as the model sees it with each fill."""
    c = run.config
    report = next(iter(run.reports.values()))
    video = run.test.frames[0] / 255.0
    times = sorted({0, video.shape[0] - 1})
    columns = [(fill, t) for fill in c.fills for t in times]
    fig, axes = figure(len(c.families), 1 + len(columns), width=1.45, height=1.5)
    for i, family in enumerate(c.families):
        mask = report.mask(0, family=family, coverage=decisions.focus, temporal=c.temporal[0])
        panels = [(video[0], "clean, t=0")] + [
            (np.where(mask[t], fill, video[t]), f"fill {fill:g}, t={t}") for fill, t in columns
        ]
        for j, (image, title) in enumerate(panels):
            axes[i, j].imshow(image, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            axes[i, j].set_xticks([])
            axes[i, j].set_yticks([])
            if i == 0:
                axes[i, j].set_title(title, fontsize=8)
        axes[i, 0].set_ylabel(family, fontsize=8)
    fig.suptitle(f"Coverage {decisions.focus:g}, masks {c.temporal[0]}: what the model sees", fontsize=10)
    return fig


def training(run: Run, decisions: Decisions) -> Figure:
    """Validation accuracy per epoch, one line per architecture and seed."""
    fig, axes = figure(1, 1, width=4.6, height=3.0)
    ax = axes[0, 0]
    styles = dict(zip(run.config.archs, ("-", "--"), strict=False))
    for (arch, s), h in run.histories.items():
        ax.plot(np.arange(1, len(h.val_acc) + 1), h.val_acc, styles.get(arch, "-"), marker="o", markersize=3,
                label=f"{arch} seed {s}")  # fmt: skip
    ax.set(xlabel="epoch", ylabel="validation accuracy (clean frames)")
    ax.legend(fontsize=7)
    fig.suptitle("Training on clean Moving MNIST frames", fontsize=10)
    return fig


#: File name (without .png) -> figure builder.
FIGURES: dict[str, Callable[[Run, Decisions], Figure]] = {
    "claims": claims,
    "curves": curves,
    "gaps": gaps,
    "ink": ink,
    "reliability": reliability,
    "temporal": temporal,
    "gallery": gallery,
    "training": training,
}


def make_figures(run: Run, decisions: Decisions) -> dict[str, str]:
    """Write every figure (PNG) into the output folder; return name -> file name."""
    written = {}
    for name, build in FIGURES.items():
        build(run, decisions).savefig(run.config.out / f"{name}.png", dpi=110)
        written[name] = f"{name}.png"
    return written
