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
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .. import _torus, _validate
from .._jit import kernel
from .._torus import lowest_first
from .._torus import span as _span
from .._torus import wrap_offset as _wrap_offset
from ._docs import shared_parameters
from ._engine import generate
from ._family import Family, signature_defaults, whole_field

__all__ = ["rectangles"]

SIDE_TIE = 1e-3  # weight of the other axis' scale, which orders pixels on one side of a shrunk box
SIDE_NORM = 1.0 / (1.0 + SIDE_TIE)  # keeps a scale in [0, 1]
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
    ``moving``: :func:`_centre`). A pixel at offset ``(dy, dx)`` from a box's
    centre is covered at scale ``max(|dy| / hh, |dx| / hw)`` (:func:`_axis`), its
    value the box's index plus :func:`_scale`. A frame is done once at most
    ``stop`` pixels are uncovered. Returns the number of pixels still uncovered per
    frame, and the index of the last shape drawn in each frame (-1 where none was).
    """
    n_t, n_h, n_w = out.shape
    rows, row_scales = np.empty(n_h, np.int64), np.empty(n_h)  # what a box covers (_axis)
    cols, col_scales = np.empty(n_w, np.int64), np.empty(n_w)
    remaining = np.zeros(n_t, np.int64)
    last = np.full(n_t, -1.0)
    for t in range(n_t):
        frame = first_frame + t
        s = frame if centers.shape[0] > 1 else 0
        time = float(frame) if moving else 0.0
        left = 0
        for i in range(n_h):
            for j in range(n_w):
                if out[t, i, j] == np.inf:
                    left += 1
        for k in range(centers.shape[1]):
            if left <= stop:
                break
            index = first_index + k
            last[t] = index
            cy, cx = _centre(
                centers[s, k, 0], centers[s, k, 1], velocity[s, k, 0], velocity[s, k, 1], time, n_h, n_w
            )
            n_rows = _axis(cy, halves[s, k, 0], n_h, False, rows, row_scales)
            n_cols = _axis(cx, halves[s, k, 1], n_w, True, cols, col_scales)
            for a in range(n_rows):
                line, sy = out[t, rows[a]], row_scales[a]
                for b in range(n_cols):
                    col = cols[b]
                    if line[col] == np.inf:
                        line[col] = index + _scale(sy, col_scales[b])
                        left -= 1
        remaining[t] = left
    return remaining, last


#: A box in one frame, as the kernels pass it: its index, centre (y, x) and half-sides (y, x).
_BOX = 5


@kernel
def _centre(
    cy: float, cx: float, vy: float, vx: float, time: float, n_h: int, n_w: int
) -> tuple[float, float]:
    """The centre (y, x) at ``time`` (in frames) of a box centred on ``(cy, cx)`` at time 0 with
    velocity ``(vy, vx)``, on the torus (scalars: a call with arrays costs more than the work)."""
    return (cy + vy * time) % n_h, (cx + vx * time) % n_w


@kernel
def _axes(n_h: int, n_w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Room for what two boxes cover (:func:`_cover`), in two slots: their rows, the rows'
    scales, their columns, the columns' scales and the columns' runs."""
    return (
        np.empty((2, n_h), np.int64),
        np.empty((2, n_h)),
        np.empty((2, n_w), np.int64),
        np.empty((2, n_w)),
        np.empty((2, n_w, 2), np.int64),
    )


@kernel
def _cover(
    box: np.ndarray,
    n_h: int,
    n_w: int,
    rows: np.ndarray,
    row_scales: np.ndarray,
    cols: np.ndarray,
    col_scales: np.ndarray,
    runs: np.ndarray,
) -> tuple[int, int, int]:
    """The rows and the columns that a box (``_BOX`` values) covers, into ``rows`` and ``cols``,
    with the scale at which it covers each into ``row_scales`` and ``col_scales``: ``|dy| / hh``
    for a row, ``|dx| * (1 / hw)`` for a column (:func:`_axis`); and the columns as runs of
    consecutive pixels, ``(first, stop)`` pairs, into ``runs``. The box covers every pixel of a
    covered row and a covered column. Returns the numbers of rows, columns and runs."""
    n_rows = _axis(box[1], box[3], n_h, False, rows, row_scales)
    n_cols = _axis(box[2], box[4], n_w, True, cols, col_scales)
    n_runs = 0
    for pixel in cols[:n_cols]:
        if n_runs > 0 and pixel == runs[n_runs - 1, 1]:
            runs[n_runs - 1, 1] += 1
        else:
            runs[n_runs, 0], runs[n_runs, 1] = pixel, pixel + 1
            n_runs += 1
    return n_rows, n_cols, n_runs


