"""Decisions of the study, as data: pooled over training seeds, decided at every coverage.

Every model (architecture x training seed) is scored by
:func:`occmask.robustness.evaluate` on the same test videos, the models of one seed on
the same masks and each seed on masks of its own. A
quantity pooled across seeds is, per video, the mean over seeds of that video's
value (a frame-level value is the mean over the video's frames); the paired tests
of :mod:`occmask.robustness.stats` then run on these per-video means: Student's
paired t-test, or McNemar's exact test where one seed's video outcomes are 0/1.
The decisions are about these trained models; whether they hold for *every* seed
is read from each seed's own difference (``per_seed``, ``agree``).

A *setting* is one architecture, fill, temporal mode and level (single frames, or
videos pooled by one rule), in one arm: masks matched in canvas coverage, or in the
share of each frame's ink they hide (``"ink"``). Within a setting, every claim is
decided at every coverage of the grid, Holm-adjusted over the claims and coverages
of each metric. A condition whose pooled accuracy is not above chance (the
majority-class rate) is *at chance*; one not below the clean accuracy is *at
ceiling*; a comparison of two conditions sharing that status is not tested and not
counted. Calibration claims are about the signed gap (confidence - accuracy).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats as _scipy

from ..robustness import Report
from ..robustness.metrics import SAME_ARGMAX
from ..robustness.stats import ALPHA, AT_CEILING, AT_CHANCE, above_chance, area, detectable, holm, paired_p

__all__ = [
    "STATUSES",
    "Claim",
    "Decision",
    "Decisions",
    "Where",
    "blog_claims",
    "calibration",
    "claim_status",
    "claim_verdicts",
    "condition_status",
    "count",
    "decide",
    "geometry_gaps",
    "pooled_curve",
    "pooled_values",
    "ranges",
    "robust",
    "settings",
    "temporal_effects",
]

Reports = Mapping[tuple[str, int, float], Report]  # (arch, seed index, fill) -> report

#: What a claim can be at one coverage, in the order the tables list them.
STATUSES = ("supported", "contradicted", "not separable", AT_CHANCE, AT_CEILING)


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

    def design(self) -> tuple:
        """The setting without its architecture: what the architectures are compared on."""
        return (self.fill, self.temporal, self.level, self.rule, self.arm)


def settings(reports: Reports, arm: str = "canvas") -> list[Where]:
    """Every setting of a run's reports of one arm, sorted."""
    archs = sorted({a for a, _, _ in reports})
    fills = sorted({f for _, _, f in reports})
    any_report = next(iter(reports.values()))
    return sorted(
        Where(a, f, t, level, rule, arm)
        for a in archs
        for f in fills
        for t in any_report.setting.temporal
        for level, rule in any_report.levels
    )


def _seeds(reports: Reports, where: Where) -> list[Report]:
    return [r for (a, _, f), r in sorted(reports.items()) if (a, f) == (where.arch, where.fill)]


def _exact(seeds: list[Report], where: Where) -> bool:
    """Whether the pooled per-video accuracies are 0/1 outcomes (one seed, one outcome per video)."""
    return len(seeds) == 1 and seeds[0].exact(where.level)


def pooled_values(reports: Reports, where: Where, family: str, coverage: float, metric: str) -> np.ndarray:
    """Per-seed, per-video values of a tested metric in one cell: shape ``(seeds, videos)``.

    Examples
    --------
    >>> # pooled_values(reports, Where("globalpool", 0.0, "evolving", "frame", ""), "perlin", 0.2,
    >>> #               "accuracy").mean(axis=0) is each video's frame accuracy, mean over seeds
    """
    return np.stack(
        [
            r.values(where.temporal, family, coverage, where.level, where.rule)[metric]
            for r in _seeds(reports, where)
        ]
    )


def condition_status(reports: Reports, where: Where, family: str, coverage: float) -> str:
    """``"at chance"``, ``"at ceiling"`` or ``"informative"``: the pooled accuracy of one cell.

    At chance: the one-sided test that the seed-pooled accuracy exceeds the
    majority-class rate does not reject at ``ALPHA``. At ceiling: not at chance,
    and coverage 0 or not separable from the clean accuracy (paired test).
    """
    seeds = _seeds(reports, where)
    exact = _exact(seeds, where)
    accuracy = pooled_values(reports, where, family, coverage, "accuracy").mean(axis=0)
    if above_chance(accuracy, seeds[0].chance, exact) >= ALPHA:
        return AT_CHANCE
    if coverage == 0.0:
        return AT_CEILING
    if 0.0 in seeds[0].setting.coverages:
        clean = pooled_values(reports, where, family, 0.0, "accuracy").mean(axis=0)
        if paired_p(accuracy - clean, exact) >= ALPHA:
            return AT_CEILING
    return "informative"


