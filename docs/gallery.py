#!/usr/bin/env python
"""Regenerate every figure of the occmask documentation, deterministically.

Usage::

    python docs/gallery.py                      # every figure, into docs/images/
    python docs/gallery.py families perlin_gif  # only the named figures
    python docs/gallery.py --list               # the figure names
    python docs/gallery.py --study results --bench benchmarks/results/results.md families

The figures live in ``docs/figures/``, one module per group (overview, geometry,
parameters) on shared helpers (``figures/common.py``); they use occmask's public
API only (``om.generate``, ``om.field``, ``om.cut``, ``om.describe``, ``om.label``).
Every figure is drawn from fixed seeds, so running the script again gives the same
masks. Mask panels are drawn pixel for pixel with Pillow (hidden pixels dark,
visible pixels white, integer upscaling, no smoothing); plots use matplotlib at a
low dpi. Everything is saved as palette PNGs and GIFs to keep the site small.

Study figures (``docs/images/study/``) are copies of a real ``occmask study`` run;
``--study DIR`` copies them from that run's output folder and puts the run's digest
(``DIR/digest.md``) into README.md and docs/study.md between their study markers. ``--bench FILE`` puts the
table written by ``benchmarks/run.py`` into ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from figures import FIGURES, common


def copy_study(results: Path) -> list[Path]:
    """Copy a real run's figures (PNGs as palette PNGs) and animation, and put its digest into README
    and study.md."""
    from PIL import Image

    from occmask.study.plots import ANIMATION
    from occmask.study.plots import FIGURES as STUDY_FIGURES
    from occmask.study.report import sync_docs

    sync_docs(results, common.HERE.parent / "README.md", common.HERE / "study.md")
    out = []
    for name in (f"{figure}.png" for figure in STUDY_FIGURES):
        src = results / name
        if not src.exists():
            raise SystemExit(f"{src} is missing: run `occmask study --out {results}` first")
        out.append(common.save_png(Image.open(src), f"study/{name}", colors=96))
    if (results / ANIMATION).exists():  # a run with a model to show
        target = common.OUT / "study" / ANIMATION
        target.write_bytes((results / ANIMATION).read_bytes())
        out.append(target)
    return out


def copy_benchmarks(results_md: Path) -> Path:
    """Put the table that ``benchmarks/run.py`` wrote into docs/benchmarks.md (between the markers)."""
    sys.path.insert(0, str(common.HERE.parent / "benchmarks"))
    from harness import put_in_page

    page = common.HERE / "benchmarks.md"
    put_in_page(results_md.read_text(), page)
    return page


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="figures to draw (default: all)")
    parser.add_argument("--list", action="store_true", help="list the figure names and exit")
    parser.add_argument("--study", type=Path, metavar="DIR", help="also copy the study figures from DIR")
    parser.add_argument(
        "--bench",
        type=Path,
        metavar="FILE",
        help="also put the table of a benchmark run (benchmarks/results/results.md) into benchmarks.md",
    )
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(FIGURES))
        return 0
    unknown = sorted(set(args.names) - set(FIGURES))
    if unknown:
        parser.error(f"unknown figure(s) {unknown}; choose from {sorted(FIGURES)}")
    common.OUT.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in args.names or FIGURES:
        paths += FIGURES[name]()
    if args.study:
        paths += copy_study(args.study)
    if args.bench:
        print(f"{copy_benchmarks(args.bench).relative_to(common.HERE)}: table updated from {args.bench}")
    total = 0
    for p in paths:
        total += p.stat().st_size
        print(f"{p.relative_to(common.HERE)}  {p.stat().st_size / 1024:7.1f} KiB")
    print(f"{len(paths)} files, {total / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
