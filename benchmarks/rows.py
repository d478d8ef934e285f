"""The rows of the benchmark table: occmask against each baseline on the same work.

A row function checks that both sides produce valid output, then times them in
one interleaved run (:func:`harness.versus`). :data:`SHAPED_ROWS` run once per
workload shape, :data:`ONCE_ROWS` once.
"""

from __future__ import annotations

import functools
import itertools
import math
import os
import statistics
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

import occmask as om
from baselines import (
    BASELINE_CHILD,
    TRIVIAL,
    check_describe,
    check_life,
    coarse_dropout_holes,
    components_cc3d,
    components_scipy,
    fastnoise,
    fmix_numpy,
    life_numpy,
    mae_patches,
    numpy_cut,
    perlin_axes,
    rectangles_holes,
    rectangles_numpy,
    triangles_skimage,
)
from harness import (
    COVERAGE,
    FULL,
    IMAGE,
    SEED,
    SINGLE_THREAD,
    VIDEO,
    Config,
    Row,
    Target,
    check_exact,
    child,
    compare,
    duration,
    frame_shape,
    loader_times,
    pixels_k,
    versus,
    workload,
)
from occmask.calibrate import target_count


def bernoulli_rows(shape: tuple[int, ...], cfg: Config) -> list[Row]:
    """Exact i.i.d. mask: numpy uniform float32 noise for all frames cut by one ``np.partition`` call."""
    frames, k = frame_shape(shape), pixels_k(shape)

    def occmask():
        return om.generate("bernoulli", shape, COVERAGE, rng=SEED)

    def numpy_partition():
        return numpy_cut(np.random.default_rng(SEED).random(frames, dtype=np.float32), k)

    check_exact(occmask(), shape, "occmask bernoulli")
    check_exact(numpy_partition(), shape, "numpy bernoulli")
    return versus(
        "bernoulli, exact",
        shape,
        occmask,
        [("numpy random(float32) + one np.partition(axis=1)", numpy_partition, Target.faster(2))],
        cfg,
    )


# perlin ---------------------------------------------------------------------------


def perlin_rows(shape: tuple[int, ...], cfg: Config) -> list[Row]:
    """Exact Perlin mask vs FastNoiseLite's 3-D field alone and opensimplex ``noise3array`` + cut."""
    import opensimplex

    params = om.FAMILIES["perlin"].defaults
    frames, k = frame_shape(shape), pixels_k(shape)
    noise, coords = fastnoise(shape, params)
    simplex = opensimplex.OpenSimplex(SEED)
    x, y, z = perlin_axes(shape, params)
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
    assert field.shape == (math.prod(frames),), "FastNoiseLite field of the wrong size"
    assert np.all(np.isfinite(field)), "FastNoiseLite field is not finite"
    assert field.std() > 0, "FastNoiseLite field is constant"
    return versus(
        "perlin, exact",
        shape,
        occmask,
        [
            ("FastNoiseLite 3-D Perlin FBm field alone", fastnoise_field, Target.faster(2)),
            ("opensimplex noise3array (1 thread) + one np.partition cut", opensimplex_cut, Target.faster(5)),
        ],
        cfg,
    )


# cgol -----------------------------------------------------------------------------


def cgol_rows(shape: tuple[int, ...], cfg: Config) -> list[Row]:
    """Exact Game-of-Life mask vs the same number of Life generations in numpy."""
    params = om.FAMILIES["cgol"].defaults
    n_t, n_h, n_w = frame_shape(shape)

    def occmask():
        return om.generate("cgol", shape, COVERAGE, rng=SEED)

    def numpy_life():
        soup = np.random.default_rng(SEED).random((n_h, n_w)) < params["density"]
        return life_numpy(soup, params["burn_in"], params["step"], n_t)

    check_exact(occmask(), shape, "occmask cgol")
    check_life()
    generations = params["burn_in"] + (n_t - 1) * params["step"]
    return versus(
        "cgol, exact",
        shape,
        occmask,
        [(f"numpy np.roll neighbour sums, {generations} generations", numpy_life, Target.faster(2.5))],
        cfg,
    )


# triangles ------------------------------------------------------------------------


