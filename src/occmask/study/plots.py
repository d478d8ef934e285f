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

_STATUS_COLOURS = {"supported": "#009E73", "contradicted": "#D55E00", "not separable": "#DDDDDD",
                   "at chance": "#555555", "at ceiling": "#56B4E9"}  # fmt: skip
_FRAME_MS = 600  # display time of one animation frame
_STYLES = {"evolving": "-", "static": "--", "independent": ":"}


def _panels(run: Run, reports: dict | None = None) -> list[tuple[str, float]]:
    """(architecture, fill) of each column: those of ``reports`` (default: the canvas-matched ones)."""
    fills = sorted({f for _, _, f in (run.reports if reports is None else reports)})
    return [(a, f) for a in run.config.archs for f in fills]


def claims(run: Run, decisions: Decisions) -> Figure:
    """The claims at every coverage, single frames, first temporal mode: one panel per fill and architecture,
    claims (rows) by coverage (columns), coloured by status."""
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    c = run.config
    found = [
        (cl, d, st) for cl, d, st in decisions.claims if d.coverage is not None and d.where.arm == "canvas"
    ]
    found = [
        (cl, d, st) for cl, d, st in found if d.where.level == "frame" and d.where.temporal == c.temporal[0]
    ]
    keys = list(dict.fromkeys(cl.key for cl, _, _ in found))
    if not keys:
        fig = Figure(figsize=(5, 1), layout="constrained")
        fig.text(0.5, 0.5, "No claim of the post involves two of this run's families.", ha="center")
        return fig
    panels = _panels(run)
    order = list(_STATUS_COLOURS)
    fig, axes = figure(1, len(panels), width=2.6, height=1.4 + 0.26 * len(keys), sharey=True)
    for ax, (arch, fill) in zip(axes[0], panels, strict=True):
        status = {
            (cl.key, d.coverage): st for cl, d, st in found if (d.where.arch, d.where.fill) == (arch, fill)
        }
        grid_c = [v for v in c.coverages[fill] if v > 0]
        grid = np.array([[order.index(status[(k, v)]) for v in grid_c] for k in keys])
        ax.imshow(grid, cmap=ListedColormap([_STATUS_COLOURS[x] for x in order]), vmin=0, vmax=len(order) - 1,
                  aspect="auto")  # fmt: skip
        ax.set_xticks(range(len(grid_c)), [f"{v:g}" for v in grid_c], fontsize=7, rotation=45)
        ax.set_yticks(range(len(keys)), keys, fontsize=7)
        ax.set_xticks(np.arange(len(grid_c) + 1) - 0.5, minor=True)
        ax.set_yticks(np.arange(len(keys) + 1) - 0.5, minor=True)
        ax.grid(which="minor", color="white", linewidth=1)
        ax.tick_params(which="minor", length=0)
        ax.set_title(f"{arch}, fill {fill:g}", fontsize=9)
        ax.set_xlabel("coverage", fontsize=8)
    fig.legend(handles=[Patch(color=_STATUS_COLOURS[x], label=x) for x in order], loc="outside lower center",
               ncols=len(order), fontsize=7)  # fmt: skip
    fig.suptitle(
        f"The blog's claims at every coverage (single frames, masks {c.temporal[0]}; Holm-adjusted "
        "paired tests "
        "on seed-pooled videos)",
        fontsize=9,
    )
    return fig


