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

The rows of ``benchmarks/run.py`` that concern the transform are here too
(:data:`TRANSFORM_ROWS`, also printed by this command):

:func:`batch_rows`
    ``Occlude`` on a batch of 64 RGB images of 224 x 224 (float32, one thread),
    per family, in images/s against kornia's ``RandomErasing`` on the same batch
    (target: at least its rate) and albumentations' ``CoarseDropout`` (uint8
    images, a loop over them: its usual use), and the per-sample overhead:
    ``Occlude``'s time per image minus that of the kernels it runs (the family's
    field, the exact cut, the fill into a new array; the median of that
    difference over the rounds), at most 30 us. The four are timed in CPU seconds
    of the one thread that runs them (:func:`_cpu_seconds`).
:func:`thread_rows`
    ``Occlude`` on a (32, 8, 1, 64, 64) batch with 2 threads against 1, per
    family (target: 1.7x), and on a CUDA batch when a GPU is present; each row
    gives the ceiling of this machine in the same rounds: a nogil Numba loop as
    long as the 1-thread call, split over 2 threads (a busy machine lowers both).
:func:`layout_rows`
    ``om.occlude`` and ``Occlude`` on channels-last data, an (H, W, C) image, a
    (T, H, W, C) video and a (B, H, W, C) batch (numpy arrays, torch tensors
    for ``Occlude``), and on a ``torch.channels_last`` (B, C, H, W) tensor,
    against the same data laid out channels first (C, H, W), in the same
    rounds: uint8 and float32, every fill (a number, one per channel,
    ``"mean"``, ``"noise"``, ``feather``). The row's time is the channels-last
    one, the baseline the channels-first one (target: at most 1.3x its time).
