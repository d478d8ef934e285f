"""Rectangle masks: axis-aligned boxes dropped one after another.

The geometry of Cutout (DeVries & Taylor 2017), Random Erasing (Zhong et al.
2020) and albumentations' CoarseDropout: boxes with a side length (the square
root of their area) drawn log-uniformly from ``size`` and an aspect ratio
(height / width) drawn log-uniformly from ``aspect``, centred uniformly on a
torus so that no part of the frame is favoured. The priority of a pixel is
``n + s``, where ``n`` is the index of the first box that covers it and ``s`` in
[0, 1] the scale (about that box's centre) at which it is covered, so a cut is
"the first n boxes, plus box n+1 shrunk about its centre". Within a box, pixels
at the same scale are ordered by the scale along the other axis, so the last box
grows from the middle of its sides towards its corners. In a video every box
translates with its own velocity.
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

__all__ = ["rectangles"]

_SIDE_TIE = 1e-3  # weight of the other axis' scale, which orders pixels on one side of a shrunk box
_SIDE_NORM = 1.0 / (1.0 + _SIDE_TIE)  # keeps a scale in [0, 1]
#: Uniform numbers per box: centre (2), side length, aspect ratio, heading, speed.
_UNIFORMS = 6


@shared_parameters
def rectangles(
    shape: tuple[int, ...],
    coverage: float,
    *,
    rng: Any = None,
    match: str = "frame",
    temporal: str = "evolving",
    region: np.ndarray | None = None,
    size: float | tuple[float, float] = (8.0, 24.0),
    aspect: float | tuple[float, float] = (0.5, 2.0),
    speed: float = 1.0,
) -> np.ndarray:
    """Random-box occlusion mask at an exact coverage (Cutout / Random Erasing geometry).

    Parameters
    ----------
    %(shape)s
    %(coverage)s
    %(rng)s
    %(match)s
    %(temporal)s
        ``"evolving"``: boxes translate from frame to frame; ``"independent"``:
        new boxes every frame.
    size : float or (float, float), default (8, 24)
        Side length in pixels, the square root of a box's area, drawn
        log-uniformly from the range (in [1, 1e6]).
    aspect : float or (float, float), default (0.5, 2)
        Height / width, drawn log-uniformly from the range (in [0.01, 100]).
    speed : float, default 1.0
        Largest speed in pixels per frame, in [0, 1e4]; each box draws a speed in
        ``[0, speed]`` and a uniform direction.
    %(region)s

    Returns
    -------
    ndarray of bool, shape ``shape``

    Examples
    --------
    >>> import occmask as om
    >>> m = om.rectangles((6, 64, 64), coverage=0.3, size=(10, 20), rng=0)
    >>> m.shape, int(m[0].sum())
    ((6, 64, 64), 1229)
    """
    return generate("rectangles", **locals())


def _check(params: dict[str, Any]) -> dict[str, Any]:
    params["size"] = _validate.number_range("size", params["size"], low=1.0, high=1e6)
    params["aspect"] = _validate.number_range("aspect", params["aspect"], low=0.01, high=100.0)
    params["speed"] = _validate.number("speed", params["speed"], low=0.0, high=_torus.MAX_SPEED)
    return params


@kernel
def _draw(
    out: np.ndarray,
    centers: np.ndarray,
    halves: np.ndarray,
    velocity: np.ndarray,
    first_index: float,
    moving: bool,
    stop: int,
    first_frame: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw a batch of boxes into the uncovered pixels of ``out`` (T, H, W).

    ``out`` holds ``inf`` where no earlier box covered the pixel; its frame ``t``
    is frame ``first_frame + t`` of the field, with the batch ``s = first_frame + t``
    (one batch per frame) or ``s = 0`` (shared, moving with ``velocity`` when
    ``moving``). Box ``k`` has half-height and half-width ``halves[s, k]``; a
    pixel at offset ``(dy, dx)`` from its centre is covered at scale
    ``max(|dy| / hh, |dx| / hw)``. A frame is done once at most ``stop``
    pixels are uncovered. Returns the number of pixels still uncovered per frame, and the
    index of the last shape drawn in each frame (-1 where none was).
    """
    n_t, n_h, n_w = out.shape
    n_sets, n_box = centers.shape[0], centers.shape[1]
    remaining = np.zeros(n_t, np.int64)
    last = np.full(n_t, -1.0)
    for t in range(n_t):
        s = first_frame + t if n_sets > 1 else 0
        time = float(first_frame + t) if moving else 0.0
        left = 0
        for i in range(n_h):
            for j in range(n_w):
                if out[t, i, j] == np.inf:
                    left += 1
        for k in range(n_box):
            if left <= stop:
                break
            last[t] = first_index + k
            cy = (centers[s, k, 0] + velocity[s, k, 0] * time) % n_h
            cx = (centers[s, k, 1] + velocity[s, k, 1] * time) % n_w
            hh, hw = halves[s, k, 0], halves[s, k, 1]
            across = 1.0 / hw  # a product per pixel, not a division (the same float32 values)
            y_first, y_count, y_all = _span(cy, hh, n_h)
            x_first, x_count, x_all = _span(cx, hw, n_w)
            index = first_index + k
            for a in range(y_count):
                row = (y_first + a) % n_h
                dy = _wrap_offset(row, cy, n_h) if y_all else y_first + a - cy
                sy = abs(dy) / hh
                if sy > 1.0:
                    continue
                line = out[t, row]
                col = (x_first % n_w) - 1  # advanced by comparison, not modulo (slow)
                for b in range(x_count):
                    col = col + 1 if col + 1 < n_w else 0
                    if line[col] != np.inf:
                        continue
                    dx = _wrap_offset(col, cx, n_w) if x_all else x_first + b - cx
                    sx = abs(dx) * across
                    if sx > 1.0:
                        continue
                    scale = (max(sy, sx) + _SIDE_TIE * min(sy, sx)) * _SIDE_NORM
                    line[col] = index + scale
                    left -= 1
        remaining[t] = left
    return remaining, last


