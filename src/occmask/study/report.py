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
from .analysis import Decision, Decisions, Where, count
from .config import ARCHS, StudyConfig
from .context import Run
from .moving import CANVAS, DIGIT

__all__ = ["claims_table", "digest", "render_report", "sync_docs", "write_outputs"]

_PACKAGES = ("occmask", "numpy", "scipy", "numba", "torch", "matplotlib", "pillow", "mlxtend", "tqdm")
_BLOG = "How occlusion structure breaks CNN digit recognition"
_MARK = {"supported": "✓", "contradicted": "✗", "not separable": "·"}
_ARROW = {"lower": "▼", "higher": "▲", "not separable": "="}


def _bullets(lines: list[str]) -> str:
    return "\n".join(f"- {line}" for line in lines)


def _ci(value: float, lo: float, hi: float, digits: int = 3) -> str:
    return f"{value:+.{digits}f} [{lo:+.{digits}f}, {hi:+.{digits}f}]"


def _decision_text(d: Decision) -> str:
    return f"{d.where.label()}: {_ci(d.value, d.lo, d.hi)}, {d.agree}/{len(d.per_seed)} seeds agree"


# --------------------------------------------------------------------------- claims


def claims_table(decisions: Decisions) -> str:
    """Settings (rows) by claims (columns): ✓ supported, ✗ contradicted, · not separable."""
    claims = list(dict.fromkeys(c.key for c, _, _ in decisions.claims))
    if not claims:
        return "No claim of the post involves two of this run's families."
    grid: dict[Where, dict[str, str]] = {}
    for claim, d, status in decisions.claims:
        grid.setdefault(d.where, {})[claim.key] = _MARK[status]
    rows = [[w.label(), *[cells[k] for k in claims]] for w, cells in grid.items()]
    return markdown_table(["setting", *claims], rows)


def claim_legend(decisions: Decisions) -> list[str]:
    """One line per claim: its key, its statement and its metric."""
    seen = {c.key: c for c, _, _ in decisions.claims}
    return [
        f"`{c.key}`: {c.text} (area between the {c.metric} curves over the coverages, "
        f"{c.subject} − {c.versus}, expected {c.expected})"
        for c in seen.values()
    ]


_ARMS = {"canvas": "canvas-matched", "ink": "ink-matched"}


def claim_sentences(decisions: Decisions) -> list[str]:
    """Per claim: in each arm, how many settings support or contradict it; the strongest case of each."""
    lines = []
    for key in dict.fromkeys(c.key for c, _, _ in decisions.claims):
        found = [(c, d, s) for c, d, s in decisions.claims if c.key == key]
        claim = found[0][0]
        parts = []
        for arm in dict.fromkeys(d.where.arm for _, d, _ in found):
            n = count([s for _, d, s in found if d.where.arm == arm])
            parts.append(
                f"{_ARMS[arm]}: supported in {n['supported']} of {sum(n.values())} settings, "
                f"contradicted in {n['contradicted']}"
            )
        text = f"**{claim.text}** ({claim.metric}): " + "; ".join(parts)
        for status in ("supported", "contradicted"):
            cases = [d for _, d, s in found if s == status]
            if cases:
                strongest = max(cases, key=lambda d: abs(d.value))
                text += f"; strongest {status.replace('ed', 'ing')} setting {_decision_text(strongest)}"
        lines.append(text + ".")
    return lines


def _tally(label: str, items: list[tuple[str, Where, str]], marks: dict[str, str]) -> str:
    """Rows (first item of each) by arm and fill (columns): per cell, how many settings got each mark."""
    groups = list(dict.fromkeys((w.arm, w.fill) for _, w, _ in items))
    found: dict[str, dict[tuple[str, float], list[str]]] = {}
    for row, where, outcome in items:
        found.setdefault(row, {}).setdefault((where.arm, where.fill), []).append(outcome)
    rows = [
        [row, *[", ".join(f"{m} {cells[g].count(k)}" for k, m in marks.items()) + f" of {len(cells[g])}"
                for g in groups]]
        for row, cells in found.items()
    ]  # fmt: skip
    return markdown_table([label, *[f"{_ARMS[arm]}, fill {fill:g}" for arm, fill in groups]], rows)


def claim_summary(decisions: Decisions) -> str:
    """Claims by arm and fill: how many settings support (✓) or contradict (✗) each."""
    items = [(c.text, d.where, s) for c, d, s in decisions.claims]
    return _tally("claim of the post", items, {"supported": "✓", "contradicted": "✗"})


