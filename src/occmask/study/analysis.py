"""Decisions of the study, as data: pooled estimates across training seeds, orderings, claims.

Every model (architecture x training seed) is scored by
:func:`occmask.robustness.evaluate` on the same test videos and the same masks, and
every report uses the same video resamples. A quantity pooled across seeds is the
mean over seeds; its interval comes from a two-level bootstrap that resamples
seeds and, within each replicate, uses the shared video resample, so it includes
training randomness as well as the sampling of videos and masks.

A *setting* is one architecture, fill, temporal mode and level (single frames, or
videos pooled by one rule), in one arm: masks matched in canvas coverage, or
matched in the share of each frame's ink they hide (``"ink"``). Within a setting,
every decision comes from a paired test whose p-value is adjusted with Holm's
method over the comparisons of that setting; the report only phrases these
decisions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..robustness import Report
from ..robustness.stats import Estimate, area_of, holm, verdict

__all__ = [
    "Claim",
    "Decision",
    "Decisions",
    "Pooled",
    "Where",
    "blog_claims",
    "calibration",
    "claim_status",
    "claim_verdicts",
    "count",
    "decide",
    "geometry_gaps",
    "pool",
    "pooled_curve",
    "settings",
    "temporal_effects",
]

Reports = Mapping[tuple[str, int, float], Report]  # (arch, seed index, fill) -> report


@dataclass(frozen=True, order=True)
class Where:
    """One setting of the design."""

    arch: str
    fill: float
    temporal: str
    level: str  # "frame" or "video"
    rule: str  # "" for frames
    arm: str = "canvas"  # "canvas": coverage of the canvas matched; "ink": share of the ink matched

    def label(self) -> str:
        """E.g. ``"globalpool, fill 0, evolving, video mean_logprob"`` (``", ink-matched"`` appended)."""
        level = "frame" if self.level == "frame" else f"video {self.rule}"
        return f"{self.arch}, fill {self.fill:g}, {self.temporal}, {level}" + (
            ", ink-matched" if self.arm == "ink" else ""
        )


@dataclass(frozen=True)
class Pooled(Estimate):
    """An estimate pooled over training seeds: mean over seeds, two-level bootstrap replicates.

    Attributes
    ----------
    per_seed : ndarray
        The point estimate of each seed.
    """

    per_seed: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def seeds_agreeing(self) -> int:
        """How many seeds' own estimates have the pooled estimate's sign."""
        return int(np.sum(np.sign(self.per_seed) == np.sign(self.value)))


def _seed_resamples(n_seeds: int, n_boot: int) -> np.ndarray:
    rng = np.random.default_rng(np.random.SeedSequence(n_seeds, spawn_key=(7, n_boot)))
    return rng.integers(0, n_seeds, size=(n_boot, n_seeds))


def pool(estimates: list[Estimate]) -> Pooled:
    """Pool per-seed estimates (replicates made on the same video resamples).

    Replicate ``b`` is the mean, over a resample of the seeds, of each drawn
    seed's replicate ``b``.

    Examples
    --------
    >>> import numpy as np
    >>> p = pool([Estimate(0.2, np.full(50, 0.2)), Estimate(0.4, np.full(50, 0.4))])
    >>> round(p.value, 3), p.per_seed.tolist(), bool(0.2 <= p.interval()[0] <= p.interval()[1] <= 0.4)
    (0.3, [0.2, 0.4], True)
    """
    reps = np.stack([e.replicates for e in estimates])  # (seeds, n_boot)
    idx = _seed_resamples(*reps.shape)
    pooled = reps[idx, np.arange(reps.shape[1])[:, None]].mean(axis=1)
    per_seed = np.array([e.value for e in estimates])
    return Pooled(float(per_seed.mean()), pooled, per_seed)


def settings(reports: Reports, arm: str = "canvas") -> list[Where]:
    """Every setting of a run's reports of one arm, sorted."""
    archs = sorted({a for a, _, _ in reports})
    fills = sorted({f for _, _, f in reports})
    any_report = next(iter(reports.values()))
    levels = [lv for lv in any_report.levels]
    return sorted(
        Where(a, f, t, level, rule, arm)
        for a in archs
        for f in fills
        for t in any_report.setting.temporal
        for level, rule in levels
    )


def _seeds(reports: Reports, where: Where) -> list[Report]:
    return [r for (a, _, f), r in sorted(reports.items()) if (a, f) == (where.arch, where.fill)]


def _curve_area(
    report: Report, where: Where, family: str, versus: str, metric: str, temporal: str = ""
) -> Estimate:
    """Area over the coverages between two curves of a metric, paired, for one seed.

    ``versus`` is a family in the same temporal mode, or in mode ``temporal`` when given.
    """
    cov = report.setting.coverages

    def at(f: str, c: float, mode: str) -> Estimate:
        return report.estimate(mode, f, c, where.level, where.rule)[metric]

    return area_of(
        np.asarray(cov),
        [at(family, c, where.temporal) - at(versus, c, temporal or where.temporal) for c in cov],
    )


