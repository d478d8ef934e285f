"""Patch masks: a grid of patches hidden in random order, as in MAE and VideoMAE.

MAE (He et al. 2022, github.com/facebookresearch/mae) hides a random subset of a
ViT's patches: it draws a score per patch and keeps the lowest (an ``argsort``);
VideoMAE (Tong et al. 2022) hides the same patches in every frame ("tube"
masking: ``temporal="static"`` here). The field is ``rank + q``: ``rank`` is the
patch's place in the random order of its frame, ``q`` in [0, 1) the place of the
pixel inside its patch, in a spiral from the patch's centre outwards. A cut at
any pixel count therefore hides the first whole patches and, of the next one, a
centred square (the spiral's first pixels), so the coverage is exact to the pixel.

``offset="random"`` shifts the grid by a random whole number of pixels in each
direction (patches at the canvas' edges are cut by it), so no pixel is favoured;
``offset="aligned"`` starts the grid at the top-left corner, aligned with a ViT
tokenizer. In an evolving video each patch's score drifts as a stationary
Gaussian (AR(1)) process with a correlation time of ``time_scale`` frames, so
patches enter and leave the mask one by one.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import _validate
from .._jit import kernel
from .._torus import lowest_first
from ._docs import shared_parameters
from ._engine import generate
from ._family import Family, signature_defaults, whole_field

__all__ = ["patches"]

_OFFSETS = ("random", "aligned")
_MAX_PATCH = 4096
_DISTINCT = 1 << 22  # ranks x places below which every rank + place is a distinct float32
_PLACE_ROWS = 64  # patch heights up to which the field kernel keeps the places of every row of a patch


@shared_parameters
def patches(
    shape: tuple[int, ...],
    coverage: float,
    *,
    rng: Any = None,
    match: str = "frame",
    temporal: str = "evolving",
    region: np.ndarray | None = None,
    patch: int | tuple[int, int] = 16,
    offset: str = "random",
    time_scale: float = 8.0,
) -> np.ndarray:
    """Random patch-grid occlusion mask (MAE / VideoMAE masking) at an exact coverage.

    Parameters
    ----------
    %(shape)s
    %(coverage)s
        When it is not a whole number of patches, the next patch in the order is
        hidden partly: a centred square growing in a spiral.
    %(rng)s
    %(match)s
    %(temporal)s
        ``"evolving"``: patch scores drift; ``"static"``: the same patches in every
        frame (VideoMAE's tube masking); ``"independent"``: a new order (and grid
        offset) per frame.
    patch : int or (int, int), default 16
        Patch height and width in pixels (1-4096), 16 as in ViT-B/16.
    offset : {"random", "aligned"}, default "random"
        ``"random"``: the grid is shifted by a random number of pixels, so every
        pixel is equally likely hidden; ``"aligned"``: the grid starts at pixel
        (0, 0), as a ViT tokenizer's.
    time_scale : float, default 8.0
        Correlation time of the drifting patch scores, in frames (> 0).
    %(region)s

    Returns
    -------
    ndarray of bool, shape ``shape``

    Examples
    --------
    >>> import occmask as om
    >>> m = om.patches((4, 64, 64), coverage=0.25, patch=16, offset="aligned", rng=0)
    >>> int(m[0].sum()), int(m[0].reshape(4, 16, 4, 16).all(axis=(1, 3)).sum())  # 4 whole patches
    (1024, 4)
    """
    return generate("patches", **locals())


def _check(params: dict[str, Any]) -> dict[str, Any]:
    value = params["patch"]
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"patch must be an integer or a (height, width) pair, got {value!r}")
        sides = tuple(
            _validate.integer(f"patch[{i}]", v, low=1, high=_MAX_PATCH) for i, v in enumerate(value)
        )
    else:
        side = _validate.integer("patch", value, low=1, high=_MAX_PATCH)
        sides = (side, side)
    params["patch"] = sides
    params["offset"] = _validate.choice("offset", params["offset"], _OFFSETS)
    params["time_scale"] = _validate.number(
        "time_scale", params["time_scale"], low=0.0, high=1e6, low_open=True
    )
    return params


@functools.lru_cache(maxsize=64)
def patch_spiral(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Place of every pixel of a patch, ``(height, width)`` float64 in [0, 1): a spiral from its
    centre; and the pixels (flat indices) in that order.

    Pixels are ordered by how far the patch must grow about its centre to reach
    them (``max(|dy| / height, |dx| / width)``), then by angle.
    """
    dy = np.arange(height)[:, None] + 0.5 - height / 2.0
    dx = np.arange(width)[None, :] + 0.5 - width / 2.0
    ring = np.maximum(np.abs(dy) / height, np.abs(dx) / width)
    angle = np.arctan2(dy, dx)
    order = np.lexsort((angle.ravel(), ring.ravel()))
    place = np.empty(height * width)
    place[order] = np.arange(height * width) / (height * width)
    grid = place.reshape(height, width)
    grid.flags.writeable = order.flags.writeable = False
    return grid, order


