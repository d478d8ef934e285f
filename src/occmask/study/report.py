"""Outputs of a run: results.csv, run.json and report.md (with a data-driven reading)."""

from __future__ import annotations

import csv
import json
import platform
import sys
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from .analysis import Estimate, InkCurve, Key
from .config import Stream, StudyConfig
from .evaluate import Cell, VideoSet
from .metrics import RULES
from .model import History
from .moving import CANVAS, DIGIT
from .plots import gif_families

__all__ = ["Context", "accuracy_table", "markdown_table", "render_report", "run_info", "write_outputs"]

_PACKAGES = ("occmask", "numpy", "scipy", "numba", "torch", "matplotlib", "pillow", "mlxtend", "tqdm")
_BLOG = "How occlusion structure breaks CNN digit recognition"
_STRUCTURED = ("perlin", "triangles")


@dataclass
class Context:
    """Everything a run measured, handed to the figures and the report."""

    config: StudyConfig
    source: str
    sizes: dict[str, int]
    history: History
    rows: list[dict]
    estimates: dict[Key, dict[str, Estimate]]
    ink: dict[str, dict[str, InkCurve]]
    cells: list[Cell]
    test: VideoSet
    threads: int
    timings: dict[str, float]

    def cell(self, temporal: str, family: str, coverage: float) -> Cell:
        """The grid cell of one (temporal mode, family, coverage)."""
        return next(c for c in self.cells if (c.temporal, c.family, c.coverage) == (temporal, family, coverage))

    def est(self, temporal: str, family: str, coverage: float, metric: str, rule: str | None = None) -> Estimate:
        """A metric's estimate; ``rule=None`` is the default rule, ``""`` single frames."""
        return self.estimates[(temporal, family, coverage, self.config.rule if rule is None else rule)][metric]

    def versus_reference(self, temporal: str, family: str, coverage: float, metric: str, rule: str | None = None) -> Estimate:
        """Paired difference ``family - reference`` of a metric on the same videos."""
        ref = self.config.reference
        return self.est(temporal, family, coverage, metric, rule) - self.est(temporal, ref, coverage, metric, rule)


# --------------------------------------------------------------------------- formatting


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
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


def _ci(est: Estimate, digits: int = 3) -> str:
    lo, hi = est.interval()
    return f"{est.value:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def _points(est: Estimate) -> str:
    """A difference of proportions in percentage points with its interval, e.g. ``-5.7 pts [-9.0, -2.3]``."""
    lo, hi = est.interval()
    return f"{100 * est.value:+.1f} pts [{100 * lo:+.1f}, {100 * hi:+.1f}]"


def _sign(est: Estimate) -> int:
    """+1 / -1 when the 95% interval lies above / below zero, else 0."""
    lo, hi = est.interval()
    return 1 if lo > 0 else -1 if hi < 0 else 0


def _grid(values: list[float]) -> str:
    return ", ".join(f"{v:g}" for v in values) if values else "none"


# --------------------------------------------------------------------------- reading


def _accuracy_findings(ctx: Context, temporal: str, rule: str | None) -> list[str]:
    """Per family: coverages where its accuracy is clearly below / above the reference's."""
    ref, lines = ctx.config.reference, []
    for family in ctx.config.families:
        if family == ref:
            continue
        diffs = {c: ctx.versus_reference(temporal, family, c, "accuracy", rule) for c in ctx.config.coverages}
        below = [c for c, d in diffs.items() if _sign(d) < 0]
        above = [c for c, d in diffs.items() if _sign(d) > 0]
        worst = min(diffs, key=lambda c: diffs[c].value)
        lines.append(
            f"**{family}** is below {ref} at coverage {_grid(below)} and above it at {_grid(above)} "
            f"(largest deficit at {worst:g}: {_points(diffs[worst])})."
        )
    return lines