@dataclass(frozen=True)
class Decision:
    """One paired comparison in one setting, at one coverage or over the grid.

    ``value`` is the seed-pooled mean of ``subject - versus`` over the videos, at
    ``coverage`` (None: the area between the two curves over the grid divided by the
    grid's range, a mean difference), with its 95% t interval ``lo``/``hi``;
    ``p_holm`` (NaN where untested) and ``mdd`` (the minimal detectable difference
    at 80% power, NaN where untested); ``verdict`` ``"lower"``/``"higher"``/``"not
    separable"``/``"at chance"``/``"at ceiling"``; ``per_seed`` each seed's own mean
    difference and ``agree`` how many of them share the pooled sign.
    """

    where: Where
    subject: str
    versus: str
    metric: str
    coverage: float | None
    value: float
    lo: float
    hi: float
    p_holm: float
    mdd: float
    verdict: str
    per_seed: tuple[float, ...]
    agree: int

    def row(self) -> dict:
        """A flat dict for CSV."""
        w = self.where
        out = {"arm": w.arm, "arch": w.arch, "fill": w.fill, "temporal": w.temporal, "level": w.level,
               "rule": w.rule, "coverage": "area" if self.coverage is None else self.coverage}  # fmt: skip
        out |= {
            k: getattr(self, k) for k in ("subject", "versus", "metric", "value", "lo", "hi", "p_holm", "mdd")
        }
        out |= {"verdict": self.verdict, "seeds_agree": self.agree, "seeds": len(self.per_seed)}
        return out


@dataclass(frozen=True)
class _Test:
    """A comparison before Holm: per-seed, per-video differences and the status it shares, if any."""

    where: Where
    subject: str
    versus: str
    metric: str
    coverage: float | None
    differences: np.ndarray  # (seeds, videos)
    exact: bool
    status: str


def _interval(d: np.ndarray) -> tuple[float, float]:
    if d.size < 2:
        return float(d.mean()), float(d.mean())
    half = _scipy.t.ppf(0.975, d.size - 1) * float(d.std(ddof=1)) / math.sqrt(d.size)
    return float(d.mean() - half), float(d.mean() + half)


def _decide(tests: list[_Test]) -> list[Decision]:
    """Holm over the live tests of each metric; each test becomes a :class:`Decision`."""
    out: list[Decision | None] = [None] * len(tests)
    for metric in dict.fromkeys(t.metric for t in tests):
        idx = [i for i, t in enumerate(tests) if t.metric == metric]
        pooled = {i: tests[i].differences.mean(axis=0) for i in idx}
        p = np.array(
            [
                np.nan if tests[i].status else paired_p(pooled[i], tests[i].exact and metric == "accuracy")
                for i in idx
            ]
        )
        live = int(np.count_nonzero(~np.isnan(p)))
        for i, p_adj, raw in zip(idx, holm(p), p, strict=True):
            t, d = tests[i], pooled[i]
            value = float(d.mean())
            lo, hi = _interval(d)
            per_seed = tuple(float(v) for v in t.differences.mean(axis=1))
            agree = int(sum(np.sign(v) == np.sign(value) for v in per_seed))
            tested = not np.isnan(raw)
            mdd = detectable(float(d.std(ddof=1)), d.size, live) if tested and d.size > 1 else float("nan")
            if t.status:
                verdict = t.status
            elif p_adj < ALPHA:
                verdict = "lower" if value < 0 else "higher"
            else:
                verdict = "not separable"
            out[i] = Decision(t.where, t.subject, t.versus, metric, t.coverage, value, lo, hi,
                              float(p_adj), mdd, verdict, per_seed, agree)  # fmt: skip
    return [d for d in out if d is not None]


def _shared(a: str, b: str) -> str:
    return a if a == b and a in (AT_CHANCE, AT_CEILING) else ""


