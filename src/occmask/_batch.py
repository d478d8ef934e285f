"""The batch engine: the masks of many samples from their seeds, on threads, without torch.

One :class:`MaskMaker` holds a family, its parameters, a coverage (a number or a
range), ``match`` and ``temporal``, checked once; :meth:`MaskMaker.masks` then
makes the masks of a batch of samples, each from its seed alone: sample ``i``
gets the mask that ``numpy.random.default_rng(seeds[i])`` draws (its coverage
first, when the coverage is a range). The kernels release the GIL, so the
samples are split over a process-wide thread pool; the masks never depend on
the number of threads, nor on which caller asks. The torch transform and its
dataset call it; it imports neither torch nor the adapters.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

import numpy as np

from . import _validate
from ._seeds import generators
from .calibrate import MATCHES
from .families import FAMILIES, TEMPORAL
from .families._engine import generate_checked

__all__ = [
    "PIXELS_PER_THREAD",
    "SECONDS_PER_SAMPLE",
    "MaskMaker",
    "Seed",
    "check_seed",
    "default_threads",
    "pool",
    "rngs",
]

#: A sample's seed: a non-negative integer (the fast path), a SeedSequence, or None (no mask: all False).
Seed = int | np.random.SeedSequence | None

#: Mask pixels that make a thread worth its start: below about a millisecond of kernel work per
#: thread, handing work over and waiting for the GIL cost more than a second thread gains.
PIXELS_PER_THREAD = 1 << 18

#: Seconds of one sample's mask below which a batch stays on one thread by default: cheaper
#: samples spend too large a share of their time in Python (holding the GIL) for a second
#: thread to gain: measured with ``benchmarks/transform.py``, the cheapest families' masks of
#: (8, 64, 64) (bernoulli, patches) ran from a little slower to a little faster on 2 threads than
#: on 1, the costlier ones (rectangles, perlin) gained.
SECONDS_PER_SAMPLE = 150e-6


def default_threads(pixels: int) -> int:
    """One thread per usable core, at most one per ``PIXELS_PER_THREAD`` pixels of a batch's masks."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cores, pixels // PIXELS_PER_THREAD))


_POOL: dict[str, Any] = {"pid": None, "pool": None, "workers": 0}
_POOL_LOCK = threading.Lock()


def pool(workers: int) -> ThreadPoolExecutor:
    """The process's thread pool for mask jobs, with at least ``workers`` threads: made on first use
    and kept across calls (a forked child, whose copy has no threads, makes its own)."""
    with _POOL_LOCK:
        if _POOL["pool"] is None or _POOL["pid"] != os.getpid() or _POOL["workers"] < workers:
            if _POOL["pool"] is not None and _POOL["pid"] == os.getpid():  # too small: let its threads end
                _POOL["pool"].shutdown(wait=False)  # (jobs already given to it still run)
            made = ThreadPoolExecutor(workers, thread_name_prefix="occmask")
            _POOL.update(pid=os.getpid(), pool=made, workers=workers)
        return _POOL["pool"]


def check_seed(seed: Any) -> Seed:
    if seed is None or isinstance(seed, np.random.SeedSequence):
        return seed
    return _validate.integer("seed", seed, low=0, high=2**64 - 1)


