"""Speed of occmask against its peers, measured as ratios in one run.

Usage
-----
::

    python benchmarks/run.py [--quick] [--out DIR] [--docs] [--only pipelines]

``--quick`` takes fewer and shorter repetitions, leaves out the large
workloads and times the cold start of the first family only (CI runs it to keep
the benchmark working); the default takes several minutes. The table is
printed and written to ``DIR/results.md`` and ``DIR/results.json``
(``results-quick.*`` in quick mode; ``DIR`` defaults to ``benchmarks/results``).
``--docs`` also puts it, with the machine and the versions, into
``docs/benchmarks.md`` (between its bench markers): the page's table is always
one full run. The baselines need the ``bench`` extra:
``pip install "occmask[bench]"``.

Workloads
---------
``V 20x64x64``
    One video mask of 20 frames of 64 x 64 pixels at coverage 0.5, exact per
    frame (``match="frame"``), which is what a data loader makes per sample.
``image 256x256``
    One image mask of 256 x 256 pixels at coverage 0.5.
``image 224x224``, ``V 8x224x224``
    The settings users come from, each against its peer (``pipeline_rows``): MAE's
    random masking in MAE's setting (16-pixel patches, aligned, 75% hidden) on an
    image and on a clip with a new order per frame; boxes and their occlusion on a
    uint8 HWC image against albumentations' CoarseDropout. ``--only pipelines``
    measures them alone, with the bernoulli and fourier image rows and the describe
    rows, into ``results-pipelines.*`` (``results-quick-pipelines.*``).
``V 16x256x256``, ``image 1024x1024``
    The family rows again on larger masks (full runs only), so that the scaling
    with size is visible; the time-per-pixel rows measure it per family, from
    64 x 64 to 1024 x 1024.

Everything runs on one thread (Numba, OpenMP and BLAS pools limited to 1), with
the same seed on both sides. Each family's parameters are read from its module
(``occmask.FAMILIES[name].defaults``) so the baselines do the same work.

How to read the table
---------------------
Each row pits occmask against one baseline, timed in the same run: one warm-up
call, then ``repeat`` repetitions of enough calls to last ``min_time``, the two
sides interleaved so that drift of the machine hits both alike. Columns:

occmask, baseline time
    Median wall time per call (per sample for the data-loader rows, shown as a
    rate); absolute times drift from machine to machine and run to run.
speed-up
    Baseline time divided by occmask time: above 1 occmask is faster. This ratio
    is the figure of merit. In the data-loader rows it is the share of the
    throughput of mask generation alone that the transform keeps, batches of
    16 clips delivered by one worker process. In the robustness-evaluation rows
    (``benchmarks/robustness.py``) occmask is the time ``occmask.robustness.evaluate``
    spends on masks and the baseline the whole evaluation loop, so the speed-up is
    the inverse of the masks' share of the wall time.
target
    What occmask should reach, as a speed-up (``>= 2x faster``), as a bound on
    its time relative to the baseline (``<= 1.5x its time``, i.e. a speed-up of at
    least 1/1.5), or in absolute terms (``<= 400 ms``, ``>= 500 samples/s``).
met
    ``yes``/``no`` against the target; ``-`` for rows given for context only.

The code: ``harness.py`` (timing, rows, the DataLoader harness, the report),
``baselines.py`` (the peers' implementations), ``rows.py`` (one function per
group of rows) and ``transform.py`` (the rows of the torch transform); this file
is the command line.

Before timing, every row checks that both sides produce valid output: exact
masks have ``round(0.5 * H * W)`` pixels in every frame on both sides,
descriptors agree with ``scipy.ndimage.label`` and ``cc3d``, and occlusion
agrees with ``np.where``. Cold-start rows run fresh interpreters with warm
on-disk caches and time them from the inside (interpreter start-up excluded). Some baselines do less work than
occmask (the
FastNoiseLite row times the field alone, the Game of Life row the generations
alone, the triangle and box rows stop drawing at the target coverage, kornia's
RandomErasing and albumentations' CoarseDropout do not hide an exact share, MAE's
random masking hides whole patches of an aligned grid), which only makes the
comparison harder for occmask.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from harness import SINGLE_THREAD

if __name__ == "__main__":  # before the first import of numba, which reads it once
    os.environ.update(SINGLE_THREAD)

from harness import (
    BENCH_MODULES,
    COVERAGE,
    FULL,
    IMAGE,
    LARGE_IMAGE,
    LARGE_VIDEO,
    QUICK,
    SEED,
    VIDEO,
    Config,
    Row,
    machine,
    put_in_page,
    report,
    versions,
    workload,
)
from rows import LARGE_ROWS, ONCE_ROWS, SHAPED_ROWS, pipeline_table
from transform import TRANSFORM_ROWS

#: Groups of rows that ``--only`` measures alone, each a function of the configuration.
GROUPS = {"pipelines": pipeline_table}


def run(
    cfg: Config,
    shapes: Sequence[tuple[int, ...]] = (VIDEO, IMAGE),
    *,
    only: str | None = None,
    progress=print,
) -> list[Row]:
    """Measure every row of the table (or the group ``only`` of :data:`GROUPS`), one thread, and
    return them in table order."""
    import numba

    started = time.perf_counter()

    def step(name: str) -> None:
        progress(f"  {time.perf_counter() - started:6.1f} s  {name}")

    numba.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # numpy's own loops are single-threaded anyway
        limits = None
    else:
        limits = threadpool_limits(1)
    try:
        if only is not None:
            step(only)
            return GROUPS[only](cfg)
        rows = []
        for measure in SHAPED_ROWS:
            for shape in shapes:
                step(f"{measure.__name__} {workload(shape)}")
                rows += measure(shape, cfg)
        for measure in LARGE_ROWS if cfg.large else ():
            for shape in (LARGE_VIDEO, LARGE_IMAGE):
                step(f"{measure.__name__} {workload(shape)}")
                rows += measure(shape, cfg)
        for measure_once in (*ONCE_ROWS, *TRANSFORM_ROWS):
            step(measure_once.__name__)
            rows += measure_once(cfg)
        return rows
    finally:
        if limits is not None:
            limits.restore_original_limits()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter repetitions (same rows)")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent / "results",
        help="folder for results.md and results.json (default: benchmarks/results)",
    )
    parser.add_argument(
        "--docs", action="store_true", help="also put the table into docs/benchmarks.md (use with a full run)"
    )
    parser.add_argument(
        "--only",
        choices=sorted(GROUPS),
        help="measure one group of rows alone (pipelines: the settings users come from, with the "
        "bernoulli, fourier and describe rows they are weighed against)",
    )
    args = parser.parse_args(argv)
    if args.docs and args.only:
        parser.error("--docs puts a full run's table into the page; leave out --only")
    missing = [dist for module, dist in BENCH_MODULES.items() if not _importable(module)]
    if missing:
        parser.exit(
            2, f'missing baseline packages {missing}; install them with: pip install "occmask[bench]"\n'
        )
    cfg = QUICK if args.quick else FULL
    mode = ("quick" if args.quick else "full") + (f", {args.only} only" if args.only else "")
    started = time.perf_counter()
    print(f"occmask benchmarks, {mode} mode")
    rows = run(cfg, only=args.only)
    info = {
        "mode": mode,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "versions": versions(),
        "config": asdict(cfg),
        "workloads": {
            "video": VIDEO,
            "image": IMAGE,
            "large": [LARGE_VIDEO, LARGE_IMAGE] if cfg.large else [],
            "coverage": COVERAGE,
            "seed": SEED,
        },
        "seconds": round(time.perf_counter() - started, 1),
    }
    text = report(rows, info)
    print()
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = ("results-quick" if args.quick else "results") + (f"-{args.only}" if args.only else "")
    (args.out / f"{stem}.md").write_text(text)
    (args.out / f"{stem}.json").write_text(
        json.dumps({**info, "rows": [row.as_dict() for row in rows]}, indent=2)
    )
    print(f"written to {args.out / stem}.md and .json in {info['seconds']} s")
    if args.docs:
        page = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
        put_in_page(text, page)
        print(f"table put into {page}")
    return 0


def _importable(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
