"""The study's decisions as Markdown: the claims, gaps, power, calibration and temporal tables and
the sentences that sum them up.

Every cell and sentence phrases a decision of :mod:`occmask.study.analysis` and names the setting and
the numbers it rests on; nothing decides anything.
"""

from __future__ import annotations

import numpy as np

from ..robustness.report import markdown_table
from ..robustness.stats import AT_CEILING, AT_CHANCE
from .analysis import Claim, Decision, Decisions, Where, count, ranges, robust

__all__ = [
    "LEGEND",
    "MARKS",
    "bullets",
    "calibration_lines",
    "calibration_table",
    "ci",
    "claim_counts",
    "claim_legend",
    "claims_table",
    "coverage_ranges",
    "gap_table",
    "mdd_summary",
    "power_table",
    "robust_table",
    "split_line",
    "temporal_lines",
]


#: Mark of each status of a claim at one coverage (``split``: architectures or seeds disagree).
MARKS = {"supported": "✓", "contradicted": "✗", "not separable": "·", AT_CHANCE: "∅", AT_CEILING: "⊤",
         "split": "≠"}  # fmt: skip


_ARROW = {"lower": "▼", "higher": "▲", "not separable": "=", AT_CHANCE: "∅", AT_CEILING: "⊤"}


LEGEND = (
    "✓ supported, ✗ contradicted, · not separable, ∅ both conditions at chance, ⊤ both at the clean "
    "ceiling (neither of the last two is tested or counted)"
)


def bullets(lines: list[str]) -> str:
    return "\n".join(f"- {line}" for line in lines)


def ci(value: float, lo: float, hi: float, digits: int = 3) -> str:
    return f"{value:+.{digits}f} [{lo:+.{digits}f}, {hi:+.{digits}f}]"


def _span(first: float, last: float) -> str:
    return f"{first:g}" if first == last else f"{first:g}–{last:g}"


def coverage_ranges(items: list[tuple[float, str]]) -> str:
    """Statuses over a grid as marked coverage ranges, e.g. ``"✓ 0.1–0.3 · 0.4 ∅ 0.6"``.

    Examples
    --------
    >>> coverage_ranges([(0.1, "supported"), (0.2, "supported"), (0.4, "not separable"), (0.6, "at chance")])
    '✓ 0.1–0.2 · 0.4 ∅ 0.6'
    """
    return " ".join(f"{MARKS[s]} {_span(a, b)}" for s, a, b in ranges(items)) or "—"


def _level(where: Where) -> str:
    return "frame" if where.level == "frame" else f"video {where.rule}"


def _per_coverage(decisions: Decisions) -> list[tuple[Claim, Decision, str]]:
    return [(c, d, s) for c, d, s in decisions.claims if d.coverage is not None]


def claims_table(decisions: Decisions, arm: str = "canvas") -> str:
    """Settings (rows) by claims (columns): per cell, the coverage ranges of each status, then the
    normalised area's mark (``area ✓``)."""
    found = [(c, d, s) for c, d, s in decisions.claims if d.where.arm == arm]
    claims = list(dict.fromkeys(c.key for c, _, _ in found))
    if not claims:
        return "No claim of the post involves two of this run's families."
    grid: dict[Where, dict[str, list[tuple[float, str]]]] = {}
    areas: dict[tuple[Where, str], str] = {}
    for claim, d, status in found:
        cells = grid.setdefault(d.where, {})
        if d.coverage is None:
            areas[(d.where, claim.key)] = MARKS[status]
        else:
            cells.setdefault(claim.key, []).append((d.coverage, status))
    rows = [
        [
            w.label(),
            *[f"{coverage_ranges(cells[k])}; area {areas[(w, k)]}" if k in cells else "—" for k in claims],
        ]
        for w, cells in grid.items()
    ]
    return markdown_table(["setting", *claims], rows)


def claim_legend(decisions: Decisions) -> list[str]:
    """One line per claim: its key, its statement and its metric."""
    seen = {c.key: c for c, _, _ in decisions.claims}
    return [
        f"`{c.key}`: {c.text} ({c.metric}, {c.subject} − {c.versus}, expected {c.expected})"
        for c in seen.values()
    ]


