"""Share of ``occmask.robustness.evaluate``'s wall time spent on masks, with a tiny model on CPU.

Usage
-----
::

    python benchmarks/robustness.py [--quick] [--repeat R]

Workloads (every registered family, coverages 0, 0.2, 0.4, 0.6, exact per frame,
one torch thread):

``images 28x28``
    1,000 random one-channel 28 x 28 images, a two-convolution CNN (the model of
    the "Evaluate your model" page).
``videos 8x64x64``
    200 random videos of 8 one-channel 64 x 64 frames, the study's global-pool CNN.

Columns, medians over ``R`` runs:

grid
    Wall time of the loop over data and cells (``report.timings["grid"]``).
masks
    Time the loop spends on masks: waiting for the mask thread pool, then applying
    the masks (``report.timings["masks"]``); the pool works while the model runs,
    so this is what masks add to the wall time.
model
    Time in the model's forward passes.
share
    masks / grid; the target is at most 20%.
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
import torch
from torch import nn

from occmask.robustness import evaluate

TARGET = 0.20


def _image_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10),
    )  # fmt: skip


def _video_model() -> nn.Module:
    from occmask.study.model import build_cnn

    return build_cnn(seed=0)


def workloads(quick: bool) -> dict[str, tuple[nn.Module, tuple[np.ndarray, np.ndarray]]]:
    """Name -> (model, data); ``quick`` shrinks the data tenfold."""
    rng = np.random.default_rng(0)
    n_images, n_videos = (100, 20) if quick else (1000, 200)
    images = rng.random((n_images, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, n_images)
    videos = rng.random((n_videos, 8, 1, 64, 64), dtype=np.float32), rng.integers(0, 10, n_videos)
    return {
        "images 28x28": (_image_model(), images),
        "videos 8x64x64": (_video_model(), videos),
    }


def measure(model: nn.Module, data: tuple[np.ndarray, np.ndarray], repeat: int) -> dict[str, float]:
    """Median grid, masks and model seconds over ``repeat`` evaluations, and the share."""
    runs = []
    for _ in range(repeat):
        report = evaluate(model, data, coverages=(0, 0.2, 0.4, 0.6), n_boot=10, progress=False)
        runs.append(report.timings)
    out = {k: statistics.median(r[k] for r in runs) for k in ("grid", "masks", "model")}
    out["share"] = out["masks"] / out["grid"]
    return out


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="ten times less data, one run")
    parser.add_argument("--repeat", type=int, default=3, metavar="R", help="runs per workload (default 3)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    repeat = 1 if args.quick else args.repeat
    lines = [
        "| workload | grid | masks | model | share on masks | target | met |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, (model, data) in workloads(args.quick).items():
        evaluate(model, (data[0][:2], data[1][:2]), coverages=(0.5,), n_boot=10, progress=False)  # compile
        m = measure(model, data, repeat)
        met = "yes" if m["share"] <= TARGET else "no"
        lines.append(
            f"| {name} | {m['grid']:.2f} s | {m['masks']:.2f} s | {m['model']:.2f} s | "
            f"{m['share']:.0%} | <= {TARGET:.0%} | {met} |"
        )
    table = "\n".join(lines)
    print(table)
    return table


if __name__ == "__main__":
    main()