@kernel
def _boxes(
    u: np.ndarray, n_h: int, n_w: int, size: tuple[float, float], aspect: tuple[float, float], speed: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centres (..., 2), half-sizes (..., 2) as (y, x) and velocities (..., 2) from uniforms ``u``
    (sets, n, 6): side and aspect ratio log-uniform in their ranges, a uniform heading."""
    n_sets, n = u.shape[0], u.shape[1]
    centers = np.empty((n_sets, n, 2))
    halves = np.empty((n_sets, n, 2))
    velocity = np.empty((n_sets, n, 2))
    for s in range(n_sets):
        for k in range(n):
            w = u[s, k]
            centers[s, k, 0], centers[s, k, 1] = w[0] * n_h, w[1] * n_w
            side = size[0] * (size[1] / size[0]) ** w[2]
            root = math.sqrt(aspect[0] * (aspect[1] / aspect[0]) ** w[3])
            halves[s, k, 0], halves[s, k, 1] = 0.5 * side * root, 0.5 * side * (1.0 / root)
            heading, pace = 2.0 * math.pi * w[4], speed * w[5]
            velocity[s, k, 0], velocity[s, k, 1] = pace * math.sin(heading), pace * math.cos(heading)
    return centers, halves, velocity


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
) -> Iterator[np.ndarray]:
    """The boxes' field, ``frames`` frames at a time (:attr:`occmask.Family.blocks`)."""
    lo, hi = size
    mean_area = lo * lo if hi == lo else (hi * hi - lo * lo) / (2.0 * math.log(hi / lo))

    def geometry(u: np.ndarray) -> tuple[np.ndarray, ...]:
        return _boxes(u, shape[1], shape[2], size, aspect, speed)

    return _torus.drop(shape, rng, temporal, need, frames, _UNIFORMS, mean_area, geometry, _draw)


_field = whole_field(_blocks)


FAMILY = Family(
    name="rectangles",
    summary="axis-aligned boxes in draw order: Cutout / Random Erasing / CoarseDropout",
    defaults=signature_defaults(rectangles),  # the public function's keyword defaults
    check=_check,
    field=_field,
    blocks=_blocks,
    colour="#D55E00",
)