def gap_summary(decisions: Decisions) -> str:
    """Families by arm and fill: in how many settings each costs more (▼) or less (▲) accuracy than the
    reference."""
    items = [(f"{d.subject} vs {d.versus}", d.where, d.verdict) for d in decisions.gaps]
    return _tally("family vs reference", items, {"lower": "▼", "higher": "▲"})


# --------------------------------------------------------------------------- gaps and spread


def gap_table(decisions: Decisions, levels: tuple[str, ...] = ("frame",), arm: str = "canvas") -> str:
    """Geometry gap per family and setting: pooled value [95%], verdict, per-seed range, seeds agreeing."""
    gaps = [
        d
        for d in decisions.gaps
        if d.where.arm == arm and (d.where.level in levels or d.where.rule in levels)
    ]
    families = list(dict.fromkeys(d.subject for d in gaps))
    grid: dict[Where, dict[str, str]] = {}
    for d in gaps:
        seeds = np.array(d.per_seed)
        grid.setdefault(d.where, {})[d.subject] = (
            f"{d.value:+.3f} [{d.lo:+.3f}, {d.hi:+.3f}] {_ARROW[d.verdict]} "
            f"(seeds {seeds.min():+.3f}…{seeds.max():+.3f}, {d.agree}/{seeds.size})"
        )
    rows = [[w.label(), *[cells[f] for f in families]] for w, cells in grid.items()]
    return markdown_table(["setting", *families], rows)


def spread_lines(decisions: Decisions, arm: str = "canvas") -> list[str]:
    """Across-seed spread of the geometry gaps of one arm, per family, over its settings."""
    lines = []
    gaps = [d for d in decisions.gaps if d.where.arm == arm]
    for family in dict.fromkeys(d.subject for d in gaps):
        mine = [d for d in gaps if d.subject == family]
        sd = np.array([np.std(d.per_seed, ddof=1) if len(d.per_seed) > 1 else 0.0 for d in mine])
        agree = sum(d.agree == len(d.per_seed) for d in mine)
        widest = mine[int(sd.argmax())]
        lines.append(
            f"**{family}**: across-seed SD of the gap {np.median(sd):.3f} "
            f"(median over {len(mine)} settings), "
            f"largest {sd.max():.3f} in {widest.where.label()} (seeds "
            f"{', '.join(f'{v:+.3f}' for v in widest.per_seed)}); all seeds share the pooled sign in "
            f"{agree} of {len(mine)} settings."
        )
    return lines


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


# --------------------------------------------------------------------------- calibration and time


def calibration_table(decisions: Decisions) -> str:
    """Confidence − accuracy per family and setting at the focus coverage, with its direction."""
    marks = {"overconfident": "over", "underconfident": "under", "not separable from calibrated": "≈"}
    families = list(dict.fromkeys(r["family"] for r in decisions.calibration))
    grid: dict[Where, dict[str, str]] = {}
    for r in decisions.calibration:
        grid.setdefault(r["where"], {})[r["family"]] = (
            f"{r['gap']:+.3f} {marks[r['direction']]} (ECE {r['ece']:.3f})"
        )
    rows = [[w.label(), *[cells[f] for f in families]] for w, cells in grid.items()]
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
                f"{family} over/under in {over}/{under} of {len(mine)} "
                f"(gap {min(gaps):+.2f} to {max(gaps):+.2f})"
            )
        lines.append(f"{name} at coverage {decisions.focus:g}: " + "; ".join(parts) + ".")
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
            f"{where.arch}, fill {where.fill:g}, video {where.rule} (accuracy area): "
            + "; ".join(parts)
            + "."
        )
    return lines