class MaskMaker:
    """The masks of one family, coverage and mode for many samples, each from its own seed.

    Parameters
    ----------
    family : str
        A name from ``occmask.FAMILIES``.
    coverage : float or (float, float)
        The coverage of every sample, or a range from which each sample's
        generator draws its own uniformly (its first draw).
    match, temporal : str
        As in :func:`occmask.generate`.
    params : mapping, optional
        The family's parameters.
    """

    def __init__(
        self,
        family: str,
        coverage: float | tuple[float, float],
        *,
        match: str = "frame",
        temporal: str = "evolving",
        params: Mapping[str, Any] | None = None,
    ) -> None:
        self.family = FAMILIES[_validate.choice("family", family, FAMILIES)]
        low, high = _validate.number_range("coverage", coverage, low=0.0, high=1.0)
        self.coverage: float | tuple[float, float] = (
            low if _validate.is_real(_validate.unwrap(coverage)) else (low, high)
        )
        self.match = _validate.choice("match", match, MATCHES)
        self.temporal = _validate.choice("temporal", temporal, TEMPORAL)
        self.params = self.family.params(dict(params or {}))

    def __getstate__(self) -> dict[str, Any]:  # the family by name: its functions may be local ones
        return {**self.__dict__, "family": self.family.name}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, family=FAMILIES[state["family"]])

    def coverage_of(self, rng: np.random.Generator) -> float:
        """The coverage of the sample whose generator is ``rng``: its first draw, for a range."""
        if isinstance(self.coverage, tuple):
            low, high = self.coverage
            return min(high, low + (high - low) * rng.random()) if high > low else low
        return self.coverage

    def coverages(self, seeds: Sequence[Seed]) -> list[float | None]:
        """The coverage each seed draws (None for a None seed), without making the masks."""
        checked = [check_seed(seed) for seed in seeds]
        if not isinstance(self.coverage, tuple):  # nothing to draw
            return [None if seed is None else self.coverage for seed in checked]
        return [None if rng is None else self.coverage_of(rng) for rng in rngs(checked)]

    def masks(
        self,
        shape: tuple[int, ...],
        seeds: Sequence[Seed],
        *,
        regions: Sequence[Any] | None = None,
        coverages: Sequence[float | None] | None = None,
        threads: int | None = None,
        then: Callable[[np.ndarray, int, int], None] | None = None,
    ) -> np.ndarray:
        """The samples' masks, ``(n, *shape)`` bool (all False where the seed is None).

        Parameters
        ----------
        shape : tuple of int
            One sample's mask shape, ``(H, W)`` or ``(T, H, W)``.
        seeds : sequence of (int, SeedSequence or None)
            One per sample; sample ``i``'s mask is drawn by ``default_rng(seeds[i])``.
        regions : sequence of (bool ndarray or None), optional
            Each sample's region (see ``region=`` of :func:`occmask.generate`).
        coverages : sequence of (float or None), optional
            Coverages that replace the drawn ones (None keeps a sample's draw);
            a range is drawn all the same, so the rest of the stream is unchanged.
        threads : int, optional
            Threads (this one included). By default :func:`default_threads`, and one
            if the first sample took less than ``SECONDS_PER_SAMPLE``.
        then : callable, optional
            ``then(masks, start, stop)`` is called by the thread that made samples
            ``start`` to ``stop - 1`` (e.g. to fill them), once they are made.
        """
        shape3, image = _validate.shape(shape)
        seeds = [check_seed(seed) for seed in seeds]
        n = len(seeds)
        for name, given in (("regions", regions), ("coverages", coverages)):
            if given is not None and len(given) != n:
                raise ValueError(f"{name} must have one entry per seed ({n}), got {len(given)}")
        area = shape3[1:] if image else shape3
        checked = [
            None if region is None or seed is None else _validate.region(np.asarray(region), area)
            for seed, region in zip(seeds, regions or [None] * n, strict=True)
        ]
        if coverages is not None:
            coverages = [
                None if c is None else _validate.number("coverage", c, low=0.0, high=1.0) for c in coverages
            ]
        job = _Job(self, shape3, image, seeds, checked, coverages, then)
        out = np.empty((n, *shape), dtype=bool)
        active = [index for index, seed in enumerate(seeds) if seed is not None]
        start, count = 0, threads or default_threads(len(active) * math.prod(shape3))
        if threads is None and count > 1 and len(active) > 1:  # time the first sample
            clock, start = time.perf_counter(), active[0] + 1
            job.run(0, start, out)
            active = active[1:]
            count = count if time.perf_counter() - clock >= SECONDS_PER_SAMPLE else 1
        count = max(1, min(len(active), count))
        bounds = [start, *(active[len(active) * c // count] for c in range(1, count)), n]
        others = [pool(count - 1).submit(job.run, bounds[c], bounds[c + 1], out) for c in range(1, count)]
        try:
            job.run(bounds[0], bounds[1], out)
        finally:
            if others:  # (wait takes microseconds even on nothing)
                wait(others)
        for done in others:
            done.result()  # raises what a thread raised
        return out


def rngs(seeds: Sequence[Seed]) -> Iterator[np.random.Generator | None]:
    """``default_rng(seed)`` of each seed in turn (None stays None); integer seeds share one
    thread-local generator (see :func:`occmask._seeds.generators`): use each before the next."""
    fast = generators([seed for seed in seeds if isinstance(seed, int)])
    for seed in seeds:
        if seed is None:
            yield None
        elif isinstance(seed, int):
            yield next(fast)
        else:
            yield np.random.default_rng(seed)


class _Job:
    """One call of :meth:`MaskMaker.masks`, checked: :meth:`run` makes a run of its samples."""

    def __init__(
        self,
        maker: MaskMaker,
        shape3: tuple[int, int, int],
        image: bool,
        seeds: list[Seed],
        regions: list[np.ndarray | None],
        coverages: list[float | None] | None,
        then: Callable[[np.ndarray, int, int], None] | None,
    ) -> None:
        self.maker, self.shape3, self.image = maker, shape3, image
        self.seeds, self.regions, self.coverages, self.then = seeds, regions, coverages, then

    def run(self, start: int, stop: int, out: np.ndarray) -> None:
        """Write the masks of samples ``start`` to ``stop - 1`` into ``out``, then call ``then``."""
        maker = self.maker
        for index, rng in enumerate(rngs(self.seeds[start:stop]), start):
            if rng is None:
                out[index] = False  # left alone
                continue
            coverage = maker.coverage_of(rng)  # drawn all the same: the rest of the stream is unchanged
            given = None if self.coverages is None else self.coverages[index]
            if given is not None:
                coverage = given
            generate_checked(
                maker.family, self.shape3, self.image, coverage, maker.match, maker.temporal,
                maker.params, self.regions[index], rng, out[index],
            )  # fmt: skip
        if self.then is not None:
            self.then(out, start, stop)
