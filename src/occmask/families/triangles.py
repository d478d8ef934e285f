"""Triangle masks: random triangles dropped one after another.

Triangles are drawn in order with uniform random centroids on a torus (so no
part of the frame is favoured), a circumradius in ``size`` and an elongation in
``aspect``. The priority of a pixel is ``n + s``, where ``n`` is the index of the
first triangle that covers it and ``s`` in [0, 1] the scale (about that
triangle's centroid) at which it is covered. A cut is therefore "the first n
triangles, plus triangle n+1 shrunk about its centroid". In a video every
triangle translates with its own velocity and spins about its centroid.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import _torus, _validate
from .._jit import kernel
from .._torus import span as _span
from .._torus import wrap_offset as _wrap_offset
from ._docs import shared_parameters
from ._engine import generate
from ._family import Family, signature_defaults, whole_field

__all__ = ["triangles"]


@shared_parameters
def triangles(
    shape: tuple[int, ...],
    coverage: float,
    *,
    rng: Any = None,
    match: str = "frame",
    temporal: str = "evolving",
    region: np.ndarray | None = None,
    size: float | tuple[float, float] = (8.0, 24.0),
    aspect: float | tuple[float, float] = (1.0, 2.0),
    speed: float = 1.0,
    spin: float = 0.05,
) -> np.ndarray:
    """Random-triangle occlusion mask at an exact coverage.

    Parameters
    ----------
    %(shape)s
    %(coverage)s
    %(rng)s
    %(match)s
    %(temporal)s
        ``"evolving"``: triangles move and spin from frame to frame.
    size : float or (float, float), default (8, 24)
        Circumradius in pixels (centroid to farthest vertex), drawn uniformly from
        the range, in [1, 1e4].
    aspect : float or (float, float), default (1, 2)
        Elongation (>= 1), drawn uniformly from the range: the triangle is stretched
        by ``sqrt(aspect)`` along a random axis and squeezed across it. At most the
        smallest ``size``, so that every triangle is at least about a pixel across.
    speed : float, default 1.0
        Largest speed in pixels per frame, in [0, 1e4]; each triangle draws a speed in
        ``[0, speed]`` and a uniform direction.
    spin : float, default 0.05
        Largest angular speed in radians per frame, in [0, pi], drawn in ``[-spin, spin]``
        (a faster turn looks like a slower one the other way).
    %(region)s

    Returns
    -------
    ndarray of bool, shape ``shape``

    Examples
    --------
    >>> import occmask as om
    >>> m = om.triangles((6, 64, 64), coverage=0.3, size=(10, 20), rng=0)
    >>> m.shape, int(m[0].sum())
    ((6, 64, 64), 1229)
    """
    return generate("triangles", **locals())


#: Largest circumradius: a pixel step still changes the covering scale by about 1e-4, far above
#: float32's resolution of the priority (a larger triangle covers any canvas anyway).
MAX_SIZE = 1e4
#: Largest angular speed in radians per frame: half a turn (a faster turn is a slower one the other way).
MAX_SPIN = math.pi


def _check(params: dict[str, Any]) -> dict[str, Any]:
    params["size"] = _validate.number_range("size", params["size"], low=1.0, high=MAX_SIZE)
    params["aspect"] = _validate.number_range("aspect", params["aspect"], low=1.0)
    if params["aspect"][1] > params["size"][0]:  # the narrowest, about size / aspect across
        raise ValueError(
            f"aspect must be at most the smallest size, {params['size'][0]:g}, so that every triangle "
            f"is at least about a pixel across (size / aspect pixels), got aspect={params['aspect']}"
        )
    params["speed"] = _validate.number("speed", params["speed"], low=0.0, high=_torus.MAX_SPEED)
    params["spin"] = _validate.number("spin", params["spin"], low=0.0, high=MAX_SPIN)
    return params


@kernel
def _draw(
    out: np.ndarray,
    centers: np.ndarray,
    gauges: np.ndarray,
    reach: np.ndarray,
    velocity: np.ndarray,
    spin: np.ndarray,
    first_index: float,
    moving: bool,
    stop: int,
    first_frame: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw a batch of triangles into the uncovered pixels of ``out`` (T, H, W).

    ``out`` holds ``inf`` where no earlier triangle covered the pixel; its frame
    ``t`` is frame ``first_frame + t`` of the field, with the batch
    ``s = first_frame + t`` (one batch per frame) or ``s = 0`` (shared, moving
    with ``velocity`` and ``spin`` when ``moving``). A pixel at offset ``p`` from
    the centroid, rotated into the triangle's frame, is covered at scale
    ``max_k gauges[k] . p``; each row only tests the columns between the
    triangle's edges. A frame is done once at most ``stop`` pixels are
    uncovered. Returns the number of pixels still uncovered per frame, and the index
    of the last triangle drawn in each frame (-1 where none was).
    """
    n_t, n_h, n_w = out.shape
    n_sets, n_tri = centers.shape[0], centers.shape[1]
    remaining = np.zeros(n_t, np.int64)
    last = np.full(n_t, -1.0)
    along = np.empty(3)  # per edge: the rotated gauge's component along x, and where the edge
    base = np.empty(3)  # crosses a row at offset dy, as column b = base + slope * dy
    slope = np.empty(3)
    for t in range(n_t):
        s = first_frame + t if n_sets > 1 else 0
        time = float(first_frame + t) if moving else 0.0
        left = 0
        for i in range(n_h):
            for j in range(n_w):
                if out[t, i, j] == np.inf:
                    left += 1
        for k in range(n_tri):
            if left <= stop:
                break
            last[t] = first_index + k
            cy = (centers[s, k, 0] + velocity[s, k, 0] * time) % n_h
            cx = (centers[s, k, 1] + velocity[s, k, 1] * time) % n_w
            angle = spin[s, k] * time
            cos_a, sin_a = math.cos(angle), math.sin(angle)
            g = gauges[s, k]
            y_first, y_count, y_all = _span(cy, reach[s, k], n_h)
            x_first, x_count, x_all = _span(cx, reach[s, k], n_w)
            for e in range(3):  # g[e] . (py, px) = across * dy + along[e] * dx <= 1 inside
                across = g[e, 0] * cos_a + g[e, 1] * sin_a
                along[e] = g[e, 1] * cos_a - g[e, 0] * sin_a
                if abs(along[e]) > 1e-6:
                    base[e] = 1.0 / along[e] + cx - x_first
                    slope[e] = -across / along[e]
                else:  # (nearly) along x: left out, the columns stay a superset
                    along[e] = 0.0
            for a in range(y_count):
                row = (y_first + a) % n_h
                dy = _wrap_offset(row, cy, n_h) if y_all else y_first + a - cy
                b_first, b_last = 0, x_count - 1
                if not x_all:  # the columns inside all three edges, one pixel of slack for rounding
                    lo, hi = -1.0, float(x_count)
                    for e in range(3):
                        edge = base[e] + slope[e] * dy  # where along[e] != 0
                        if along[e] > 0.0:
                            hi = min(hi, edge)
                        elif along[e] < 0.0:
                            lo = max(lo, edge)
                    b_first, b_last = (
                        max(0, math.ceil(lo) - 1),
                        min(x_count - 1, math.floor(hi) + 1),
                    )
                line = out[t, row]
                col = (x_first + b_first) % n_w - 1  # advanced by comparison, not modulo (slow)
                for b in range(b_first, b_last + 1):
                    col = col + 1 if col + 1 < n_w else 0
                    if line[col] != np.inf:
                        continue
                    dx = _wrap_offset(col, cx, n_w) if x_all else x_first + b - cx
                    # rotate the offset by -angle into the triangle's own frame
                    py = cos_a * dy - sin_a * dx
                    px = sin_a * dy + cos_a * dx
                    scale = max(
                        g[0, 0] * py + g[0, 1] * px,
                        max(g[1, 0] * py + g[1, 1] * px, g[2, 0] * py + g[2, 1] * px),
                    )
                    if scale <= 1.0:
                        line[col] = first_index + k + max(scale, 0.0)
                        left -= 1
        remaining[t] = left
    return remaining, last