@dataclass(frozen=True)
class Decision:
    """One Holm-adjusted paired comparison in one setting.

    ``value`` is ``subject - versus`` (an area over the coverages, or a value at
    one coverage), ``verdict`` ``"lower"``/``"higher"``/``"not separable"``.
    """

    where: Where
    subject: str
    versus: str
    metric: str
    value: float
    lo: float
    hi: float
    p_holm: float
    verdict: str
    per_seed: tuple[float, ...]
    agree: int

    def row(self) -> dict:
        """A flat dict for CSV."""
        w = self.where
        out = {"arm": w.arm, "arch": w.arch, "fill": w.fill, "temporal": w.temporal, "level": w.level,
               "rule": w.rule}  # fmt: skip
        out |= {k: getattr(self, k) for k in ("subject", "versus", "metric", "value", "lo", "hi", "p_holm")}
        out |= {"verdict": self.verdict, "seeds_agree": self.agree, "seeds": len(self.per_seed)}
        return out


def _decide(where: Where, tests: list[tuple[str, str, str, Pooled]]) -> list[Decision]:
    """Holm over ``tests`` (subject, versus, metric, pooled difference) of one setting."""
    adjusted = holm(np.array([p.p_value() for *_, p in tests]))
    out = []
    for (subject, versus, metric, p), p_adj in zip(tests, adjusted, strict=True):
        lo, hi = p.interval()
        out.append(
            Decision(where, subject, versus, metric, p.value, lo, hi, float(p_adj), verdict(p.value, p_adj),
                     tuple(p.per_seed.tolist()), p.seeds_agreeing())
        )  # fmt: skip
    return out


def geometry_gaps(reports: Reports, arm: str = "canvas") -> list[Decision]:
    """Per setting: each family's accuracy area against the reference, pooled (Holm over families)."""
    out = []
    for where in settings(reports, arm):
        seeds = _seeds(reports, where)
        ref = seeds[0].setting.reference
        tests = [
            (f, ref, "accuracy", pool([_curve_area(r, where, f, ref, "accuracy") for r in seeds]))
            for f in seeds[0].setting.families
            if f != ref
        ]
        out += _decide(where, tests)
    return out


@dataclass(frozen=True)
class Claim:
    """A hypothesis of the blog post: ``subject`` vs ``versus`` on ``metric``, expected direction.

    ``expected`` is ``"lower"`` or ``"higher"`` for the area between the two
    curves (subject minus versus) over the coverages.
    """

    key: str
    text: str
    subject: str
    versus: str
    metric: str
    expected: str


def blog_claims(families: tuple[str, ...]) -> list[Claim]:
    """The post's claims that the run's families can test.

    The post (*How occlusion structure breaks CNN digit recognition*): Bernoulli
    degrades the most gracefully, CGOL is worse, Perlin and triangle masks are the
    most destructive; Perlin and triangles give the worst NLL and Brier scores;
    under structured occlusion confidence is a less reliable guide (higher ECE).
    """
    claims = []

    def add(key: str, text: str, subject: str, versus: str, metric: str, expected: str) -> None:
        if subject in families and versus in families:
            claims.append(Claim(key, text, subject, versus, metric, expected))

    def costlier(f: str) -> None:
        add(
            f"acc_{f}",
            f"{f} masks cost more accuracy than bernoulli masks",
            f,
            "bernoulli",
            "accuracy",
            "lower",
        )

    def worse(f: str, metric: str, what: str) -> None:
        add(
            f"{metric}_{f}", f"{f} masks give a {what} than bernoulli masks", f, "bernoulli", metric, "higher"
        )

    for f in ("cgol", "perlin"):  # the post's order: bernoulli best, cgol worse, perlin and triangles worst
        costlier(f)
    costlier("triangles")
    for f in ("perlin", "triangles"):
        add(f"cgol_vs_{f}", f"cgol masks cost less accuracy than {f} masks", "cgol", f, "accuracy", "higher")
    for f in ("perlin", "triangles"):
        worse(f, "nll", "worse NLL")
        worse(f, "brier", "worse Brier score")
    for f in ("cgol", "perlin"):
        worse(f, "ece", "higher ECE")
    worse("triangles", "ece", "higher ECE")
    return claims


def claim_status(claim: Claim, decision: Decision) -> str:
    """``"supported"``, ``"contradicted"`` or ``"not separable"``.

    Examples
    --------
    >>> c = Claim("k", "t", "perlin", "bernoulli", "accuracy", "lower")
    >>> d = Decision(Where("a", 0.0, "evolving", "frame", ""), "perlin", "bernoulli", "accuracy",
    ...              -0.1, -0.2, -0.05, 0.01, "lower", (-0.1,), 1)
    >>> claim_status(c, d)
    'supported'
    """
    if decision.verdict == "not separable":
        return "not separable"
    return "supported" if decision.verdict == claim.expected else "contradicted"


