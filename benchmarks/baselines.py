"""The peers occmask is timed against, written plainly (numpy) or through their libraries.

Each baseline does the same work as occmask's side of its row (same shape,
coverage, seed and family parameters), or less; the rows check their outputs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

import occmask as om
from harness import COVERAGE, SEED, frame_shape, pixels_k
from occmask.calibrate import target_count


def numpy_cut(field: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` lowest pixels of each frame of ``field`` (T, H, W): one ``np.partition`` call for
    all frames, then ties at the ``k``-th value taken in index order (rows with ties only)."""
    rows = field.reshape(field.shape[0], -1)
    if k <= 0 or k >= rows.shape[1]:
        return np.full(field.shape, k > 0)
    kth = np.partition(rows, k - 1, axis=1)[:, k - 1 : k]
    out = rows < kth
    missing = k - np.count_nonzero(out, axis=1)
    for r in np.flatnonzero(missing):
        out[r, np.flatnonzero(rows[r] == kth[r])[: missing[r]]] = True
    return out.reshape(field.shape)


# perlin ------------------------------------------------------------------------


def perlin_axes(shape: tuple[int, ...], params: Mapping) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Noise-space coordinates of the pixels' columns, rows and frames (first octave)."""
    n_t, n_h, n_w = frame_shape(shape)
    return (
        np.arange(n_w) / params["scale"],
        np.arange(n_h) / params["scale"],
        np.arange(n_t) / params["time_scale"],
    )


def fastnoise(shape: tuple[int, ...], params: Mapping):
    """A FastNoiseLite 3-D fractal Perlin generator with occmask's octaves, and the pixel grid."""
    from pyfastnoiselite.pyfastnoiselite import FastNoiseLite, FractalType, NoiseType

    noise = FastNoiseLite(SEED)
    noise.noise_type = NoiseType.NoiseType_Perlin
    noise.fractal_type = FractalType.FractalType_FBm
    noise.fractal_octaves = params["octaves"]
    noise.fractal_gain = params["persistence"]
    noise.fractal_lacunarity = 2.0
    noise.frequency = 1.0  # coordinates are already in noise units
    x, y, z = perlin_axes(shape, params)
    grid = np.meshgrid(z, y, x, indexing="ij")
    coords = np.stack([grid[2].ravel(), grid[1].ravel(), grid[0].ravel()]).astype(np.float32)
    return noise, coords


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

    n_t, n_h, n_w = frame_shape(shape)
    k = pixels_k(shape)
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


