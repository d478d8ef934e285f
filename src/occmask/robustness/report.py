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
from .stats import (
    ALPHA,
    AT_CEILING,
    AT_CHANCE,
    POWER,
    Estimate,
    above_chance,
    area,
    area_of,
    estimates,
    paired_p,
    per_sample,
)
from .verdicts import Test, columns, decide, differences, share_accuracy, shared_status, warn_unresolvable

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
        bounds; ``status`` (``"at chance"``, ``"at ceiling"`` or
        ``"informative"``, see :meth:`status`) and ``chance`` (the majority-class
        rate); the paired difference to the reference family
        (``<metric>_minus_reference`` with bounds); for each metric of
        :data:`~occmask.robustness.stats.TESTED` the Holm-adjusted p-value of the
        paired test (``p_holm_<metric>``, adjusted over the families and
        coverages of the grid for each temporal mode, level and rule), its
        verdict (``verdict_<metric>``: ``"lower"``, ``"higher"`` (for ``gap``:
        ``"less overconfident"``, ``"more overconfident"``), ``"not separable"``,
        or ``"at chance"`` / ``"at ceiling"`` when both conditions are, untested;
        empty where there is nothing to compare) and the minimal detectable
        difference (``mdd_<metric>``); ``n_tests`` (Holm's m), ``p_floor`` (the
        smallest adjusted p-value the design can reach) and ``resolvable``
        (``p_floor < ALPHA``); ``accuracy_tested_as`` (the rule whose accuracy
        test the row carries); and mask descriptors.
    gaps : list of dict
        Per (temporal, level, rule, family): the area between the family's
        accuracy curve and the reference's over the coverages (``gap`` with
        ``gap_lo``/``gap_hi``), its paired t-test on the per-sample areas
        (``p_holm_gap`` adjusted over the families, ``mdd_gap``, ``verdict_gap``:
        ``"at chance"``/``"at ceiling"`` when no cell of the curve carries information).
    chance : float
        The majority-class rate of the labels: the highest accuracy a predictor
        that ignores its input can expect.
    timings : dict
        Wall-clock seconds of :func:`~occmask.robustness.evaluate`: ``"masks"`` (waiting
        for the mask pool and applying the masks, on the main thread), ``"model"``,
        ``"grid"`` (the whole loop over data and cells), ``"statistics"`` (bootstrap and
        tests) and ``"total"``. A merged report gives the longest shard's ``"masks"``,
        ``"model"`` and ``"grid"`` (see :func:`~occmask.robustness.merge`).
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
        self._values: dict[tuple, dict[str, np.ndarray]] = {}
        self._status: dict[tuple, str] = {}
        self.chance = float(np.bincount(labels).max() / labels.size)
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

    def values(
        self, temporal: str, family: str, coverage: float, level: str = "frame", rule: str = ""
    ) -> dict[str, np.ndarray]:
        """Per-sample values of the tested metrics in a cell (frames averaged): the units of the tests."""
        key = (temporal, family, float(coverage), level, rule)
        if key not in self._values:
            self._values[key] = per_sample(self.scores(*key), self.labels.size)
        return self._values[key]

    def exact(self, level: str) -> bool:
        """Whether each sample is one 0/1 outcome at ``level`` (images, videos, one-frame videos)."""
        return level != "frame" or self._frame.t == 1

    def status(
        self, temporal: str, family: str, coverage: float, level: str = "frame", rule: str = ""
    ) -> str:
        """``"at chance"``, ``"at ceiling"`` or ``"informative"``: what a cell's accuracy can say.

        At chance: the one-sided test that the accuracy exceeds :attr:`chance` (the
        majority-class rate, the best a predictor that ignores its input can reach on
        these labels) does not reject at ``ALPHA`` (exact binomial for 0/1 outcomes,
        t-test otherwise). At ceiling: not at chance, and the clean cell (coverage 0)
        or a cell whose paired test against the clean cell does not reject at ``ALPHA``.
        """
        key = (temporal, family, float(coverage), level, rule)
        if key not in self._status:
            self._status[key] = self._find_status(*key)
        return self._status[key]

    def _find_status(self, temporal: str, family: str, coverage: float, level: str, rule: str) -> str:
        accuracy = self.values(temporal, family, coverage, level, rule)["accuracy"]
        exact = self.exact(level)
        if above_chance(accuracy, self.chance, exact) >= ALPHA:
            return AT_CHANCE
        has_clean = 0.0 in self.setting.coverages
        clean = self.values(temporal, family, 0.0, level, rule)["accuracy"] if has_clean else None
        if coverage == 0.0 or (clean is not None and paired_p(accuracy - clean, exact) >= ALPHA):
            return AT_CEILING
        return "informative"

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
        rows: list[dict] = []
        tests: list[Test | None] = []
        for cell in self.cells:
            described = {
                "realised_coverage": float(cell.realised.mean()),
                "n_components": float(cell.n_components.mean()),
                "largest_fraction": float(cell.largest_fraction.mean()),
            }
            if cell.region_hidden is not None:
                described["region_hidden"] = float(np.nanmean(cell.region_hidden))
            for level, rule in self.levels:
                key = (cell.temporal, cell.family, cell.coverage, level, rule)
                ref_key = (cell.temporal, s.reference, cell.coverage, level, rule)
                mine, ref = self.estimate(*key), self.estimate(*ref_key)
                diff = {k: mine[k] - ref[k] for k in mine}
                status = self.status(*key)
                tested = cell.family != s.reference and cell.coverage > 0
                tests.append(
                    Test(
                        differences(self.values(*key), self.values(*ref_key)),
                        self.exact(level),
                        shared_status(status, self.status(*ref_key)),
                    )
                    if tested
                    else None
                )
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
                        **columns(mine),
                        "status": status,
                        "chance": self.chance,
                        "reference": s.reference,
                        **columns(diff, "_minus_reference"),
                        **described,
                    }
                )
        decide(rows, tests, ("temporal", "level", "rule"))
        share_accuracy(
            rows, ("temporal", "family", "coverage"), ("p_holm_accuracy", "mdd_accuracy", "verdict_accuracy")
        )
        return rows

    def _gaps(self) -> list[dict]:
        s = self.setting
        x = np.asarray(s.coverages)
        rows: list[dict] = []
        tests: list[Test | None] = []
        for temporal in s.temporal:
            for level, rule in self.levels:
                ref = [self.estimate(temporal, s.reference, c, level, rule)["accuracy"] for c in s.coverages]
                ref_values = [
                    self.values(temporal, s.reference, c, level, rule)["accuracy"] for c in s.coverages
                ]
                for family in s.families:
                    mine = [self.estimate(temporal, family, c, level, rule)["accuracy"] for c in s.coverages]
                    gap = area_of(x, [a - b for a, b in zip(mine, ref, strict=True)])
                    lo, hi = gap.interval()
                    rows.append(
                        {"temporal": temporal, "level": level, "rule": rule, "family": family,
                         "reference": s.reference, "n_samples": self.labels.size, "gap": gap.value,
                         "gap_lo": lo, "gap_hi": hi}
                    )  # fmt: skip
                    if family == s.reference or x.size < 2:
                        tests.append(None)
                        continue
                    values = [self.values(temporal, family, c, level, rule)["accuracy"] for c in s.coverages]
                    per = area(x, np.stack(values, axis=-1) - np.stack(ref_values, axis=-1))
                    shared = [
                        shared_status(
                            self.status(temporal, f, c, level, rule), self.status(temporal, r, c, level, rule)
                        )
                        for c in s.coverages
                        if c > 0
                        for f, r in [(family, s.reference)]
                    ]
                    status = "" if "" in shared else (AT_CHANCE if AT_CHANCE in shared else AT_CEILING)
                    tests.append(Test({"gap": per}, status=status))
        decide(rows, tests, ("temporal", "level", "rule"), ("gap",), words={})
        share_accuracy(rows, ("temporal", "family"), ("p_holm_gap", "mdd_gap", "verdict_gap"))
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
        """Markdown tables: accuracy and the signed calibration gap per family and coverage, with verdicts.

        Each occluded accuracy cell reads ``accuracy [95% CI]`` followed by
        ``▼``/``▲`` when the Holm-adjusted paired test puts it below/above the
        reference, ``=`` and the minimal detectable difference when they are not
        separable, ``∅`` when both are at chance and ``⊤`` when both are at the
        clean ceiling. The calibration table reads ``gap (over / under)``: the
        signed gap (confidence - accuracy) and the ECE's overconfident and
        underconfident parts, marked ``▲``/``▼`` when the family is more/less
        overconfident than the reference.
        """
        temporal = temporal or self.setting.temporal[0]
        main = self.main_level()
        level, rule = level or main[0], main[1] if rule is None else rule
        where = {"temporal": temporal, "level": level, "rule": rule}
        accuracy = self._table(
            where,
            "accuracy",
            lambda r: f"{r['accuracy']:.3f} [{r['accuracy_lo']:.3f}, {r['accuracy_hi']:.3f}]",
        )
        gaps = self._table(
            where,
            "gap",
            lambda r: f"{r['gap']:+.3f} ({r['ece_over']:.3f} / {r['ece_under']:.3f})",
            gap_column=False,
        )
        shown = [r for r in self.select(**where) if r["n_tests"]]
        tests = "no paired tests"
        if shown:
            first = shown[0]
            kind = "McNemar exact" if self.exact(level) else "t-test"
            tests = f"{first['n_tests']} paired tests per metric ({kind} for accuracy)"
            tests += f"; the smallest Holm-adjusted p-value they can reach is {first['p_floor']:.3g}"
            tests += "" if first["resolvable"] else f", NOT below alpha = {ALPHA}: no test can reject"
        title = f"{level}" + (f", {rule}" if rule else "") + f", masks {temporal}; n = {self.labels.size}"
        return (
            f"Accuracy by coverage ({title}; chance {self.chance:.3f})\n\n{accuracy}\n\n"
            f"Signed calibration gap, confidence - accuracy (+ over-, - underconfident), with the ECE's "
            f"over / under parts\n\n{gaps}\n\n"
            f"▼ ▲: below / above the reference ({self.setting.reference}; for the gap: less / more "
            f"overconfident), Holm-adjusted at {ALPHA}; = (mdd): not separable, and the smallest difference "
            f"detectable with {POWER:.0%} power; ∅: both at chance; ⊤: both at the clean ceiling. {tests}."
        )

    def _table(self, where: dict[str, str], metric: str, text: Any, gap_column: bool = True) -> str:
        marks = {"lower": " ▼", "higher": " ▲", "less overconfident": " ▼", "more overconfident": " ▲",
                 AT_CHANCE: " ∅", AT_CEILING: " ⊤", "": ""}  # fmt: skip
        body = []
        for family in self.setting.families:
            cells = []
            for c in self.setting.coverages:
                (row,) = self.select(family=family, coverage=c, **where)
                found = row[f"verdict_{metric}"]
                mark = f" = (±{row[f'mdd_{metric}']:.3f})" if found == "not separable" else marks[found]
                cells.append(text(row) + mark)
            name = f"{family} (reference)" if family == self.setting.reference else family
            if gap_column:
                (gap,) = [
                    g for g in self.gaps if g["family"] == family and all(g[k] == v for k, v in where.items())
                ]
                gap_text = (
                    "—"
                    if not gap["verdict_gap"]
                    else f"{gap['gap']:+.3f} [{gap['gap_lo']:+.3f}, {gap['gap_hi']:+.3f}]"
                )
                cells += [gap_text, gap["verdict_gap"] or "—"]
            body.append([name, *cells])
        header = ["family", *[f"{c:g}" for c in self.setting.coverages]]
        header += ["geometry gap [95% CI]", "verdict"] if gap_column else []
        return markdown_table(header, body)

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
        (the difference) with ``_lo``/``_hi`` bounds, ``status_a``/``status_b``,
        and for the tested metrics ``p_holm_<metric>`` (Holm over the cells of
        each temporal mode, level and rule), ``mdd_<metric>`` and
        ``verdict_<metric>`` (``"lower"``: ``a`` below ``b``; ``"at chance"``
        where both models are), with ``n_tests``, ``p_floor`` and ``resolvable``.
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
    for name, value in (("report_a", report_a), ("report_b", report_b)):
        if not isinstance(value, Report):
            raise TypeError(
                f"{name} must be a Report returned by occmask.robustness.evaluate, got {type(value).__name__}"
            )
    a, b = report_a.setting, report_b.setting
    same = ("families", "coverages", "temporal", "rules", "match", "seed", "n_boot", "ece_bins", "params")
    differ = [name for name in same if getattr(a, name) != getattr(b, name)]
    if differ:
        raise ValueError(f"reports must share their settings to be paired; they differ in {differ}")
    if not np.array_equal(report_a.labels, report_b.labels):
        raise ValueError("reports must be made on the same samples (their labels differ)")
    rows: list[dict] = []
    tests: list[Test | None] = []
    for cell in report_a.cells:
        for level, rule in report_a.levels:
            key = (cell.temporal, cell.family, cell.coverage, level, rule)
            diff = {k: v - report_b.estimate(*key)[k] for k, v in report_a.estimate(*key).items()}
            chance = [r.status(*key) == AT_CHANCE for r in (report_a, report_b)]
            rows.append(
                dict(zip(("temporal", "family", "coverage", "level", "rule"), key, strict=True))
                | {"n_samples": report_a.labels.size}
                | columns(diff)
                | {"status_a": report_a.status(*key), "status_b": report_b.status(*key)}
            )
            tests.append(
                Test(
                    differences(report_a.values(*key), report_b.values(*key)),
                    report_a.exact(level),
                    AT_CHANCE if all(chance) else "",
                )
            )
    decide(rows, tests, ("temporal", "level", "rule"))
    share_accuracy(
        rows, ("temporal", "family", "coverage"), ("p_holm_accuracy", "mdd_accuracy", "verdict_accuracy")
    )
    warn_unresolvable(rows, stacklevel=3)
    return Comparison(rows)
