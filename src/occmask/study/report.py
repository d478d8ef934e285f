"""Outputs of a run: CSV tables, run.json, report.md and the digest quoted by the docs.

Every sentence here phrases a decision of :mod:`occmask.study.analysis` and names
the setting and the numbers it rests on; nothing decides anything.
"""

from __future__ import annotations

import json
import platform
import re
import sys
from dataclasses import asdict
from importlib import metadata
from pathlib import Path

import numpy as np

from ..robustness.report import markdown_table, write_csv
from ..robustness.stats import AT_CEILING, AT_CHANCE
from .analysis import Claim, Decision, Decisions, Where, count, ranges, robust
from .config import ARCHS, StudyConfig
from .context import Run
from .geometry import DESCRIPTORS, Geometry
from .moving import CANVAS, DIGIT

__all__ = [
    "claims_table",
    "coverage_ranges",
    "digest",
    "render_report",
    "robust_table",
    "sync_docs",
    "write_outputs",
]

_PACKAGES = ("occmask", "numpy", "scipy", "numba", "torch", "matplotlib", "pillow", "mlxtend", "tqdm")
_BLOG = "How occlusion structure breaks CNN digit recognition"
#: Mark of each status of a claim at one coverage (``split``: architectures or seeds disagree).
MARKS = {"supported": "✓", "contradicted": "✗", "not separable": "·", AT_CHANCE: "∅", AT_CEILING: "⊤",
         "split": "≠"}  # fmt: skip
_ARROW = {"lower": "▼", "higher": "▲", "not separable": "=", AT_CHANCE: "∅", AT_CEILING: "⊤"}
_LEGEND = (
    "✓ supported, ✗ contradicted, · not separable, ∅ both conditions at chance, ⊤ both at the clean "
    "ceiling (neither of the last two is tested or counted)"
)


def _bullets(lines: list[str]) -> str:
    return "\n".join(f"- {line}" for line in lines)


def _ci(value: float, lo: float, hi: float, digits: int = 3) -> str:
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


# --------------------------------------------------------------------------- claims


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


# --------------------------------------------------------------------------- gaps, power


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
        cells.append(f"{_ci(a.value, a.lo, a.hi)} {_ARROW[a.verdict]} ({a.agree}/{len(a.per_seed)})")
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


def ink_lines(run: Run) -> list[str]:
    """Per ink share: the share of the canvas each family's masks hide (the same masks for every model)."""
    if not run.ink_reports:
        return []
    report = next(iter(run.ink_reports.values()))
    lines = []
    for share in report.setting.coverages:
        canvas = {
            row["family"]: row["realised_coverage"] for row in report.select(coverage=share, level="frame")
        }
        low, high = min(canvas, key=canvas.__getitem__), max(canvas, key=canvas.__getitem__)
        lines.append(
            f"Hiding {share:g} of each frame's ink hides from {canvas[low]:.3f} ({low}) to "
            f"{canvas[high]:.3f} ({high}) of the canvas."
        )
    return lines


# --------------------------------------------------------------------------- geometry


