"""Speed of occmask against its peers, measured as ratios in one run.

Usage
-----
::

    python benchmarks/run.py [--quick] [--out DIR]

``--quick`` keeps every row but takes fewer and shorter repetitions (CI runs it
to keep the benchmark working); the default takes a few minutes. The table is
printed and written to ``DIR/results.md`` and ``DIR/results.json``
(``results-quick.*`` in quick mode; ``DIR`` defaults to ``benchmarks/results``).
The baselines need the ``bench`` extra: ``pip install "occmask[bench]"``.

Workloads
---------
``V 20x64x64``
    One video mask of 20 frames of 64 x 64 pixels at coverage 0.5, exact per
    frame (``match="frame"``), which is what a data loader makes per sample.
``image 256x256``
    One image mask of 256 x 256 pixels at coverage 0.5.

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
    16 clips delivered by one worker process.
target
    What occmask should reach, as a speed-up (``>= 2x faster``), as a bound on
    its time relative to the baseline (``<= 1.5x its time``, i.e. a speed-up of at
    least 1/1.5), or in absolute terms (``<= 400 ms``, ``>= 500 samples/s``).
met
    ``yes``/``no`` against the target; ``-`` for rows given for context only.

Before timing, every row checks that both sides produce valid output: exact
masks have ``round(0.5 * H * W)`` pixels in every frame on both sides,
descriptors agree with ``scipy.ndimage.label`` and ``cc3d``, and occlusion
agrees with ``np.where``. Cold-start rows run fresh interpreters with warm
on-disk caches and time them from the inside (interpreter start-up excluded). Some baselines do less work than
occmask (the
FastNoiseLite row times the field alone, the Game of Life row the generations
alone, the triangle row stops drawing at the target coverage), which only makes
the comparison harder for occmask.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import gc
import itertools
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

_SINGLE_THREAD = {
    name: "1" for name in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
}
if __name__ == "__main__":  # before the first import of numba, which reads it once
    os.environ.update(_SINGLE_THREAD)

import numpy as np  # noqa: E402

import occmask as om  # noqa: E402
from occmask.calibrate import target_count  # noqa: E402

VIDEO = (20, 64, 64)
IMAGE = (256, 256)
COVERAGE = 0.5
SEED = 0
LOADER_BATCH = 16
BENCH_MODULES = {
    "pyfastnoiselite": "pyfastnoiselite",
    "cc3d": "connected-components-3d",
    "skimage": "scikit-image",
}


# --------------------------------------------------------------------------- timing


@dataclass(frozen=True)
class Config:
    """How long to measure.

    ``repeat`` timed repetitions per row, each lasting at least ``min_time``
    seconds; ``cold_repeat`` fresh interpreters per cold-start row;
    ``loader_repeat`` DataLoader epochs of ``loader_samples`` clips each.
    """

    repeat: int = 15
    min_time: float = 0.1
    cold_repeat: int = 7
    loader_repeat: int = 5
    loader_samples: int = 8 * LOADER_BATCH


FULL = Config()
QUICK = Config(repeat=5, min_time=0.01, cold_repeat=3, loader_repeat=2, loader_samples=4 * LOADER_BATCH)


def _clock(fn: Callable[[], object], loops: int) -> float:
    """Seconds taken by ``loops`` calls of ``fn``, with the garbage collector off."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        return time.perf_counter() - start
    finally:
        if enabled:
            gc.enable()


