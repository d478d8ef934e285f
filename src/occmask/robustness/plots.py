"""Figures of a :class:`~occmask.robustness.report.Report` (matplotlib without pyplot).

Every figure is drawn on a :class:`matplotlib.figure.Figure` with the Agg
canvas, so no global backend is switched and nothing is shown on screen. The
helpers here are shared with the study's figures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .metrics import ece_parts, reliability

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["LABELS", "colour", "curves", "figure", "reliability_diagrams", "reliability_panel"]

#: Axis labels of the metrics.
LABELS = {
    "accuracy": "accuracy",
    "nll": "NLL",
    "brier": "Brier score",
    "ece": "ECE",
    "ece_over": "ECE, overconfident bins",
    "ece_under": "ECE, underconfident bins",
    "confidence": "mean confidence",
    "gap": "confidence − accuracy",
}


def colour(family: str) -> str:
    """The family's display colour from the registry (grey for an unknown name).

    Examples
    --------
    >>> colour("no such family")
    '#555555'
    """
    from ..families import FAMILIES

    return FAMILIES[family].colour if family in FAMILIES else "#555555"


def figure(
    rows: int, cols: int, width: float = 3.4, height: float = 2.8, **kwargs: Any
) -> tuple[Figure, np.ndarray]:
    """A constrained-layout figure with a ``(rows, cols)`` array of axes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * cols, height * rows), layout="constrained")
    return fig, fig.subplots(rows, cols, squeeze=False, **kwargs)


def band(ax: Axes, x: np.ndarray, y: np.ndarray, lo: np.ndarray, hi: np.ndarray, **style: Any) -> None:
    """A line with markers and a shaded interval."""
    ax.plot(x, y, marker="o", markersize=3, **style)
    ax.fill_between(x, lo, hi, color=style.get("color"), alpha=0.18, linewidth=0)


def _where(report: Any, where: dict[str, Any]) -> tuple[str, str, str]:
    level, rule = report.main_level()
    temporal = where.pop("temporal", report.setting.temporal[0])
    level = where.pop("level", level)
    rule = where.pop("rule", rule if level == "video" else "")
    if where:
        raise TypeError(f"unknown keyword(s) {sorted(where)}; use temporal=, level=, rule=")
    return temporal, level, rule


def curves(report: Any, metrics: Any = ("accuracy", "nll", "ece", "gap"), **where: Any) -> Figure:
    """Metrics vs coverage, one panel per metric, one curve per family with its 95% band.

    Parameters
    ----------
    report : occmask.robustness.Report
    metrics : sequence of str
        Names from :data:`~occmask.robustness.stats.METRICS`.
    **where
        ``temporal=``, ``level=`` (``"frame"``, ``"video"``, ``"image"``), ``rule=``;
        default the first temporal mode and :meth:`Report.main_level`.
    """
    temporal, level, rule = _where(report, dict(where))
    metrics = tuple(metrics)
    unknown = [m for m in metrics if m not in LABELS]
    if unknown:
        raise ValueError(f"metrics: unknown {unknown}; choose from {list(LABELS)}")
    fig, axes = figure(1, len(metrics))
    for ax, metric in zip(axes[0], metrics, strict=True):
        for family in report.setting.families:
            rows = report.select(temporal=temporal, family=family, level=level, rule=rule)
            x = np.array([r["coverage"] for r in rows])
            y, lo, hi = (np.array([r[metric + s] for r in rows]) for s in ("", "_lo", "_hi"))
            band(ax, x, y, lo, hi, color=colour(family), label=family)
        if metric == "gap":
            ax.axhline(0, color="black", linewidth=0.8, linestyle=":")
        ax.set(xlabel="coverage", title=LABELS[metric])
    axes[0, 0].legend(fontsize=7)
    what = level + (f", {rule}" if rule else "")
    fig.suptitle(
        f"{what}, masks {temporal}: 95% bootstrap bands over {report.labels.size} samples", fontsize=10
    )
    return fig