def geometry_tables(run: Run) -> list[str]:
    """The descriptor analysis: descriptors per family and coverage, shares explained, gaps at matched ink."""
    if not run.geometry:
        return ["No descriptor analysis ran (it needs fill 0 and at least two families)."]
    out = []
    for g in run.geometry:
        table = [
            [r["family"], f"{r['coverage']:g}", f"{r['ink_hidden']:.3f}", f"{r['ink_spread']:.3f}",
             f"{r['largest_share']:.3f}", f"{np.exp(r['log_components']):.1f}", f"{r['boundary']:.2f}",
             f"{r['accuracy']:.3f}", f"{r['confidence']:.3f}"]
            for r in sorted(g.table, key=lambda r: (r["coverage"], r["family"]))
        ]  # fmt: skip
        out += [
            f"#### {g.arch}: descriptors and outcomes per family and coverage",
            markdown_table(
                [
                    "family",
                    "coverage",
                    "ink hidden",
                    "its SD over frames",
                    "largest share",
                    "components (geo. mean)",
                    "boundary / hidden px",
                    "accuracy",
                    "confidence",
                ],
                table,
            ),
            f"#### {g.arch}: share of the families' accuracy gaps each descriptor accounts for [95%]",
            markdown_table(
                ["coverage", *DESCRIPTORS, "all four"],
                [
                    [f"{c:g}", *[_share(g, c, k) for k in (*DESCRIPTORS, "all")]]
                    for c in sorted({r["coverage"] for r in g.explained})
                ],
            ),
            f"#### {g.arch}: Spearman's rank correlation of frame accuracy with each descriptor [95%]",
            markdown_table(
                ["coverage", *DESCRIPTORS],
                [
                    [f"{c:g}", *[_rho(g, c, k) for k in DESCRIPTORS]]
                    for c in sorted({r["coverage"] for r in g.rank})
                ],
            ),
            f"#### {g.arch}: accuracy gap to the reference, raw → left at matched ink hidden [95%]",
            markdown_table(
                ["coverage", *dict.fromkeys(r["family"] for r in g.left)],
                [
                    [f"{c:g}"]
                    + [
                        f"{_ci(r['gap'], r['gap_lo'], r['gap_hi'])} → "
                        f"{_ci(r['at_matched_ink'], r['lo'], r['hi'])}"
                        for r in g.left
                        if r["coverage"] == c
                    ]
                    for c in sorted({r["coverage"] for r in g.left})
                ],
            ),
        ]
    return out


def _share(g: Geometry, coverage: float, name: str) -> str:
    (r,) = [r for r in g.explained if r["coverage"] == coverage and r["descriptor"] == name]
    return f"{r['explained']:.2f} [{r['lo']:.2f}, {r['hi']:.2f}]"


def _rho(g: Geometry, coverage: float, name: str) -> str:
    (r,) = [r for r in g.rank if r["coverage"] == coverage and r["descriptor"] == name]
    return f"{r['rho']:+.2f} [{r['lo']:+.2f}, {r['hi']:+.2f}]"


def geometry_lines(run: Run) -> list[str]:
    """Per architecture: the descriptor that accounts for most of the gaps at each coverage, the share
    the ink hidden accounts for, and how many families stay apart from the reference at matched ink."""
    lines = []
    for g in run.geometry:
        coverages = sorted({r["coverage"] for r in g.explained})
        best, ink, left = [], [], []
        for c in coverages:
            mine = [r for r in g.explained if r["coverage"] == c and r["descriptor"] in DESCRIPTORS]
            top = max(mine, key=lambda r: r["explained"])
            best.append(
                f"{c:g} {top['descriptor']} {top['explained']:.2f} [{top['lo']:.2f}, {top['hi']:.2f}]"
            )
            ink.append(f"{c:g} {_share(g, c, 'ink_hidden')}")
            rows = [r for r in g.left if r["coverage"] == c]
            below = [r["at_matched_ink"] for r in rows if r["hi"] < 0]
            above = [r["at_matched_ink"] for r in rows if r["lo"] > 0]
            text = f"{c:g} {len(below)} below, {len(above)} above of {len(rows)}"
            if below or above:
                values = below + above
                text += f" ({min(values):+.3f} to {max(values):+.3f})"
            left.append(text)
        lines.append(
            f"**{g.arch}** (fill 0, single frames): the descriptor reproducing most of the families' "
            "accuracy gaps "
            f"to {run.config.reference} per coverage: {'; '.join(best)}; the ink hidden alone: "
            f"{'; '.join(ink)}. "
            f"Families whose gap stays apart from 0 at matched ink hidden [95%]: {'; '.join(left)}."
        )
    return lines


# --------------------------------------------------------------------------- calibration and time


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
        parts = [f"{d.subject} − {d.versus} {_ci(d.value, d.lo, d.hi)} {_ARROW[d.verdict]}" for d in mine]
        lines.append(
            f"{where.arch}, fill {where.fill:g}, video {where.rule} (accuracy area / range): "
            + "; ".join(parts)
            + "."
        )
    return lines


# --------------------------------------------------------------------------- the report


def _grids(c: StudyConfig) -> str:
    return "; ".join(
        f"fill {fill:g}: {', '.join(f'{v:g}' for v in grid)}" for fill, grid in c.coverages.items()
    )


