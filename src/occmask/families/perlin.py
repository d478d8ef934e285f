"""Perlin masks: coherent blobs from fractal gradient noise.

The field is fractal (multi-octave) improved Perlin noise (Perlin 2002, "Improving
noise"), sampled on the pixel grid with a feature size of ``scale`` pixels. A
video samples 3-D noise whose third axis is time, so blobs drift and morph
smoothly; ``time_scale`` is the number of frames per noise period along time.
``basis="simplex"`` swaps the gradient noise for OpenSimplex noise from the
``opensimplex`` package (same points, same permutation). Every mask is placed at
a random continuous offset, so no pixel is favoured; ``periodic=True`` makes
the field tile the canvas seamlessly (the canvas is a torus).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit
from opensimplex.internals import _noise3 as _simplex3

from .. import _validate
from . import Family, generate

__all__ = ["perlin"]

_BASES = ("perlin", "simplex")
_SIMPLEX_GRADIENTS = 24  # opensimplex: len(GRADIENTS3) // 3


def perlin(
    shape: tuple[int, ...],
    coverage: float,
    *,
    rng: Any = None,
    match: str = "frame",
    temporal: str = "evolving",
    scale: float = 16.0,
    octaves: int = 3,
    persistence: float = 0.5,
    time_scale: float = 12.0,
    basis: str = "perlin",
    periodic: bool = False,
) -> np.ndarray:
    """Perlin-noise blob occlusion mask at an exact coverage.

    Parameters
    ----------
    shape : tuple of int
        ``(H, W)`` or ``(T, H, W)``.
    coverage : float
        Fraction of hidden pixels, in [0, 1].
    rng : None, int, SeedSequence or Generator
        Source of randomness (SPEC 7).
    match : {"frame", "video", "expected"}
        Coverage matching, see :func:`occmask.generate`.
    temporal : {"evolving", "static", "independent"}
        ``"evolving"`` samples 3-D noise (blobs morph over time).
    scale : float, default 16
        Feature size in pixels: the lattice spacing of the first octave (> 0).
    octaves : int, default 3
        Number of octaves (1-8); each doubles the frequency.
    persistence : float, default 0.5
        Amplitude ratio between successive octaves, in (0, 1]. Lower gives smoother edges.
    time_scale : float, default 12
        Frames per lattice unit along time (> 0); larger means slower change.
    basis : {"perlin", "simplex"}
        Gradient noise basis: improved Perlin noise or OpenSimplex (``opensimplex``).
    periodic : bool, default False
        Make the field tile the canvas (``basis="perlin"`` only). The lattice
        spacing is adjusted so a whole number of cells fits each side.

    Returns
    -------
    ndarray of bool, shape ``shape``

    Examples
    --------
    >>> import occmask as om
    >>> m = om.perlin((10, 64, 64), coverage=0.3, scale=12, rng=0)
    >>> m.shape, int(m[3].sum())
    ((10, 64, 64), 1229)
    """
    return generate(
        "perlin", shape, coverage, rng=rng, match=match, temporal=temporal, scale=scale,
        octaves=octaves, persistence=persistence, time_scale=time_scale, basis=basis, periodic=periodic,
    )


def _check(params: dict[str, Any]) -> dict[str, Any]:
    params["scale"] = _validate.number("scale", params["scale"], low=0.0, low_open=True)
    params["octaves"] = _validate.integer("octaves", params["octaves"], low=1, high=8)
    params["persistence"] = _validate.number("persistence", params["persistence"], low=0.0, high=1.0, low_open=True)
    params["time_scale"] = _validate.number("time_scale", params["time_scale"], low=0.0, low_open=True)
    params["basis"] = _validate.choice("basis", params["basis"], _BASES)
    if not isinstance(params["periodic"], (bool, np.bool_)):
        raise TypeError(f"periodic must be a bool, got {params['periodic']!r}")
    params["periodic"] = bool(params["periodic"])
    if params["periodic"] and params["basis"] != "perlin":
        raise ValueError(f"periodic=True needs basis='perlin', got basis={params['basis']!r}")
    return params


@njit(cache=True, nogil=True)
def _fade(t):
    return t * t * t * (t * (t * 6.0 - 15.0) + 10.0)


@njit(cache=True, nogil=True)
def _grad(h, x, y, z):
    """Dot product with one of Perlin's 12 edge gradients (reference implementation)."""
    h &= 15
    u = x if h < 8 else y
    if h < 4:
        v = y
    elif h == 12 or h == 14:
        v = x
    else:
        v = z
    return (u if (h & 1) == 0 else -u) + (v if (h & 2) == 0 else -v)


@njit(cache=True, nogil=True)
def _lattice(coord, period):
    """Lattice cell (both corners, wrapped to the period and the table) and offset in it."""
    cell = np.floor(coord)
    frac = coord - cell
    i0 = np.int64(cell)
    i1 = i0 + 1
    if period > 0:
        i0 %= period
        i1 %= period
    return i0 & 255, i1 & 255, frac