# --------------------------------------------------------------------------- the report


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
            f"digits; {c.videos} test videos, each of a distinct test digit never seen in training. MNIST is "
            "by Y. LeCun, C. Cortes and C. J. C. Burges, used under CC BY-SA 3.0.",
            f"**Moving MNIST** (Srivastava et al. 2015): a {DIGIT}x{DIGIT} digit on a {CANVAS}x{CANVAS} "
            f"canvas, constant velocity, bouncing off the walls, {c.frames} frames. The ink is {ink:.1%} "
            "of the canvas.",
            "**Models**: "
            + "; ".join(f"`{a}`: {ARCHS[a]}" for a in c.archs)
            + f". {c.seeds} training seed(s) each (weights, batch order and training positions), {c.epochs} "
            f"epochs of Adam on clean single frames. Final clean validation accuracy: "
            + ", ".join(f"{k} {v:.3f}" for k, v in val.items())
            + ".",
            f"**Masks**: {', '.join(c.families)} at canvas coverage "
            f"{', '.join(f'{v:g}' for v in c.coverages)}, "
            f'exact per frame (`match="frame"`); temporal modes {", ".join(c.temporal)}; hidden pixels set '
            f"to {' and to '.join(f'{f:g}' for f in c.fills)} (0 is the background: an invisible occluder "
            "that only deletes ink; 1 is white: a visible occluder). Every model sees the same masks.",
            *_ink_setup(c),
            "**Levels**: single frames, and videos whose per-frame log-probabilities are pooled by each rule "
            "(`sum_logprob`, `mean_logprob`, `mean_prob`).",
            "**Statistics**: metrics from `occmask.robustness` with 95% percentile bootstraps over videos "
            f"({c.n_boot} resamples shared by every condition, so comparisons are paired); pooled across "
            "seeds by a two-level bootstrap (seeds, then videos). A family's *geometry gap* is the area "
            "between its accuracy curve and Bernoulli's over the coverages (negative: more destructive). "
            "Verdicts come from paired tests with Holm's adjustment over the comparisons of each setting "
            "(family-wise 5%).",
            f"**Run**: preset `{c.preset}`, seed {c.seed}, device {c.device}, {run.threads} torch thread(s); "
            f"wall time {t['total']:.0f} s (data {t['data']:.0f}, training {t['train']:.0f}, evaluation "
            f"{t['evaluate']:.0f}, statistics {t['analyse']:.0f}, figures {t['figures']:.0f}).",
        ]
    )


def _floor(run: Run) -> list[str]:
    """Per fill: the range of frame accuracy at the lowest occluded coverage over models and families."""
    c = run.config
    lowest = next((v for v in c.coverages if v > 0), None)
    if lowest is None:
        return []

    def frame_accuracy(coverage: float, fill: float | None = None) -> list[float]:
        return [
            row["accuracy"]
            for (_, _, f), report in run.reports.items()
            if fill is None or f == fill
            for row in report.select(coverage=coverage, level="frame")
        ]

    clean = min(frame_accuracy(0.0)) if 0.0 in c.coverages else float("nan")
    return [
        f"With fill {fill:g}, single-frame accuracy at coverage {lowest:g} ranges from "
        f"{min(frame_accuracy(lowest, fill)):.3f} to {max(frame_accuracy(lowest, fill)):.3f} over models, "
        f"families and temporal modes (chance 0.1; clean frames {clean:.3f} or more)."
        for fill in c.fills
    ]


def _caveats(run: Run) -> str:
    c = run.config
    return _bullets(
        [
            *_floor(run),
            (
                "Canvas-matched masks hide unequal shares of the digit (blob-like masks hide it more "
                "unevenly than Bernoulli noise); the ink-matched arm equalises that share but then hides "
                "unequal shares of the canvas (listed in its section), so neither arm holds both fixed."
                if c.ink_shares
                else "No ink-matched arm ran (`ink_shares` empty): canvas coverage is matched but the share "
                "of the *digit* hidden is not; blob-like masks hide it more unevenly than Bernoulli noise."
            ),
            f"{c.seeds} training seed(s) per architecture: the two-level intervals are coarse with few "
            "seeds; "
            "the per-seed ranges show how much the gaps move between trainings.",
            f"{run.source}, {c.videos} test videos of {c.frames} frames, small CNNs, 64x64 canvases: another "
            "model or data set may order the families differently.",
            "ECE is biased upwards on small samples; the signed gap (confidence − accuracy) tells over- from "
            "underconfidence, which ECE cannot.",
        ]
    )


def _ink_section(run: Run, decisions: Decisions, figures: dict[str, str]) -> list[str]:
    """The ink-matched arm: geometry gaps over the ink shares, per frame and per video."""
    if not run.ink_reports:
        return []
    rule = run.config.rule
    return [
        "## Matched share of the digit's ink",
        "Every family hides exactly the same share of each frame's ink; the gap is the area between each "
        "family's accuracy curve and Bernoulli's over the ink shares, pooled over seeds [95%], as above.",
        _bullets(ink_lines(run) + spread_lines(decisions, "ink")),
        "### Single frames",
        gap_table(decisions, ("frame",), "ink"),
        f"### Videos ({rule})",
        gap_table(decisions, (rule,), "ink"),
        f"![ink-matched accuracy]({figures['ink']})",
    ]