def _ink_setup(c: StudyConfig) -> list[str]:
    if not c.ink_shares:
        return []
    shares = ", ".join(f"{v:g}" for v in c.ink_shares)
    return [
        f"**Ink-matched arm**: the same families hiding exactly {shares} of each frame's ink pixels (pixels "
        f'at least half white; region coverage, `region=` with `match="frame"`), masks {c.temporal[0]}, '
        "fill 0 (the hidden ink is deleted), every model: the share of the digit hidden is equal by "
        "design, so a gap that remains comes from the geometry of what is hidden, not its amount."
    ]


def _setup(run: Run) -> str:
    c, t = run.config, run.timings
    ink = np.mean(run.test.frames[:, 0] >= 128)
    val = {f"{a} seed {s}": h.val_acc[-1] for (a, s), h in run.histories.items()}
    return _bullets(
        [
            f"**Data**: {run.source}; {run.sizes['train']} training and {run.sizes['validation']} validation "
            f"digits; {run.sizes['test_videos']} test videos, each of a distinct test digit never seen in "
            "training. MNIST is by Y. LeCun, C. Cortes and C. J. C. Burges, used under CC BY-SA 3.0.",
            f"**Moving MNIST** (Srivastava et al. 2015): a {DIGIT}x{DIGIT} digit on a {CANVAS}x{CANVAS} "
            f"canvas, constant velocity, bouncing off the walls, {c.frames} frames. The ink is {ink:.1%} "
            "of the canvas.",
            "**Models**: "
            + "; ".join(f"`{a}`: {ARCHS[a]}" for a in c.archs)
            + f" (layers below). {c.seeds} training seed(s) each (weights, batch order and training "
            "positions), "
            f"{c.epochs} epochs of Adam on clean single frames. Final clean validation accuracy: "
            + ", ".join(f"{k} {v:.3f}" for k, v in val.items())
            + ".",
            f'**Masks**: {", ".join(c.families)}, exact per frame (`match="frame"`), at canvas coverages '
            f"{_grids(c)}. Each fill has its own grid, spanning the reference's single-frame accuracy "
            "from near "
            "the clean level to near chance: a white occluder (fill 1) draws strokes and reaches chance at "
            "far lower coverage than the background (fill 0), which only deletes ink. Temporal modes "
            f"{', '.join(c.temporal)}. Every model sees the same masks (every model scores each occluded "
            "batch at once).",
            *_ink_setup(c),
            "**Levels**: single frames, and videos whose per-frame log-probabilities are pooled by each rule "
            "(`sum_logprob`, `mean_logprob`, `mean_prob`; `sum_logprob` predicts as `mean_logprob`, so its "
            "accuracy is tested once).",
            "**Statistics**: per video, each metric is averaged over the seeds of an architecture "
            "(frame level: "
            "over the video's frames too); a claim is decided at every coverage by a paired t-test on these "
            "per-video differences (`occmask.robustness.stats`), Holm-adjusted over the claims and coverages "
            "of each metric in a setting (architecture × fill × temporal mode × level), family-wise 5%. A "
            "condition whose pooled accuracy is not above the majority-class rate is at chance; a comparison "
            "of two conditions both at chance (or both at the clean ceiling) is neither tested nor counted. "
            "Calibration claims use the signed gap (confidence − accuracy); the ECE is descriptive. Each "
            "claim also gets the area between the two curves over the grid divided by the grid's range (a "
            "mean difference) as a summary. Intervals are 95% t intervals over videos; they describe these "
            "trained models, so whether a result holds for every seed is read from each seed's own "
            "difference.",
            f"**Run**: preset `{c.preset}`, seed {c.seed}, device {c.device}, {run.threads} torch thread(s); "
            f"wall time {t['total']:.0f} s, CPU time {t['cpu']:.0f} s (data {t['data']:.0f}, training "
            f"{t['train']:.0f}, evaluation "
            f"{t['evaluate']:.0f}, descriptors {t.get('geometry', 0):.0f}, statistics {t['analyse']:.0f}, "
            f"figures {t['figures']:.0f}).",
        ]
    )


def layer_tables(run: Run) -> list[str]:
    """Each architecture's layers: output shape and parameter count."""
    out = []
    for arch, rows in run.layers.items():
        body = [
            [f"`{r['layer']}`", " × ".join(str(v) for v in r["output"]), f"{r['parameters']:,}"] for r in rows
        ]
        body.append(["total", "", f"{sum(r['parameters'] for r in rows):,}"])
        out += [
            f"`{arch}` (input 1 × {CANVAS} × {CANVAS}):",
            markdown_table(["layer", "output", "parameters"], body),
        ]
    return out


