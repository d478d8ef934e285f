"""Outputs of a run: CSV tables, run.json, report.md and the digest quoted by the docs.

The page puts together the decisions' tables and sentences (:mod:`occmask.study.tables`) and what
the run measured (:mod:`occmask.study.sections`) with the run's figures; nothing here decides
anything.
"""

from __future__ import annotations

import json
import platform
import re
import sys
from dataclasses import asdict
from importlib import metadata
from pathlib import Path

from ..robustness.report import write_csv
from .analysis import Decisions, Where
from .context import Run
from .sections import caveats, geometry_lines, geometry_tables, grids, ink_lines, layer_tables, setup
from .tables import (
    LEGEND,
    bullets,
    calibration_lines,
    calibration_table,
    claim_counts,
    claim_legend,
    claims_table,
    coverage_ranges,
    gap_table,
    mdd_summary,
    power_table,
    robust_table,
    split_line,
    temporal_lines,
)

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
        bullets(ink_lines(run)),
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
        setup(run),
        "## What holds for every seed and both architectures",
        f"Single frames, masks {c.temporal[0]}, canvas-matched: per claim and fill, the coverages where "
        "it is "
        "supported (✓) or contradicted (✗) in every architecture with every seed's own difference of the "
        "same sign; ≠ where architectures or seeds split; then each architecture's own verdicts. "
        + LEGEND
        + ".",
        robust_table(decisions),
        split_line(decisions),
        "## The blog's claims at every coverage",
        "Each claim is decided at every coverage of every setting (" + LEGEND + "); `area` is the verdict on "
        "the area between the curves over the grid divided by its range.",
        bullets(claim_legend(decisions)),
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
        f"Fill 0, masks {c.temporal[0]}, single frames: every seed's masks of the first videos rebuilt "
        "and described, each frame joined to that seed's outcome (the tables' accuracy and confidence are "
        "means over an architecture's seeds). Which descriptor accounts for the families' "
        "gaps at matched canvas coverage: frame accuracy regressed on the descriptor alone, over every "
        "family's frames; the share of the families' squared gaps to Bernoulli that the fit reproduces "
        "(1: all of them), and what is left of each gap once the ink hidden is accounted for [95% bootstrap "
        "over videos].",
        bullets(geometry_lines(run)),
        *geometry_tables(run),
        f"![accuracy against the descriptors]({figures['geometry']})",
        *_ink_section(run, decisions, figures),
        "## Calibration",
        "Confidence − accuracy at the focus coverage of each fill (pooled over seeds; over/under: the 95% "
        "interval lies above/below zero, ≈ otherwise), and ECE (15 bins, descriptive).",
        bullets(calibration_lines(decisions)),
        calibration_table(decisions),
        f"![reliability]({figures['reliability']})",
        "## Time: how masks behave across frames",
        bullets(temporal_lines(decisions)),
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
        caveats(run),
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
            f"seeds, {run.sizes['test_videos']} test videos of {c.frames} frames, coverages {grids(c)}, "
            f"temporal modes {', '.join(c.temporal)}{ink}; {t['total']:.0f} s wall and {t['cpu']:.0f} s CPU "
            f"time on {run.threads} torch thread(s)), "
            "generated by the run itself. Single frames, first temporal mode: for each claim of the post and "
            "each fill, the coverages where it holds for every seed and both architectures, then each "
            "architecture's own verdicts (paired t-tests on seed-pooled per-video differences, Holm over the "
            "claims × coverages of each metric; " + LEGEND + "; ≠ architectures or seeds split).",
            robust_table(decisions),
            split_line(decisions),
            "Minimal detectable accuracy difference (median over tests, 80% power): "
            f"{mdd_summary(decisions)}.",
            *(["Geometry: " + " ".join(geometry)] if geometry else []),
            "The report names every setting, coverage and seed behind these marks.",
        ]
    )


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
