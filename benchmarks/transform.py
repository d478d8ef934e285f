"""Throughput of the ``Occlude`` transform in one DataLoader worker, next to mask generation alone.

Usage
-----
::

    python benchmarks/transform.py [--samples N] [--repeat R] [--quick]

For every family, at coverage 0.5 exact per frame, on a (20, 1, 64, 64) float32
clip (T, C, H, W):

generate
    Median time of ``om.generate(family, (20, 64, 64), 0.5, rng=seed)``: the mask alone.
transform
    Median time of one ``Occlude(family, 0.5)(clip)`` call in this process: seed
    draw, mask generation, move to torch and occlusion.
worker
    Samples per second delivered by a ``DataLoader(num_workers=1, batch_size=16)``
    whose dataset applies the transform (an epoch of ``N`` samples, persistent
    worker), and the time per sample.
share
    generate time / worker time per sample: the fraction of the worker's time
    spent making the mask.

The three are timed by the benchmarks' one DataLoader harness
(``harness.loader_times``), ``R`` interleaved rounds so that a busy machine slows
them alike, and the medians are shown. Everything runs single-threaded (one torch
thread; occmask's kernels are serial).
"""

from __future__ import annotations

import argparse
import functools
import itertools
import os
from collections.abc import Sequence

from harness import COVERAGE, LOADER_BATCH, SINGLE_THREAD, VIDEO, Config, check_exact, loader_times

if __name__ == "__main__":  # before the first import of numba, which reads it once
    os.environ.update(SINGLE_THREAD)

import occmask as om  # noqa: E402


def measure(family: str, cfg: Config) -> dict[str, float]:
    """Median seconds of generate, transform (per call) and worker (per sample) for one family."""
    import torch

    from occmask.torch import Occlude

    clip = torch.rand((VIDEO[0], 1, *VIDEO[1:]))
    transform = Occlude(family, COVERAGE, layout="TCHW")
    check_exact((transform(clip) == 0)[:, 0].numpy(), VIDEO, f"Occlude({family!r})")
    seeds = itertools.count()
    others = {
        "generate": lambda: om.generate(family, VIDEO, COVERAGE, rng=next(seeds)),
        "transform": functools.partial(transform, clip),
    }
    return loader_times(transform, clip, cfg, others)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=256, help="samples per DataLoader epoch")
    parser.add_argument("--repeat", type=int, default=5, help="timed rounds (epochs) per measurement")
    parser.add_argument("--quick", action="store_true", help="64 samples, 2 rounds")
    args = parser.parse_args(argv)
    samples, repeat = (4 * LOADER_BATCH, 2) if args.quick else (args.samples, args.repeat)
    cfg = Config(repeat=repeat, min_time=0.05, loader_repeat=repeat, loader_samples=samples)

    import torch

    torch.set_num_threads(1)
    om.warmup()  # compile the kernels once, before the worker forks
    print(
        f"Occlude on a ({VIDEO[0]}, 1, {VIDEO[1]}, {VIDEO[2]}) float32 clip (T, C, H, W), coverage "
        f"{COVERAGE} exact per frame; DataLoader(num_workers=1, batch_size={LOADER_BATCH}), {samples} "
        f"samples per epoch, torch {torch.__version__}"
    )
    print()
    header = (
        "family",
        "generate (ms)",
        "transform (ms)",
        "worker (samples/s)",
        "worker (ms/sample)",
        "share",
    )
    print("| " + " | ".join(header) + " |")
    print("| " + " | ".join(["---"] + ["---:"] * (len(header) - 1)) + " |")
    for family in om.FAMILIES:
        r = measure(family, cfg)
        print(
            f"| {family} | {1e3 * r['generate']:.2f} | {1e3 * r['transform']:.2f} | {1 / r['worker']:.0f} | "
            f"{1e3 * r['worker']:.2f} | {r['generate'] / r['worker']:.0%} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