def triangles_rows(shape: tuple[int, ...], cfg: Config) -> list[Row]:
    """Exact triangle mask vs ``skimage.draw.polygon`` per triangle until the coverage."""
    params = om.FAMILIES["triangles"].defaults

    def occmask():
        return om.generate("triangles", shape, COVERAGE, rng=SEED)

    def skimage_polygons():
        return triangles_skimage(shape, params)

    check_exact(occmask(), shape, "occmask triangles")
    check_exact(skimage_polygons(), shape, "skimage triangles")
    return versus(
        "triangles, exact",
        shape,
        occmask,
        [("skimage.draw.polygon per triangle until coverage", skimage_polygons, Target.faster(30))],
        cfg,
    )


# rectangles -----------------------------------------------------------------------


def _box_erasing(shape: tuple[int, ...], params) -> list[tuple[str, object, Target]]:
    """kornia's RandomErasing and albumentations' CoarseDropout on the same frames.

    Neither hides an exact share: RandomErasing erases one box of half the frame's area per frame,
    CoarseDropout as many holes of the family's sizes as hide about half the frame.
    """
    import albumentations as A
    import kornia.augmentation as K
    import torch

    n_t, n_h, n_w = frame_shape(shape)
    erase = K.RandomErasing(scale=(0.5, 0.5), ratio=params["aspect"], value=0.0, p=1.0)
    ones = torch.ones(n_t, 1, n_h, n_w)
    torch.manual_seed(SEED)

    def kornia_erasing():
        return (erase(ones) == 0)[:, 0].numpy()

    lo, hi = (round(v) for v in params["size"])
    n = rectangles_holes(shape, params)
    dropout = A.CoarseDropout(
        num_holes_range=(n, n), hole_height_range=(lo, hi), hole_width_range=(lo, hi), fill=0, p=1.0
    )
    dropout.set_random_seed(SEED)
    frame = np.ones((n_h, n_w), np.uint8)

    def albumentations_dropout():
        return np.stack([dropout(image=frame)["image"] == 0 for _ in range(n_t)])

    found = [
        ("kornia RandomErasing, one box of half the area per frame", kornia_erasing),
        (f"albumentations CoarseDropout, {n} holes per frame", albumentations_dropout),
    ]
    for name, fn in found:
        share = fn().mean()
        assert 0.2 < share < 0.8, f"{name}: hides {share:.2f} of the pixels, not about half"
    return [(name, fn, Target.faster(2)) for name, fn in found]


def rectangles_rows(shape: tuple[int, ...], cfg: Config) -> list[Row]:
    """Exact box mask vs a numpy loop drawing boxes until the coverage, and box erasing of kornia
    and albumentations (not exact)."""
    params = om.FAMILIES["rectangles"].defaults

    def occmask():
        return om.generate("rectangles", shape, COVERAGE, rng=SEED)

    def numpy_boxes():
        return rectangles_numpy(shape, params)

    check_exact(occmask(), shape, "occmask rectangles")
    check_exact(numpy_boxes(), shape, "numpy boxes")
    return versus(
        "rectangles, exact",
        shape,
        occmask,
        [("numpy loop: boxes until coverage", numpy_boxes, Target.faster(2)), *_box_erasing(shape, params)],
        cfg,
    )


# fourier --------------------------------------------------------------------------


def fourier_rows(shape: tuple[int, ...], cfg: Config) -> list[Row]:
    """Exact Fourier mask vs FMix in plain numpy (float64 spectrum, irfftn, argsort per frame)."""
    params = om.FAMILIES["fourier"].defaults

    def occmask():
        return om.generate("fourier", shape, COVERAGE, rng=SEED)

    def fmix():
        return fmix_numpy(shape, params)

    check_exact(occmask(), shape, "occmask fourier")
    check_exact(fmix(), shape, "FMix numpy")
    return versus(
        "fourier, exact",
        shape,
        occmask,
        [("FMix in numpy: rfftn spectrum + argsort top-k per frame", fmix, Target.faster(2))],
        cfg,
    )


# patches --------------------------------------------------------------------------