def render_report(run: Run, decisions: Decisions, figures: dict[str, str]) -> str:
    """The Markdown report of a run: setup, decisions phrased with their numbers, tables, figures."""
    c = run.config
    sections = [
        "# occmask study: does occlusion geometry matter at matched coverage?",
        f"A reproduction of the blog post *{_BLOG}*, asked of several trained models: small CNNs trained on "
        "clean Moving MNIST frames are tested on videos occluded by masks of different geometry that hide "
        "exactly the same number of pixels per frame. Every number and every verdict below is computed by "
        "code from this run (`results.csv`, `claims.csv`, `decisions.csv`).",
        "## Setup",
        _setup(run),
        "## The blog's claims",
        "Each claim is tested in every setting (architecture, fill, temporal mode, level) on the area "
        "between "
        "two curves over the coverages, pooled over training seeds: ✓ supported, ✗ contradicted, · not "
        "separable (Holm-adjusted paired test, 5%).",
        _bullets(claim_legend(decisions)),
        claim_summary(decisions),
        _bullets(claim_sentences(decisions)),
        claims_table(decisions),
        f"![claims]({figures['claims']})",
        "## Geometry gaps and their spread across seeds",
        "Area between each family's accuracy curve and Bernoulli's over the coverages, pooled over seeds "
        "[95% two-level interval], the Holm verdict (▼ below Bernoulli, ▲ above, = not separable), the "
        "range of the per-seed gaps and how many seeds share the pooled sign.",
        gap_summary(decisions),
        _bullets(spread_lines(decisions)),
        "### Single frames",
        gap_table(decisions, ("frame",)),
        f"### Videos ({c.rule})",
        gap_table(decisions, (c.rule,)),
        f"![accuracy curves]({figures['curves']})",
        f"![gaps per seed]({figures['gaps']})",
        *_ink_section(run, decisions, figures),
        "## Calibration",
        f"Confidence − accuracy at coverage {decisions.focus:g} (pooled over seeds; over/under: the 95% "
        "interval lies above/below zero, ≈ otherwise), and ECE (15 bins), per frame and under every "
        "pooling rule.",
        _bullets(calibration_lines(decisions)),
        calibration_table(decisions),
        f"![reliability]({figures['reliability']})",
        "## Time: how masks behave across frames",
        _bullets(temporal_lines(decisions)),
        f"![temporal modes]({figures['temporal']})",
        "## The masks",
        f"![gallery]({figures['gallery']})",
        "## Training",
        f"![training curves]({figures['training']})",
        "## Caveats: what these verdicts depend on",
        _caveats(run),
        "## Files",
        "`results.csv`: every row of every model's `occmask.robustness` report (columns `arm`, `arch`, "
        "`seed`, `fill` added; in the ink-matched arm `coverage` is the share of the ink). "
        "`decisions.csv`: pooled geometry gaps and temporal comparisons with Holm verdicts. "
        "`claims.csv`: each claim per setting. `calibration.csv`: signed gap and ECE at the focus coverage. "
        "`run.json`: configuration, seeds, versions, timings.",
    ]
    return "\n\n".join(sections) + "\n"


def digest(run: Run, decisions: Decisions) -> str:
    """The part of the report quoted by README.md and docs/study.md: each claim's verdicts, per arm."""
    c, t = run.config, run.timings
    ink = (
        f", and an ink-matched arm ({', '.join(f'{v:g}' for v in c.ink_shares)} of the ink)"
        if c.ink_shares
        else ""
    )
    return "\n\n".join(
        [
            f"From `occmask study --preset {c.preset}` ({len(c.archs)} architectures × {c.seeds} training "
            f"seeds, fills {', '.join(f'{f:g}' for f in c.fills)}, temporal modes {', '.join(c.temporal)}, "
            f"{c.videos} test videos of {c.frames} frames{ink}; {t['total']:.0f} s on {run.threads} torch "
            "thread(s)), generated by the run itself. Each claim of the post is tested in every setting "
            "(architecture × temporal mode × level: single frames and three video pooling rules) with "
            "Holm-adjusted paired tests pooled over training seeds; a cell counts the settings that "
            "support (✓) and contradict (✗) the claim, the others are not separable. The report names "
            "each setting with its numbers.",
            claim_summary(decisions),
            "Every family against Bernoulli, on the area between the accuracy curves (Holm over the "
            "families of each setting): settings where it costs more accuracy (▼) or less (▲).",
            gap_summary(decisions),
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
            "run.json",
            "report.md",
            *figures.values(),
        ],  # fmt: skip
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
