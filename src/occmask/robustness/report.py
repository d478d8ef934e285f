"""What :func:`~occmask.robustness.evaluate` returns, and paired comparisons of two models.

A :class:`Report` holds per-frame log-probabilities of every cell, turns them
into metrics with bootstrap intervals (one row per cell and level), compares
every family with the reference on the same samples (Holm-adjusted paired
tests), summarises each family by its "geometry gap" and rebuilds any mask.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .cells import Cell, Setting, make_mask
from .metrics import Scores, bootstrap_indices, combine_frames, scores
from .stats import METRICS, Estimate, area_of, estimates, holm, verdict

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["Comparison", "Report", "compare", "markdown_table", "write_csv"]

_BOOT_STREAM = 1

Level = tuple[str, str]  # ("image" | "frame", "") or ("video", rule)


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table.

    Examples
    --------
    >>> print(markdown_table(["a", "b"], [["1", "2"]]))
    | a | b |
    | --- | --- |
    | 1 | 2 |
    """
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def write_csv(rows: list[dict], path: str | Path) -> None:
    """Write rows as CSV, floats to 6 significant digits; no rows: empty file.

    The columns are every key of any row, in order of first appearance; a row
    without a column leaves it empty.
    """
    with open(path, "w", newline="") as fh:
        if not rows:
            return
        columns = list(dict.fromkeys(key for row in rows for key in row))
        writer = csv.DictWriter(fh, fieldnames=columns, restval="")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: f"{v:.6g}" if isinstance(v, float) else v for k, v in row.items()})


def _columns(found: dict[str, Estimate], suffix: str = "") -> dict[str, float]:
    out = {}
    for name, est in found.items():
        out[f"{name}{suffix}"] = est.value
        out[f"{name}{suffix}_lo"], out[f"{name}{suffix}_hi"] = est.interval()
    return out


