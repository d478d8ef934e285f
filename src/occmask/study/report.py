"""Outputs of a run: results.csv, run.json and report.md."""

from __future__ import annotations

import csv
import json
import platform
import sys
from dataclasses import asdict
from importlib import metadata
from pathlib import Path

import numpy as np

from ..robustness.metrics import RULES
from . import reading as rd
from .config import Stream
from .context import Context
from .moving import CANVAS, DIGIT
from .plots import gif_families

__all__ = ["render_report", "run_info", "write_outputs"]

_PACKAGES = ("occmask", "numpy", "scipy", "numba", "torch", "matplotlib", "pillow", "mlxtend", "tqdm")
_BLOG = "How occlusion structure breaks CNN digit recognition"


def _bullets(lines: list[str]) -> str:
    return "\n".join(f"- {line}" for line in lines)


def _setup(ctx: Context) -> str:
    c, t = ctx.config, ctx.timings
    ink = np.mean(ctx.test.frames[:, 0] >= 128)
    return _bullets(
        [
            f"**Data**: {ctx.source}; {ctx.sizes['train']} training and {ctx.sizes['validation']} "
            "validation digits; "
            f"{ctx.sizes['test_videos']} test videos, each of a distinct test digit never seen in training. "
            "MNIST is by Y. LeCun, C. Cortes and C. J. C. Burges, used under CC BY-SA 3.0.",
            f"**Moving MNIST** (Srivastava et al. 2015): a {DIGIT}x{DIGIT} digit on a {CANVAS}x{CANVAS} "
            "canvas, constant "
            f"velocity (2-5 px/frame), bouncing off the walls, {c.frames} frames. The ink is {ink:.1%} "
            "of the canvas on average.",
            "**Model**: small CNN (3 conv + batch norm + pooling, global max pool, linear), Adam, "
            f"{c.epochs} epochs on clean "
            f"frames; final clean validation accuracy **{ctx.history.val_acc[-1]:.3f}** (single frames).",
            f"**Masks**: {', '.join(c.families)} at canvas coverage "
            f"{', '.join(f'{v:g}' for v in c.coverages)}, exact per frame "
            f'(`match="frame"`); temporal modes {", ".join(c.temporal)}; '
            "hidden pixels set to 0 (the background). "
            "Video *i* gets the same mask seed under every family and mode.",
            f"**Video prediction**: per-frame log-probabilities combined by **{c.rule}** (the default: "
            f"{RULES[c.rule]}). "
            "The other rules are in `results.csv` and in *Combining frames*.",
            "**Metrics**: accuracy, NLL, Brier (sum over classes, 0-2), ECE (15 equal-width bins, top "
            "label; Guo et al. 2017). "
            f"Intervals: 95% percentile bootstrap over videos ({c.n_boot} resamples shared by all "
            "conditions, so differences "
            "are paired); frame-level intervals resample whole videos.",
            f"**Run**: seed {c.seed}, device {c.device}, {ctx.threads} torch thread(s); wall time "
            f"{t['total']:.0f} s "
            f"(data {t['data']:.0f}, training {t['train']:.0f}, evaluation {t['evaluate']:.0f}, "
            f"statistics {t['analyse']:.0f}, figures {t['figures']:.0f}).",
        ]
    )


def _caveats(ctx: Context) -> str:
    c = ctx.config
    n = len(ctx.others) * len(ctx.occluded)
    return _bullets(
        [
            f"One trained model (seed {c.seed}): intervals cover the sampling of test videos and masks, "
            "not training "
            "randomness. Re-run with other `--seed` values before trusting small differences.",
            f"Many comparisons: {n} family × coverage differences per setting, so a few 'clear' ones at "
            "the 95% level "
            "are expected by chance; trust patterns across neighbouring coverages, not single cells.",
            "Coverage is measured on the whole canvas; the digit's ink is a few percent of it, so the "
            "share of the digit "
            "that is hidden varies from frame to frame, much more for blob-like masks than for Bernoulli "
            "noise.",
            "Hidden pixels take the background value, so the model cannot tell 'hidden' from 'no ink'.",
            f"Video results depend on the number of frames ({c.frames}), on how masks move in time and "
            "on the "
            "combination rule; single-frame results do not.",
            "ECE is biased upwards on small samples and its bootstrap interval can sit above the point "
            "estimate; "
            "compare ECE between families rather than with zero.",
            f"{ctx.source}, this small CNN, 64x64 canvases: another model or data set may order the "
            "families differently.",
        ]
    )