@kernel
def _drift(scores: np.ndarray, rho: float) -> np.ndarray:
    """Let ``scores`` (frames, patches) drift from frame to frame as an AR(1) process with
    correlation ``rho`` and stationary N(0, 1) values (in place)."""
    step = math.sqrt(1.0 - rho * rho)
    for t in range(1, scores.shape[0]):
        for p in range(scores.shape[1]):
            scores[t, p] = rho * scores[t - 1, p] + step * scores[t, p]
    return scores


@kernel
def _patch_field(
    out: np.ndarray, offsets: np.ndarray, order: np.ndarray, place: np.ndarray, spiral: np.ndarray, need: int
) -> np.ndarray:
    """``out[t, i, j] = rank + place[y % ph, x % pw]`` at ``(y, x) = (i, j) + offsets[s]``, the rank
    being the place of the patch ``(y // ph, x // pw)`` in ``order[t]`` (the patches of frame
    ``t``, (grid_h, grid_w) flattened, in rank order).

    ``s = t`` with one offset per frame, else 0. With ``need >= 0`` (values all
    distinct in float32), only each frame's ``need`` lowest values are written,
    ``+inf`` elsewhere: the patches in rank order while they fit, then the lowest
    places of the next one (:func:`_cutoffs`; ``spiral``: a patch's pixels in place
    order).
    """
    n_t, n_h, n_w = out.shape
    ph, pw = place.shape
    n_sets, n_patches = offsets.shape[0], order.shape[1]
    grid_w = n_patches // -(-(n_h + ph - 1) // ph)
    ranks = np.empty(n_patches)
    cutoff = np.full(n_patches, 2.0)  # the highest place written per patch (all: places are < 1)
    # each canvas row is one vectorised loop over three rows of n_w values: the rank and cutoff of
    # each pixel's patch (made once per row of patches) and each pixel's place in its patch (the
    # places' rows of a patch are kept while they are few: _PLACE_ROWS)
    rank, highest = np.empty(n_w), np.empty(n_w)
    kept = ph <= _PLACE_ROWS
    places = np.empty((ph if kept else 1, n_w))
    for t in range(n_t):
        for r in range(n_patches):
            ranks[order[t, r]] = r
        s = t if n_sets > 1 else 0
        if s == t:  # a new grid (one per frame, or the first frame's for all)
            for py in range(ph if kept else 0):
                _place_row(place[py], offsets[s, 1], places[py])
        if need >= 0:
            _cutoffs(order[t], need, offsets[s], n_h, n_w, place, spiral, cutoff.reshape(-1, grid_w))
        patch_row = -1
        for i in range(n_h):
            y = i + offsets[s, 0]
            if y // ph != patch_row:  # a new row of patches: its runs of pw columns
                patch_row, j, width = y // ph, 0, pw - offsets[s, 1] % pw
                for patch in range(patch_row * grid_w, (patch_row + 1) * grid_w):
                    for q in range(j, min(j + width, n_w)):
                        rank[q], highest[q] = ranks[patch], cutoff[patch]
                    j, width = j + width, pw
            if not kept:
                _place_row(place[y % ph], offsets[s, 1], places[0])
            at, line = places[y % ph if kept else 0], out[t, i]
            for j in range(n_w):
                line[j] = rank[j] + at[j] if at[j] <= highest[j] else np.inf
    return out


