"""Gradient noise shared by the families: fractal improved Perlin noise and OpenSimplex.

The ``perlin`` family cuts this noise directly; ``cgol`` orders pixels at the
same distance by it. The basis is improved Perlin noise (Perlin 2002, "Improving
noise"), sampled on the pixel grid with a feature size of ``scale`` pixels, or
OpenSimplex noise (Spencer 2014, :mod:`occmask._opensimplex`) at the same points
with the same permutation. A video samples 3-D noise whose third axis is time.
Every pattern is placed at a random continuous offset, so no pixel is favoured.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ._jit import kernel
from ._opensimplex import noise3 as _simplex3

__all__ = ["BASES", "fractal_noise_blocks"]

#: Noise bases.
BASES = ("perlin", "simplex")


@kernel
def _fade(t: float) -> float:
    return t * t * t * (t * (t * 6.0 - 15.0) + 10.0)


def _gradient_table() -> np.ndarray:
    """Perlin's 16 hashed gradients (12 cube edges, 4 repeated) as rows (gx, gy, gz).

    ``grad(h, x, y, z)`` of the reference implementation equals ``table[h & 15] . (x, y, z)``.
    """
    table = np.zeros((16, 3))
    for h in range(16):
        u, v = (0 if h < 8 else 1), (1 if h < 4 else (0 if h in (12, 14) else 2))
        table[h, u] += 1.0 if h & 1 == 0 else -1.0
        table[h, v] += 1.0 if h & 2 == 0 else -1.0
    return table


_GRADIENTS = _gradient_table()


@kernel
def _lattice(coord: float, period: int) -> tuple[int, int, float]:
    """Lattice cell (both corners, wrapped to the period and the table) and offset in it."""
    cell = np.floor(coord)
    frac = coord - cell
    i0 = np.int64(cell)
    i1 = i0 + 1
    if period > 0:
        i0 %= period
        i1 %= period
    return i0 & 255, i1 & 255, frac


@kernel
def _perlin_plane(
    out: np.ndarray,
    amp: float,
    xs: np.ndarray,
    ys: np.ndarray,
    z: float,
    p: np.ndarray,
    period_y: int,
    period_x: int,
) -> None:
    """Add ``amp`` times one plane of improved Perlin noise to ``out`` (H, W).

    Along a row, y and z are fixed, so at each lattice corner the gradient dot
    product is linear in the x offset; the trilinear blend over y and z is then
    two lines per lattice cell, ``A(xf)`` on the left face and ``B(xf)`` on the
    right, and each pixel costs a fade and ``A + fade(xf) * (B - A)``. The plane's
    z is fixed too, so each cell's edges along y are blended in z once per row of
    lattice cells, leaving a blend in y per row.
    """
    z0, z1, zf = _lattice(z, 0)
    w = _fade(zf)
    g = _GRADIENTS
    n_h, n_w = out.shape
    cells = np.floor(xs)
    offsets = xs - cells
    fades = np.empty(n_w)
    starts = np.empty(n_w + 1, np.uint64)  # the columns where a lattice cell starts (xs increases);
    n_cells = 0  # unsigned, so that Numba's check for negative indices leaves the loop below vectorised
    for j in range(n_w):
        fades[j] = _fade(offsets[j])
        if j == 0 or cells[j] != cells[j - 1]:
            starts[n_cells] = j
            n_cells += 1
    starts[n_cells] = n_w
    # per cell, y corner (dy) and face (left: x0, right: x1), blended in z: the gradient's x
    # component, its y component, and the z term
    edges = np.empty((n_cells, 2, 2, 3))
    cached_y0 = cached_y1 = -1
    for i in range(n_h):
        y0, y1, yf = _lattice(ys[i], period_y)
        if y0 != cached_y0 or y1 != cached_y1:  # rows of one lattice cell share the gradients at its corners
            cached_y0, cached_y1 = y0, y1
            for c in range(n_cells):
                x0, x1, _ = _lattice(xs[starts[c]], period_x)
                for dy in range(2):
                    yy = y1 if dy else y0
                    for face in range(2):
                        xx = x1 if face else x0
                        near, far = p[p[p[xx] + yy] + z0] & 15, p[p[p[xx] + yy] + z1] & 15
                        edges[c, dy, face, 0] = (1.0 - w) * g[near, 0] + w * g[far, 0]
                        edges[c, dy, face, 1] = (1.0 - w) * g[near, 1] + w * g[far, 1]
                        edges[c, dy, face, 2] = (1.0 - w) * g[near, 2] * zf + w * g[far, 2] * (zf - 1.0)
        v = _fade(yf)
        row = out[i]
        for c in range(n_cells):
            e = edges[c]
            a_slope = (1.0 - v) * e[0, 0, 0] + v * e[1, 0, 0]
            a_const = (1.0 - v) * (e[0, 0, 1] * yf + e[0, 0, 2]) + v * (e[1, 0, 1] * (yf - 1.0) + e[1, 0, 2])
            b_slope = (1.0 - v) * e[0, 1, 0] + v * e[1, 1, 0]
            b_const = (1.0 - v) * (e[0, 1, 1] * yf + e[0, 1, 2]) + v * (e[1, 1, 1] * (yf - 1.0) + e[1, 1, 2])
            b_const -= b_slope  # the right face is linear in (xf - 1)
            for j in range(starts[c], starts[c + 1]):  # one lattice cell: a loop without branches
                left = a_slope * offsets[j] + a_const
                right = b_slope * offsets[j] + b_const
                row[j] += amp * (left + fades[j] * (right - left))


@kernel
def _simplex_plane(
    out: np.ndarray, amp: float, xs: np.ndarray, ys: np.ndarray, z: float, p: np.ndarray
) -> None:
    """Add ``amp`` times one plane of OpenSimplex noise to ``out`` (H, W)."""
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] += amp * _simplex3(xs[j], ys[i], z, p)


@kernel
def _noise_field(
    out: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    zs: np.ndarray,
    perms: np.ndarray,
    amps: np.ndarray,
    periods: np.ndarray,
    simplex: bool,
) -> np.ndarray:
    """Fractal noise on a grid, written into ``out`` (T, H, W).

    ``xs[s, o, j]``, ``ys[s, o, i]`` are lattice coordinates of column ``j`` / row
    ``i`` at octave ``o`` for pattern set ``s`` (one set shared by all frames, or
    one per frame); ``zs[o, t]`` is the time coordinate of frame ``t``;
    ``periods[o]`` the lattice period in y and x (0: not periodic).
    """
    n_t = out.shape[0]
    n_sets = perms.shape[0]
    for t in range(n_t):
        s = t if n_sets > 1 else 0
        out[t] = 0.0
        for o in range(amps.shape[0]):
            if simplex:
                _simplex_plane(out[t], amps[o], xs[s, o], ys[s, o], zs[o, t], perms[s])
            else:
                _perlin_plane(
                    out[t], amps[o], xs[s, o], ys[s, o], zs[o, t], perms[s], periods[o, 0], periods[o, 1]
                )
    return out


@kernel
def _fractal_field(
    out: np.ndarray,
    uniforms: np.ndarray,
    perm: np.ndarray,
    step_y: float,
    step_x: float,
    base_y: int,
    base_x: int,
    time_scale: float,
    independent: bool,
    persistence: float,
    simplex: bool,
    first: int,
) -> np.ndarray:
    """:func:`fractal_noise_blocks` into ``out`` from its draws: ``uniforms`` (sets, octaves, 3) place each
    octave's pattern in y, x and time, ``perm`` (sets, 256) is each set's permutation; ``out[t]``
    is frame ``first + t`` (one set per frame of ``out``, or one for all).

    ``base_y``, ``base_x``: lattice cells per frame of the first octave when periodic,
    else 0. Octave ``o`` has frequency ``2**o`` and amplitude ``persistence**o``.
    """
    n_t, n_h, n_w = out.shape
    n_sets, octaves = uniforms.shape[0], uniforms.shape[1]
    periods = np.zeros((octaves, 2), np.int64)
    xs = np.empty((n_sets, octaves, n_w))
    ys = np.empty((n_sets, octaves, n_h))
    zs = np.empty((octaves, n_t))
    amps = np.empty(octaves)
    for o in range(octaves):
        freq = 2.0 ** float(o)
        periods[o, 0], periods[o, 1] = base_y * np.int64(freq), base_x * np.int64(freq)
        span_y = float(periods[o, 0]) if base_y > 0 else 256.0
        span_x = float(periods[o, 1]) if base_x > 0 else 256.0
        for s in range(n_sets):
            offset_y, offset_x = uniforms[s, o, 0] * span_y, uniforms[s, o, 1] * span_x
            for i in range(n_h):
                ys[s, o, i] = i * step_y * freq + offset_y
            for j in range(n_w):
                xs[s, o, j] = j * step_x * freq + offset_x
        for t in range(n_t):
            frame = 0.0 if independent else (first + t) / time_scale
            zs[o, t] = frame * freq + uniforms[t % n_sets, o, 2] * 256.0
        amps[o] = persistence ** float(o)
    perms = np.empty((n_sets, 512), np.int64)
    for s in range(n_sets):
        for i in range(256):
            perms[s, i] = perms[s, i + 256] = perm[s, i]
    return _noise_field(out, xs, ys, zs, perms, amps, periods, simplex)


def fractal_noise_blocks(
    shape: tuple[int, int, int],
    rng: np.random.Generator,
    temporal: str,
    frames: int,
    *,
    scale: float,
    octaves: int,
    persistence: float,
    time_scale: float,
    basis: str,
    periodic: bool,
) -> Iterator[np.ndarray]:
    """Fractal noise drawn from ``rng``, ``frames`` frames of ``shape`` (T, H, W) at a time, float32,
    in one buffer (see ``Family.blocks``): every draw is made before the first block, so the blocks
    do not change the stream.

    ``temporal="independent"`` gives every frame its own offsets and permutation
    (``"evolving"`` and ``"static"`` share them, and time moves along the third
    noise axis by ``1 / time_scale`` per frame). ``basis`` is ``"perlin"`` or
    ``"simplex"``; ``periodic`` tiles the canvas (perlin basis only).
    """
    n_t, n_h, n_w = shape
    n_sets = n_t if temporal == "independent" else 1
    if periodic:  # whole lattice cells across the frame
        base_y, base_x = max(1, round(n_h / scale)), max(1, round(n_w / scale))
        step_y, step_x = base_y / n_h, base_x / n_w
    else:
        base_y = base_x = 0
        step_y = step_x = 1.0 / scale
    uniforms = rng.random((n_sets, octaves, 3))
    perm = np.argsort(rng.random((n_sets, 256)), axis=1)  # in numpy: Numba's sort is slow to compile
    buffer = np.empty((min(frames, n_t), n_h, n_w), dtype=np.float32)
    for first in range(0, n_t, frames):
        n = min(frames, n_t - first)
        sets = slice(first, first + n) if n_sets > 1 else slice(0, 1)
        yield _fractal_field(
            buffer[:n],
            uniforms[sets],
            perm[sets],
            step_y,
            step_x,
            base_y,
            base_x,
            float(time_scale),
            temporal == "independent",
            float(persistence),
            basis == "simplex",
            first,
        )