"""

from __future__ import annotations

import argparse
import functools
import itertools
import math
import operator
import os
import statistics
import time
from collections.abc import Callable, Mapping, Sequence

from baselines import rectangles_holes
from harness import (
    COVERAGE,
    LOADER_BATCH,
    SEED,
    SINGLE_THREAD,
    VIDEO,
    Config,
    Row,
    Target,
    check_exact,
    compare,
    loader_times,
    table,
)

if __name__ == "__main__":  # before the first import of numba, which reads it once
    os.environ.update(SINGLE_THREAD)

import numpy as np

import occmask as om
from occmask import _cut
from occmask._fill import occlude_array

#: (B, C, H, W) of the batch of the peers' rows: 64 RGB images of 224 x 224, float32.
BATCH = (64, 3, 224, 224)
#: Side range in pixels of albumentations' holes; as many holes as hide about half an image.
HOLE_SIZE = (16, 64)
#: (B, T, C, H, W) of the batch the thread rows occlude.
THREAD_BATCH = (32, 8, 1, 64, 64)


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


def _unavailable(task: str, workload: str, baseline: str, target: Target, error: ImportError) -> Row:
    return Row(task, workload, baseline, None, None, target, note=f"not available ({error})")


def _peers(batch):
    """kornia's RandomErasing on ``batch`` (one box of half the area per image) and albumentations'
    CoarseDropout on the same images as uint8 (H, W, C) arrays, one call per image."""
    import albumentations as A
    import kornia.augmentation as K
    import torch

    erase = K.RandomErasing(scale=(0.5, 0.5), value=0.0, p=1.0)
    n = rectangles_holes(batch.shape, {"size": HOLE_SIZE})
    dropout = A.CoarseDropout(
        num_holes_range=(n, n), hole_height_range=HOLE_SIZE, hole_width_range=HOLE_SIZE, fill=0, p=1.0
    )
    dropout.set_random_seed(SEED)
    images = list((batch.permute(0, 2, 3, 1) * 254 + 1).to(torch.uint8).contiguous().numpy())  # no 0

    def kornia_erasing():
        return erase(batch)

    def albumentations_dropout():
        return [dropout(image=image)["image"] for image in images]

    for name, hidden in (
        ("kornia", (kornia_erasing() == 0).all(dim=1).numpy()),
        ("albumentations", np.stack([(image == 0).all(axis=-1) for image in albumentations_dropout()])),
    ):
        assert 0.2 < hidden.mean() < 0.8, f"{name}: hides {hidden.mean():.2f} of the pixels, not about half"
    return kornia_erasing, albumentations_dropout, n


def _kernels(family: str, batch_np: np.ndarray):
    """The kernels that ``Occlude(family, COVERAGE, layout="BCHW")`` runs on ``batch_np``, called
    directly: the family's field and the exact cut per image into a new mask, then the fill into a
    new array."""
    fam = om.FAMILIES[family]
    params = fam.params({})
    n_b, _, n_h, n_w = batch_np.shape
    need = _cut.target_count(COVERAGE, n_h * n_w)
    rng = np.random.default_rng(SEED)
    zero = np.zeros((1, 1, 1, 1), batch_np.dtype)

    def kernels():
        masks = np.empty((n_b, n_h, n_w), dtype=bool)  # new arrays, as Occlude returns
        for b in range(n_b):
            field = fam.field((1, n_h, n_w), rng, "evolving", need, **params)
            _cut.cut_rows(field.reshape(1, -1), need, masks[b].reshape(1, -1))
        return occlude_array(batch_np, masks, zero, (n_b, 1, n_h, n_w), 1, None)

    return kernels


def _cpu_seconds(fns: Mapping[str, Callable[[], object]], cfg: Config) -> dict[str, list[float]]:
    """CPU seconds of this thread of every call of each function (all single-threaded).

    One warm-up call each, then ``cfg.repeat`` rounds in which the functions take
    turns: a busy machine delays a call, but hardly changes the CPU time it takes,
    so the small difference between ``Occlude`` and its kernels stays measurable
    (as the median of its value in each round).
    """
    for fn in fns.values():
        fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(cfg.repeat):
        for name, fn in fns.items():
            start = time.thread_time()
            fn()
            samples[name].append(time.thread_time() - start)
    return samples


def batch_rows(cfg: Config, families: Sequence[str] = tuple(om.FAMILIES), shape=BATCH) -> list[Row]:
    """Per family: ``Occlude`` on a (B, C, H, W) float32 batch against kornia's RandomErasing and
    albumentations' CoarseDropout (images/s), and its per-sample overhead over its kernels."""
    n_b, _, n_h, n_w = shape
    workload = "x".join(map(str, shape))
    task = "Occlude({!r}) on a batch of images, 1 thread"
    erasing, dropout = "kornia RandomErasing, one box of half the area", "albumentations CoarseDropout"
    target = Target("speedup", 1.0, ">= its images/s")
    try:
        import torch

        from occmask.torch import Occlude

        torch.set_num_threads(1)
        batch = torch.rand(shape, generator=torch.Generator().manual_seed(SEED))
        kornia_erasing, albumentations_dropout, holes = _peers(batch)
    except ImportError as error:
        return [_unavailable(task.format(f), workload, erasing, target, error) for f in families]
    dropout += f", {holes} holes per uint8 image, a loop over images"
    rows = []
    for family in families:
        transform = Occlude(family, COVERAGE, layout="BCHW", threads=1, return_mask=True)
        hidden, mask = transform(batch)
        check_exact(mask.numpy(), (n_b, n_h, n_w), f"Occlude({family!r})")
        assert torch.equal(hidden, torch.where(mask[:, None], 0.0, batch)), "Occlude hid other pixels"
        times = _cpu_seconds(
            {
                "occlude": functools.partial(transform, batch),
                "kernels": _kernels(family, batch.numpy()),
                "kornia": kornia_erasing,
                "albumentations": albumentations_dropout,
            },
            cfg,
        )
        per = {name: statistics.median(seconds) / n_b for name, seconds in times.items()}
        overhead = statistics.median(map(operator.sub, times["occlude"], times["kernels"])) / n_b
        unresolved = overhead <= 0  # smaller than the timing noise: no value, no verdict
        note = f"below the timing noise (median difference {overhead * 1e6:+.1f} us)" if unresolved else ""
        rows += [
            Row(task.format(family), workload, erasing, per["occlude"], per["kornia"], target, rate=True),
            Row(
                task.format(family), workload, dropout, per["occlude"], per["albumentations"], None, rate=True
            ),
            Row(
                f"Occlude({family!r}) per-sample overhead",
                workload,
                "its kernels: field, cut, fill",
                None if unresolved else overhead,
                per["kernels"],
                Target.at_most(30e-6),
                note=note,
            ),
        ]
    return rows