def _floor(run: Run) -> list[str]:
    """Per fill: the range of frame accuracy at the highest coverage over models and families."""
    lines = []
    for fill, grid in run.config.coverages.items():
        top = grid[-1]
        found = [
            row["accuracy"]
            for (_, _, f), report in run.reports.items()
            if f == fill
            for row in report.select(coverage=top, level="frame")
        ]
        lines.append(
            f"With fill {fill:g}, single-frame accuracy at the grid's top coverage {top:g} ranges from "
            f"{min(found):.3f} to {max(found):.3f} over models, families and temporal modes (chance "
            f"{next(iter(run.reports.values())).chance:.3f})."
        )
    return lines


def _caveats(run: Run) -> str:
    c = run.config
    return _bullets(
        [
            *_floor(run),
            (
                "Canvas-matched masks hide unequal shares of the digit (blob-like masks hide it more "
                "unevenly than Bernoulli noise); the ink-matched arm equalises that share but then hides "
                "unequal shares of the canvas (listed in its section), so neither arm holds both fixed; the "
                "descriptor analysis adjusts for the ink hidden by regression instead."
                if c.ink_shares
                else "No ink-matched arm ran (`ink_shares` empty): canvas coverage is matched but the share "
                "of the *digit* hidden is not; the descriptor analysis adjusts for it by regression."
            ),
            f"{c.seeds} training seed(s) per architecture: the tests condition on these trained models; the "
            "per-seed differences and the 'every seed' columns show what moves between trainings.",
            f"{run.source}, {run.sizes['test_videos']} test videos of {c.frames} frames, small CNNs, 64x64 "
            "canvases: another model or data set may order the families differently.",
            "ECE is biased upwards on small samples; the signed gap (confidence − accuracy) tells over- from "
            "underconfidence, which ECE cannot.",
        ]
    )


def _ink_section(run: Run, decisions: Decisions, figures: dict[str, str]) -> list[str]:
    """The ink-matched arm: claims and gaps over the ink shares."""
    if not run.ink_reports:
        return []
    c = run.config
    wheres = list(
        dict.fromkeys(d.where for d in decisions.gaps if d.where.arm == "ink" and d.where.level == "frame")
    )
    return [
        "## Matched share of the digit's ink",
        "Every family hides exactly the same share of each frame's ink; claims and gaps are decided at every "
        "share as above.",
        _bullets(ink_lines(run)),
        claims_table(decisions, "ink"),
        *[x for w in wheres for x in (f"### {w.label()}", gap_table(decisions, w))],
        f"![ink-matched accuracy]({figures['ink']})",
    ][: None if c.ink_shares else 0]