def _blog_verdict(ctx: Context, temporal: str) -> str:
    ref = ctx.config.reference
    structured = [f for f in _STRUCTURED if f in ctx.config.families]
    if ref != "bernoulli" or not structured:
        return "The blog's ordering compares Bernoulli with Perlin and triangles; run those families to test it."
    covs = [c for c in ctx.config.coverages if c > 0]
    holds = [c for c in covs if all(_sign(ctx.versus_reference(temporal, f, c, "accuracy")) < 0 for f in structured)]
    reversed_ = [c for c in covs if any(_sign(ctx.versus_reference(temporal, f, c, "accuracy")) > 0 for f in structured)]
    names = " and ".join(structured)
    text = (
        f"The blog's central claim, that {names} masks are more destructive than Bernoulli at matched coverage, "
        f"holds for the video prediction (masks {temporal}) at coverage {_grid(holds)}"
    )
    if reversed_:
        text += f"; it is *reversed* (Bernoulli is the more destructive) at {_grid(reversed_)}"
    others = [c for c in covs if c not in holds and c not in reversed_]
    return text + (f"; elsewhere ({_grid(others)}) the 95% paired intervals do not separate the families." if others else ".")


def _ranking(ctx: Context, temporal: str, coverage: float, rule: str) -> list[str]:
    return sorted(ctx.config.families, key=lambda f: -ctx.est(temporal, f, coverage, "accuracy", rule).value)


def _frame_vs_video(ctx: Context, temporal: str) -> tuple[str, str]:
    rows, differ = [], []
    for c in ctx.config.coverages:
        if c == 0:
            continue
        video, frame = _ranking(ctx, temporal, c, ctx.config.rule), _ranking(ctx, temporal, c, "")
        rows.append([f"{c:g}", " > ".join(video), " > ".join(frame), "yes" if video == frame else "**no**"])
        if video != frame:
            differ.append(c)
    table = markdown_table(["coverage", "video accuracy (best first)", "single-frame accuracy (best first)", "same order"], rows)
    gaps = []
    for family in ctx.config.families:
        if family == ctx.config.reference:
            continue
        covs = [c for c in ctx.config.coverages if c > 0]
        worst = min(covs, key=lambda c: ctx.versus_reference(temporal, family, c, "accuracy", "").value)
        gaps.append(
            f"{family} at {worst:g}: {_points(ctx.versus_reference(temporal, family, worst, 'accuracy', ''))} per frame, "
            f"{_points(ctx.versus_reference(temporal, family, worst, 'accuracy'))} per video"
        )
    text = (
        f"Point estimates rank the families differently per frame and per video at coverage {_grid(differ)} "
        "(orderings inside overlapping intervals are not meaningful on their own). "
        f"Largest single-frame deficits against {ctx.config.reference}, and the same comparison after pooling: "
        + "; ".join(gaps) + "."
    )
    return text, table


def _calibration_findings(ctx: Context, temporal: str) -> list[str]:
    ref, lines = ctx.config.reference, []
    for c in ctx.config.focus_coverages():
        parts = []
        for family in ctx.config.families:
            ece = ctx.est(temporal, family, c, "ece")
            gap = ctx.est(temporal, family, c, "confidence").value - ctx.est(temporal, family, c, "accuracy").value
            mood = "overconfident" if gap > 0.02 else "underconfident" if gap < -0.02 else "confidence close to accuracy"
            note = ""
            if family != ref:
                sign = _sign(ctx.versus_reference(temporal, family, c, "ece"))
                note = {1: f", worse than {ref}", -1: f", better than {ref}", 0: f", not separable from {ref}"}[sign]
            parts.append(f"{family} {ece.value:.3f} ({mood}, mean confidence − accuracy {gap:+.3f}{note})")
        lines.append(f"coverage {c:g}: " + "; ".join(parts) + ".")
    return lines


def _probability_table(ctx: Context, temporal: str) -> str:
    rows = []
    for c in ctx.config.focus_coverages():
        for family in ctx.config.families:
            cells = [_ci(ctx.est(temporal, family, c, m)) for m in ("accuracy", "nll", "brier", "ece")]
            diff = "—" if family == ctx.config.reference else _ci(ctx.versus_reference(temporal, family, c, "nll"))
            rows.append([f"{c:g}", family, *cells, diff])
    return markdown_table(
        ["coverage", "family", "accuracy", "NLL", "Brier", "ECE", f"NLL − {ctx.config.reference} (paired)"], rows
    )