def robust_table(decisions: Decisions, level: tuple[str, str] = ("frame", "")) -> str:
    """Claims (rows) by fill: where each holds for every seed and both architectures, then per architecture.

    First temporal mode, canvas-matched arm, one level. A cell lists the coverage
    ranges of each status; ``≠`` marks coverages where the architectures or seeds split.
    """
    found = [(c, d, s) for c, d, s in _per_coverage(decisions) if d.where.arm == "canvas"]
    found = [(c, d, s) for c, d, s in found if (d.where.level, d.where.rule) == level]
    if not found:
        return "No claim of the post involves two of this run's families."
    temporal = found[0][1].where.temporal
    found = [(c, d, s) for c, d, s in found if d.where.temporal == temporal]
    agreed = robust(found)
    fills = sorted({d.where.fill for _, d, _ in found})
    archs = list(dict.fromkeys(d.where.arch for _, d, _ in found))
    header = ["claim of the post"]
    for fill in fills:
        header += [f"fill {fill:g}: every seed, all architectures"] + [f"fill {fill:g}: {a}" for a in archs]
    rows = []
    for key, claim in {c.key: c for c, _, _ in found}.items():
        row = [claim.text]
        for fill in fills:
            row.append(coverage_ranges(agreed[(key, fill, temporal, level[0], level[1], "canvas")]))
            for arch in archs:
                mine = [
                    (d.coverage, s)
                    for c, d, s in found
                    if c.key == key and (d.where.arch, d.where.fill) == (arch, fill)
                ]
                row.append(coverage_ranges(mine))  # type: ignore[arg-type]
        rows.append(row)
    return markdown_table(header, rows)


def split_line(decisions: Decisions) -> str:
    """One sentence naming, per fill, the claims and coverages where architectures or seeds split (frame
    level, first mode, canvas), and the architecture each verdict came from."""
    found = [
        (c, d, s)
        for c, d, s in _per_coverage(decisions)
        if d.where.arm == "canvas" and d.where.level == "frame"
    ]
    if not found:
        return ""
    temporal = found[0][1].where.temporal
    found = [(c, d, s) for c, d, s in found if d.where.temporal == temporal]
    parts = []
    for (key, fill, *_), items in robust(found).items():
        split = [c for c, s in items if s == "split"]
        if not split:
            continue
        mine = [(d, s) for c, d, s in found if c.key == key and d.where.fill == fill and d.coverage in split]
        at = [
            f"{coverage:g}: "
            + ", ".join(
                f"{d.where.arch} {MARKS[s]} {d.agree}/{len(d.per_seed)}"
                for d, s in mine
                if d.coverage == coverage
            )
            for coverage in split
        ]
        parts.append(f"`{key}` fill {fill:g} (" + "; ".join(at) + ")")
    if not parts:
        return "Nothing splits: every decided claim holds alike for every seed and architecture."
    return (
        "Split between architectures or seeds (per coverage, each architecture's verdict and how many seeds "
        "share its sign): " + ", ".join(parts) + "."
    )


def claim_counts(decisions: Decisions) -> str:
    """Claims by arm, fill and architecture: in how many (setting, coverage) tests each status was found."""

    def group(d: Decision) -> tuple[str, float, str]:
        return (d.where.arm, d.where.fill, d.where.arch)

    groups = list(dict.fromkeys(group(d) for _, d, _ in _per_coverage(decisions)))
    found: dict[str, dict[tuple[str, float, str], list[str]]] = {}
    for c, d, s in _per_coverage(decisions):
        found.setdefault(c.text, {}).setdefault(group(d), []).append(s)
    rows = [
        [
            text,
            *[
                " ".join(f"{MARKS[k]} {v}" for k, v in count(cells.get(g, [])).items() if v) or "—"
                for g in groups
            ],
        ]
        for text, cells in found.items()
    ]
    return markdown_table(
        ["claim of the post", *[f"{_ARMS[a]}, fill {f:g}, {arch}" for a, f, arch in groups]], rows
    )


_ARMS = {"canvas": "canvas-matched", "ink": "ink-matched"}


def gap_table(decisions: Decisions, where: Where) -> str:
    """Each family against the reference in one setting: the difference at every coverage with its mark,
    then the normalised area [95%] and how many seeds share its sign."""
    mine = [d for d in decisions.gaps if d.where == where]
    families = list(dict.fromkeys(d.subject for d in mine))
    coverages = sorted({d.coverage for d in mine if d.coverage is not None})
    rows = []
    for f in families:
        at = {d.coverage: d for d in mine if d.subject == f}
        cells = [f"{at[c].value:+.3f} {_ARROW[at[c].verdict]}" for c in coverages]
        a = at[None]
        cells.append(f"{ci(a.value, a.lo, a.hi)} {_ARROW[a.verdict]} ({a.agree}/{len(a.per_seed)})")
        rows.append([f, *cells])
    return markdown_table(
        ["family", *[f"{c:g}" for c in coverages], "area / range [95%] (seeds agreeing)"], rows
    )