def patches_rows(shape: tuple[int, ...], cfg: Config) -> list[Row]:
    """Exact patch mask vs MAE's random masking (argsort of patch scores, whole patches only)."""
    params = {**om.FAMILIES["patches"].defaults, "patch": 8}  # 8x8 patches: 64 tokens of a 64x64 frame

    def occmask():
        return om.generate("patches", shape, COVERAGE, rng=SEED, patch=params["patch"])

    def mae():
        return mae_patches(shape, params)

    check_exact(occmask(), shape, "occmask patches")
    assert mae().shape == frame_shape(shape), "MAE masking: wrong shape"
    return versus(
        "patches, exact",
        shape,
        occmask,
        [("MAE random masking: argsort of patch scores, patches to pixels", mae, Target.faster(2))],
        cfg,
    )


# the settings users come from -----------------------------------------------------

#: MAE's own setting (He et al. 2022): 224 x 224 images, 16-pixel patches, 75% hidden.
MAE_IMAGE, MAE_PATCH, MAE_RATIO = (224, 224), 16, 0.75
#: A clip of MAE images with a new patch order per frame.
MAE_CLIP = (8, *MAE_IMAGE)
#: Box sides as fractions of the image's side, and the share hidden, of the CoarseDropout row.
BOX_SIDE, BOX_COVERAGE = (0.1, 0.3), 0.25


def pipeline_rows(cfg: Config) -> list[Row]:
    """The settings of the pipelines users come from, each against its own peer: MAE's random
    masking on a 224 x 224 image and on an 8-frame clip (a new order per frame), and boxes hidden
    in a uint8 HWC image against albumentations' CoarseDropout (mask and occlusion)."""
    return [*_mae_rows(cfg), *_coarse_dropout_rows(cfg)]