def _ink_findings(ctx: Context, temporal: str, min_count: int = 30) -> list[str]:
    curves, ref, lines = ctx.ink[temporal], ctx.config.reference, []
    base = curves[ref]
    for family, curve in curves.items():
        if family == ref:
            continue
        usable = (curve.count >= min_count) & (base.count >= min_count)
        usable[0] = False  # [0, 0.1) is dominated by clean frames shared by every family
        if not usable.any():
            continue
        below = int(((curve.hi < base.lo) & usable).sum())
        above = int(((curve.lo > base.hi) & usable).sum())
        gap = float(np.mean((curve.accuracy - base.accuracy)[usable]))
        lines.append(
            f"**{family}**: in {int(usable.sum())} hidden-ink bins (0.1 wide, ≥ {min_count} frames each) its frame accuracy "
            f"is clearly below {ref}'s in {below}, clearly above in {above} (non-overlapping 95% Wilson intervals); "
            f"mean difference {100 * gap:+.1f} pts."
        )
    return lines


def _ink_table(ctx: Context, temporal: str) -> str:
    curves = ctx.ink[temporal]
    edges = next(iter(curves.values())).edges
    rows = []
    for b in range(edges.size - 1):
        cells = []
        for family in ctx.config.families:
            curve = curves[family]
            cells.append(f"{curve.accuracy[b]:.2f} ({curve.count[b]})" if curve.count[b] else "—")
        rows.append([f"[{edges[b]:.1f}, {edges[b + 1]:.1f}{']' if b == edges.size - 2 else ')'}", *cells])
    return markdown_table(["hidden ink", *[f"{f} acc (frames)" for f in ctx.config.families]], rows)


def _temporal_findings(ctx: Context) -> list[str]:
    modes = ctx.config.temporal
    if len(modes) < 2:
        return [f"Only the {modes[0]} mode ran; pass several temporal modes to compare them."]
    first, lines = modes[0], []
    for c in ctx.config.focus_coverages():
        for family in ctx.config.families:
            parts = [f"{m} {ctx.est(m, family, c, 'accuracy').value:.3f}" for m in modes]
            diffs = []
            for m in modes[1:]:
                d = ctx.est(first, family, c, "accuracy") - ctx.est(m, family, c, "accuracy")
                diffs.append(f"{first} − {m}: {_points(d)}")
            frame = ctx.est(first, family, c, "accuracy", "").value
            lines.append(f"coverage {c:g}, {family}: video accuracy {', '.join(parts)} (single frame, {first}: {frame:.3f}); {'; '.join(diffs)}.")
    return lines


def _rule_table(ctx: Context, temporal: str) -> str:
    rows = []
    covs = sorted({*ctx.config.focus_coverages(), ctx.config.coverages[-1]})
    for c in covs:
        for rule in RULES:
            nll = np.mean([ctx.est(temporal, f, c, "nll", rule).value for f in ctx.config.families])
            ece = np.mean([ctx.est(temporal, f, c, "ece", rule).value for f in ctx.config.families])
            gap = np.mean(
                [ctx.est(temporal, f, c, "confidence", rule).value - ctx.est(temporal, f, c, "accuracy", rule).value for f in ctx.config.families]
            )
            acc = np.mean([ctx.est(temporal, f, c, "accuracy", rule).value for f in ctx.config.families])
            name = f"**{rule}** (default)" if rule == ctx.config.rule else rule
            rows.append([f"{c:g}", name, f"{acc:.3f}", f"{nll:.3f}", f"{ece:.3f}", f"{gap:+.3f}"])
    return markdown_table(["coverage", "rule", "accuracy", "NLL", "ECE", "confidence − accuracy"], rows)


def accuracy_table(ctx: Context, temporal: str | None = None, rule: str | None = None) -> str:
    """Markdown table of accuracy [95% interval], coverages by families (default: first mode, default rule)."""
    temporal = temporal or ctx.config.temporal[0]
    rows = [[f"{c:g}", *[_ci(ctx.est(temporal, f, c, "accuracy", rule)) for f in ctx.config.families]] for c in ctx.config.coverages]
    return markdown_table(["coverage", *ctx.config.families], rows)