@njit(cache=True, nogil=True)
def _perlin3(p, x0, x1, xf, y0, y1, yf, z0, z1, zf):
    u, v, w = _fade(xf), _fade(yf), _fade(zf)
    a0, a1 = p[p[x0] + y0], p[p[x0] + y1]
    b0, b1 = p[p[x1] + y0], p[p[x1] + y1]
    g000 = _grad(p[a0 + z0], xf, yf, zf)
    g100 = _grad(p[b0 + z0], xf - 1.0, yf, zf)
    g010 = _grad(p[a1 + z0], xf, yf - 1.0, zf)
    g110 = _grad(p[b1 + z0], xf - 1.0, yf - 1.0, zf)
    g001 = _grad(p[a0 + z1], xf, yf, zf - 1.0)
    g101 = _grad(p[b0 + z1], xf - 1.0, yf, zf - 1.0)
    g011 = _grad(p[a1 + z1], xf, yf - 1.0, zf - 1.0)
    g111 = _grad(p[b1 + z1], xf - 1.0, yf - 1.0, zf - 1.0)
    x00 = g000 + u * (g100 - g000)
    x10 = g010 + u * (g110 - g010)
    x01 = g001 + u * (g101 - g001)
    x11 = g011 + u * (g111 - g011)
    y0v = x00 + v * (x10 - x00)
    y1v = x01 + v * (x11 - x01)
    return y0v + w * (y1v - y0v)


@njit(cache=True, nogil=True)
def _noise_field(out, xs, ys, zs, perms, simplex_grads, amps, periods, simplex):
    """Fractal noise on a grid, written into ``out`` (T, H, W).

    ``xs[s, o, j]``, ``ys[s, o, i]`` are lattice coordinates of column ``j`` / row
    ``i`` at octave ``o`` for pattern set ``s`` (one set shared by all frames, or
    one per frame); ``zs[o, t]`` is the time coordinate of frame ``t``;
    ``periods[o]`` the lattice period in x and y (0: not periodic).
    """
    n_t, n_h, n_w = out.shape
    n_sets = perms.shape[0]
    for t in range(n_t):
        s = t if n_sets > 1 else 0
        p = perms[s]
        out[t] = 0.0
        for o in range(amps.shape[0]):
            z0, z1, zf = _lattice(zs[o, t], 0)
            for i in range(n_h):
                y0, y1, yf = _lattice(ys[s, o, i], periods[o, 0])
                for j in range(n_w):
                    if simplex:
                        value = _simplex3(xs[s, o, j], ys[s, o, i], zs[o, t], p, simplex_grads[s])
                    else:
                        x0, x1, xf = _lattice(xs[s, o, j], periods[o, 1])
                        value = _perlin3(p, x0, x1, xf, y0, y1, yf, z0, z1, zf)
                    out[t, i, j] += amps[o] * value
    return out


def _field(
    shape: tuple[int, int, int],
    rng: np.random.Generator,
    temporal: str,
    *,
    scale: float,
    octaves: int,
    persistence: float,
    time_scale: float,
    basis: str,
    periodic: bool,
) -> np.ndarray:
    n_t, n_h, n_w = shape
    n_sets = n_t if temporal == "independent" else 1
    freq = 2.0 ** np.arange(octaves)
    if periodic:
        base = np.array([max(1, round(n_h / scale)), max(1, round(n_w / scale))], dtype=np.int64)
        periods = base[None, :] * freq.astype(np.int64)[:, None]
        step_y, step_x = base[0] / n_h, base[1] / n_w
        span = periods[None, :, :].astype(np.float64)
    else:
        periods = np.zeros((octaves, 2), dtype=np.int64)
        step_y = step_x = 1.0 / scale
        span = np.full((1, octaves, 2), 256.0)
    spans = np.concatenate([np.broadcast_to(span, (1, octaves, 2)), np.full((1, octaves, 1), 256.0)], axis=2)
    offsets = rng.random((n_sets, octaves, 3)) * spans
    ys = np.arange(n_h) * step_y * freq[None, :, None] + offsets[:, :, 0, None]
    xs = np.arange(n_w) * step_x * freq[None, :, None] + offsets[:, :, 1, None]
    frames = np.zeros(n_t) if temporal == "independent" else np.arange(n_t) / time_scale
    zs = frames[None, :] * freq[:, None] + offsets[np.arange(n_t) % n_sets, :, 2].T
    perm = np.argsort(rng.random((n_sets, 256)), axis=1)
    perms = np.concatenate([perm, perm], axis=1).astype(np.int64)
    simplex_grads = (perm % _SIMPLEX_GRADIENTS) * 3
    amps = persistence ** np.arange(octaves, dtype=np.float64)
    out = np.empty(shape, dtype=np.float32)
    return _noise_field(out, xs, ys, zs, perms, simplex_grads.astype(np.int64), amps, periods, basis == "simplex")


FAMILY = Family(
    name="perlin",
    summary="fractal gradient noise: smooth coherent blobs that drift and morph",
    defaults={
        "scale": 16.0,
        "octaves": 3,
        "persistence": 0.5,
        "time_scale": 12.0,
        "basis": "perlin",
        "periodic": False,
    },
    check=_check,
    field=_field,
)
