"""Images/s of masks made on a device against masks made on the CPU and moved, and kornia's erasing.

Usage
-----
::

    python benchmarks/device.py [--device cuda] [--shape 256 3 224 224] [--repeat 5] [--quick]

For every family, at coverage 0.5 exact per image, on a float32 (B, C, H, W) batch
that lives on ``--device`` (default: ``cuda`` where there is one, else ``cpu``):

device path
    ``Occlude(family, 0.5, layout="BCHW", on_device=True)``: the masks are made by
    torch ops on the batch's device (``occmask.torch.device``).
CPU path
    ``Occlude(family, 0.5, layout="BCHW")``: the masks are made by the Numba
    kernels on the CPU threads and moved to the device once.
kornia
    ``kornia.augmentation.RandomErasing(scale=(0.5, 0.5), p=1.0)`` on the same
    batch: one box of half the area per image, on the device (no exact share,
    one geometry), where kornia is installed.

Each is called once to warm up, then ``--repeat`` times in turns (synchronising
the device around each call); the table shows the median images/s and the device
path's ratio to the CPU path. ``--quick`` uses a (8, 3, 64, 64) batch and 2 repeats.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence

import torch

import occmask as om
from occmask.torch import Occlude

COVERAGE = 0.5
SHAPE = (256, 3, 224, 224)
QUICK_SHAPE = (8, 3, 64, 64)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _seconds(fns: dict[str, Callable[[], object]], device: torch.device, repeat: int) -> dict[str, float]:
    """Median seconds per call of each function: one warm-up call each, then ``repeat`` rounds."""
    for fn in fns.values():
        fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            _sync(device)
            start = time.perf_counter()
            fn()
            _sync(device)
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in samples.items()}


def _kornia(batch: torch.Tensor) -> Callable[[], object] | None:
    try:
        import kornia.augmentation as K
    except ImportError:
        return None
    erase = K.RandomErasing(scale=(0.5, 0.5), value=0.0, p=1.0)
    return lambda: erase(batch)


def measure(
    device: torch.device, shape: Sequence[int], families: Sequence[str], repeat: int
) -> list[dict[str, object]]:
    """One row per family: images/s of the device path, the CPU path and kornia (None if absent)."""
    batch = torch.rand(tuple(shape), generator=torch.Generator().manual_seed(0)).to(device)
    n_b, _, n_h, n_w = shape
    kornia = _kornia(batch)
    rows = []
    for family in families:
        on_device = Occlude(family, COVERAGE, layout="BCHW", on_device=True, return_mask=True)
        on_cpu = Occlude(family, COVERAGE, layout="BCHW", return_mask=True)
        for transform in (on_device, on_cpu):  # both exact before they are timed
            _, mask = transform(batch)
            assert mask.device == batch.device
            assert (mask.sum(dim=(1, 2)) == round(COVERAGE * n_h * n_w)).all(), family
        fns: dict[str, Callable[[], object]] = {
            "device": lambda t=on_device: t(batch),
            "cpu": lambda t=on_cpu: t(batch),
        }
        if kornia is not None:
            fns["kornia"] = kornia
        seconds = _seconds(fns, device, repeat)
        rows.append({"family": family, "kornia": None, **{name: n_b / s for name, s in seconds.items()}})
    return rows


def table(rows: Sequence[dict[str, object]]) -> str:
    """The rows as a Markdown table: images/s and the device path's ratio to the CPU path."""
    lines = [
        "| family | device path (images/s) | CPU path (images/s) | device / CPU | kornia RandomErasing |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        device, cpu, kornia = row["device"], row["cpu"], row["kornia"]
        assert isinstance(device, float)
        assert isinstance(cpu, float)
        shown = "not installed" if kornia is None else f"{kornia:,.0f}"
        lines.append(f"| {row['family']} | {device:,.0f} | {cpu:,.0f} | {device / cpu:.2f}x | {shown} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--shape", type=int, nargs=4, default=SHAPE, metavar=("B", "C", "H", "W"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help=f"a {QUICK_SHAPE} batch, 2 repeats")
    parser.add_argument("--families", nargs="+", default=list(om.FAMILIES), choices=list(om.FAMILIES))
    args = parser.parse_args(argv)
    shape, repeat = (QUICK_SHAPE, 2) if args.quick else (tuple(args.shape), args.repeat)
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"{tuple(shape)} float32 batch on {device} ({name}), coverage {COVERAGE} exact per image")
    print(table(measure(device, shape, args.families, repeat)))


if __name__ == "__main__":
    main()