def compare(
    fns: Mapping[str, Callable[[], object]], cfg: Config, repeat: int | None = None
) -> dict[str, float]:
    """Median seconds per call of each function.

    Each function is called once to warm up (compilation, caches, page faults),
    then timed ``repeat`` times (default ``cfg.repeat``) over enough calls to last
    ``cfg.min_time``; the functions take turns within each repetition.
    """
    loops = {}
    for name, fn in fns.items():
        fn()
        once = _clock(fn, 1)
        loops[name] = max(1, math.ceil(cfg.min_time / max(once, 1e-7)))
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat or cfg.repeat):
        for name, fn in fns.items():
            samples[name].append(_clock(fn, loops[name]) / loops[name])
    return {name: statistics.median(values) for name, values in samples.items()}


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class Target:
    """A row's goal: ``kind`` is "speedup" (baseline/occmask >= value),
    "seconds" (occmask <= value) or "rate" (occmask calls per second >= value)."""

    kind: str
    value: float
    text: str

    @classmethod
    def faster(cls, times: float) -> Target:
        return cls("speedup", times, f">= {times:g}x faster")

    @classmethod
    def within(cls, times: float) -> Target:
        return cls("speedup", 1.0 / times, f"<= {times:g}x its time")

    @classmethod
    def at_most(cls, seconds: float) -> Target:
        return cls("seconds", seconds, f"<= {_duration(seconds)}")

    @classmethod
    def rate(cls, per_second: float) -> Target:
        return cls("rate", per_second, f">= {per_second:g} samples/s")


@dataclass
class Row:
    """One line of the table. Times are median seconds per call (per sample if ``rate``)."""

    task: str
    workload: str
    baseline: str
    occmask_s: float | None
    baseline_s: float | None
    target: Target | None
    rate: bool = False
    note: str = ""

    @property
    def speedup(self) -> float | None:
        if self.occmask_s is None or self.baseline_s is None:
            return None
        return self.baseline_s / self.occmask_s

    @property
    def met(self) -> bool | None:
        if self.target is None or self.occmask_s is None:
            return None
        if self.target.kind == "speedup":
            return None if self.speedup is None else self.speedup >= self.target.value
        if self.target.kind == "seconds":
            return self.occmask_s <= self.target.value
        return 1.0 / self.occmask_s >= self.target.value

    def as_dict(self) -> dict:
        out = asdict(self)
        out.update(
            target=None if self.target is None else asdict(self.target), speedup=self.speedup, met=self.met
        )
        return out


def _workload(shape: tuple[int, ...]) -> str:
    return ("V " if len(shape) == 3 else "image ") + "x".join(map(str, shape))


def _frames(shape: tuple[int, ...]) -> tuple[int, int, int]:
    return (1, *shape) if len(shape) == 2 else tuple(shape)


def _k(shape: tuple[int, ...]) -> int:
    """Masked pixels per frame at the benchmark coverage."""
    return target_count(COVERAGE, shape[-2] * shape[-1])


def _versus(
    task: str,
    shape: tuple[int, ...],
    occmask_fn: Callable[[], object],
    baselines: Sequence[tuple[str, Callable[[], object], Target | None]],
    cfg: Config,
) -> list[Row]:
    """Time occmask against each baseline in one interleaved run; one row per baseline."""
    fns = {"occmask": occmask_fn, **{name: fn for name, fn, _ in baselines}}
    times = compare(fns, cfg)
    return [
        Row(task, _workload(shape), name, times["occmask"], times[name], target)
        for name, _, target in baselines
    ]


def check_exact(mask: np.ndarray, shape: tuple[int, ...], who: str) -> None:
    """Assert ``mask`` has the benchmark shape and exactly ``k`` masked pixels per frame."""
    n_t, n_h, n_w = _frames(shape)
    frames = np.asarray(mask).reshape(-1, n_h * n_w)
    counts = np.count_nonzero(frames, axis=1)
    assert frames.shape[0] == n_t and np.all(counts == _k(shape)), (
        f"{who}: expected {_k(shape)} masked pixels in each of {n_t} frames, got {counts}"
    )