def render_report(run: Run, decisions: Decisions, figures: dict[str, str]) -> str:
    """The Markdown report of a run: setup, decisions phrased with their numbers, tables, figures."""
    c = run.config
    frame_settings = [
        w
        for w in dict.fromkeys(d.where for d in decisions.gaps)
        if w.arm == "canvas" and w.temporal == c.temporal[0]
    ]
    sections = [
        "# occmask study: does occlusion geometry matter at matched coverage?",
        f"A reproduction of the blog post *{_BLOG}*, asked of several trained models: small CNNs trained on "
        "clean Moving MNIST frames are tested on videos occluded by masks of different geometry that hide "
        "exactly the same number of pixels per frame. Every number and every verdict below is computed by "
        "code from this run (`results.csv`, `claims.csv`, `decisions.csv`, `geometry.csv`).",
        "## Setup",
        _setup(run),
        "## What holds for every seed and both architectures",
        f"Single frames, masks {c.temporal[0]}, canvas-matched: per claim and fill, the coverages where "
        "it is "
        "supported (✓) or contradicted (✗) in every architecture with every seed's own difference of the "
        "same sign; ≠ where architectures or seeds split; then each architecture's own verdicts. "
        + _LEGEND
        + ".",
        robust_table(decisions),
        split_line(decisions),
        "## The blog's claims at every coverage",
        "Each claim is decided at every coverage of every setting ("
        + _LEGEND
        + "); `area` is the verdict on "
        "the area between the curves over the grid divided by its range.",
        _bullets(claim_legend(decisions)),
        claims_table(decisions),
        "Counts over (setting, coverage) tests; statuses ∅ and ⊤ are listed apart and are no evidence "
        "either way.",
        claim_counts(decisions),
        f"![claims]({figures['claims']})",
        "## Power",
        "The minimal detectable difference (MDD) of each accuracy test: the true difference its Holm-level "
        "test finds with 80% power, from the SD of the per-video differences. A 'not separable' says no "
        "more than that the difference is probably below its MDD.",
        power_table(decisions),
        "## Each family against Bernoulli, coverage by coverage",
        "Accuracy difference to Bernoulli at every coverage (▼ below, ▲ above, = not separable, Holm "
        "over the "
        "families × coverages of the setting; ∅ ⊤ untested), and the area between the curves divided by the "
        "grid's range [95%] with the number of seeds sharing its sign.",
        *[
            x
            for w in frame_settings
            if w.level == "frame" or w.rule == c.rule
            for x in (f"### {w.label()}", gap_table(decisions, w))
        ],
        f"![accuracy curves]({figures['curves']})",
        f"![gaps per seed]({figures['gaps']})",
        "## What the masks hide: geometry explained",
        f"Fill 0, masks {c.temporal[0]}, single frames, the first videos' masks rebuilt and described; "
        "accuracy "
        "and confidence are means over an architecture's seeds. Which descriptor accounts for the families' "
        "gaps at matched canvas coverage: frame accuracy regressed on the descriptor alone, over every "
        "family's frames; the share of the families' squared gaps to Bernoulli that the fit reproduces "
        "(1: all of them), and what is left of each gap once the ink hidden is accounted for [95% bootstrap "
        "over videos].",
        _bullets(geometry_lines(run)),
        *geometry_tables(run),
        f"![accuracy against the descriptors]({figures['geometry']})",
        *_ink_section(run, decisions, figures),
        "## Calibration",
        "Confidence − accuracy at the focus coverage of each fill (pooled over seeds; over/under: the 95% "
        "interval lies above/below zero, ≈ otherwise), and ECE (15 bins, descriptive).",
        _bullets(calibration_lines(decisions)),
        calibration_table(decisions),
        f"![reliability]({figures['reliability']})",
        "## Time: how masks behave across frames",
        _bullets(temporal_lines(decisions)),
        f"![temporal modes]({figures['temporal']})",
        "## The masks",
        f"![gallery]({figures['gallery']})",
        "One test video under every family at the focus coverage (fill 0), with the first "
        f"`{c.archs[0]}` model's prediction and confidence per frame:",
        f"![animation]({figures['animation']})",
        "## The models",
        *layer_tables(run),
        f"![training curves]({figures['training']})",
        "## Caveats: what these verdicts depend on",
        _caveats(run),
        "## Files",
        "`results.csv`: every row of every model's `occmask.robustness` report (columns `arm`, `arch`, "
        "`seed`, `fill` added; in the ink-matched arm `coverage` is the share of the ink). "
        "`decisions.csv`: every family against the reference per coverage and over the grid, and the "
        "temporal comparisons. `claims.csv`: each claim per setting and coverage (`coverage` `area`: "
        "over the "
        "grid). `calibration.csv`: signed gap and ECE at the focus coverages. `geometry.csv`: "
        "descriptors and "
        "outcomes per family and coverage. `run.json`: configuration, seeds, versions, timings.",
    ]
    return "\n\n".join(sections) + "\n"


def digest(run: Run, decisions: Decisions) -> str:
    """The part of the report quoted by README.md and docs/study.md: what holds, per architecture."""
    c, t = run.config, run.timings
    ink = (
        f", an ink-matched arm ({', '.join(f'{v:g}' for v in c.ink_shares)} of the ink)"
        if c.ink_shares
        else ""
    )
    geometry = geometry_lines(run)
    return "\n\n".join(
        [
            f"From `occmask study --preset {c.preset}` ({len(c.archs)} architectures × {c.seeds} training "
            f"seeds, {run.sizes['test_videos']} test videos of {c.frames} frames, coverages {_grids(c)}, "
            f"temporal modes {', '.join(c.temporal)}{ink}; {t['total']:.0f} s wall and {t['cpu']:.0f} s CPU "
            f"time on {run.threads} torch thread(s)), "
            "generated by the run itself. Single frames, first temporal mode: for each claim of the post and "
            "each fill, the coverages where it holds for every seed and both architectures, then each "
            "architecture's own verdicts (paired t-tests on seed-pooled per-video differences, Holm over the "
            "claims × coverages of each metric; " + _LEGEND + "; ≠ architectures or seeds split).",
            robust_table(decisions),
            split_line(decisions),
            "Minimal detectable accuracy difference (median over tests, 80% power): "
            f"{mdd_summary(decisions)}.",
            *(["Geometry: " + " ".join(geometry)] if geometry else []),
            "The report names every setting, coverage and seed behind these marks.",
        ]
    )


