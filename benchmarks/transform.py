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
    worker, after a warm-up epoch), and the time per sample.
share
    generate time / worker time per sample: the fraction of the worker's time
    spent making the mask.

Each measurement is repeated ``R`` times, the three interleaved so that a busy
machine slows them alike, and the medians are shown. Everything runs
single-threaded (one torch thread; occmask's kernels are serial).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

import occmask as om
from occmask.torch import Occlude

SHAPE = (20, 1, 64, 64)
COVERAGE = 0.5
BATCH = 16


class OccludedClips(Dataset):
    """The same clip, occluded afresh by ``transform`` on every access."""

    def __init__(self, clip: torch.Tensor, transform: Occlude, length: int) -> None:
        self.clip, self.transform, self.length = clip, transform, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.transform(self.clip)


def mean_time(function, calls: int) -> float:
    """Mean time of ``calls`` calls, in seconds."""
    start = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - start) / calls


def measure(family: str, samples: int, repeat: int) -> dict[str, float]:
    """Median times (s) of the three measurements, taken in interleaved rounds so drift hits all alike."""
    clip = torch.rand(SHAPE)
    seeds = iter(range(10**9))
    transform = Occlude(family, COVERAGE)
    counts = (transform(clip) == 0)[:, 0].sum(dim=(1, 2))
    assert (counts == round(COVERAGE * 64 * 64)).all(), f"{family}: coverage is not exact"
    loader = DataLoader(
        OccludedClips(clip, transform, samples), batch_size=BATCH, num_workers=1, persistent_workers=True
    )
    assert sum(len(batch) for batch in loader) == samples  # starts the worker and warms it up
    rounds: dict[str, list[float]] = {"generate": [], "transform": [], "worker": []}
    calls = max(8, samples // 8)
    for _ in range(repeat):
        rounds["generate"].append(
            mean_time(lambda: om.generate(family, SHAPE[:1] + SHAPE[2:], COVERAGE, rng=next(seeds)), calls)
        )
        rounds["transform"].append(mean_time(lambda: transform(clip), calls))
        start = time.perf_counter()
        n = sum(len(batch) for batch in loader)
        rounds["worker"].append((time.perf_counter() - start) / n)
    del loader
    return {name: statistics.median(values) for name, values in rounds.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=256, help="samples per DataLoader epoch")
    parser.add_argument("--repeat", type=int, default=5, help="timed rounds (epochs) per measurement")
    parser.add_argument("--quick", action="store_true", help="64 samples, 2 rounds")
    args = parser.parse_args(argv)
    samples, repeat = (64, 2) if args.quick else (args.samples, args.repeat)

    torch.set_num_threads(1)
    om.warmup()  # compile the kernels once, before the worker forks
    print(
        f"Occlude on a {SHAPE} float32 clip (T, C, H, W), coverage {COVERAGE} exact per frame; "
        f"DataLoader(num_workers=1, batch_size={BATCH}), {samples} samples per epoch, torch "
        f"{torch.__version__}"
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
    for family in sorted(om.FAMILIES):
        r = measure(family, samples, repeat)
        print(
            f"| {family} | {1e3 * r['generate']:.2f} | {1e3 * r['transform']:.2f} | {1 / r['worker']:.0f} | "
            f"{1e3 * r['worker']:.2f} | {r['generate'] / r['worker']:.0%} |",
            flush=True,
        )


if __name__ == "__main__":
    np.seterr(all="raise")
    main()