def power_table(decisions: Decisions) -> str:
    """Minimal detectable difference (80% power, Holm's first step) of the per-coverage accuracy tests
    of the claims: median and range over coverages and claims, per level, fill and architecture."""
    found: dict[tuple, list[float]] = {}
    for claim, d, _ in _per_coverage(decisions):
        if claim.metric == "accuracy" and d.where.arm == "canvas" and np.isfinite(d.mdd):
            key = (_level(d.where), d.where.temporal, d.where.fill, d.where.arch)
            found.setdefault(key, []).append(d.mdd)
    rows = [
        [level, temporal, f"{fill:g}", arch, f"{np.median(v):.3f}", f"{min(v):.3f}–{max(v):.3f}", str(len(v))]
        for (level, temporal, fill, arch), v in sorted(found.items())
    ]
    return markdown_table(["level", "masks", "fill", "architecture", "median MDD", "range", "tests"], rows)


def mdd_summary(decisions: Decisions) -> str:
    """One sentence: the median minimal detectable accuracy difference per level (canvas arm)."""
    found: dict[str, list[float]] = {}
    for claim, d, _ in _per_coverage(decisions):
        if claim.metric == "accuracy" and d.where.arm == "canvas" and np.isfinite(d.mdd):
            found.setdefault(_level(d.where), []).append(d.mdd)
    return "; ".join(f"{level} {np.median(v):.3f}" for level, v in found.items())


def calibration_table(decisions: Decisions) -> str:
    """Confidence − accuracy per family and setting at the focus coverage of its fill, with its direction."""
    marks = {"overconfident": "over", "underconfident": "under", "not separable from calibrated": "≈"}
    families = list(dict.fromkeys(r["family"] for r in decisions.calibration))
    grid: dict[Where, dict[str, str]] = {}
    for r in decisions.calibration:
        grid.setdefault(r["where"], {})[r["family"]] = (
            f"{r['gap']:+.3f} {marks[r['direction']]} (ECE {r['ece']:.3f})"
        )
    rows = [
        [f"{w.label()} at {decisions.focus[w.fill]:g}", *[cells[f] for f in families]]
        for w, cells in grid.items()
    ]
    return markdown_table(["setting", *families], rows)


def calibration_lines(decisions: Decisions) -> list[str]:
    """Per level: which families are over- or underconfident in how many settings."""
    lines = []
    levels = dict.fromkeys((r["where"].level, r["where"].rule) for r in decisions.calibration)
    for level, rule in levels:
        rows = [r for r in decisions.calibration if (r["where"].level, r["where"].rule) == (level, rule)]
        name = "single frames" if level == "frame" else f"videos pooled by {rule}"
        parts = []
        for family in dict.fromkeys(r["family"] for r in rows):
            mine = [r for r in rows if r["family"] == family]
            over = sum(r["direction"] == "overconfident" for r in mine)
            under = sum(r["direction"] == "underconfident" for r in mine)
            gaps = [r["gap"] for r in mine]
            parts.append(
                f"{family} over/under in {over}/{under} of {len(mine)} (gap {min(gaps):+.2f} to "
                f"{max(gaps):+.2f})"
            )
        lines.append(f"{name} at the focus coverages: " + "; ".join(parts) + ".")
    return lines


def temporal_lines(decisions: Decisions) -> list[str]:
    """Per architecture and fill: families whose video accuracy changes with the temporal mode."""
    if not decisions.temporal:
        return ["Only one temporal mode ran."]
    lines = []
    for where in dict.fromkeys(d.where for d in decisions.temporal):
        mine = [d for d in decisions.temporal if d.where == where]
        parts = [f"{d.subject} − {d.versus} {ci(d.value, d.lo, d.hi)} {_ARROW[d.verdict]}" for d in mine]
        lines.append(
            f"{where.arch}, fill {where.fill:g}, video {where.rule} (accuracy area / range): "
            + "; ".join(parts)
            + "."
        )
    return lines