class _Setting:
    """The seed-pooled values and statuses of one setting, computed once."""

    def __init__(self, reports: Reports, where: Where) -> None:
        self.reports, self.where = reports, where
        self.seeds = _seeds(reports, where)
        self.coverages = tuple(self.seeds[0].setting.coverages)
        self.exact = _exact(self.seeds, where)
        self._status: dict[tuple[str, float], str] = {}

    def status(self, family: str, coverage: float) -> str:
        key = (family, coverage)
        if key not in self._status:
            self._status[key] = condition_status(self.reports, self.where, family, coverage)
        return self._status[key]

    def values(self, family: str, coverage: float, metric: str) -> np.ndarray:
        return pooled_values(self.reports, self.where, family, coverage, metric)

    def at(self, subject: str, versus: str, metric: str, coverage: float) -> _Test:
        d = self.values(subject, coverage, metric) - self.values(versus, coverage, metric)
        status = _shared(self.status(subject, coverage), self.status(versus, coverage))
        return _Test(self.where, subject, versus, metric, coverage, d, self.exact, status)

    def area(self, subject: str, versus: str, metric: str, versus_where: Where | None = None) -> _Test:
        """The area between two curves over the grid divided by its range, per seed and video."""
        x = np.asarray(self.coverages)
        other = _Setting(self.reports, versus_where) if versus_where else self
        d = np.stack(
            [self.values(subject, c, metric) - other.values(versus, c, metric) for c in self.coverages],
            axis=-1,
        )
        span = float(x[-1] - x[0]) if x.size > 1 else 1.0
        statuses = [
            _shared(self.status(subject, c), other.status(versus, c)) for c in self.coverages if c > 0
        ]
        status = (
            "" if "" in statuses or not statuses else (AT_CHANCE if AT_CHANCE in statuses else AT_CEILING)
        )
        return _Test(self.where, subject, versus, metric, None, area(x, d) / span, False, status)


def geometry_gaps(reports: Reports, arm: str = "canvas") -> list[Decision]:
    """Per setting, each family against the reference: accuracy at every occluded coverage (Holm over
    families x coverages) and the normalised area over the grid (Holm over families, separately)."""
    out = []
    for where in settings(reports, arm):
        s = _Setting(reports, where)
        ref = s.seeds[0].setting.reference
        others = [f for f in s.seeds[0].setting.families if f != ref]
        out += _decide([s.at(f, ref, "accuracy", c) for f in others for c in s.coverages if c > 0])
        out += _decide([s.area(f, ref, "accuracy") for f in others])
    return out


@dataclass(frozen=True)
class Claim:
    """A hypothesis of the blog post: ``subject`` vs ``versus`` on ``metric``, expected direction.

    ``expected`` is ``"lower"`` or ``"higher"`` for subject minus versus, at each coverage.
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
    under structured occlusion confidence is a less reliable guide. The last is
    tested on the signed calibration gap (confidence - accuracy): structured masks
    leave the model more overconfident than Bernoulli masks.
    """
    return [
        Claim(key, _CLAIM_WORDS[metric, expected].format(subject, versus), subject, versus, metric, expected)
        for key, subject, versus, metric, expected in _BLOG_CLAIMS
        if subject in families and versus in families
    ]


#: The post's claims, one a row in its order: key, subject, versus, metric, expected direction.
_BLOG_CLAIMS = (
    ("acc_cgol", "cgol", "bernoulli", "accuracy", "lower"),  # bernoulli best, cgol worse,
    ("acc_perlin", "perlin", "bernoulli", "accuracy", "lower"),  # perlin and triangles the most
    ("acc_triangles", "triangles", "bernoulli", "accuracy", "lower"),  # destructive
    ("cgol_vs_perlin", "cgol", "perlin", "accuracy", "higher"),
    ("cgol_vs_triangles", "cgol", "triangles", "accuracy", "higher"),
    ("nll_perlin", "perlin", "bernoulli", "nll", "higher"),
    ("brier_perlin", "perlin", "bernoulli", "brier", "higher"),
    ("nll_triangles", "triangles", "bernoulli", "nll", "higher"),
    ("brier_triangles", "triangles", "bernoulli", "brier", "higher"),
    ("gap_cgol", "cgol", "bernoulli", "gap", "higher"),
    ("gap_perlin", "perlin", "bernoulli", "gap", "higher"),
    ("gap_triangles", "triangles", "bernoulli", "gap", "higher"),
)

#: How a claim reads, by (metric, expected direction of subject minus versus).
_CLAIM_WORDS = {
    ("accuracy", "lower"): "{} masks cost more accuracy than {} masks",
    ("accuracy", "higher"): "{} masks cost less accuracy than {} masks",
    ("nll", "higher"): "{} masks give a worse NLL than {} masks",
    ("brier", "higher"): "{} masks give a worse Brier score than {} masks",
    ("gap", "higher"): "{} masks leave the model more overconfident than {} masks",
}