@kernel
def _axis(
    center: float, half: float, n: int, by_product: bool, pixels: np.ndarray, scales: np.ndarray
) -> int:
    """The pixels of a circle of ``n`` pixels within ``half`` of ``center`` (:func:`_span`), into
    ``pixels``, and the scale ``|offset| / half`` at which each is covered into ``scales`` (a
    product by ``1 / half`` with ``by_product``: not always the same float). Returns their number."""
    first, count, whole = _span(center, half, n)
    inverse = 1.0 / half
    pixel = first % n
    m = 0
    for a in range(count):
        offset = _wrap_offset(pixel, center, n) if whole else first + a - center
        scale = abs(offset) * inverse if by_product else abs(offset) / half
        if scale <= 1.0:
            pixels[m], scales[m] = pixel, scale
            m += 1
        pixel = pixel + 1 if pixel + 1 < n else 0  # counted on, not taken modulo (slow)
    return m


@kernel
def _scale(sy: float, sx: float) -> float:
    """A pixel's scale in its box from its row's and its column's: the larger, then the other
    (``SIDE_TIE``), in [0, 1]."""
    return (max(sy, sx) + SIDE_TIE * min(sy, sx)) * SIDE_NORM


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


#: What the mask shortcut writes into the pixels new to the last box painted (:func:`_paint`).
_NEW = 2
#: Mean area of a box (pixels) from which the mask shortcut paints: a box costs it a few calls more
#: than the field, so below about an 8 x 8 box (sides 4 to 12 pixels) it is no faster.
_PAINT_AREA = 64.0
#: Boxes the mask shortcut paints at most: float32 holds every integer up to 2**24, so up to there
#: a box's values (its index plus a scale) reach at most the next box's index (:func:`_last_box`).
_EXACT_BOXES = 1 << 24


def _mask(
    shape: tuple[int, int, int],
    rng: np.random.Generator,
    temporal: str,
    need: int,
    *,
    size: tuple[float, float],
    aspect: tuple[float, float],
    speed: float,
) -> np.ndarray | None:
    """The field's cut at ``need`` pixels per frame (:attr:`occmask.Family.mask`), painted without
    the field from the same boxes: in each frame the boxes in draw order while they cover fewer
    than ``need`` pixels, then of the box that reaches it the pixels the cut keeps (:func:`_paint`).
    The work is about the pixels the boxes cover, not a float32 field's four bytes a pixel, filled,
    trimmed and cut. None, with ``rng`` as it was, where boxes are smaller than ``_PAINT_AREA`` on
    average or would number more than ``_EXACT_BOXES``."""
    uniforms, mean_area, geometry = _shapes(shape, size, aspect, speed)
    if mean_area < _PAINT_AREA:
        return None
    state = rng.bit_generator.state
    out = np.zeros(shape, np.uint8)
    covered = np.zeros(shape[0], np.int64)
    previous = np.full((shape[0], _BOX), -1.0)  # per frame the last box painted (index -1: none yet)
    source = _torus.batches(shape, rng, temporal, need, uniforms, mean_area, geometry)
    while True:
        first, boxes = next(source)
        if first + boxes[0].shape[1] > _EXACT_BOXES:
            rng.bit_generator.state = state
            return None
        if _paint(out, *boxes, first, temporal == "evolving", need, covered, previous):
            return out.view(np.bool_)