# --------------------------------------------------------------------------- files


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def run_info(run: Run, figures: dict[str, str]) -> dict:
    """The content of run.json."""
    import torch

    c = run.config
    return {
        "config": c.as_dict(),
        "data": {"source": run.source, **run.sizes},
        "training": {f"{a} seed {s}": asdict(h) for (a, s), h in run.histories.items()},
        "timings_s": run.timings,
        "environment": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "torch_threads": run.threads,
            "cuda_device": torch.cuda.get_device_name(0) if c.device == "cuda" else None,
            "versions": {p: _version(p) for p in _PACKAGES},
        },
        "outputs": [
            "results.csv",
            "decisions.csv",
            "claims.csv",
            "calibration.csv",
            "geometry.csv",
            "run.json",
            "report.md",
            *figures.values(),
        ],
    }


def _flat(where: Where) -> dict:
    return {"arm": where.arm, "arch": where.arch, "fill": where.fill, "temporal": where.temporal,
            "level": where.level, "rule": where.rule}  # fmt: skip


def write_outputs(run: Run, decisions: Decisions, figures: dict[str, str]) -> list[dict]:
    """Write every table, run.json, report.md and digest.md into the output folder; return results rows."""
    out = run.config.out
    rows = [
        {"arm": arm, "arch": a, "seed": s, "fill": f, **row}
        for arm, reports in (("canvas", run.reports), ("ink", run.ink_reports))
        for (a, s, f), report in reports.items()
        for row in report.rows
    ]
    write_csv(rows, out / "results.csv")
    write_csv([d.row() for d in decisions.gaps + decisions.temporal], out / "decisions.csv")
    write_csv(
        [{"claim": c.key, "text": c.text, **d.row(), "status": s} for c, d, s in decisions.claims],
        out / "claims.csv",
    )
    write_csv(
        [
            {**_flat(r["where"]), **{k: v for k, v in r.items() if k != "where"}}
            for r in decisions.calibration
        ],
        out / "calibration.csv",
    )
    write_csv([{"arch": g.arch, **r} for g in run.geometry for r in g.table], out / "geometry.csv")
    (out / "run.json").write_text(json.dumps(run_info(run, figures), indent=2) + "\n")
    (out / "report.md").write_text(render_report(run, decisions, figures))
    (out / "digest.md").write_text(digest(run, decisions) + "\n")
    return rows


_BEGIN, _END = "<!-- study:results:begin -->", "<!-- study:results:end -->"


def sync_docs(out: str | Path, *pages: str | Path) -> None:
    """Replace the text between the study markers of each page with ``out/digest.md``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "digest.md").write_text("new\\n")
    >>> page = "a\\n<!-- study:results:begin -->\\nold\\n<!-- study:results:end -->\\nb\\n"
    >>> _ = (d / "page.md").write_text(page)
    >>> sync_docs(d, d / "page.md")
    >>> (d / "page.md").read_text()
    'a\\n<!-- study:results:begin -->\\nnew\\n<!-- study:results:end -->\\nb\\n'
    """
    text = Path(out, "digest.md").read_text().strip()
    for page in pages:
        path = Path(page)
        body = path.read_text()
        if _BEGIN not in body or _END not in body:
            raise ValueError(f"page {str(path)!r} has no {_BEGIN} ... {_END} markers")
        pattern = re.compile(re.escape(_BEGIN) + ".*?" + re.escape(_END), re.DOTALL)
        path.write_text(pattern.sub(lambda _: f"{_BEGIN}\n{text}\n{_END}", body))