def numpy_cut(field: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` lowest pixels of each frame of ``field`` (T, H, W), by ``np.partition``."""
    rows = field.reshape(field.shape[0], -1)
    out = np.zeros(rows.shape, dtype=bool)
    if k <= 0 or k >= rows.shape[1]:
        out[:] = k > 0
        return out.reshape(field.shape)
    for row, hidden in zip(rows, out, strict=True):
        kth = np.partition(row, k - 1)[k - 1]
        np.less(row, kth, out=hidden)
        missing = k - np.count_nonzero(hidden)
        if missing:  # ties at the k-th value, taken in index order
            hidden[np.flatnonzero(row == kth)[:missing]] = True
    return out.reshape(field.shape)


# bernoulli ---------------------------------------------------------------------


def bernoulli_rows(shape: tuple[int, ...], cfg: Config) -> list[Row]:
    """Exact i.i.d. mask: numpy uniform float32 noise cut per frame by ``np.partition``."""
    frames, k = _frames(shape), _k(shape)

    def occmask():
        return om.generate("bernoulli", shape, COVERAGE, rng=SEED)

    def numpy_partition():
        return numpy_cut(np.random.default_rng(SEED).random(frames, dtype=np.float32), k)

    check_exact(occmask(), shape, "occmask bernoulli")
    check_exact(numpy_partition(), shape, "numpy bernoulli")
    return _versus(
        "bernoulli, exact",
        shape,
        occmask,
        [("numpy random(float32) + np.partition per frame", numpy_partition, Target.faster(1))],
        cfg,
    )


# perlin ---------------------------------------------------------------------------


def _perlin_axes(shape: tuple[int, ...], params: Mapping) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Noise-space coordinates of the pixels' columns, rows and frames (first octave)."""
    n_t, n_h, n_w = _frames(shape)
    return (
        np.arange(n_w) / params["scale"],
        np.arange(n_h) / params["scale"],
        np.arange(n_t) / params["time_scale"],
    )


def _fastnoise(shape: tuple[int, ...], params: Mapping):
    """A FastNoiseLite 3-D fractal Perlin generator with occmask's octaves, and the pixel grid."""
    from pyfastnoiselite.pyfastnoiselite import FastNoiseLite, FractalType, NoiseType

    noise = FastNoiseLite(SEED)
    noise.noise_type = NoiseType.NoiseType_Perlin
    noise.fractal_type = FractalType.FractalType_FBm
    noise.fractal_octaves = params["octaves"]
    noise.fractal_gain = params["persistence"]
    noise.fractal_lacunarity = 2.0
    noise.frequency = 1.0  # coordinates are already in noise units
    x, y, z = _perlin_axes(shape, params)
    grid = np.meshgrid(z, y, x, indexing="ij")
    coords = np.stack([grid[2].ravel(), grid[1].ravel(), grid[0].ravel()]).astype(np.float32)
    return noise, coords


def perlin_rows(shape: tuple[int, ...], cfg: Config) -> list[Row]:
    """Exact Perlin mask vs FastNoiseLite's 3-D field alone and opensimplex ``noise3array`` + cut."""
    import opensimplex

    params = om.FAMILIES["perlin"].defaults
    frames, k = _frames(shape), _k(shape)
    noise, coords = _fastnoise(shape, params)
    simplex = opensimplex.OpenSimplex(SEED)
    x, y, z = _perlin_axes(shape, params)
    octaves = [(2.0**o, params["persistence"] ** o) for o in range(params["octaves"])]

    def occmask():
        return om.generate("perlin", shape, COVERAGE, rng=SEED)

    def fastnoise_field():
        return noise.gen_from_coords(coords)

    def opensimplex_cut():
        field = sum(amp * simplex.noise3array(x * freq, y * freq, z * freq) for freq, amp in octaves)
        return numpy_cut(field.astype(np.float32), k)

    check_exact(occmask(), shape, "occmask perlin")
    check_exact(opensimplex_cut(), shape, "opensimplex + cut")
    field = fastnoise_field()
    assert field.shape == (math.prod(frames),) and np.all(np.isfinite(field)) and field.std() > 0, (
        "FastNoiseLite field is not a finite non-constant field of the right size"
    )
    return _versus(
        "perlin, exact",
        shape,
        occmask,
        [
            ("FastNoiseLite 3-D Perlin FBm field alone", fastnoise_field, Target.faster(2)),
            ("opensimplex noise3array (1 thread) + np.partition cut", opensimplex_cut, Target.faster(5)),
        ],
        cfg,
    )


# cgol -----------------------------------------------------------------------------


def life_numpy(soup: np.ndarray, burn_in: int, step: int, frames: int) -> np.ndarray:
    """Game of Life (B3/S23, torus) with ``np.roll`` neighbour sums; the states of ``frames`` frames.

    Frame 0 is generation ``burn_in``, then one frame every ``step`` generations,
    as in ``occmask.cgol``.
    """
    state = soup.astype(np.uint8)
    out = np.empty((frames, *soup.shape), dtype=np.uint8)
    for f in range(frames):
        for _ in range(burn_in if f == 0 else step):
            rows = np.roll(state, 1, 0) + state + np.roll(state, -1, 0)
            count = np.roll(rows, 1, 1) + rows + np.roll(rows, -1, 1) - state
            state = ((count == 3) | ((count == 2) & (state == 1))).astype(np.uint8)
        out[f] = state
    return out


def check_life() -> None:
    """The numpy baseline runs Life: a glider moves one cell diagonally every 4 generations."""
    soup = np.zeros((8, 8), dtype=np.uint8)
    soup[0, 1] = soup[1, 2] = soup[2, 0] = soup[2, 1] = soup[2, 2] = 1
    states = life_numpy(soup, 0, 4, 3)
    for f in range(3):
        assert np.array_equal(states[f], np.roll(soup, (f, f), (0, 1))), "numpy Life baseline is wrong"


def cgol_rows(shape: tuple[int, ...], cfg: Config) -> list[Row]:
    """Exact Game-of-Life mask vs the same number of Life generations in numpy."""
    params = om.FAMILIES["cgol"].defaults
    n_t, n_h, n_w = _frames(shape)

    def occmask():
        return om.generate("cgol", shape, COVERAGE, rng=SEED)

    def numpy_life():
        soup = np.random.default_rng(SEED).random((n_h, n_w)) < params["density"]
        return life_numpy(soup, params["burn_in"], params["step"], n_t)

    check_exact(occmask(), shape, "occmask cgol")
    check_life()
    generations = params["burn_in"] + (n_t - 1) * params["step"]
    return _versus(
        "cgol, exact",
        shape,
        occmask,
        [(f"numpy np.roll neighbour sums, {generations} generations", numpy_life, Target.faster(2.5))],
        cfg,
    )


# triangles ------------------------------------------------------------------------


def random_triangles(rng: np.random.Generator, n: int, params: Mapping, canvas: tuple[int, int]):
    """``n`` triangles drawn like occmask's: vertices about the centroid (n, 3, 2) as (y, x),
    centroids (n, 2), velocities (n, 2) and angular speeds (n)."""
    lo, hi = params["size"]
    radius = rng.uniform(lo, hi, n)
    angles = (
        rng.uniform(0, 2 * np.pi, n)[:, None] + 2 * np.pi / 3 * np.arange(3) + rng.uniform(-0.5, 0.5, (n, 3))
    )
    stretch = np.sqrt(rng.uniform(*params["aspect"], n))[:, None]
    axis = rng.uniform(0, np.pi, n)[:, None]
    ux, uy = np.cos(angles) * stretch, np.sin(angles) / stretch
    verts = np.stack([uy * np.cos(axis) + ux * np.sin(axis), ux * np.cos(axis) - uy * np.sin(axis)], axis=-1)
    verts -= verts.mean(axis=1, keepdims=True)
    verts *= (radius / np.linalg.norm(verts, axis=-1).max(axis=-1))[:, None, None]
    centers = rng.random((n, 2)) * canvas
    heading = rng.uniform(0, 2 * np.pi, n)
    velocity = rng.uniform(0, params["speed"], n)[:, None] * np.stack(
        [np.sin(heading), np.cos(heading)], axis=-1
    )
    spin = rng.uniform(-params["spin"], params["spin"], n)
    return verts, centers, velocity, spin


def triangles_skimage(shape: tuple[int, ...], params: Mapping, batch: int = 64) -> np.ndarray:
    """Exact triangle mask by ``skimage.draw.polygon``: per frame, draw the (moving, spinning)
    triangles in order on a torus until ``k`` pixels are hidden; the last one adds only
    the pixels still needed."""
    from skimage.draw import polygon

    n_t, n_h, n_w = _frames(shape)
    k = _k(shape)
    rng = np.random.default_rng(SEED)
    wraps = 2 * max(params["size"]) + 1 >= min(n_h, n_w)  # a triangle may then cover a pixel twice
    shapes = [random_triangles(rng, batch, params, (n_h, n_w))]
    out = np.zeros((n_t, n_h * n_w), dtype=bool)
    for t, hidden in enumerate(out):
        count, drawn = 0, 0
        while count < k:
            if drawn == batch * len(shapes):
                shapes.append(random_triangles(rng, batch, params, (n_h, n_w)))
            verts, centers, velocity, spin = shapes[drawn // batch]
            i = drawn % batch
            drawn += 1
            cos, sin = math.cos(spin[i] * t), math.sin(spin[i] * t)
            v = verts[i] @ np.array([[cos, sin], [-sin, cos]]) + centers[i] + velocity[i] * t
            rr, cc = polygon(v[:, 0], v[:, 1])
            pixels = (rr % n_h) * n_w + cc % n_w
            new = pixels[~hidden[pixels]]
            if wraps:
                new = np.unique(new)
            new = new[: k - count]
            hidden[new] = True
            count += new.size
    return out.reshape(n_t, n_h, n_w)


def triangles_rows(shape: tuple[int, ...], cfg: Config) -> list[Row]:
    """Exact triangle mask vs ``skimage.draw.polygon`` per triangle until the coverage."""
    params = om.FAMILIES["triangles"].defaults

    def occmask():
        return om.generate("triangles", shape, COVERAGE, rng=SEED)

    def skimage_polygons():
        return triangles_skimage(shape, params)

    check_exact(occmask(), shape, "occmask triangles")
    check_exact(skimage_polygons(), shape, "skimage triangles")
    return _versus(
        "triangles, exact",
        shape,
        occmask,
        [("skimage.draw.polygon per triangle until coverage", skimage_polygons, Target.faster(30))],
        cfg,
    )


# describe -------------------------------------------------------------------------


def components_cc3d(video: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: number of 4-connected components and largest size, by cc3d + bincount."""
    import cc3d

    counts, largest = np.zeros(len(video), np.int64), np.zeros(len(video), np.int64)
    for t, frame in enumerate(video):
        labels, counts[t] = cc3d.connected_components(frame, connectivity=4, return_N=True, binary_image=True)
        largest[t] = np.bincount(labels.ravel())[1:].max(initial=0)
    return counts, largest


def components_scipy(video: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: number of 4-connected components and largest size, by scipy.ndimage.label + bincount."""
    from scipy import ndimage

    counts, largest = np.zeros(len(video), np.int64), np.zeros(len(video), np.int64)
    for t, frame in enumerate(video):
        labels, counts[t] = ndimage.label(frame)
        largest[t] = np.bincount(labels.ravel())[1:].max(initial=0)
    return counts, largest


def check_describe(video: np.ndarray) -> None:
    """occmask's labels equal scipy's, and its counts and largest components equal both baselines'."""
    from scipy import ndimage

    labels, _ = om.label(video)
    for t, frame in enumerate(video):
        assert np.array_equal(labels[t], ndimage.label(frame)[0]), f"labels of frame {t} differ from scipy"
    d = om.describe(video)
    for name, (counts, largest) in (("cc3d", components_cc3d(video)), ("scipy", components_scipy(video))):
        assert np.array_equal(d.n_components, counts), f"component counts differ from {name}"
        assert np.array_equal(d.largest_component, largest), f"largest components differ from {name}"


def describe_rows(shape: tuple[int, ...], cfg: Config) -> list[Row]:
    """``om.describe`` vs per-frame labelling with cc3d and scipy, on an i.i.d. and a blob mask."""
    rows = []
    for kind, family in (("i.i.d.", "bernoulli"), ("blob", "perlin")):
        mask = om.generate(family, shape, COVERAGE, rng=SEED)
        video = mask.reshape(_frames(shape))
        check_describe(video)
        rows += _versus(
            f"describe, {kind} mask",
            shape,
            lambda mask=mask: om.describe(mask),
            [
                (
                    "cc3d.connected_components per frame + bincount",
                    lambda v=video: components_cc3d(v),
                    Target.faster(2),
                ),
                (
                    "scipy.ndimage.label per frame + bincount",
                    lambda v=video: components_scipy(v),
                    Target.faster(3),
                ),
            ],
            cfg,
        )
    return rows


# occlude --------------------------------------------------------------------------


def occlude_rows(shape: tuple[int, ...], cfg: Config) -> list[Row]:
    """``om.occlude`` into a new array vs ``x.copy()`` and ``np.where``, on 3-channel float32 data."""
    n_t, n_h, n_w = _frames(shape)
    mask = om.generate("perlin", shape, COVERAGE, rng=SEED)
    channels, layout = ((n_t, 3, n_h, n_w), "TCHW") if len(shape) == 3 else ((3, n_h, n_w), "CHW")
    x = np.random.default_rng(SEED).random(channels, dtype=np.float32)
    spread = mask[:, None] if len(shape) == 3 else mask[None]
    fill = np.float32(0.0)

    def occmask():
        return om.occlude(x, mask, fill=0.0, layout=layout)

    def where():
        return np.where(spread, fill, x)

    result = occmask()
    assert result.dtype == x.dtype and np.array_equal(result, where()), "om.occlude differs from np.where"
    return _versus(
        "occlude, new array",
        shape,
        occmask,
        [
            ("x.copy()", x.copy, Target.within(1.5)),
            ("np.where(mask, fill, x)", where, None),
        ],
        cfg,
    )


# cold start -----------------------------------------------------------------------

_TRIVIAL = """
from numba import njit


@njit(cache=True)
def trivial(x):
    return x + 1
"""

_BASELINE_CHILD = """
import time
start = time.perf_counter()
import numba
import _trivial_kernel
_trivial_kernel.trivial(1)
print(time.perf_counter() - start, 0.0)
"""

_OCCMASK_CHILD = """
import time
start = time.perf_counter()
import occmask
imported = time.perf_counter()
for family in {families!r}:
    occmask.generate(family, {shape!r}, {coverage!r}, rng=0)
print(time.perf_counter() - start, imported - start)
"""


def _child(code: str, env: Mapping[str, str]) -> tuple[float, float]:
    """Run ``code`` in a fresh interpreter; it prints its total and import seconds."""
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    total, imported = done.stdout.split()
    return float(total), float(imported)


def cold_start_rows(cfg: Config, families: Sequence[str] = tuple(om.FAMILIES)) -> list[Row]:
    """A fresh process: ``import occmask`` + first mask vs ``import numba`` + a cached trivial kernel.

    Times are taken inside the child (interpreter start-up excluded), with the
    on-disk Numba caches already filled by an untimed run.
    """
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "_trivial_kernel.py").write_text(_TRIVIAL)
        env = {
            **os.environ,
            **_SINGLE_THREAD,
            "PYTHONPATH": os.pathsep.join(filter(None, [tmp, os.environ.get("PYTHONPATH")])),
        }
        children = {"baseline": _BASELINE_CHILD} | {
            family: _OCCMASK_CHILD.format(families=[family], shape=VIDEO, coverage=COVERAGE)
            for family in families
        }
        _child(children["baseline"], env)  # fill the on-disk caches
        _child(_OCCMASK_CHILD.format(families=list(families), shape=VIDEO, coverage=COVERAGE), env)
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in children}
        for _ in range(cfg.cold_repeat):
            for name, code in children.items():
                runs[name].append(_child(code, env))
    base = statistics.median(total for total, _ in runs["baseline"])
    rows = [
        Row(
            f"cold start: import occmask + first {family} mask",
            _workload(VIDEO),
            "import numba + first call of a cached trivial njit function",
            statistics.median(total for total, _ in runs[family]),
            base,
            Target.within(1.2),
        )
        for family in families
    ]
    imports = [imported for family in families for _, imported in runs[family]]
    rows.append(
        Row(
            "cold start: import occmask alone",
            "-",
            "-",
            statistics.median(imports),
            None,
            Target.at_most(0.4),
        )
    )
    return rows


# transform in a data-loader worker -------------------------------------------------


class _Occluded:
    """A map-style dataset: the same clip, occluded afresh by ``transform`` on every access."""

    def __init__(self, clip, transform, n: int):
        self.clip, self.transform, self.n = clip, transform, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int):
        return self.transform(self.clip)


def _epoch(loader) -> int:
    return sum(len(batch) for batch in loader)


def _generate_next(family: str, seeds: itertools.count) -> np.ndarray:
    return om.generate(family, VIDEO, COVERAGE, rng=next(seeds))


def transform_rows(cfg: Config, families: Sequence[str] = tuple(om.FAMILIES)) -> list[Row]:
    """``occmask.torch.Occlude`` on (T, C, H, W) clips in one DataLoader worker vs mask generation alone.

    A timed call is one epoch of ``cfg.loader_samples`` clips in batches of
    ``LOADER_BATCH`` from a persistent worker; generation alone draws a new seed
    per mask, as the transform does.
    """
    task = "Occlude transform in 1 DataLoader worker"
    try:
        from occmask.torch import Occlude
    except ImportError as error:
        return [
            Row(
                f"{task}, {family}",
                _workload(VIDEO),
                "mask generation alone",
                None,
                None,
                Target.rate(500),
                rate=True,
                note=f"not available ({error})",
            )
            for family in families
        ]
    import torch
    from torch.utils.data import DataLoader

    torch.set_num_threads(1)
    clip = torch.rand((VIDEO[0], 1, *VIDEO[1:]), generator=torch.Generator().manual_seed(SEED))
    rows = []
    for family in families:
        transform = Occlude(family, coverage=COVERAGE, fill=0.0)
        sample = transform(clip)
        check_exact((sample == 0)[:, 0].numpy(), VIDEO, f"Occlude({family!r})")
        loader = DataLoader(
            _Occluded(clip, transform, cfg.loader_samples),
            batch_size=LOADER_BATCH,
            num_workers=1,
            persistent_workers=True,
        )
        seeds = itertools.count()
        times = compare(
            {
                "epoch": functools.partial(_epoch, loader),
                "alone": functools.partial(_generate_next, family, seeds),
            },
            cfg,
            repeat=cfg.loader_repeat,
        )
        del loader
        rows.append(
            Row(
                f"{task}, {family}",
                _workload(VIDEO),
                "mask generation alone",
                times["epoch"] / cfg.loader_samples,
                times["alone"],
                Target.rate(500),
                rate=True,
            )
        )
    return rows


# --------------------------------------------------------------------------- report

#: Rows measured for each workload shape; the others run once.
SHAPED_ROWS = (bernoulli_rows, perlin_rows, cgol_rows, triangles_rows, describe_rows, occlude_rows)


def _duration(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def _value(seconds: float | None, rate: bool) -> str:
    if seconds is None:
        return "-"
    return f"{1.0 / seconds:,.0f} samples/s" if rate else _duration(seconds)


def table(rows: Sequence[Row]) -> str:
    """The rows as a Markdown table."""
    head = ("task", "workload", "occmask", "baseline", "baseline time", "speed-up", "target", "met")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        met = {True: "yes", False: "**no**", None: "-"}[row.met]
        cells = (
            row.task,
            row.workload,
            row.note or _value(row.occmask_s, row.rate),
            row.baseline,
            _value(row.baseline_s, row.rate),
            "-" if row.speedup is None else f"{row.speedup:.2f}x",
            "-" if row.target is None else row.target.text,
            met,
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine() -> dict[str, object]:
    """CPU model, core counts, OS and Python of this machine."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            model = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": model,
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
        "threads_used": 1,
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def versions() -> dict[str, str]:
    """Versions of occmask and of every package timed."""
    out = {}
    for dist in ("occmask", "numpy", "numba", "scipy", "opensimplex", *BENCH_MODULES.values(), "torch"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def report(rows: Sequence[Row], info: Mapping[str, object]) -> str:
    """The Markdown report: date, machine, versions, the table and the rows that miss."""
    m, v = info["machine"], info["versions"]
    lines = [
        f"# occmask benchmarks ({info['mode']})",
        "",
        f"{info['date']} - {m['cpu']}, {m['usable_cores']} usable of {m['logical_cores']} logical cores, "
        f"1 thread - {m['os']}, Python {m['python']}",
        "",
        "Versions: " + ", ".join(f"{name} {version}" for name, version in v.items()),
        "",
        f"Median of {info['config']['repeat']} repetitions after warm-up; speed-up = baseline time / occmask "
        "time (above 1: occmask is faster).",
        "",
        table(rows),
        "",
    ]
    missed = [row for row in rows if row.met is False]
    if missed:
        lines += ["Rows that miss their target:", ""]
        lines += [
            f"- {row.task} ({row.workload}) vs {row.baseline}: "
            + (f"{row.speedup:.2f}x" if row.target.kind == "speedup" else _value(row.occmask_s, row.rate))
            + f", target {row.target.text}"
            for row in missed
        ]
    return "\n".join(lines) + "\n"


def run(cfg: Config, shapes: Sequence[tuple[int, ...]] = (VIDEO, IMAGE), *, progress=print) -> list[Row]:
    """Measure every row of the table, one thread, and return them in table order."""
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
        rows = []
        for measure in SHAPED_ROWS:
            for shape in shapes:
                step(f"{measure.__name__} {_workload(shape)}")
                rows += measure(shape, cfg)
        step("cold_start_rows")
        rows += cold_start_rows(cfg)
        step("transform_rows")
        rows += transform_rows(cfg)
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
    args = parser.parse_args(argv)
    missing = [dist for module, dist in BENCH_MODULES.items() if not _importable(module)]
    if missing:
        parser.exit(
            2, f'missing baseline packages {missing}; install them with: pip install "occmask[bench]"\n'
        )
    cfg = QUICK if args.quick else FULL
    mode = "quick" if args.quick else "full"
    started = time.perf_counter()
    print(f"occmask benchmarks, {mode} mode")
    rows = run(cfg)
    info = {
        "mode": mode,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "versions": versions(),
        "config": asdict(cfg),
        "workloads": {"video": VIDEO, "image": IMAGE, "coverage": COVERAGE, "seed": SEED},
        "seconds": round(time.perf_counter() - started, 1),
    }
    text = report(rows, info)
    print()
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "results" if mode == "full" else "results-quick"
    (args.out / f"{stem}.md").write_text(text)
    (args.out / f"{stem}.json").write_text(
        json.dumps({**info, "rows": [row.as_dict() for row in rows]}, indent=2)
    )
    print(f"written to {args.out / stem}.md and .json in {info['seconds']} s")
    return 0


def _importable(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