def components_cc3d(video: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: number of 4-connected components and largest size, by cc3d + bincount."""
    import cc3d

    counts, largest = np.zeros(len(video), np.int64), np.zeros(len(video), np.int64)
    for t, frame in enumerate(video):
        labels, counts[t] = cc3d.connected_components(frame, connectivity=4, return_N=True, binary_image=True)
        largest[t] = np.bincount(labels.ravel())[1:].max(initial=0)
    return counts, largest


def components_scipy(video: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: number of 4-connected components and largest size, by one ``scipy.ndimage.label``
    call for the whole video (a structure without links across frames) + bincount.

    Labels are numbered in raster order, so each frame's labels follow the previous frame's.
    """
    from scipy import ndimage

    structure = np.zeros((3, 3, 3), bool)
    structure[1] = ndimage.generate_binary_structure(2, 1)
    labels, _ = ndimage.label(video, structure)
    last = np.maximum.accumulate(labels.reshape(len(video), -1).max(axis=1))
    counts = np.diff(last, prepend=0).astype(np.int64)
    sizes = np.append(np.bincount(labels.ravel()), 0)  # a 0 after the last label: empty last frames
    sizes[0] = 0
    largest = np.maximum.reduceat(sizes, np.concatenate([[1], last[:-1] + 1]))
    return counts, np.where(counts > 0, largest, 0).astype(np.int64)


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


# cold start: import numba and call a cached trivial kernel --------------------------------

TRIVIAL = """
from numba import njit


@njit(cache=True)
def trivial(x):
    return x + 1
"""

BASELINE_CHILD = """
import time
start = time.perf_counter()
import numba
import _trivial_kernel
_trivial_kernel.trivial(1)
print(time.perf_counter() - start, 0.0)
"""


# rectangles -------------------------------------------------------------------


def rectangles_numpy(shape: tuple[int, ...], params: Mapping) -> np.ndarray:
    """Exact box mask by a numpy loop: per frame, draw boxes (log-uniform side and aspect, uniform
    centre on a torus, moving) in order until ``k`` pixels are hidden; the last one adds only the
    pixels still needed."""
    n_t, n_h, n_w = frame_shape(shape)
    k = pixels_k(shape)
    rng = np.random.default_rng(SEED)
    (s_lo, s_hi), (a_lo, a_hi) = params["size"], params["aspect"]
    boxes: list[tuple[float, float, float, float, float, float]] = []
    out = np.zeros((n_t, n_h, n_w), dtype=bool)
    for t, hidden in enumerate(out):
        count, drawn = 0, 0
        while count < k:
            if drawn == len(boxes):
                cy, cx, us, ua, heading, speed = rng.random(6)
                side, ratio = s_lo * (s_hi / s_lo) ** us, a_lo * (a_hi / a_lo) ** ua
                v = params["speed"] * speed
                boxes.append((cy * n_h, cx * n_w, side * ratio**0.5, side / ratio**0.5, v, heading))
            cy, cx, height, width, v, heading = boxes[drawn]
            drawn += 1
            cy, cx = (
                cy + v * math.sin(2 * math.pi * heading) * t,
                cx + v * math.cos(2 * math.pi * heading) * t,
            )
            rows = np.arange(math.ceil(cy - height / 2), math.floor(cy + height / 2) + 1)[:n_h] % n_h
            cols = np.arange(math.ceil(cx - width / 2), math.floor(cx + width / 2) + 1)[:n_w] % n_w
            block = hidden[np.ix_(rows, cols)]
            new = np.flatnonzero(~block)[: k - count]
            block.ravel()[new] = True
            hidden[np.ix_(rows, cols)] = block
            count += new.size
    return out


def rectangles_holes(shape: tuple[int, ...], params: Mapping) -> int:
    """How many boxes of the family's sizes hide about the benchmark coverage when dropped
    independently (``1 - exp(-n * area / canvas) = coverage``)."""
    lo, hi = params["size"]
    mean_area = (hi * hi - lo * lo) / (2.0 * math.log(hi / lo))
    return max(1, round(-math.log(1.0 - 0.5) * shape[-2] * shape[-1] / mean_area))


# fourier ----------------------------------------------------------------------


def fmix_numpy(shape: tuple[int, ...], params: Mapping) -> np.ndarray:
    """FMix (Harris et al. 2020, github.com/ecs-vlc/FMix) written plainly: frequencies, a
    Gaussian spectrum scaled by ``1 / max(f, 1/n)^decay``, ``irfftn`` over (time, height,
    width), then the top ``k`` pixels of each frame by ``argsort`` (FMix's ``binarise_mask``)."""
    n_t, n_h, n_w = frame_shape(shape)
    ft = np.fft.fftfreq(n_t)[:, None, None] * params["time_scale"]
    fy = np.fft.fftfreq(n_h)[None, :, None]
    fx = np.fft.rfftfreq(n_w)[None, None, :]
    freqs = np.sqrt(ft * ft + fy * fy + fx * fx)
    scale = 1.0 / np.maximum(freqs, 1.0 / max(n_h, n_w)) ** params["decay"]
    param = np.random.default_rng(SEED).standard_normal((*freqs.shape, 2))
    spectrum = scale * param[..., 0] + 1j * scale * param[..., 1]
    field = np.real(np.fft.irfftn(spectrum, s=(n_t, n_h, n_w), axes=(0, 1, 2))).reshape(n_t, -1)
    order = np.argsort(field, axis=1)[:, ::-1][:, : pixels_k(shape)]
    out = np.zeros(field.shape, dtype=bool)
    np.put_along_axis(out, order, True, axis=1)
    return out.reshape(n_t, n_h, n_w)


# patches ----------------------------------------------------------------------


def mae_patches(shape: tuple[int, ...], params: Mapping, coverage: float = COVERAGE) -> np.ndarray:
    """MAE's random masking (He et al. 2022, github.com/facebookresearch/mae): per frame a
    uniform score per patch, ``argsort``, the first ``k // p^2`` patches hidden, the patch mask
    upsampled to pixels. Whole patches only, on an aligned grid: less work than occmask's."""
    n_t, n_h, n_w = frame_shape(shape)
    p = params["patch"]
    grid_h, grid_w = n_h // p, n_w // p
    noise = np.random.default_rng(SEED).random((n_t, grid_h * grid_w))
    ids_shuffle = np.argsort(noise, axis=1)
    tokens = np.zeros((n_t, grid_h * grid_w), dtype=bool)
    hidden = target_count(coverage, n_h * n_w) // (p * p)
    np.put_along_axis(tokens, ids_shuffle[:, :hidden], True, axis=1)
    return (
        tokens.reshape(n_t, grid_h, 1, grid_w, 1).repeat(p, axis=2).repeat(p, axis=4).reshape(n_t, n_h, n_w)
    )


# rectangles + occlude on uint8 HWC images -----------------------------------------


def coarse_dropout_holes(side: tuple[float, float], coverage: float) -> int:
    """How many holes of CoarseDropout, with height and width each uniform in ``side`` (fractions
    of the image's side), hide about ``coverage`` when dropped independently
    (``1 - exp(-n * E[h] E[w]) = coverage``)."""
    mean = (side[0] + side[1]) / 2.0
    return max(1, round(-math.log(1.0 - coverage) / (mean * mean)))