@kernel
def _paint(
    out: np.ndarray,
    centers: np.ndarray,
    halves: np.ndarray,
    velocity: np.ndarray,
    first_index: float,
    moving: bool,
    need: int,
    covered: np.ndarray,
    previous: np.ndarray,
) -> bool:
    """Paint a batch of boxes (placed as :func:`_draw` places them) into the frames of ``out``
    (T, H, W) uint8 that have fewer than ``need`` pixels covered (``covered``), in draw order, up
    to the box that reaches ``need``, of which the pixels the field's cut keeps (:func:`_last_box`).

    ``out`` holds 0 where no box covers the pixel and 1 where one does, but for
    the pixels new to the last box painted, which hold ``_NEW`` (none of them lies
    in the box before), so that the new pixels of the last two boxes are known.
    ``previous[t]`` is the last box painted in frame ``t`` (``_BOX`` values, index
    -1 where none was). Once a frame is done it holds 0 and 1 only and
    ``covered[t]`` is ``need``. Returns whether every frame is done.
    """
    n_t, n_h, n_w = out.shape
    axes = _axes(n_h, n_w)
    rows, row_scales, cols, col_scales, runs = axes
    box = np.empty(_BOX)
    for t in range(n_t):
        frame, s = out[t], t if centers.shape[0] > 1 else 0
        time = float(t) if moving else 0.0
        slot, before = 0, (0, 0, 0)  # the box's slot of axes, and the box before's counts (other slot)
        if previous[t, 0] >= 0 and covered[t] < need:
            before = _cover(previous[t], n_h, n_w, rows[1], row_scales[1], cols[1], col_scales[1], runs[1])
        for k in range(centers.shape[1]):
            if covered[t] >= need:
                break
            cy, cx = _centre(
                centers[s, k, 0], centers[s, k, 1], velocity[s, k, 0], velocity[s, k, 1], time, n_h, n_w
            )
            box[0], box[1], box[2], box[3], box[4] = first_index + k, cy, cx, halves[s, k, 0], halves[s, k, 1]
            n_rows, n_cols, n_runs = _cover(
                box, n_h, n_w, rows[slot], row_scales[slot], cols[slot], col_scales[slot], runs[slot]
            )
            new = _recolour(frame, rows[slot, :n_rows], runs[slot, :n_runs], 0, _NEW)
            if covered[t] + new >= need:
                counts = (n_rows, n_cols, n_runs, new)
                _last_box(frame, need - covered[t], box, counts, previous[t], before, axes, slot)
                covered[t] = need
                break
            if previous[t, 0] >= 0:  # the box before's new pixels need be known no more
                p_rows, _, p_runs = before
                _recolour(frame, rows[1 - slot, :p_rows], runs[1 - slot, :p_runs], _NEW, 1)
            previous[t] = box
            covered[t] += new
            slot, before = 1 - slot, (n_rows, n_cols, n_runs)
    return bool((covered >= need).all())


@kernel
def _recolour(frame: np.ndarray, rows: np.ndarray, runs: np.ndarray, old: int, new: int) -> int:
    """Write ``new`` into the pixels of ``frame`` (H, W) at ``rows`` x the column runs ``runs``
    (``(first, stop)`` pairs) that hold ``old``. Returns their number."""
    was, becomes = np.uint8(old), np.uint8(new)  # the frame's type: the loop is vectorised
    count = 0
    for i in rows:
        for r in range(runs.shape[0]):
            run = frame[i, runs[r, 0] : runs[r, 1]]
            hits = 0
            for j in range(run.size):
                value = run[j]
                hit = value == was
                run[j] = becomes if hit else value
                hits += np.int32(hit)
            count += hits
    return count


@kernel
def _last_box(
    frame: np.ndarray,
    still: int,
    box: np.ndarray,
    counts: tuple[int, int, int, int],
    previous: np.ndarray,
    before: tuple[int, int, int],
    axes: tuple,
    slot: int,
) -> None:
    """Of the pixels new to ``box``, the box that brings a frame to its ``need`` pixels when
    ``still`` are missing, keep those the field's cut keeps, as :func:`occmask._torus._trim` does.

    The cut keeps the field's values below ``float32(index)`` of the box (the
    pixels of the boxes before it) and, of those from it up, the lowest (by value,
    then pixel index). These are the box's new pixels, and those new to the box
    before it (``previous``, index -1 where none was) whose value rounds up to
    ``float32(index)``: the only ones while the indices are below
    ``_EXACT_BOXES``. ``counts``: the box's rows, columns and column runs in slot
    ``slot`` of ``axes`` (:func:`_cover`), and its new pixels; ``before``: the
    rows, columns and runs of the box before, in the other slot.

    The values are put in as many buckets of equal width over ``[index, index + 1]``
    as there are candidates: those below the bucket of the cut are kept, those
    above it are not, and only those in it, a few, are ordered
    (:func:`occmask._torus.lowest_first`). Equal values share a bucket.
    """
    n_w = frame.shape[1]
    rows, row_scales, _, col_scales, runs = axes
    n_rows, n_cols, n_runs, new = counts
    low, new_pixel = box[0], np.uint8(_NEW)
    rounded = _rounded_up(frame, box, previous, before, axes, 1 - slot)
    m = new + rounded.size
    buckets = np.empty((n_rows, n_cols), np.int64)  # a new pixel's bucket; m for the others
    for a in range(n_rows):
        line, sy, b = frame[rows[slot, a]], row_scales[slot, a], 0
        for r in range(n_runs):
            run = line[runs[slot, r, 0] : runs[slot, r, 1]]
            scales, into = col_scales[slot, b : b + run.size], buckets[a, b : b + run.size]
            for j in range(run.size):  # branch-free: vectorised
                into[j] = _bucket(low + _scale(sy, scales[j]), low, m) if run[j] == new_pixel else m
            b += run.size
    sizes = np.zeros(m + 1, np.int64)
    sizes[0] = rounded.size  # the box before's candidates: the lowest value
    for bucket in buckets.reshape(-1):
        if bucket < m:
            sizes[bucket] += 1
    edge, below = 0, 0  # the bucket of the cut, and the candidates below it
    while below + sizes[edge] < still + rounded.size:
        below += sizes[edge]
        edge += 1
    keys = np.empty(sizes[edge], np.int64)  # of the edge bucket: the value's bits, then the pixel
    n = 0
    value = np.empty(1, np.float32)
    bits = value.view(np.uint32)
    for a in range(n_rows):
        line, sy, b = frame[rows[slot, a]], row_scales[slot, a], 0
        for r in range(n_runs):
            first = runs[slot, r, 0]
            run, into = line[first : runs[slot, r, 1]], buckets[a, b : b + runs[slot, r, 1] - first]
            for j in range(run.size):  # branch-free: vectorised
                kept = np.uint8(1) if into[j] < edge else np.uint8(0)
                run[j] = kept if (into[j] != edge) & (into[j] != m) else run[j]
            for j in range(run.size):
                if into[j] == edge:
                    value[0] = low + _scale(sy, col_scales[slot, b + j])
                    keys[n] = (np.int64(bits[0]) << 32) | (rows[slot, a] * n_w + first + j)
                    n += 1
            b += run.size
    flat = frame.reshape(-1)
    for place in rounded:
        if edge == 0:
            value[0] = low
            keys[n] = (np.int64(bits[0]) << 32) | place
            n += 1
        else:
            flat[place] = 1
    lowest_first(keys, still + rounded.size - below)
    for c in range(n):
        flat[keys[c] & 0xFFFFFFFF] = 1 if c < still + rounded.size - below else 0