@kernel
def _place_row(place_row: np.ndarray, offset: int, out: np.ndarray) -> None:
    """The places of a canvas row's pixels (``out``) from a row of a patch's places, for a grid
    shifted by ``offset`` columns (a column's place counted on, not divided out: a division per
    pixel took most of the field's time)."""
    width = place_row.shape[0]
    q = offset % width
    for j in range(out.shape[0]):
        out[j] = place_row[q]
        q = q + 1 if q + 1 < width else 0


@kernel
def _cutoffs(
    order: np.ndarray,
    need: int,
    offset: np.ndarray,
    n_h: int,
    n_w: int,
    place: np.ndarray,
    spiral: np.ndarray,
    cutoff: np.ndarray,
) -> None:
    """Per patch (``cutoff``: (grid_h, grid_w)), the highest place of a frame's ``need`` lowest
    values: 2 (all) for the patches that fit in rank order (``order``), the place of the
    ``m``-th of its pixels inside the canvas in ``spiral`` order for the next one, which holds
    the last ``m`` values, and -1 (none) for the others."""
    ph, pw = place.shape
    grid_w = cutoff.shape[1]
    cutoff[:] = -1.0
    covered, r = 0, 0
    while need > 0:
        p = order[r]
        row, col = p // grid_w, p % grid_w
        # the patch's rows and columns inside the canvas (the grid starts `offset` before it)
        y0, y1 = max(0, row * ph - offset[0]), min(n_h, (row + 1) * ph - offset[0])
        x0, x1 = max(0, col * pw - offset[1]), min(n_w, (col + 1) * pw - offset[1])
        inside = max(0, y1 - y0) * max(0, x1 - x0)
        if covered + inside == need:  # the last patch, whole: all its places
            cutoff[row, col] = 2.0
            return
        if covered + inside > need:  # the last patch: its first need - covered pixels inside
            for pixel in spiral:
                py, px = pixel // pw, pixel % pw
                if y0 <= row * ph + py - offset[0] < y1 and x0 <= col * pw + px - offset[1] < x1:
                    covered += 1
                    if covered == need:
                        cutoff[row, col] = place[py, px]
                        return
        cutoff[row, col] = 2.0
        covered += inside
        r += 1