def claim_verdicts(
    reports: Reports, claims: list[Claim], arm: str = "canvas"
) -> list[tuple[Claim, Decision, str]]:
    """Every claim in every setting: its pooled decision (Holm over the claims of a setting) and status."""
    out = []
    for where in settings(reports, arm):
        seeds = _seeds(reports, where)
        tests = [
            (
                c.subject,
                c.versus,
                c.metric,
                pool([_curve_area(r, where, c.subject, c.versus, c.metric) for r in seeds]),
            )
            for c in claims
        ]
        for claim, decision in zip(claims, _decide(where, tests), strict=True):
            out.append((claim, decision, claim_status(claim, decision)))
    return out


def temporal_effects(reports: Reports, rule: str) -> list[Decision]:
    """Video accuracy with each other temporal mode minus the first, as an area over coverages, per family.

    Holm over families and modes within each architecture and fill.
    """
    any_report = next(iter(reports.values()))
    modes = any_report.setting.temporal
    if len(modes) < 2 or not any_report.video:
        return []
    out = []
    archs, fills = sorted({a for a, _, _ in reports}), sorted({f for _, _, f in reports})
    for arch in archs:
        for fill in fills:
            seeds = _seeds(reports, Where(arch, fill, modes[0], "video", rule))
            tests = []
            for other in modes[1:]:
                where = Where(arch, fill, other, "video", rule)
                for f in seeds[0].setting.families:
                    diff = pool([_curve_area(r, where, f, f, "accuracy", modes[0]) for r in seeds])
                    tests.append((f"{f} {other}", f"{f} {modes[0]}", "accuracy", diff))
            out += _decide(Where(arch, fill, modes[0], "video", rule), tests)
    return out


def calibration(reports: Reports, coverage: float) -> list[dict]:
    """Signed calibration gap and ECE per family at one coverage, per setting, pooled over seeds.

    ``direction`` is ``"overconfident"`` / ``"underconfident"`` when the pooled
    95% interval of confidence - accuracy lies above / below zero, else
    ``"not separable from calibrated"``.
    """
    rows = []
    for where in settings(reports):
        seeds = _seeds(reports, where)
        for f in seeds[0].setting.families:
            found: dict[str, Pooled] = {
                m: pool([r.estimate(where.temporal, f, coverage, where.level, where.rule)[m] for r in seeds])
                for m in ("gap", "ece", "accuracy", "confidence")
            }
            lo, hi = found["gap"].interval()
            direction = (
                "overconfident" if lo > 0 else "underconfident" if hi < 0 else "not separable from calibrated"
            )
            e_lo, e_hi = found["ece"].interval()
            rows.append(
                {"where": where, "family": f, "gap": found["gap"].value, "gap_lo": lo, "gap_hi": hi,
                 "ece": found["ece"].value, "ece_lo": e_lo, "ece_hi": e_hi,
                 "accuracy": found["accuracy"].value, "confidence": found["confidence"].value,
                 "direction": direction}
            )  # fmt: skip
    return rows


def pooled_curve(reports: Reports, where: Where, family: str, metric: str) -> tuple[np.ndarray, list[Pooled]]:
    """Coverages and the pooled estimate of a metric at each (for the figures)."""
    seeds = _seeds(reports, where)
    cov = seeds[0].setting.coverages
    return np.asarray(cov), [
        pool([r.estimate(where.temporal, family, c, where.level, where.rule)[metric] for r in seeds])
        for c in cov
    ]


def count(statuses: list[str]) -> dict[str, int]:
    """How many of each status.

    Examples
    --------
    >>> count(["supported", "not separable", "supported"])
    {'supported': 2, 'contradicted': 0, 'not separable': 1}
    """
    return {s: statuses.count(s) for s in ("supported", "contradicted", "not separable")}


@dataclass(frozen=True)
class Decisions:
    """Everything the report phrases.

    Attributes
    ----------
    gaps : list of Decision
        Each family's geometry gap (accuracy area against the reference) per setting,
        in both arms (canvas coverage matched, then ink share matched).
    claims : list of (Claim, Decision, status)
        The blog's claims per setting, in both arms.
    temporal : list of Decision
        Video accuracy area of each other temporal mode minus the first, per family.
    calibration : list of dict
        Signed gap and ECE per family and setting at the focus coverage.
    focus : float
        The coverage of the calibration table.
    rule : str
        The pooling rule of the temporal comparison and the figures.
    """

    gaps: list[Decision]
    claims: list[tuple[Claim, Decision, str]]
    temporal: list[Decision]
    calibration: list[dict]
    focus: float
    rule: str


def decide(reports: Reports, focus: float, rule: str, ink_reports: Reports | None = None) -> Decisions:
    """Compute every decision of a run from its reports (and those of its ink-matched arm)."""
    families = next(iter(reports.values())).setting.families
    claims = blog_claims(families)
    arms = [(reports, "canvas")] + ([(ink_reports, "ink")] if ink_reports else [])
    return Decisions(
        gaps=[d for found, arm in arms for d in geometry_gaps(found, arm)],
        claims=[c for found, arm in arms for c in claim_verdicts(found, claims, arm)],
        temporal=temporal_effects(reports, rule),
        calibration=calibration(reports, focus),
        focus=focus,
        rule=rule,
    )