def claim_status(claim: Claim, decision: Decision) -> str:
    """``"supported"``, ``"contradicted"``, ``"not separable"``, ``"at chance"`` or ``"at ceiling"``.

    Examples
    --------
    >>> c = Claim("k", "t", "perlin", "bernoulli", "accuracy", "lower")
    >>> d = Decision(Where("a", 0.0, "evolving", "frame", ""), "perlin", "bernoulli", "accuracy", 0.2,
    ...              -0.1, -0.2, -0.05, 0.01, 0.04, "lower", (-0.1,), 1)
    >>> claim_status(c, d)
    'supported'
    """
    if decision.verdict in ("not separable", AT_CHANCE, AT_CEILING):
        return decision.verdict
    return "supported" if decision.verdict == claim.expected else "contradicted"


def _claims_here(claims: list[Claim], where: Where) -> list[Claim]:
    """The claims tested in a setting: accuracy under a rule with another rule's argmax is that rule's
    test (``sum_logprob`` predicts as ``mean_logprob``) and is not repeated."""
    twin = where.rule in SAME_ARGMAX.values()
    return [c for c in claims if not (twin and c.metric == "accuracy")]


def claim_verdicts(
    reports: Reports, claims: list[Claim], arm: str = "canvas"
) -> list[tuple[Claim, Decision, str]]:
    """Every claim in every setting at every occluded coverage (Holm over claims x coverages per metric),
    then its normalised area over the grid (Holm over the claims per metric)."""
    out = []
    for where in settings(reports, arm):
        s = _Setting(reports, where)
        mine = _claims_here(claims, where)
        at = [(c, s.at(c.subject, c.versus, c.metric, cov)) for c in mine for cov in s.coverages if cov > 0]
        over = [(c, s.area(c.subject, c.versus, c.metric)) for c in mine]
        for group in (at, over):
            for (claim, _), decision in zip(group, _decide([t for _, t in group]), strict=True):
                out.append((claim, decision, claim_status(claim, decision)))
    return out