# --------------------------------------------------------------------------- report


def _setup(ctx: Context) -> str:
    c, h, t = ctx.config, ctx.history, ctx.timings
    ink = np.mean([(v >= 128).mean() for v in ctx.test.frames[:, 0]])
    return "\n".join(
        [
            f"- **Data**: {ctx.source}; {ctx.sizes['train']} training and {ctx.sizes['validation']} validation digits; "
            f"{ctx.sizes['test_videos']} test videos, each of a distinct test digit never seen in training. "
            "MNIST is by Y. LeCun, C. Cortes and C. J. C. Burges, used under CC BY-SA 3.0.",
            f"- **Moving MNIST** (Srivastava et al. 2015): a {DIGIT}x{DIGIT} digit on a {CANVAS}x{CANVAS} canvas, constant "
            f"velocity (2-5 px/frame), bouncing off the walls, {c.frames} frames. The ink is on average {ink:.1%} of the canvas.",
            f"- **Model**: small CNN (3 conv + batch norm + pooling, global max pool, linear), Adam, {c.epochs} epochs on clean "
            f"frames; final clean validation accuracy **{h.val_acc[-1]:.3f}** (single frames).",
            f"- **Masks**: families {', '.join(c.families)}; canvas coverage {_grid(list(c.coverages))}, exact per frame "
            f"(`match=\"frame\"`); temporal modes {', '.join(c.temporal)}; hidden pixels set to 0 (the background). Video *i* "
            "gets the same mask seed under every family and mode.",
            f"- **Video prediction**: per-frame log-probabilities combined by **{c.rule}** (default; {RULES[c.rule]}). "
            "The other rules are in `results.csv` and below.",
            f"- **Metrics**: accuracy, NLL, Brier (sum over classes), ECE (15 equal-width bins, top label; Guo et al. 2017). "
            f"Intervals: 95% percentile bootstrap over videos ({c.n_boot} resamples, shared by all conditions, so differences "
            "are paired); frame-level intervals resample whole videos.",
            f"- **Run**: seed {c.seed}, device {c.device}, {ctx.threads} torch thread(s); wall time {t.get('total', float('nan')):.0f} s "
            f"(data {t['data']:.0f}, training {t['train']:.0f}, evaluation {t['evaluate']:.0f}, statistics {t['analyse']:.0f}, "
            f"figures {t.get('figures', float('nan')):.0f}).",
        ]
    )


def _bullets(lines: list[str], indent: int = 0) -> str:
    return "\n".join(" " * indent + f"- {line}" for line in lines)