def _grid(shape: tuple[int, int, int], patch: tuple[int, int]) -> tuple[int, int]:
    """Rows and columns of patches of the grid: room for any offset (the last ones lie partly or,
    when aligned, wholly outside the canvas)."""
    return -(-(shape[1] + patch[0] - 1) // patch[0]), -(-(shape[2] + patch[1] - 1) // patch[1])


def _distinct(shape: tuple[int, int, int], patch: tuple[int, int]) -> bool:
    """Whether float32 keeps every rank + place of the field apart (not on huge grids): then a
    cut need only the needed values."""
    grid_h, grid_w = _grid(shape, patch)
    return grid_h * grid_w * patch[0] * patch[1] <= _DISTINCT


def _scores(
    shape: tuple[int, int, int],
    rng: np.random.Generator,
    temporal: str,
    patch: tuple[int, int],
    time_scale: float,
) -> np.ndarray:
    """A Gaussian score per patch of every frame, (T, patches) over the grid (:func:`_grid`)
    flattened, drifting when evolving: each frame's patches are hidden in the order of their
    scores."""
    grid_h, grid_w = _grid(shape, patch)
    scores = rng.standard_normal((shape[0], grid_h * grid_w))
    if temporal == "evolving" and shape[0] > 1:  # AR(1) scores with correlation exp(-lag / time_scale)
        _drift(scores, math.exp(-1.0 / time_scale))
    return scores


def _mask(
    shape: tuple[int, int, int],
    rng: np.random.Generator,
    temporal: str,
    need: int,
    *,
    patch: tuple[int, int],
    offset: str,
    time_scale: float,
) -> np.ndarray | None:
    """The mask that a cut of the field at ``need`` pixels per frame gives, made without the field
    where it is a set of whole patches (MAE's setting): an aligned grid whose patches tile the frame
    and ``need`` a whole number of patches. Then the mask (T, H, W) bool is, in each frame, the
    ``need / (ph pw)`` patches of lowest score, from the same draws (scores are distinct almost
    surely); elsewhere None, with ``rng`` untouched."""
    _n_t, n_h, n_w = shape
    ph, pw = patch
    if offset != "aligned" or n_h % ph or n_w % pw or need % (ph * pw) or not _distinct(shape, patch):
        return None
    scores = _scores(shape, rng, temporal, patch, time_scale)
    return _whole_patches(
        scores, need // (ph * pw), ph, pw, _grid(shape, patch)[1], np.empty(shape, np.bool_)
    )


@kernel
def _whole_patches(
    scores: np.ndarray, count: int, ph: int, pw: int, grid_w: int, out: np.ndarray
) -> np.ndarray:
    """In each frame ``t`` of ``out`` (T, H, W) bool, the ``count`` patches of lowest score
    (``scores[t]``, over a grid of rows of ``grid_w`` patches aligned with the canvas, which its
    whole patches tile) among those inside the canvas: the ``count``-th lowest score found by
    selection, the patches marked in a grid, then each row of patches written as one canvas row
    and copied to the patch's other rows."""
    n_t, n_h, n_w = out.shape
    tiles_h, tiles_w = n_h // ph, n_w // pw
    inside = np.empty(tiles_h * tiles_w)
    values = np.empty(tiles_h * tiles_w)
    for t in range(n_t):
        for row in range(tiles_h):
            for col in range(tiles_w):
                inside[row * tiles_w + col] = scores[t, row * grid_w + col]
        values[:] = inside
        highest = _kth_lowest(values, count - 1) if count > 0 else -np.inf
        for row in range(tiles_h):
            first = out[t, row * ph]
            for col in range(tiles_w):
                first[col * pw : (col + 1) * pw] = inside[row * tiles_w + col] <= highest
            for i in range(row * ph + 1, (row + 1) * ph):
                out[t, i] = first
    return out


@kernel
def _kth_lowest(values: np.ndarray, k: int) -> float:
    """The ``k``-th lowest of ``values`` (from 0); ``values`` is reordered."""
    if k == values.size - 1:
        return values.max()
    lowest_first(values, k + 1)
    return values[k]


def _blocks(
    shape: tuple[int, int, int],
    rng: np.random.Generator,
    temporal: str,
    need: int | None,
    frames: int,
    *,
    patch: tuple[int, int],
    offset: str,
    time_scale: float,
) -> Iterator[np.ndarray]:
    """The patch field, ``frames`` frames at a time (:attr:`occmask.Family.blocks`): every frame's
    scores are drawn and ranked first (a few numbers per frame), then each block is written."""
    n_t, n_h, n_w = shape
    ph, pw = patch
    n_sets = n_t if temporal == "independent" else 1
    offsets = np.zeros((n_sets, 2), np.int64)
    if offset == "random":
        offsets[:, 0], offsets[:, 1] = rng.integers(0, ph, n_sets), rng.integers(0, pw, n_sets)
    # ranked in numpy: Numba's sort is slow to compile
    order = np.argsort(_scores(shape, rng, temporal, patch, time_scale), axis=1)
    exact = need is not None and _distinct(shape, patch)
    buffer = np.empty((min(frames, n_t), n_h, n_w), np.float32)
    for first in range(0, n_t, frames):
        n = min(frames, n_t - first)
        sets = slice(first, first + n) if n_sets > 1 else slice(0, 1)
        yield _patch_field(
            buffer[:n], offsets[sets], order[first : first + n], *patch_spiral(ph, pw), need if exact else -1
        )


_field = whole_field(_blocks)


FAMILY = Family(
    name="patches",
    summary="a patch grid hidden in random order: MAE random masking, VideoMAE tubes",
    defaults=signature_defaults(patches),  # the public function's keyword defaults
    check=_check,
    field=_field,
    colour="#000000",
    blocks=_blocks,
    mask=_mask,
)
