"""Paired verdicts on the rows of a table: per-sample differences tested (McNemar's exact test
for accuracy, Student's paired t-test otherwise), Holm-adjusted within a family of tests, with
the minimal detectable difference, the design's p-value floor, and no test where both conditions
are at chance or at the clean ceiling. :class:`~occmask.robustness.report.Report` and
:func:`~occmask.robustness.report.compare` decide their rows here.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .metrics import SAME_ARGMAX
from .stats import (
    ALPHA,
    AT_CEILING,
    AT_CHANCE,
    TESTED,
    Estimate,
    detectable,
    holm,
    paired_p,
    smallest_p,
    verdict,
)

__all__ = [
    "WORDS",
    "Test",
    "columns",
    "decide",
    "differences",
    "share_accuracy",
    "shared_status",
    "warn_unresolvable",
]


def columns(found: dict[str, Estimate], suffix: str = "") -> dict[str, float]:
    out = {}
    for name, est in found.items():
        out[f"{name}{suffix}"] = est.value
        out[f"{name}{suffix}_lo"], out[f"{name}{suffix}_hi"] = est.interval()
    return out


@dataclass(frozen=True)
class Test:
    """One paired comparison of a table row: per-sample differences, or a status instead of a test.

    ``differences`` maps each tested metric to the per-sample paired differences;
    ``exact`` says that the accuracy differences are of 0/1 outcomes (McNemar's
    test); ``status`` (:data:`~occmask.robustness.stats.AT_CHANCE`, ...) marks a
    comparison that is not tested.
    """

    differences: dict[str, np.ndarray]
    exact: bool = False
    status: str = ""


#: Direction words of each metric's verdict (difference below / above 0): a higher signed
#: calibration gap is more overconfident (or less underconfident).
WORDS = {"gap": ("less overconfident", "more overconfident")}


def decide(
    rows: list[dict],
    tests: Sequence[Test | None],
    group: Sequence[str],
    metrics: Sequence[str] = TESTED,
    words: dict[str, tuple[str, str]] = WORDS,
) -> None:
    """Add Holm-adjusted p-values, verdicts and detectable differences to ``rows`` (in place).

    ``tests[i]`` is row i's comparison (None: nothing to compare). Tests are
    grouped by the values of the ``group`` columns and by metric; a comparison
    with a status is no test and does not count in Holm's ``m``. Columns
    ``p_holm_<metric>`` and ``mdd_<metric>`` (None where nothing is tested),
    ``verdict_<metric>``, ``n_tests``, ``p_floor`` (the smallest adjusted p-value
    the family's design can reach) and ``resolvable`` (``p_floor < alpha``).
    """
    groups: dict[tuple, list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault(tuple(row[g] for g in group), []).append(i)
    for members in groups.values():
        live = [i for i in members if tests[i] is not None and not tests[i].status]  # type: ignore[union-attr]
        m = len(live)
        for i in members:
            test = tests[i]
            n = rows[i]["n_samples"]
            floor = min(1.0, m * smallest_p(n)) if test is not None and m else None
            rows[i] |= {"n_tests": m if test is not None else None, "p_floor": floor}
            rows[i]["resolvable"] = None if floor is None else bool(floor < ALPHA)
        for metric in metrics:
            p = np.full(len(members), np.nan)
            for j, i in enumerate(members):
                test = tests[i]
                if test is not None and not test.status:
                    p[j] = paired_p(test.differences[metric], test.exact and metric == "accuracy")
            for j, (i, p_adj) in enumerate(zip(members, holm(p), strict=True)):
                test = tests[i]
                row = rows[i]
                tested = not np.isnan(p[j])
                row[f"p_holm_{metric}"] = float(p_adj) if tested else None
                row[f"mdd_{metric}"] = (
                    detectable(float(np.std(test.differences[metric], ddof=1)), row["n_samples"], m)
                    if tested and test is not None and row["n_samples"] > 1
                    else None
                )
                row[f"verdict_{metric}"] = (
                    ""
                    if test is None
                    else verdict(
                        float(np.mean(test.differences[metric])) if tested else 0.0,
                        p_adj,
                        status=test.status,
                        words=words.get(metric, ("lower", "higher")),
                    )
                )


def share_accuracy(rows: list[dict], keys: Sequence[str], columns: Sequence[str]) -> None:
    """Give rows pooled by a rule with the same argmax as another the other's accuracy test.

    ``mean_logprob`` and ``sum_logprob`` predict the same class, so their accuracy
    is one quantity: it is tested once (under the rule of
    :data:`~occmask.robustness.metrics.SAME_ARGMAX`) and the other rows carry that
    test's columns, marked by ``accuracy_tested_as``.
    """
    index = {(*tuple(r[k] for k in keys), r["level"], r["rule"]): r for r in rows}
    for row in rows:
        row.setdefault("accuracy_tested_as", row["rule"])
        twin = SAME_ARGMAX.get(row["rule"])
        source = index.get((*tuple(row[k] for k in keys), row["level"], twin)) if twin else None
        if source is not None:
            for column in columns:
                row[column] = source[column]
            row["accuracy_tested_as"] = twin


def differences(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {metric: a[metric] - b[metric] for metric in TESTED}


def shared_status(a: str, b: str) -> str:
    """The status of a comparison: that of its two conditions when they share it, else none."""
    return a if a == b and a in (AT_CHANCE, AT_CEILING) else ""


def warn_unresolvable(rows: list[dict], stacklevel: int) -> None:
    bad = {(r["temporal"], r["level"], r["rule"]): r for r in rows if r.get("resolvable") is False}
    if bad:
        r = next(iter(bad.values()))
        warnings.warn(
            f"{len(bad)} families of tests cannot reject: with {r['n_samples']} samples and "
            f"{r['n_tests']} tests the smallest Holm-adjusted p-value is {r['p_floor']:.3g}, not below "
            f"alpha = {ALPHA}; their 'not separable' means nothing (rows' resolvable is False). Use more "
            f"samples or fewer families and coverages.",
            RuntimeWarning,
            stacklevel=stacklevel,
        )