def temporal_effects(reports: Reports, rule: str) -> list[Decision]:
    """Video accuracy with each other temporal mode minus the first, as a normalised area, per family.

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
            first = Where(arch, fill, modes[0], "video", rule)
            tests = []
            for other in modes[1:]:
                s = _Setting(reports, Where(arch, fill, other, "video", rule))
                for f in any_report.setting.families:
                    t = s.area(f, f, "accuracy", versus_where=first)
                    name = (f"{f} {other}", f"{f} {modes[0]}")
                    tests.append(_Test(first, *name, "accuracy", None, t.differences, False, t.status))
            out += _decide(tests)
    return out


def calibration(reports: Reports, coverage: Mapping[float, float]) -> list[dict]:
    """Signed calibration gap and ECE per family at one coverage per fill, per setting, pooled over seeds.

    ``direction`` is ``"overconfident"`` / ``"underconfident"`` when the 95% t interval
    of the per-video confidence - accuracy (mean over seeds) lies above / below zero,
    else ``"not separable from calibrated"``. The ECE is the mean over seeds (descriptive).
    """
    rows = []
    for where in settings(reports):
        seeds = _seeds(reports, where)
        c = coverage[where.fill]
        for f in seeds[0].setting.families:
            gap = pooled_values(reports, where, f, c, "gap").mean(axis=0)
            lo, hi = _interval(gap)
            direction = (
                "overconfident" if lo > 0 else "underconfident" if hi < 0 else "not separable from calibrated"
            )
            found = [r.estimate(where.temporal, f, c, where.level, where.rule) for r in seeds]
            rows.append(
                {"where": where, "family": f, "coverage": c, "gap": float(gap.mean()), "gap_lo": lo,
                 "gap_hi": hi,
                 "ece": float(np.mean([e["ece"].value for e in found])),
                 "accuracy": float(np.mean([e["accuracy"].value for e in found])),
                 "confidence": float(np.mean([e["confidence"].value for e in found])),
                 "direction": direction}
            )  # fmt: skip
    return rows


def pooled_curve(reports: Reports, where: Where, family: str, metric: str) -> dict[str, np.ndarray]:
    """Coverages, the seed-pooled value of a metric at each with its 95% t interval, and each seed's value.

    Returns a dict with ``coverage``, ``value``, ``lo``, ``hi`` (shape ``(C,)``) and
    ``per_seed`` (shape ``(seeds, C)``).
    """
    seeds = _seeds(reports, where)
    cov = np.asarray(seeds[0].setting.coverages)
    found = [pooled_values(reports, where, family, c, metric) for c in cov]
    bounds = np.array([_interval(v.mean(axis=0)) for v in found])
    return {
        "coverage": cov,
        "value": np.array([v.mean() for v in found]),
        "lo": bounds[:, 0],
        "hi": bounds[:, 1],
        "per_seed": np.stack([v.mean(axis=1) for v in found], axis=1),
    }


def count(statuses: list[str]) -> dict[str, int]:
    """How many of each status.

    Examples
    --------
    >>> count(["supported", "not separable", "supported", "at chance"])
    {'supported': 2, 'contradicted': 0, 'not separable': 1, 'at chance': 1, 'at ceiling': 0}
    """
    return {s: statuses.count(s) for s in STATUSES}


def ranges(items: list[tuple[float, str]]) -> list[tuple[str, float, float]]:
    """Runs of one status over consecutive coverages: ``(status, first, last)``.

    Examples
    --------
    >>> ranges([(0.1, "supported"), (0.2, "supported"), (0.4, "not separable"), (0.6, "supported")])
    [('supported', 0.1, 0.2), ('not separable', 0.4, 0.4), ('supported', 0.6, 0.6)]
    """
    out: list[tuple[str, float, float]] = []
    for coverage, status in sorted(items):
        if out and out[-1][0] == status:
            out[-1] = (status, out[-1][1], coverage)
        else:
            out.append((status, coverage, coverage))
    return out


def robust(claims: list[tuple[Claim, Decision, str]]) -> dict[tuple, list[tuple[float, str]]]:
    """Per (claim key, fill, temporal, level, rule, arm): each coverage's status across architectures.

    ``"supported"`` (``"contradicted"``) only where the claim is supported (contradicted)
    in every architecture *and* every seed's own difference has the pooled sign;
    ``"split"`` where one architecture decides and another does not, or decides the
    other way, or a seed disagrees; where none decides, ``"not separable"`` if any
    architecture tested it, else the status they share (at chance before at ceiling).
    """
    grouped: dict[tuple, dict[float, list[tuple[Decision, str]]]] = {}
    for claim, d, status in claims:
        if d.coverage is None:
            continue
        key = (claim.key, *d.where.design())
        grouped.setdefault(key, {}).setdefault(d.coverage, []).append((d, status))
    out = {}
    for key, by_coverage in grouped.items():
        found = []
        for coverage, decided in by_coverage.items():
            statuses = {s for _, s in decided}
            unanimous = all(d.agree == len(d.per_seed) for d, _ in decided)
            decisive = statuses & {"supported", "contradicted"}
            if decisive:
                verdict = statuses.pop() if len(statuses) == 1 and unanimous else "split"
            else:  # nothing decided anywhere: the weakest shared reading
                verdict = next(s for s in ("not separable", AT_CHANCE, AT_CEILING) if s in statuses)
            found.append((coverage, verdict))
        out[key] = sorted(found)
    return out


@dataclass(frozen=True)
class Decisions:
    """Everything the report phrases.

    Attributes
    ----------
    gaps : list of Decision
        Each family against the reference per setting: accuracy at every occluded
        coverage and the normalised area over the grid (``coverage`` None), both arms.
    claims : list of (Claim, Decision, status)
        The blog's claims per setting and coverage (and over the grid), both arms.
    temporal : list of Decision
        Video accuracy area of each other temporal mode minus the first, per family.
    calibration : list of dict
        Signed gap and ECE per family and setting at the focus coverage of each fill.
    focus : dict
        Fill -> the coverage of the calibration table.
    rule : str
        The pooling rule of the temporal comparison and the figures.
    """

    gaps: list[Decision]
    claims: list[tuple[Claim, Decision, str]]
    temporal: list[Decision]
    calibration: list[dict]
    focus: dict[float, float]
    rule: str


def decide(
    reports: Reports, focus: Mapping[float, float], rule: str, ink_reports: Reports | None = None
) -> Decisions:
    """Compute every decision of a run from its reports (and those of its ink-matched arm)."""
    families = next(iter(reports.values())).setting.families
    claims = blog_claims(families)
    arms = [(reports, "canvas")] + ([(ink_reports, "ink")] if ink_reports else [])
    return Decisions(
        gaps=[d for found, arm in arms for d in geometry_gaps(found, arm)],
        claims=[c for found, arm in arms for c in claim_verdicts(found, claims, arm)],
        temporal=temporal_effects(reports, rule),
        calibration=calibration(reports, focus),
        focus=dict(focus),
        rule=rule,
    )
