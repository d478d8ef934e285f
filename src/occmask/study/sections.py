"""What a run measured, phrased for the report: its setup, the descriptor analysis, the ink-matched
arm's canvas shares, the models' layers and the caveats its verdicts depend on."""

from __future__ import annotations

import numpy as np

from ..robustness.report import markdown_table
from .config import ARCHS, StudyConfig
from .context import Run
from .geometry import DESCRIPTORS, Geometry
from .moving import CANVAS, DIGIT
from .tables import bullets, ci

__all__ = ["caveats", "geometry_lines", "geometry_tables", "grids", "ink_lines", "layer_tables", "setup"]


def ink_lines(run: Run) -> list[str]:
    """Per ink share: the share of the canvas each family's masks hide (mean over the seeds' masks)."""
    if not run.ink_reports:
        return []
    first = run.config.archs[0]  # a seed's architectures share its masks
    seeds = [r for (arch, _, _), r in sorted(run.ink_reports.items()) if arch == first]
    lines = []
    for share in seeds[0].setting.coverages:
        hidden: dict[str, list[float]] = {}
        for report in seeds:
            for row in report.select(coverage=share, level="frame"):
                hidden.setdefault(row["family"], []).append(row["realised_coverage"])
        canvas = {family: float(np.mean(values)) for family, values in hidden.items()}
        low, high = min(canvas, key=canvas.__getitem__), max(canvas, key=canvas.__getitem__)
        lines.append(
            f"Hiding {share:g} of each frame's ink hides from {canvas[low]:.3f} ({low}) to "
            f"{canvas[high]:.3f} ({high}) of the canvas."
        )
    return lines


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
                        f"{ci(r['gap'], r['gap_lo'], r['gap_hi'])} → "
                        f"{ci(r['at_matched_ink'], r['lo'], r['hi'])}"
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


def grids(c: StudyConfig) -> str:
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


def setup(run: Run) -> str:
    c, t = run.config, run.timings
    ink = np.mean(run.test.frames[:, 0] >= 128)
    val = {f"{a} seed {s}": h.val_acc[-1] for (a, s), h in run.histories.items()}
    return bullets(
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
            f"{grids(c)}. Each fill has its own grid, spanning the reference's single-frame accuracy "
            "from near "
            "the clean level to near chance: a white occluder (fill 1) draws strokes and reaches chance at "
            "far lower coverage than the background (fill 0), which only deletes ink. Temporal modes "
            f"{', '.join(c.temporal)}. Each training seed draws its own masks, which both architectures of "
            "the seed score in one pass: pooled over seeds, a comparison averages over the masks' "
            "randomness as well as the training's.",
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


def caveats(run: Run) -> str:
    c = run.config
    return bullets(
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