def reliability_panel(
    top: Axes, bottom: Axes, confidence: np.ndarray, correct: np.ndarray, n_bins: int, colour: str
) -> None:
    """Accuracy per confidence bin (bars) against mean confidence (orange), counts below.

    The gap between a bar and its bin's mean confidence is shaded red where the bin
    is overconfident and blue where it is underconfident; the panel's text gives the
    signed gap (confidence - accuracy) and the ECE's overconfident and underconfident parts.
    """
    count, mean_conf, accuracy = reliability(confidence, correct, n_bins)
    edges = np.linspace(0, 1, count.size + 1)
    centres, width = (edges[:-1] + edges[1:]) / 2, edges[1] - edges[0]
    filled = count > 0
    top.bar(
        centres[filled],
        accuracy[filled],
        width=width,
        color=colour,
        alpha=0.7,  # the diagonal and the confidence marks stay visible on dark family colours
        edgecolor="black",
        linewidth=0.4,
        label="accuracy",
    )
    for side, colour_of_side, label in ((1, "#C0392B", "overconfident"), (-1, "#1F4E9C", "underconfident")):
        shown = filled & (side * (mean_conf - accuracy) > 0)
        top.bar(
            centres[shown], (mean_conf - accuracy)[shown], bottom=accuracy[shown], width=width,
            facecolor=(1, 1, 1, 0.75), hatch="////", edgecolor=colour_of_side, linewidth=0.6, label=label,
        )  # fmt: skip
    top.hlines(
        mean_conf[filled], (centres - width / 2)[filled], (centres + width / 2)[filled], colors="#D55E00",
        linewidth=2.0, label="mean confidence",
    )  # fmt: skip
    top.plot([0, 1], [0, 1], "k--", linewidth=0.8)
    top.set(xlim=(0, 1), ylim=(0, 1), xticks=[0, 0.5, 1])
    gap = float(confidence.mean() - correct.mean())
    over, under = ece_parts(confidence, correct, n_bins)
    top.text(
        0.03, 0.95, f"conf − acc {gap:+.3f}\nover {float(over):.3f}, under {float(under):.3f}",
        transform=top.transAxes, fontsize=7, va="top",
        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1.5},
    )  # fmt: skip
    bottom.bar(centres, count, width=width, color="grey", edgecolor="black", linewidth=0.3)
    bottom.set(xlim=(0, 1), xticks=[0, 0.5, 1], xlabel="confidence")


def reliability_diagrams(report: Any, coverage: float, **where: Any) -> Figure:
    """Reliability diagrams at one coverage, one column per family.

    ``where`` as in :func:`curves`. Bars below the orange marks are overconfident bins (the
    gap shaded red), bars above them underconfident (blue); each title gives the ECE and the
    paired verdict of the family's signed gap against the reference.
    """
    from matplotlib.figure import Figure

    temporal, level, rule = _where(report, dict(where))
    families = report.setting.families
    fig = Figure(figsize=(2.4 * len(families), 3.3), layout="constrained")
    grid = fig.add_gridspec(2, len(families), height_ratios=[3, 1])
    for j, family in enumerate(families):
        top, bottom = fig.add_subplot(grid[0, j]), fig.add_subplot(grid[1, j])
        s = report.scores(temporal, family, coverage, level, rule)
        ece = report.estimate(temporal, family, coverage, level, rule)["ece"].value
        reliability_panel(top, bottom, s.confidence, s.correct, report.setting.ece_bins, colour(family))
        (row,) = report.select(temporal=temporal, family=family, coverage=coverage, level=level, rule=rule)
        found = row["verdict_gap"] or "reference"
        top.set_title(f"{family}\nECE {ece:.3f}; {found}", fontsize=8)
        if j == 0:
            top.set_ylabel("accuracy in bin")
            bottom.set_ylabel("count")
    fig.axes[0].legend(fontsize=6, loc="lower right")
    what = level + (f", {rule}" if rule else "")
    fig.suptitle(f"Reliability at coverage {coverage:g} ({what}, masks {temporal})", fontsize=10)
    return fig