@kernel
def _rounded_up(
    frame: np.ndarray,
    box: np.ndarray,
    previous: np.ndarray,
    counts: tuple[int, int, int],
    axes: tuple,
    slot: int,
) -> np.ndarray:
    """The pixels new to the box before ``box`` (``previous``, index -1 where none was; its
    rows, columns and runs ``counts`` in slot ``slot`` of ``axes``) whose value rounds up to
    ``float32(index)`` of ``box``, as places; its new pixels are set to 1."""
    n_w = frame.shape[1]
    if previous[0] < 0:
        return np.empty(0, np.int64)
    rows, row_scales, cols, col_scales, runs = axes
    n_rows, n_cols, n_runs = counts
    new_pixel, top = np.uint8(_NEW), np.float32(box[0])
    found = np.empty(0, np.int64)
    # where its highest value is below float32(index), none is
    if n_rows > 0 and n_cols > 0:
        highest = _scale(row_scales[slot, :n_rows].max(), col_scales[slot, :n_cols].max())
        if np.float32(previous[0] + highest) == top:
            found = np.empty(n_rows * n_cols, np.int64)
            n = 0
            for a in range(n_rows):
                line = frame[rows[slot, a]]
                for b in range(n_cols):
                    value = np.float32(previous[0] + _scale(row_scales[slot, a], col_scales[slot, b]))
                    if line[cols[slot, b]] == new_pixel and value == top:
                        found[n] = rows[slot, a] * n_w + cols[slot, b]
                        n += 1
            found = found[:n]
    _recolour(frame, rows[slot, :n_rows], runs[slot, :n_runs], new_pixel, 1)
    return found


@kernel
def _bucket(value: float, low: float, m: int) -> int:
    """The bucket of a value (float32) among ``m`` of equal width over ``[low, low + 1]``."""
    return min(int((np.float32(value) - low) * m), m - 1)


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
    return _torus.drop(shape, rng, temporal, need, frames, *_shapes(shape, size, aspect, speed), _draw)


def _shapes(
    shape: tuple[int, int, int], size: tuple[float, float], aspect: tuple[float, float], speed: float
) -> tuple[int, float, Callable[[np.ndarray], tuple[np.ndarray, ...]]]:
    """How the boxes of a field of ``shape`` are drawn (:func:`occmask._torus.batches`): uniforms
    per box, the mean area of a box, and the boxes of a batch's uniforms."""
    lo, hi = size
    mean_area = lo * lo if hi == lo else (hi * hi - lo * lo) / (2.0 * math.log(hi / lo))

    def geometry(u: np.ndarray) -> tuple[np.ndarray, ...]:
        return _boxes(u, shape[1], shape[2], size, aspect, speed)

    return _UNIFORMS, mean_area, geometry


_field = whole_field(_blocks)


FAMILY = Family(
    name="rectangles",
    summary="axis-aligned boxes in draw order: Cutout / Random Erasing / CoarseDropout",
    defaults=signature_defaults(rectangles),  # the public function's keyword defaults
    check=_check,
    field=_field,
    blocks=_blocks,
    colour="#D55E00",
    mask=_mask,
)