def _reading(ctx: Context) -> list[str]:
    tm, ref = ctx.config.temporal[0], ctx.config.reference
    frame_text, _ = rd.frame_vs_video(ctx, tm)
    return [
        "## What the data says",
        f"Main setting: masks **{tm}**, video prediction **{ctx.config.rule}**. Differences are paired "
        "against "
        f"**{ref}** on the same videos; *below*/*above*/*worse*/*better* mean that the 95% paired "
        "bootstrap interval "
        "excludes zero.",
        "**In short.**",
        _bullets(rd.summary_points(ctx, tm)),
        "**Accuracy against the blog.** " + rd.blog_verdict(ctx, tm),
        f"Video accuracy against {ref}:",
        _bullets(rd.family_findings(ctx, tm, None)),
        f"Single-frame accuracy against {ref}:",
        _bullets(rd.family_findings(ctx, tm, "")),
        "**Frames vs videos.** " + frame_text,
        "**Equal hidden ink.** Canvas coverage is not the share of the *digit* that is hidden. Hidden "
        "pixels take the "
        "background value, so a mask changes the input only where it covers the digit: the hidden-ink "
        "share is the "
        "occlusion the model actually experiences. Pooling the frames of all coverages and comparing "
        "them at equal "
        "hidden-ink share:",
        _bullets(rd.ink_findings(ctx, tm)),
        "**Probabilities.** The blog reports the worst NLL and Brier for Perlin and triangle masks. "
        f"Here, against {ref} "
        "(video prediction):",
        _bullets(rd.probability_findings(ctx, tm)),
        "**Calibration.** The blog reports that structured masks make confidence less trustworthy. ECE "
        "of the video "
        "prediction at the focus coverages:",
        _bullets(rd.calibration_findings(ctx, tm)),
        "**Time.** Video accuracy between temporal modes (paired, same videos and seeds):",
        _bullets(rd.temporal_findings(ctx)),
        "**Combining frames.**",
        _bullets(rd.rule_findings(ctx, tm)),
        "### Caveats: what these claims depend on",
        _caveats(ctx),
    ]


def render_report(ctx: Context, figures: dict[str, str]) -> str:
    """The Markdown report of a run: setup, data-driven reading, tables and figures."""
    c = ctx.config
    tm = c.temporal[0]
    _, frame_table = rd.frame_vs_video(ctx, tm)
    sections = [
        "# occmask study: does occlusion geometry matter at matched coverage?",
        f"A reproduction of the blog post *{_BLOG}*: a CNN trained on clean Moving MNIST frames is "
        "tested on videos "
        "occluded by masks of different geometry that hide exactly the same number of pixels per frame. "
        f"Preset `{c.preset}`; every number here comes from this run (`results.csv`, `run.json`) and is "
        "written by code, "
        "so the sentences follow the data of each run.",
        "## Setup",
        _setup(ctx),
        *_reading(ctx),
        f"## Accuracy by family and coverage (video, {c.rule}, masks {tm})",
        "Value [95% interval]; coverage 0 is the clean test set.",
        rd.accuracy_table(ctx, tm),
        f"![coverage summary]({figures['coverage_summary']})",
        "Top row: video prediction; bottom row: single frames, on the same scales.",
        "### Single-frame accuracy",
        rd.accuracy_table(ctx, tm, ""),
        "### Frame-level vs video-level ranking",
        frame_table,
        "### Paired differences",
        f"![paired differences]({figures['paired']})",
        "## Probabilities and calibration",
        rd.probability_table(ctx, tm),
        f"![reliability diagrams]({figures['reliability']})",
        "## The masks",
        f"![gallery]({figures['gallery']})",
        f"![descriptors]({figures['descriptors']})",
        f"One test video under {' and '.join(gif_families(c.families))}, with each frame's prediction:",
        f"![video]({figures['video']})",
        "## Hidden ink",
        rd.ink_table(ctx, tm),
        f"![hidden ink]({figures['hidden_ink']})",
        "## Time: how masks behave across frames",
        f"![temporal modes]({figures['temporal']})",
        "## Combining frames",
        "Means over families. Confidence above accuracy is overconfidence. The sum of log-probabilities "
        "treats "
        "correlated frames as independent evidence; the mean of log-probabilities has the same decisions "
        "at the "
        "confidence of a single frame; the mean of probabilities is a mixture.",
        rd.rule_table(ctx, tm),
        f"![combination rules]({figures['rules']})",
        "## Training",
        f"![training curves]({figures['training']})",
        "## Files",
        "`results.csv` has one row per temporal mode × family × coverage × level (`frame`, or `video` "
        "with each rule): "
        "every metric with `_lo`/`_hi` interval bounds, paired `_minus_reference` differences and the "
        "mask descriptors. "
        "`run.json` holds the configuration, seeds, package versions and timings.",
    ]
    return "\n\n".join(sections) + "\n"


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def run_info(ctx: Context, figures: dict[str, str]) -> dict:
    """The content of run.json: configuration, seeds, data sizes, training history, timings, environment."""
    import torch

    return {
        "config": ctx.config.as_dict(),
        "seeds": {
            "root": ctx.config.seed,
            "streams": {
                s.name.lower(): f"SeedSequence({ctx.config.seed}, spawn_key=({int(s)}, ...))" for s in Stream
            },
        },
        "data": {"source": ctx.source, **ctx.sizes},
        "training": asdict(ctx.history),
        "timings_s": ctx.timings,
        "environment": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "torch_threads": ctx.threads,
            "cuda_device": torch.cuda.get_device_name(0) if ctx.config.device == "cuda" else None,
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