def render_report(ctx: Context, figures: dict[str, str]) -> str:
    """The Markdown report of a run."""
    c = ctx.config
    tm = c.temporal[0]
    ref = c.reference
    frame_text, frame_table = _frame_vs_video(ctx, tm)
    sections = [
        "# occmask study: does occlusion geometry matter at matched coverage?",
        f"A reproduction of the blog post *{_BLOG}*: a CNN trained on clean Moving MNIST frames is tested on videos "
        "occluded by masks of different geometry that hide exactly the same number of pixels per frame. "
        f"Preset `{c.preset}`; every number below comes from this run (`results.csv`, `run.json`).",
        "## Setup",
        _setup(ctx),
        "## What the data says",
        f"Main setting: masks **{tm}**, video prediction **{c.rule}**. Differences are paired against **{ref}** "
        "on the same videos; 'below'/'above' means the 95% paired bootstrap interval excludes zero.",
        "- " + _blog_verdict(ctx, tm),
        _bullets(_accuracy_findings(ctx, tm, None)),
        "- Single frames (no pooling): " + " ".join(_accuracy_findings(ctx, tm, "")),
        "- " + frame_text,
        "- Hidden ink: canvas coverage is not the share of the *digit* that is hidden. At equal hidden-ink share "
        "(frames pooled over all coverages):",
        _bullets(_ink_findings(ctx, tm), indent=2),
        "- Calibration (ECE of the video prediction):",
        _bullets(_calibration_findings(ctx, tm), indent=2),
        "### Caveats: what these claims depend on",
        _bullets(
            [
                f"One trained model (seed {c.seed}): intervals cover the choice of test videos and masks, not training "
                "randomness. Re-run with other `--seed` values before trusting small differences.",
                "Coverage is measured on the whole canvas; the digit's ink is a few percent of it, so the share of the "
                "digit hidden varies from frame to frame, far more for blob-like masks than for Bernoulli noise (see hidden ink).",
                "Hidden pixels are set to the background value, so the model cannot tell 'hidden' from 'no ink'.",
                f"The video results depend on the number of frames ({c.frames}), on how masks move in time and on the "
                "combination rule; single-frame results do not.",
                "ECE is biased upwards on small samples and its bootstrap interval may sit above the point estimate; "
                "compare ECE between families, not with zero.",
                f"Results are for {ctx.source}, this small CNN and 64x64 canvases; other models may rank the families differently.",
            ]
        ),
        f"## Accuracy by family and coverage (video, {c.rule}, masks {tm})",
        "Value [95% interval]; coverage 0 is the clean test set.",
        accuracy_table(ctx, tm),
        f"![coverage summary]({figures['coverage_summary']})",
        "Top row: video prediction; bottom row: single frames, same scales.",
        "### Single-frame accuracy",
        accuracy_table(ctx, tm, ""),
        "### Frame-level vs video-level ranking",
        frame_table,
        "### Paired differences",
        f"![paired differences]({figures['paired']})",
        "## Probabilities and calibration",
        _probability_table(ctx, tm),
        f"![reliability diagrams]({figures['reliability']})",
        "## The masks",
        f"![gallery]({figures['gallery']})",
        f"![descriptors]({figures['descriptors']})",
        f"Animation of one test video under {' and '.join(gif_families(c.families))}: ![video]({figures['video']})",
        "## Hidden ink",
        _ink_table(ctx, tm),
        f"![hidden ink]({figures['hidden_ink']})",
        "## Time: static, evolving and independent masks",
        _bullets(_temporal_findings(ctx)),
        f"![temporal modes]({figures['temporal']})",
        "## Combining frames",
        "Mean over families. Confidence above accuracy is overconfidence. Summing log-probabilities treats correlated "
        "frames as independent evidence.",
        _rule_table(ctx, tm),
        f"![combination rules]({figures['rules']})",
        "## Training",
        f"![training curves]({figures['training']})",
        "## Files",
        "`results.csv` has one row per temporal mode x family x coverage x level (`frame`, or `video` with each rule), "
        "every metric with `_lo`/`_hi` interval bounds, paired `_minus_reference` differences and the mask descriptors. "
        "`run.json` holds the configuration, seeds, package versions and timings.",
    ]
    return "\n\n".join(sections) + "\n"


# --------------------------------------------------------------------------- files


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def run_info(ctx: Context, figures: dict[str, str]) -> dict:
    """The content of run.json: configuration, seeds, versions, data sizes, training history, timings."""
    import torch

    return {
        "config": ctx.config.as_dict(),
        "seeds": {"root": ctx.config.seed, "streams": {s.name.lower(): [ctx.config.seed, int(s)] for s in Stream}},
        "data": {"source": ctx.source, **ctx.sizes},
        "training": asdict(ctx.history),
        "timings_s": ctx.timings,
        "environment": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "torch_threads": ctx.threads,
            "cuda": torch.cuda.get_device_name(0) if ctx.config.device == "cuda" else None,
            "versions": {p: _version(p) for p in _PACKAGES},
        },
        "outputs": ["results.csv", "run.json", "report.md", *figures.values()],
    }


def _write_csv(rows: list[dict], path: Path) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: f"{v:.6g}" if isinstance(v, float) else v for k, v in row.items()})


def write_outputs(ctx: Context, figures: dict[str, str]) -> None:
    """Write results.csv, run.json and report.md into ``ctx.config.out``."""
    out = ctx.config.out
    _write_csv(ctx.rows, out / "results.csv")
    (out / "run.json").write_text(json.dumps(run_info(ctx, figures), indent=2) + "\n")
    (out / "report.md").write_text(render_report(ctx, figures))