def _accuracy_grid(run: Run, reports: dict, arm: str, xlabel: str, title: str) -> Figure:
    """Accuracy curves per family, frame and video level (rows) by architecture and fill (columns)."""
    c = run.config
    panels = _panels(run, reports)
    levels = [("frame", ""), ("video", c.rule)]
    fig, axes = figure(len(levels), len(panels), width=3.3, height=2.7, sharex="col", sharey=True)
    for j, (arch, fill) in enumerate(panels):
        for i, (level, rule) in enumerate(levels):
            ax = axes[i, j]
            where = Where(arch, fill, c.temporal[0], level, rule, arm)
            for family in c.families:
                p = pooled_curve(reports, where, family, "accuracy")
                for seed in p["per_seed"]:
                    ax.plot(p["coverage"], seed, color=colour(family), linewidth=0.6, alpha=0.5)
                band(ax, p["coverage"], p["value"], p["lo"], p["hi"], color=colour(family), label=family)
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
        f"{c.seeds} seeds, 95% band over videos",
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
    """Each family's accuracy difference to the reference at every coverage, single frames: the pooled
    mean with its 95% interval (filled where the Holm verdict separates it) and one dot per seed."""
    c = run.config
    panels = _panels(run)
    temporal = c.temporal[0]
    fig, axes = figure(1, len(panels), width=3.3, height=2.8, sharey=True)
    for ax, (arch, fill) in zip(axes[0], panels, strict=True):
        mine = [
            d for d in decisions.gaps if d.where == Where(arch, fill, temporal, "frame", "") and d.coverage
        ]
        families = list(dict.fromkeys(d.subject for d in mine))
        for k, f in enumerate(families):
            ds = sorted((d for d in mine if d.subject == f), key=lambda d: d.coverage or 0.0)
            x = np.arange(len(ds)) + (k - len(families) / 2) * 0.08
            for xi, d in zip(x, ds, strict=True):
                filled = d.verdict in ("lower", "higher")
                ax.errorbar(xi, d.value, yerr=[[d.value - d.lo], [d.hi - d.value]], fmt="o", color=colour(f),
                            mfc=colour(f) if filled else "white", markersize=4, capsize=2,
                            label=f if xi == x[0] else None)  # fmt: skip
                ax.plot([xi] * len(d.per_seed), d.per_seed, ".", color="black", markersize=2, alpha=0.6)
            ax.set_xticks(range(len(ds)), [f"{d.coverage:g}" for d in ds], fontsize=7)
        ax.axhline(0, color=colour(c.reference), linewidth=1)
        ax.set(title=f"{arch}, fill {fill:g}", xlabel="coverage", ylabel=f"accuracy − {c.reference}")
        ax.title.set_fontsize(9)
    axes[0, 0].legend(fontsize=6)
    fig.suptitle(
        f"Accuracy difference to {c.reference} per coverage, single frames, masks {temporal}: filled markers "
        "separated (Holm), black dots one seed each",
        fontsize=9,
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
            found = [r.scores(temporal, family, decisions.focus[fill], level, rule) for r in seeds]
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
        f"Reliability at coverage {decisions.focus[fill]:g} ({arch}, fill {fill:g}, masks {temporal}, "
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
            p = pooled_curve(run.reports, Where(arch, fill, mode, "video", c.rule), family, "accuracy")
            style = {"color": colour(family), "linestyle": _STYLES[mode], "label": mode}
            band(ax, p["coverage"], p["value"], p["lo"], p["hi"], **style)
        ax.set_title(family, fontsize=9)
        ax.set_xlabel("coverage")
        ax.legend(fontsize=6)
    axes[0, 0].set_ylabel(f"video accuracy ({c.rule})")
    fig.suptitle(f"Masks in time ({arch}, fill {fill:g}, mean over {c.seeds} seeds, 95% bands)", fontsize=10)
    return fig


def gallery(run: Run, decisions: Decisions) -> Figure:
    """Every family at each fill's focus coverage on one test video, as the model sees it."""
    c = run.config
    video = run.test.frames[0] / 255.0
    times = sorted({0, video.shape[0] - 1})
    columns = [(fill, t) for fill in c.fills for t in times]
    fig, axes = figure(len(c.families), 1 + len(columns), width=1.45, height=1.5)
    for i, family in enumerate(c.families):
        panels = [(video[0], "clean, t=0")]
        for fill, t in columns:
            report = next(r for (_, _, f), r in run.reports.items() if f == fill)
            mask = report.mask(0, family=family, coverage=decisions.focus[fill], temporal=c.temporal[0])
            panels.append(
                (np.where(mask[t], fill, video[t]), f"fill {fill:g} at {decisions.focus[fill]:g}, t={t}")
            )
        for j, (image, title) in enumerate(panels):
            axes[i, j].imshow(image, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            axes[i, j].set_xticks([])
            axes[i, j].set_yticks([])
            if i == 0:
                axes[i, j].set_title(title, fontsize=8)
        axes[i, 0].set_ylabel(family, fontsize=8)
    fig.suptitle(f"Masks {c.temporal[0]}: what the model sees", fontsize=10)
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


def geometry(run: Run, decisions: Decisions) -> Figure:
    """Accuracy against each descriptor, one point per family and coverage (fill 0, first architecture):
    at matched canvas coverage, which descriptor lines the families up."""
    from .geometry import DESCRIPTORS

    if not run.geometry:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(5, 1), layout="constrained")
        fig.text(0.5, 0.5, "No descriptor analysis ran (it needs fill 0).", ha="center")
        return fig
    g = run.geometry[0]
    coverages = sorted({r["coverage"] for r in g.table})
    fig, axes = figure(1, len(DESCRIPTORS), width=2.7, height=3.0, sharey=True)
    for ax, name in zip(axes[0], DESCRIPTORS, strict=True):
        for family in dict.fromkeys(r["family"] for r in g.table):
            rows = sorted((r for r in g.table if r["family"] == family), key=lambda r: r["coverage"])
            x = [np.exp(r[name]) if name == "log_components" else r[name] for r in rows]
            ax.plot(x, [r["accuracy"] for r in rows], "-", color=colour(family), linewidth=0.7, alpha=0.6)
            sizes = [8 + 40 * coverages.index(r["coverage"]) / max(1, len(coverages) - 1) for r in rows]
            ax.scatter(x, [r["accuracy"] for r in rows], s=sizes, color=colour(family), label=family)
        if name in ("log_components", "boundary"):
            ax.set_xscale("log")
        ax.set_xlabel({"log_components": "components"}.get(name, name.replace("_", " ")), fontsize=8)
    axes[0, 0].set_ylabel("frame accuracy (mean over seeds)")
    axes[0, 0].legend(fontsize=6)
    fig.suptitle(
        f"{g.arch}, fill 0: accuracy against the masks' descriptors,\none point per family and coverage "
        "(larger: higher coverage)",
        fontsize=9,
    )
    return fig


#: File name (without .png) -> figure builder.
#: The file name of the run's animation (one test video under every family).
ANIMATION = "animation.gif"

FIGURES: dict[str, Callable[[Run, Decisions], Figure]] = {
    "claims": claims,
    "curves": curves,
    "gaps": gaps,
    "ink": ink,
    "reliability": reliability,
    "temporal": temporal,
    "gallery": gallery,
    "geometry": geometry,
    "training": training,
}


def animation(run: Run, decisions: Decisions, *, scale: int = 2) -> list:
    """Frames (Pillow images) of one test video, clean and under every family side by side at fill 0's
    focus coverage, each panel captioned with the first model's prediction and confidence."""
    from PIL import Image, ImageDraw

    c = run.config
    fill = 0.0 if 0.0 in c.fills else c.fills[0]
    coverage = decisions.focus[fill]
    report = run.reports[(c.archs[0], 0, fill)]
    video, label = run.test.frames[0], int(run.test.labels[0])
    clean = 0.0 in report.setting.coverages  # its predictions exist only when the grid holds 0
    masks = [(f, report.mask(0, family=f, coverage=coverage, temporal=c.temporal[0])) for f in c.families]
    panels = [("clean", None)][: int(clean)] + masks
    size, caption = video.shape[-1] * scale, 26
    out = []
    for t in range(video.shape[0]):
        sheet = Image.new("L", (size * len(panels), size + 2 * caption), 255)
        draw = ImageDraw.Draw(sheet)
        for j, (name, mask) in enumerate(panels):
            frame = video[t] if mask is None else np.where(mask[t], np.uint8(round(fill * 255)), video[t])
            cell = report.cell(
                c.temporal[0], c.families[0] if mask is None else name, 0.0 if mask is None else coverage
            )
            logp = cell.logp[0, t]
            sheet.paste(
                Image.fromarray(frame).resize((size, size), Image.Resampling.NEAREST), (j * size, caption)
            )
            draw.text((j * size + 3, 2), name, fill=0)
            guess = int(logp.argmax())
            mark = "ok" if guess == label else "wrong"
            draw.text((j * size + 3, size + caption + 2), f"{guess} {np.exp(logp.max()):.2f} {mark}", fill=0)
        out.append(sheet)
    return out


def make_figures(run: Run, decisions: Decisions) -> dict[str, str]:
    """Write every figure (PNG) and the animation (GIF) into the output folder; return name -> file name."""
    written = {}
    for name, build in FIGURES.items():
        build(run, decisions).savefig(run.config.out / f"{name}.png", dpi=110)
        written[name] = f"{name}.png"
    frames = animation(run, decisions)
    frames[0].save(run.config.out / ANIMATION, save_all=True, append_images=frames[1:], duration=600, loop=0)
    written["animation"] = ANIMATION
    return written