#: Uniform numbers per triangle: centre (2), radius, orientation, 3 angle jitters,
#: elongation, its axis, heading, speed, spin.
_UNIFORMS = 12


@kernel
def _geometry(
    u: np.ndarray,
    n_h: int,
    n_w: int,
    size: tuple[float, float],
    aspect: tuple[float, float],
    speed: float,
    spin: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Triangles from uniforms ``u`` (sets, n, 12): centres (sets, n, 2) as (y, x), gauge rows
    (sets, n, 3, 2), circumradii (sets, n), velocities (sets, n, 2) and spins (sets, n).

    A triangle's vertices start on the unit circle, a third of a turn apart with
    some jitter, are stretched along x by the square root of its elongation and
    rotated about its axis; centred on their centroid, they are scaled so that the
    farthest is at the radius. Gauge row ``e`` is the normal of edge ``e`` (from
    vertex ``e`` to the next), pointing away from the centroid, divided by the
    edge's distance from it: a pixel at offset ``p`` is inside at scale ``max_e g[e] . p``.
    """
    n_sets, n = u.shape[0], u.shape[1]
    centers = np.empty((n_sets, n, 2))
    gauges = np.empty((n_sets, n, 3, 2))
    reach = np.empty((n_sets, n))
    velocity = np.empty((n_sets, n, 2))
    spins = np.empty((n_sets, n))
    vy, vx = np.empty(3), np.empty(3)
    for s in range(n_sets):
        for k in range(n):
            w = u[s, k]
            centers[s, k, 0], centers[s, k, 1] = w[0] * n_h, w[1] * n_w
            radius = size[0] + (size[1] - size[0]) * w[2]
            stretch = math.sqrt(aspect[0] + (aspect[1] - aspect[0]) * w[7])
            cos_axis, sin_axis = math.cos(math.pi * w[8]), math.sin(math.pi * w[8])
            for e in range(3):
                angle = 2.0 * math.pi * w[3] + 2.0 * math.pi / 3.0 * e + (w[4 + e] - 0.5)
                ux, uy = math.cos(angle) * stretch, math.sin(angle) / stretch
                vy[e], vx[e] = uy * cos_axis + ux * sin_axis, ux * cos_axis - uy * sin_axis
            my, mx = (vy[0] + vy[1] + vy[2]) / 3.0, (vx[0] + vx[1] + vx[2]) / 3.0
            far = 0.0
            for e in range(3):
                vy[e] -= my
                vx[e] -= mx
                far = max(far, math.sqrt(vy[e] * vy[e] + vx[e] * vx[e]))
            for e in range(3):
                vy[e] *= radius / far
                vx[e] *= radius / far
            for e in range(3):
                ny, nx = vx[(e + 1) % 3] - vx[e], -(vy[(e + 1) % 3] - vy[e])  # perpendicular to the edge
                height = ny * vy[e] + nx * vx[e]  # normal . vertex on that edge
                sign = -1.0 if height < 0 else 1.0  # away from the centroid, strictly inside
                gauges[s, k, e, 0], gauges[s, k, e, 1] = sign * ny / abs(height), sign * nx / abs(height)
            reach[s, k] = radius
            heading, pace = 2.0 * math.pi * w[9], speed * w[10]
            velocity[s, k, 0], velocity[s, k, 1] = pace * math.sin(heading), pace * math.cos(heading)
            spins[s, k] = spin * (2.0 * w[11] - 1.0)
    return centers, gauges, reach, velocity, spins


def _blocks(
    shape: tuple[int, int, int],
    rng: np.random.Generator,
    temporal: str,
    need: int | None,
    frames: int,
    *,
    size: tuple[float, float],
    aspect: tuple[float, float],
    speed: float,
    spin: float,
) -> Iterator[np.ndarray]:
    """The triangles' field, ``frames`` frames at a time (:attr:`occmask.Family.blocks`)."""
    lo, hi = size
    mean_area = (lo * lo + lo * hi + hi * hi) / 3.0  # a jittered triangle covers ~1.0-1.3 r^2

    def geometry(u: np.ndarray) -> tuple[np.ndarray, ...]:
        return _geometry(u, shape[1], shape[2], size, aspect, speed, spin)

    return _torus.drop(shape, rng, temporal, need, frames, _UNIFORMS, mean_area, geometry, _draw)


_field = whole_field(_blocks)


FAMILY = Family(
    name="triangles",
    summary="random triangles in draw order: large convex occluders that move and spin",
    defaults=signature_defaults(triangles),  # the public function's keyword defaults
    check=_check,
    field=_field,
    blocks=_blocks,
    colour="#CC79A7",
)