def _mae_rows(cfg: Config) -> list[Row]:
    params = {"patch": MAE_PATCH}
    rows = []
    for shape, target in ((MAE_IMAGE, Target.faster(1)), (MAE_CLIP, Target.faster(1.5))):
        k = target_count(MAE_RATIO, shape[-2] * shape[-1])
        temporal = "independent"  # a new order per frame, as MAE's per-sample noise

        def occmask(shape=shape, temporal=temporal):
            return om.patches(
                shape, MAE_RATIO, rng=SEED, patch=MAE_PATCH, offset="aligned", temporal=temporal
            )

        def mae(shape=shape):
            return mae_patches(shape, params, MAE_RATIO)

        for who, fn in (("occmask patches", occmask), ("MAE random masking", mae)):
            frames = fn().reshape(-1, shape[-2], shape[-1])
            counts = frames.reshape(len(frames), -1).sum(axis=1)
            assert frames.shape[0] == frame_shape(shape)[0], f"{who}: {frames.shape}"
            assert (counts == k).all(), f"{who}: {counts}"
            tiles = frames.reshape(len(frames), shape[-2] // MAE_PATCH, MAE_PATCH, -1, MAE_PATCH)
            assert (tiles.all(axis=(2, 4)) == tiles.any(axis=(2, 4))).all(), f"{who}: not whole patches"
        rows += versus(
            f"patches, MAE's setting ({MAE_PATCH}-px patches, {MAE_RATIO:.0%} hidden, aligned)",
            shape,
            occmask,
            [("MAE random masking: argsort of patch scores, patches to pixels", mae, target)],
            cfg,
        )
    return rows


def _coarse_dropout_rows(cfg: Config) -> list[Row]:
    import albumentations as A

    n_h, n_w = MAE_IMAGE
    side = (BOX_SIDE[0] * min(n_h, n_w), BOX_SIDE[1] * min(n_h, n_w))
    image = np.random.default_rng(SEED).integers(1, 256, (*MAE_IMAGE, 3), dtype=np.uint8)
    n = coarse_dropout_holes(BOX_SIDE, BOX_COVERAGE)
    dropout = A.CoarseDropout(
        num_holes_range=(n, n), hole_height_range=BOX_SIDE, hole_width_range=BOX_SIDE, fill=0, p=1.0
    )
    dropout.set_random_seed(SEED)

    def occmask():
        mask = om.rectangles(MAE_IMAGE, BOX_COVERAGE, rng=SEED, size=side)
        return om.occlude(image, mask, fill=0, layout="HWC")

    def albumentations_dropout():
        return dropout(image=image)["image"]

    hidden = (occmask() == 0).all(axis=-1).sum()
    assert hidden == target_count(BOX_COVERAGE, n_h * n_w), f"occmask rectangles hide {hidden} pixels"
    share = np.mean([(albumentations_dropout() == 0).all(axis=-1).mean() for _ in range(20)])
    assert abs(share - BOX_COVERAGE) < 0.1, f"CoarseDropout hides {share:.2f} of the pixels"
    return versus(
        f"rectangles + occlude, uint8 HWC, sides {BOX_SIDE[0]:.0%}-{BOX_SIDE[1]:.0%}, "
        f"{BOX_COVERAGE:.0%} hidden",
        MAE_IMAGE,
        occmask,
        [
            (
                f"albumentations CoarseDropout, {n} holes (about {BOX_COVERAGE:.0%})",
                albumentations_dropout,
                Target.faster(1),
            )
        ],
        cfg,
    )


def pipeline_table(cfg: Config) -> list[Row]:
    """Just the rows of the pipelines users come from and of the peers they are weighed against
    most: :func:`pipeline_rows`, then bernoulli and fourier on the image workload and describe
    on both workloads (``run.py --only pipelines``)."""
    rows = pipeline_rows(cfg)
    rows += bernoulli_rows(IMAGE, cfg) + fourier_rows(IMAGE, cfg)
    for shape in (VIDEO, IMAGE):
        rows += describe_rows(shape, cfg)
    return rows


# region coverage ------------------------------------------------------------------


def region_rows(shape: tuple[int, ...], cfg: Config) -> list[Row]:
    """A region cut (exact share of a disc of half the frame) vs the canvas cut of the same field."""
    n_t, n_h, n_w = frame_shape(shape)
    field = om.field("perlin", shape, rng=SEED)
    y, x = np.mgrid[0:n_h, 0:n_w]
    region = np.hypot(y - n_h / 2, x - n_w / 2) < np.sqrt(n_h * n_w / (2 * np.pi))  # half the frame

    def occmask():
        return om.cut(field, COVERAGE, region=region)

    def canvas():
        return om.cut(field, COVERAGE)

    hidden = (occmask() & region).reshape(n_t, -1).sum(axis=1)
    assert (hidden == target_count(COVERAGE, int(region.sum()))).all(), f"region cut hides {hidden} pixels"
    check_exact(canvas(), shape, "canvas cut")
    return versus(
        "region cut, exact share of a disc",
        shape,
        occmask,
        [("occmask canvas cut of the same field", canvas, Target.within(1.5))],
        cfg,
    )


# describe -------------------------------------------------------------------------


def describe_rows(shape: tuple[int, ...], cfg: Config) -> list[Row]:
    """``om.describe`` vs per-frame labelling with cc3d and scipy, on an i.i.d. and a blob mask."""
    rows = []
    for kind, family in (("i.i.d.", "bernoulli"), ("blob", "perlin")):
        mask = om.generate(family, shape, COVERAGE, rng=SEED)
        video = mask.reshape(frame_shape(shape))
        check_describe(video)
        rows += versus(
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
                    "scipy.ndimage.label, one call for all frames + bincount",
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
    n_t, n_h, n_w = frame_shape(shape)
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
    assert result.dtype == x.dtype, "om.occlude changed the dtype"
    assert np.array_equal(result, where()), "om.occlude differs from np.where"
    return versus(
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

_OCCMASK_CHILD = """
import time
start = time.perf_counter()
import occmask
imported = time.perf_counter()
for family in {families!r}:
    occmask.generate(family, {shape!r}, {coverage!r}, rng=0)
print(time.perf_counter() - start, imported - start)
"""


def cold_start_rows(cfg: Config, families: Sequence[str] | None = None) -> list[Row]:
    """A fresh process: ``import occmask`` + first mask vs ``import numba`` + a cached trivial kernel.

    Times are taken inside the child (interpreter start-up excluded), with a Numba
    cache folder of its own filled by an untimed run, as a fresh install's (a
    source tree's caches also hold the overloads its tests compiled, which are
    slower to look through). Every family in a full run, the first one in a
    quick run (fresh interpreters take a second each).
    """
    families = families or tuple(om.FAMILIES)[: None if cfg.large else 1]
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "_trivial_kernel.py").write_text(TRIVIAL)
        env = {
            **os.environ,
            **SINGLE_THREAD,
            "PYTHONPATH": os.pathsep.join(filter(None, [tmp, os.environ.get("PYTHONPATH")])),
            "NUMBA_CACHE_DIR": str(Path(tmp, "numba-cache")),
        }
        children = {"baseline": BASELINE_CHILD} | {
            family: _OCCMASK_CHILD.format(families=[family], shape=VIDEO, coverage=COVERAGE)
            for family in families
        }
        child(children["baseline"], env)  # fill the on-disk caches
        child(_OCCMASK_CHILD.format(families=list(families), shape=VIDEO, coverage=COVERAGE), env)
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in children}
        for _ in range(cfg.cold_repeat):
            for name, code in children.items():
                runs[name].append(child(code, env))
    base = statistics.median(total for total, _ in runs["baseline"])
    rows = [
        Row(
            f"cold start: import occmask + first {family} mask",
            workload(VIDEO),
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


# memory and cold compilation ------------------------------------------------------

#: The videos on which peak memory is measured: a million pixels (quick runs) and 16 million.
MEMORY_SMALL, MEMORY_LARGE = (16, 256, 256), (16, 1024, 1024)
#: Peak memory of a generation, as a multiple of the mask's size, that the frame and video rows aim at.
MEMORY_TARGET = 3.0


def memory_rows(
    cfg: Config, families: Sequence[str] = tuple(om.FAMILIES), shape: tuple[int, ...] | None = None
) -> list[Row]:
    """Peak memory of one generation (``tracemalloc``: numpy's and Numba's allocations) against
    the mask's size, per family and match mode; ``"expected"`` includes its calibration.

    On ``MEMORY_LARGE`` in a full run, ``MEMORY_SMALL`` in a quick one (unless ``shape``
    is given). The frame and video rows aim at ``MEMORY_TARGET`` times the mask.
    """
    import tracemalloc

    from occmask.families import _engine

    shape = shape or (MEMORY_LARGE if cfg.large else MEMORY_SMALL)
    target = Target("speedup", 1.0 / MEMORY_TARGET, f"<= {MEMORY_TARGET:g}x the mask")
    rows = []
    for family in families:
        for match in ("frame", "video", "expected"):
            if match != "expected":  # compile ("expected" cuts with numpy)
                om.generate(family, (2, 32, 32), COVERAGE, rng=SEED, match=match)
            _engine._curve.cache_clear()  # the calibration is part of a first "expected" call
            tracemalloc.start()
            try:
                started = time.perf_counter()
                mask = om.generate(family, shape, COVERAGE, rng=SEED, match=match)
                seconds = time.perf_counter() - started
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            assert mask.shape == shape
            assert mask.dtype == np.bool_
            rows.append(
                Row(
                    f"peak memory, {family}, match={match!r}",
                    workload(shape),
                    "the mask's size",
                    peak,
                    mask.nbytes,
                    None if match == "expected" else target,
                    note=f"{peak / mask.nbytes:.1f}x the mask ({duration(seconds)})",
                    memory=True,
                )
            )
            del mask
    return rows


_COMPILE_CHILD = """
import time
start = time.perf_counter()
import numpy as np
import occmask
imported = time.perf_counter()
name = {name!r}
if name in occmask.FAMILIES:
    occmask.generate(name, (2, 16, 16), 0.5, rng=0)
else:
    occmask.describe(np.zeros((2, 4, 4), bool), spatiotemporal=True)
print(time.perf_counter() - imported, imported - start)
"""


def cold_compile_rows(cfg: Config, names: Sequence[str] | None = None) -> list[Row]:
    """First call in a fresh process with an empty Numba cache folder (every kernel it needs compiles),
    against the same call once that folder holds the compiled kernels. Import time excluded.

    Every family and ``describe`` in a full run, the first family in a quick run."""
    names = names or (*om.FAMILIES, "describe")[: None if cfg.large else 1]
    rows = []
    for name in names:
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, **SINGLE_THREAD, "NUMBA_CACHE_DIR": cache}
            cold = child(_COMPILE_CHILD.format(name=name), env)[0]
            warm = statistics.median(
                child(_COMPILE_CHILD.format(name=name), env)[0] for _ in range(cfg.cold_repeat)
            )
        rows.append(
            Row(
                f"cold compile: first {name} call, empty Numba cache",
                "2x16x16",
                "the same call, kernels in the cache",
                cold,
                warm,
                None,
            )
        )
    return rows


# time per pixel ------------------------------------------------------------------

#: Shapes of the time-per-pixel rows, and for each larger one the shape whose time per
#: pixel it is held to (generation is linear in the number of pixels).
PIXEL_SHAPES = {
    (64, 64): None,
    (224, 224): None,
    (1024, 1024): (224, 224),
    (20, 64, 64): None,
    (16, 256, 256): (20, 64, 64),
}


def pixel_rows(
    cfg: Config,
    families: Sequence[str] = tuple(om.FAMILIES),
    shapes: Mapping[tuple[int, ...], tuple[int, ...] | None] = PIXEL_SHAPES,
) -> list[Row]:
    """``om.generate`` per family in ns per pixel (1 ns per pixel = 1,000 us per megapixel) at
    several sizes; the larger sizes against the time per pixel of a smaller one (target: at most
    1.5x, i.e. linear)."""
    target = Target("speedup", 1 / 1.5, "<= 1.5x its ns/pixel")
    rows = []
    for family in families:
        fns = {
            workload(shape): functools.partial(om.generate, family, shape, COVERAGE, rng=SEED)
            for shape in shapes
        }
        times = dict(zip(shapes, compare(fns, cfg).values(), strict=True))
        for shape, reference in shapes.items():
            pixels = math.prod(shape)
            ns = times[shape] / pixels * 1e9
            base = None if reference is None else times[reference] / math.prod(reference) * pixels
            rows.append(
                Row(
                    f"generate {family}, time per pixel",
                    workload(shape),
                    "-" if reference is None else f"{workload(reference)}'s time per pixel",
                    times[shape],
                    base,
                    None if reference is None else target,
                    note=f"{ns:.3g} ns/pixel, {ns * 1e3:,.0f} us/MP ({duration(times[shape])})",
                )
            )
    return rows


# transform in a data-loader worker -------------------------------------------------


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
                workload(VIDEO),
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

    torch.set_num_threads(1)
    clip = torch.rand((VIDEO[0], 1, *VIDEO[1:]), generator=torch.Generator().manual_seed(SEED))
    rows = []
    for family in families:
        transform = Occlude(family, coverage=COVERAGE, fill=0.0, layout="TCHW")
        check_exact((transform(clip) == 0)[:, 0].numpy(), VIDEO, f"Occlude({family!r})")
        alone = functools.partial(_generate_next, family, itertools.count())
        times = loader_times(transform, clip, cfg, {"alone": alone})
        rows.append(
            Row(
                f"{task}, {family}",
                workload(VIDEO),
                "mask generation alone",
                times["worker"],
                times["alone"],
                Target.rate(500),
                rate=True,
            )
        )
    return rows


def evaluation_rows(cfg: Config) -> list[Row]:
    """Masks' share of ``occmask.robustness.evaluate``'s wall time with a tiny model on CPU (target <= 20%).

    The workloads and the measure are those of ``benchmarks/robustness.py``: the
    occmask column is the time the evaluation loop spends on masks (waiting for the
    mask thread pool, applying the masks), the baseline column the whole loop.
    """
    task = "masks in occmask.robustness.evaluate"
    target = Target("speedup", 1 / 0.2, "masks <= 20% of it")
    try:
        import torch

        import robustness as evaluation  # benchmarks/robustness.py (needs torch)
    except ImportError as error:
        return [Row(task, "-", "the evaluation loop", None, None, target, note=f"not available ({error})")]
    torch.set_num_threads(1)
    quick = cfg.repeat < FULL.repeat
    rows = []
    for name, (model, data) in evaluation.workloads(quick).items():
        found = evaluation.measure(model, data, repeat=1 if quick else 3)
        rows.append(
            Row(f"{task}, {name}", name, "the evaluation loop", found["masks"], found["grid"], target)
        )
    return rows


#: The family rows, measured on every workload shape (the large ones in a full run only).
LARGE_ROWS = (
    bernoulli_rows,
    perlin_rows,
    cgol_rows,
    triangles_rows,
    rectangles_rows,
    fourier_rows,
    patches_rows,
)
#: Rows measured for each workload shape.
SHAPED_ROWS = (*LARGE_ROWS, region_rows, describe_rows, occlude_rows)
#: Rows measured once.
ONCE_ROWS = (
    pipeline_rows,
    pixel_rows,
    cold_start_rows,
    cold_compile_rows,
    memory_rows,
    transform_rows,
    evaluation_rows,
)