def thread_rows(cfg: Config, families: Sequence[str] = tuple(om.FAMILIES), shape=THREAD_BATCH) -> list[Row]:
    """Per family: ``Occlude`` on a (B, T, C, H, W) batch with 2 threads vs 1 (and on a CUDA batch if
    there is one), and in the same rounds the machine's ceiling at that moment (:class:`_Ceiling`),
    given in the baseline column. The masks are the same with any number of threads."""
    workload = "x".join(map(str, shape))
    task = "Occlude({!r}) on a B={} batch, 2 threads"
    try:
        import torch

        from occmask.torch import Occlude
    except ImportError as error:
        return [
            _unavailable(task.format(f, shape[0]), workload, "1 thread", Target.faster(1.7), error)
            for f in families
        ]
    devices = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]
    ceiling = _Ceiling()
    rows = []
    for device in devices:
        batch = torch.rand(shape, generator=torch.Generator().manual_seed(SEED)).to(device)
        for family in families:
            one, two = (Occlude(family, COVERAGE, threads=n, return_mask=True) for n in (1, 2))
            masks = []
            for transform in (one, two):
                torch.manual_seed(SEED)
                masks.append(transform(batch)[1])
            assert torch.equal(masks[0], masks[1]), "the masks depend on the number of threads"
            check_exact(
                masks[0].cpu().numpy().reshape(-1, *shape[-2:]),
                (math.prod(shape[:2]), *shape[-2:]),
                "Occlude threads",
            )
            fns = {"two": functools.partial(two, batch), "one": functools.partial(one, batch)}
            spin_two, spin_one = ceiling.pair(compare({"one": fns["one"]}, cfg, repeat=3)["one"])
            times = compare({**fns, "spin two": spin_two, "spin one": spin_one}, cfg)
            suffix = "" if device == "cpu" else f", {device} batch"
            rows.append(
                Row(
                    task.format(family, shape[0]) + suffix,
                    workload,
                    f"1 thread (ceiling in the same rounds: {times['spin one'] / times['spin two']:.2f}x)",
                    times["two"],
                    times["one"],
                    Target.faster(1.7),
                )
            )
    return rows