def _tests(
    rows: list[dict],
    diffs: Sequence[dict[str, Estimate] | None],
    group: Sequence[str],
    metrics: Sequence[str] = tuple(METRICS),
) -> None:
    """Add Holm-adjusted p-values and verdicts to ``rows`` (in place), one family of tests per group.

    ``diffs[i]`` is row i's paired differences (None: not a test). Tests are
    grouped by the values of the ``group`` columns and by metric; columns
    ``p_holm_<metric>`` (None where nothing is tested) and ``verdict_<metric>``.
    """
    groups: dict[tuple, list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault(tuple(row[g] for g in group), []).append(i)
    for members in groups.values():
        for metric in metrics:
            tests = [diffs[i] for i in members]
            p = np.array([np.nan if d is None else d[metric].p_value() for d in tests])
            for i, d, p_adj in zip(members, tests, holm(p), strict=True):
                rows[i][f"p_holm_{metric}"] = None if d is None else float(p_adj)
                rows[i][f"verdict_{metric}"] = "" if d is None else verdict(d[metric].value, p_adj)


@dataclass(frozen=True)
class _Frame:
    t: int
    h: int
    w: int


class Report:
    """Results of :func:`~occmask.robustness.evaluate` (see there for the settings).

    Attributes
    ----------
    setting : Setting
        The validated arguments.
    labels : ndarray of int, shape (N,)
    cells : list of Cell
        Per-frame log-probabilities and mask descriptors, in grid order.
    video : bool
        Whether the samples were videos (then rows have frame and video levels).
    rows : list of dict
        One row per (temporal, family, coverage, level, rule): every metric of
        :data:`~occmask.robustness.stats.METRICS` with ``_lo``/``_hi`` 95%
        bounds, the paired difference to the reference family
        (``<metric>_minus_reference`` with bounds), its Holm-adjusted p-value
        (``p_holm_<metric>``, adjusted over the families and coverages of the
        grid for each temporal mode, level and rule) and verdict
        (``verdict_<metric>``: ``"lower"``, ``"higher"`` or ``"not separable"``;
        empty, with p-value None, where there is nothing to test), and mask descriptors.
    gaps : list of dict
        Per (temporal, level, rule, family): the area between the family's
        accuracy curve and the reference's over the coverages (``gap`` with
        ``gap_lo``/``gap_hi``, ``p_holm_gap`` adjusted over the families, ``verdict_gap``).
    timings : dict
        Wall-clock seconds of :func:`~occmask.robustness.evaluate`: ``"masks"`` (waiting
        for the mask pool and applying the masks, on the main thread), ``"model"``,
        ``"grid"`` (the whole loop over data and cells) and ``"total"`` (with the statistics).
    """

    def __init__(
        self,
        setting: Setting,
        labels: np.ndarray,
        cells: list[Cell],
        *,
        video: bool,
        frame_shape: tuple[int, int, int],
    ) -> None:
        self.setting = setting
        self.labels = labels
        self.cells = cells
        self.video = video
        self._frame = _Frame(*frame_shape)
        seed = np.random.SeedSequence(setting.seed, spawn_key=(_BOOT_STREAM, labels.size))
        self.boot = bootstrap_indices(labels.size, setting.n_boot, np.random.default_rng(seed))
        self._index = {(c.temporal, c.family, c.coverage): c for c in cells}
        self._estimates: dict[tuple, dict[str, Estimate]] = {}
        self.rows = self._rows()
        self.gaps = self._gaps()
        self.timings: dict[str, float] = {}

    # ----------------------------------------------------------------- access

    @property
    def levels(self) -> list[Level]:
        """``[("frame", ""), ("video", rule), ...]`` for videos, ``[("image", "")]`` for images."""
        if not self.video:
            return [("image", "")]
        return [("frame", ""), *(("video", rule) for rule in self.setting.rules)]

    def cell(self, temporal: str, family: str, coverage: float) -> Cell:
        """The grid cell of one (temporal mode, family, coverage)."""
        try:
            return self._index[(temporal, family, float(coverage))]
        except KeyError:
            raise ValueError(
                f"no cell ({temporal!r}, {family!r}, {coverage!r}); temporal in "
                f"{list(self.setting.temporal)}, families {list(self.setting.families)}, "
                f"coverages {list(self.setting.coverages)}"
            ) from None

    def scores(
        self, temporal: str, family: str, coverage: float, level: str = "frame", rule: str = ""
    ) -> Scores:
        """Per-item scores of a cell: frames (video-major) or images, or videos pooled by ``rule``."""
        cell = self.cell(temporal, family, coverage)
        if level == "video":
            return scores(combine_frames(cell.logp, rule), self.labels)
        n, t, k = cell.logp.shape
        return scores(cell.logp.reshape(n * t, k), np.repeat(self.labels, t))

    def estimate(
        self, temporal: str, family: str, coverage: float, level: str = "frame", rule: str = ""
    ) -> dict[str, Estimate]:
        """Every metric of a cell at one level, with bootstrap replicates (paired across cells)."""
        key = (temporal, family, float(coverage), level, rule)
        if key not in self._estimates:
            found = estimates(self.scores(*key), self.boot, self.setting.ece_bins)
            self._estimates[key] = found
        return self._estimates[key]

    def mask(
        self,
        i: int,
        *,
        family: str,
        coverage: float,
        temporal: str = "evolving",
        sample: np.ndarray | None = None,
    ) -> np.ndarray:
        """Rebuild the mask sample ``i`` got in a cell: bool ``(T, H, W)`` (``(H, W)`` for images).

        ``sample`` (the sample's ``(T, C, H, W)`` or ``(C, H, W)`` array) is needed only
        when the report was made with a ``region``.
        """
        self.cell(temporal, family, coverage)
        if not 0 <= i < self.labels.size:
            raise ValueError(f"i must be a sample index in [0, {self.labels.size}), got {i}")
        if self.setting.region is not None and sample is None:
            raise ValueError("this report was made with a region: pass sample= to rebuild its masks")
        f = self._frame
        if sample is None:
            x = np.zeros((f.t, 1, f.h, f.w), np.float32)
        else:
            x = np.asarray(sample, dtype=np.float32)
            x = x if self.video else x[None]
        m = make_mask(self.setting, family, float(coverage), temporal, i, x)
        return m if self.video else m[0]

    # ----------------------------------------------------------------- tables

    def _rows(self) -> list[dict]:
        s = self.setting
        rows, diffs = [], []
        for cell in self.cells:
            described = {
                "realised_coverage": float(cell.realised.mean()),
                "n_components": float(cell.n_components.mean()),
                "largest_fraction": float(cell.largest_fraction.mean()),
            }
            if cell.region_hidden is not None:
                described["region_hidden"] = float(np.nanmean(cell.region_hidden))
            for level, rule in self.levels:
                mine = self.estimate(cell.temporal, cell.family, cell.coverage, level, rule)
                ref = self.estimate(cell.temporal, s.reference, cell.coverage, level, rule)
                diff = {k: mine[k] - ref[k] for k in mine}
                tested = cell.family != s.reference and cell.coverage > 0
                diffs.append(diff if tested else None)
                n, t = cell.logp.shape[:2]
                rows.append(
                    {
                        "temporal": cell.temporal,
                        "family": cell.family,
                        "coverage": cell.coverage,
                        "level": level,
                        "rule": rule,
                        "n_samples": n,
                        "n_items": n * (t if level == "frame" else 1),
                        **_columns(mine),
                        "reference": s.reference,
                        **_columns(diff, "_minus_reference"),
                        **described,
                    }
                )
        _tests(rows, diffs, ("temporal", "level", "rule"))
        return rows

    def _gaps(self) -> list[dict]:
        s = self.setting
        x = np.asarray(s.coverages)
        rows, diffs = [], []
        for temporal in s.temporal:
            for level, rule in self.levels:
                ref = [self.estimate(temporal, s.reference, c, level, rule)["accuracy"] for c in s.coverages]
                for family in s.families:
                    mine = [self.estimate(temporal, family, c, level, rule)["accuracy"] for c in s.coverages]
                    gap = area_of(x, [a - b for a, b in zip(mine, ref, strict=True)])
                    lo, hi = gap.interval()
                    rows.append(
                        {"temporal": temporal, "level": level, "rule": rule, "family": family,
                         "reference": s.reference, "gap": gap.value, "gap_lo": lo, "gap_hi": hi}
                    )  # fmt: skip
                    diffs.append({"gap": gap} if family != s.reference and x.size > 1 else None)
        _tests(rows, diffs, ("temporal", "level", "rule"), ("gap",))
        return rows

    def select(self, **where: Any) -> list[dict]:
        """Rows matching every ``column=value``, in grid order.

        Examples
        --------
        >>> # report.select(family="perlin", level="video", rule="mean_logprob")
        """
        return [r for r in self.rows if all(r[k] == v for k, v in where.items())]

    def main_level(self) -> Level:
        """The level the summary and plots show by default: videos under the first rule, or images."""
        return self.levels[-len(self.setting.rules)] if self.video else self.levels[0]

    def to_csv(self, path: str | Path) -> Path:
        """Write :attr:`rows` to a CSV file; return its path."""
        write_csv(self.rows, path)
        return Path(path)

    def summary(self, temporal: str | None = None, level: str | None = None, rule: str | None = None) -> str:
        """A Markdown table: accuracy per family and coverage with verdicts, and the geometry gap.

        Each occluded cell reads ``accuracy [95% CI]`` followed by ``▼``/``▲`` when
        the Holm-adjusted paired test puts it below/above the reference, ``=``
        when they are not separable.
        """
        temporal = temporal or self.setting.temporal[0]
        main = self.main_level()
        level, rule = level or main[0], main[1] if rule is None else rule
        marks = {"lower": " ▼", "higher": " ▲", "not separable": " =", "": ""}
        body = []
        for family in self.setting.families:
            cells = []
            for c in self.setting.coverages:
                (row,) = self.select(temporal=temporal, family=family, coverage=c, level=level, rule=rule)
                cells.append(
                    f"{row['accuracy']:.3f} [{row['accuracy_lo']:.3f}, {row['accuracy_hi']:.3f}]"
                    + marks[row["verdict_accuracy"]]
                )
            (gap,) = [
                g
                for g in self.gaps
                if (g["temporal"], g["level"], g["rule"], g["family"]) == (temporal, level, rule, family)
            ]
            name = f"{family} (reference)" if family == self.setting.reference else family
            gap_text = (
                "—"
                if not gap["verdict_gap"]
                else f"{gap['gap']:+.3f} [{gap['gap_lo']:+.3f}, {gap['gap_hi']:+.3f}]"
            )
            body.append([name, *cells, gap_text, gap["verdict_gap"] or "—"])
        where = f"{level}" + (f", {rule}" if rule else "") + f", masks {temporal}"
        header = ["family", *[f"{c:g}" for c in self.setting.coverages], "geometry gap [95% CI]", "verdict"]
        return f"Accuracy by coverage ({where}; n = {self.labels.size})\n\n" + markdown_table(header, body)

    # ----------------------------------------------------------------- figures

    def plot_curves(self, metrics: Sequence[str] = ("accuracy", "nll", "ece", "gap"), **where: Any) -> Figure:
        """Metric vs coverage per family with 95% bands; see :func:`occmask.robustness.plots.curves`."""
        from .plots import curves

        return curves(self, metrics, **where)

    def plot_reliability(self, coverage: float, **where: Any) -> Figure:
        """Reliability diagrams per family at one coverage (see :mod:`occmask.robustness.plots`)."""
        from .plots import reliability_diagrams

        return reliability_diagrams(self, coverage, **where)


@dataclass(frozen=True)
class Comparison:
    """Paired differences ``a - b`` of two reports on identical masks and samples.

    Attributes
    ----------
    rows : list of dict
        One row per (temporal, family, coverage, level, rule): ``<metric>``
        (the difference) with ``_lo``/``_hi`` bounds, ``p_holm_<metric>``
        (Holm over the occluded cells of each temporal mode, level and rule)
        and ``verdict_<metric>`` (``"lower"``: ``a`` below ``b``).
    """

    rows: list[dict]

    def to_csv(self, path: str | Path) -> Path:
        """Write :attr:`rows` to a CSV file; return its path."""
        write_csv(self.rows, path)
        return Path(path)


def compare(report_a: Report, report_b: Report) -> Comparison:
    """Paired differences of two models evaluated with the same settings and data.

    Both reports must come from :func:`evaluate` with the same families,
    coverages, temporal modes, rules, seed and bootstrap count on the same
    labels: then both models saw identical masks, and the shared bootstrap
    resamples make every difference paired.

    Examples
    --------
    >>> # compare(evaluate(model_a, data), evaluate(model_b, data)).rows
    """
    a, b = report_a.setting, report_b.setting
    same = ("families", "coverages", "temporal", "rules", "match", "seed", "n_boot", "ece_bins", "params")
    differ = [name for name in same if getattr(a, name) != getattr(b, name)]
    if differ:
        raise ValueError(f"reports must share their settings to be paired; they differ in {differ}")
    if not np.array_equal(report_a.labels, report_b.labels):
        raise ValueError("reports must be made on the same samples (their labels differ)")
    rows: list[dict] = []
    diffs: list[dict[str, Estimate] | None] = []
    for cell in report_a.cells:
        for level, rule in report_a.levels:
            key = (cell.temporal, cell.family, cell.coverage, level, rule)
            diff = {k: v - report_b.estimate(*key)[k] for k, v in report_a.estimate(*key).items()}
            rows.append(
                dict(zip(("temporal", "family", "coverage", "level", "rule"), key, strict=True))
                | _columns(diff)
            )
            diffs.append(diff)
    _tests(rows, diffs, ("temporal", "level", "rule"))
    return Comparison(rows)