class _Ceiling:
    """What 2 threads give this machine at a moment: a busy nogil Numba loop on 1 thread vs the
    same loop in 2 halves on 2 threads (nothing holds the GIL in between). Timed in the same
    rounds as a row, as long as its 1-thread call, so that a busy or throttled machine lowers
    both alike."""

    def __init__(self) -> None:
        import numba

        from occmask._batch import pool as _pool

        self.spin = numba.njit(nogil=True)(_spin)
        self.values = np.random.default_rng(SEED).random(1024)
        self.spin(self.values, 1)
        self.pool = _pool
        start = time.perf_counter()
        self.spin(self.values, 1 << 18)
        self.seconds_per_step = (time.perf_counter() - start) / (1 << 18)

    def pair(self, seconds: float) -> tuple[Callable[[], object], Callable[[], object]]:
        """The loop on 2 threads and on 1, lasting about ``seconds`` on 1."""
        steps = max(2, round(seconds / self.seconds_per_step))

        def two() -> None:
            half = self.pool(1).submit(self.spin, self.values, steps // 2)
            self.spin(self.values, steps - steps // 2)
            half.result()

        return two, functools.partial(self.spin, self.values, steps)


def _spin(values: np.ndarray, steps: int) -> float:
    """Busy arithmetic for the ceiling (compiled by Numba there)."""
    total = 0.0
    for i in range(steps):
        total += math.sin(values[i % values.size] + i)
    return total


#: (H, W, C) of the image of the layout rows (the video adds T = 8 frames, the batch B = 16 images).
LAYOUT_IMAGE = (224, 224, 3)
#: The fills of the layout rows, by name: the value and the feather.
LAYOUT_FILLS = {
    "0": (0, 0.0),
    "per channel": ((1, 2, 3), 0.0),
    "mean": ("mean", 0.0),
    "noise": ("noise", 0.0),
    "feather 4": (0, 4.0),
}


def layout_rows(
    cfg: Config, image: tuple[int, int, int] = LAYOUT_IMAGE, fills: Sequence[str] = tuple(LAYOUT_FILLS)
) -> list[Row]:
    """Channels-last data against the same data channels first (see the module's docstring)."""
    import torch

    from occmask.torch import Occlude

    n_h, n_w, n_c = image
    rng = np.random.default_rng(SEED)
    cases = [  # (what, channels-last data, layout, its channels-first twin, layout)
        ("om.occlude", (), "HWC", "CHW"),
        ("om.occlude", (8,), "THWC", "TCHW"),
        ("Occlude", (16,), "BHWC", "BCHW"),
        ("Occlude, torch.channels_last", (16,), "BCHW", "BCHW"),
    ]
    rows = []
    for dtype in (np.uint8, np.float32):
        for what, lead, layout, first_layout in cases:
            last = rng.integers(0, 250, (*lead, n_h, n_w, n_c)).astype(dtype)
            first = np.ascontiguousarray(np.moveaxis(last, -1, -3))
            if what.startswith("Occlude"):
                last_x = torch.from_numpy(first).contiguous(memory_format=torch.channels_last)
                if layout == "BHWC":
                    last_x = torch.from_numpy(last)
                first_x = torch.from_numpy(first)
            else:
                last_x, first_x = last, first
            mask = om.perlin((*lead, n_h, n_w), COVERAGE, rng=SEED)
            for name in fills:
                fill, feather = LAYOUT_FILLS[name]
                if what.startswith("Occlude"):
                    pair = [
                        Occlude("perlin", COVERAGE, fill=fill, feather=feather, layout=lay, threads=1)
                        for lay in (layout, first_layout)
                    ]
                    fns = {
                        "last": functools.partial(pair[0], last_x),
                        "first": functools.partial(pair[1], first_x),
                    }
                else:
                    fns = {
                        "last": functools.partial(om.occlude, last_x, mask, fill, rng=SEED, feather=feather),
                        "first": functools.partial(
                            om.occlude, first_x, mask, fill, rng=SEED, feather=feather
                        ),
                    }
                times = compare(fns, cfg)
                shape = "x".join(map(str, (*lead, n_h, n_w, n_c)))
                rows.append(
                    Row(
                        f"{what} {layout} / {first_layout}, fill {name}",
                        f"{np.dtype(dtype).name} {shape}",
                        f"the same data as {first_layout}",
                        times["last"],
                        times["first"],
                        Target.within(1.3),
                    )
                )
    return rows


#: The transform's rows of the benchmark table (``benchmarks/run.py``), each measured once.
TRANSFORM_ROWS = (batch_rows, thread_rows, layout_rows)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=256, help="samples per DataLoader epoch")
    parser.add_argument("--repeat", type=int, default=5, help="timed rounds (epochs) per measurement")
    parser.add_argument("--quick", action="store_true", help="64 samples, 2 rounds")
    parser.add_argument(
        "--tables",
        default="loader,batch,threads,layouts",
        help="comma-separated tables to measure: loader, batch, threads, layouts (default: all)",
    )
    parser.add_argument("--families", default=",".join(om.FAMILIES), help="comma-separated families")
    args = parser.parse_args(argv)
    samples, repeat = (4 * LOADER_BATCH, 2) if args.quick else (args.samples, args.repeat)
    cfg = Config(repeat=repeat, min_time=0.05, loader_repeat=repeat, loader_samples=samples)
    tables = args.tables.split(",")
    families = [om.FAMILIES[name].name for name in args.families.split(",")]

    import torch

    torch.set_num_threads(1)
    om.warmup()  # compile the kernels once, before the worker forks
    if "loader" in tables:
        loader_table(cfg, families, samples)
    for name, measure in (("batch", batch_rows), ("threads", thread_rows)):
        if name in tables:
            print()
            print(table(measure(cfg, families)), flush=True)
    if "layouts" in tables:
        print()
        print(table(layout_rows(cfg)), flush=True)


def loader_table(cfg: Config, families: Sequence[str], samples: int) -> None:
    """Print the DataLoader table: generate, transform and worker times per family."""
    import torch

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
    for family in families:
        r = measure(family, cfg)
        print(
            f"| {family} | {1e3 * r['generate']:.2f} | {1e3 * r['transform']:.2f} | {1 / r['worker']:.0f} | "
            f"{1e3 * r['worker']:.2f} | {r['generate'] / r['worker']:.0%} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
