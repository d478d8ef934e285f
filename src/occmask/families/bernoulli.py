"""Bernoulli masks: every pixel hidden independently (missing at random).

The field is i.i.d. uniform noise, so a cut at ``k`` pixels is a uniformly random
set of ``k`` pixels. This is the classic dropout baseline: the most fragmented
geometry at any coverage. A video draws new noise for every frame (``"evolving"``
and ``"independent"`` are the same), or one frame for all (``"static"``).

An i.i.d. field is a uniformly random order of the pixels (a random permutation)
with sorted uniform values placed along it. So the field is built that way: each
frame's order is a Fisher–Yates shuffle, whose first ``k`` steps alone decide
which ``k`` pixels are hidden first. An exact cut per frame (``need`` pixels)
therefore runs ``need`` steps and never draws the values: the hidden pixels get
their ranks, the others ``+inf``. The shuffle's random numbers come from a
counter-based generator (SplitMix64; Steele, Lea & Flood 2014) keyed by a seed
drawn from ``rng``, so step ``r`` of frame ``t`` draws the same number whether
the shuffle stops after ``need`` steps or runs to the end. Frames of more than
``2**16`` pixels are i.i.d. uniform noise from the same stream, two values of
24 bits from each 64-bit number, cut like any field: there the shuffle's random
accesses miss the processor's caches, and drawing and cutting every pixel is
faster.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .._jit import kernel
from ._docs import shared_parameters
from ._engine import generate
from ._family import Family, whole_field

__all__ = ["bernoulli"]

#: Largest frame made by the shuffle (its scratch, of uint16, stays in the processor's caches);
#: larger frames are i.i.d. uniform noise (:func:`_uniform`).
_SHUFFLE_PIXELS = 1 << 16


@shared_parameters
def bernoulli(
    shape: tuple[int, ...],
    coverage: float,
    *,
    rng: Any = None,
    match: str = "frame",
    temporal: str = "evolving",
    region: np.ndarray | None = None,
) -> np.ndarray:
    """Bernoulli (i.i.d. pixel) occlusion mask at an exact coverage.

    Parameters
    ----------
    %(shape)s
    %(coverage)s
    %(rng)s
    %(match)s
        With ``"frame"`` each frame hides a uniformly random set of exactly ``k``
        pixels; with ``"expected"`` each pixel is hidden with probability
        ``coverage`` independently.
    %(temporal)s
        ``"evolving"`` and ``"independent"`` both draw a new pattern per frame.
    %(region)s

    Returns
    -------
    ndarray of bool, shape ``shape``

    Examples
    --------
    >>> import occmask as om
    >>> m = om.bernoulli((64, 64), coverage=0.3, rng=0)
    >>> int(m.sum())
    1229
    """
    return generate("bernoulli", **locals())


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@kernel
def _mix(z: np.uint64) -> np.uint64:
    """SplitMix64's output function: a well-mixed 64-bit value of a 64-bit counter."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@kernel
def _shuffle(key: np.uint64, steps: int, out: np.ndarray, first: int, order: np.ndarray) -> np.ndarray:
    """The first ``steps`` steps of a Fisher–Yates shuffle of every frame's pixels: in ``out`` (F, N)
    float32, frames ``first`` on, the pixel picked at step ``r`` gets ``r``, the others ``+inf``.
    ``order`` (N,) is scratch, of integers that hold every pixel index."""
    ranks = np.empty(steps, np.float32)  # one pass, no int64 temporary
    for r in range(steps):
        ranks[r] = r  # exact: steps <= _SHUFFLE_PIXELS
    for t in range(out.shape[0]):
        out[t] = np.inf
        _shuffle_frame(key, first + t, steps, ranks, order, out[t])
    return out


@kernel
def _shuffle_sorted(key: np.uint64, out: np.ndarray, first: int, order: np.ndarray) -> np.ndarray:
    """Place each frame of ``out`` (F, N) float32 (frames ``first`` on), sorted, along the frame's
    full shuffle, each value equal to the one before raised to just above it: the frame's pixels in
    a uniformly random order, the same values, and no ties. ``order`` (N,) is scratch."""
    for t in range(out.shape[0]):
        values = out[t].copy()
        for i in range(1, values.size):
            if values[i] <= values[i - 1]:
                values[i] = np.nextafter(values[i - 1], np.float32(np.inf))
        _shuffle_frame(key, first + t, values.size, values, order, out[t])
    return out


@kernel
def _shuffle_frame(
    key: np.uint64, t: int, steps: int, values: np.ndarray, order: np.ndarray, out: np.ndarray
) -> None:
    """The first ``steps`` steps of a Fisher–Yates shuffle of frame ``t``'s ``N`` pixels: the pixel
    picked at step ``r`` gets ``values[r]`` in ``out`` (N,).

    Step ``r`` picks uniformly among the ``N - r`` pixels not picked yet, with
    Lemire's multiply-shift and rejection (exact) on 32-bit draws of the
    SplitMix64 stream of frame ``t`` under ``key``. ``order`` (N,) is scratch, of integers that
    hold every pixel index.
    """
    n = out.size
    for i in range(n):
        order[i] = i
    state = _mix(key + np.uint64(t) * _GOLDEN)
    spare, bits = False, np.uint64(0)
    for r in range(steps):
        span = np.uint64(n - r)
        while True:  # each 64-bit draw gives two 32-bit numbers, high half first
            if spare:
                draw = bits & np.uint64(0xFFFFFFFF)
            else:
                state += _GOLDEN
                bits = _mix(state)
                draw = bits >> np.uint64(32)
            spare = not spare
            product = draw * span
            low = product & np.uint64(0xFFFFFFFF)
            if low >= span or low >= (np.uint64(0x100000000) - span) % span:
                break
        j = r + np.int64(product >> np.uint64(32))
        picked = order[j]
        order[j] = order[r]
        order[r] = picked
        out[picked] = values[r]


@kernel
def _uniform(key: np.uint64, out: np.ndarray, first: int) -> np.ndarray:
    """I.i.d. uniform values in [0, 1) on a grid of ``2**-24`` in every frame of ``out`` (F, N)
    float32, frames ``first`` on: frame ``t``'s SplitMix64 stream under ``key`` (as the shuffle's),
    two values from each 64-bit number, high bits first."""
    scale = np.float32(2.0**-24)
    low = np.uint64(0xFFFFFF)
    for t in range(out.shape[0]):
        state = _mix(key + np.uint64(first + t) * _GOLDEN)
        row = out[t]
        pairs = row.size // 2
        for i in range(pairs):  # no loop-carried state: the compiler vectorizes it
            bits = _mix(state + np.uint64(i + 1) * _GOLDEN)
            row[2 * i] = np.float32(bits >> np.uint64(40)) * scale
            row[2 * i + 1] = np.float32((bits >> np.uint64(8)) & low) * scale
        if row.size % 2:
            row[row.size - 1] = (
                np.float32(_mix(state + np.uint64(pairs + 1) * _GOLDEN) >> np.uint64(40)) * scale
            )
    return out


def _blocks(
    shape: tuple[int, int, int], rng: np.random.Generator, temporal: str, need: int | None, frames: int
) -> Iterator[np.ndarray]:
    """The i.i.d. field, ``frames`` frames at a time (:attr:`occmask.Family.blocks`): the key of the
    frames' streams first, then (small frames' full field only) each block's uniforms, the stream
    of one draw."""
    n_frames, n = shape[0], shape[1] * shape[2]
    buffer = np.empty((min(frames, n_frames), n), np.float32)
    key = np.uint64(rng.integers(0, 2**63, dtype=np.int64))
    order = np.empty(n, np.uint16) if n <= _SHUFFLE_PIXELS else None  # the shuffle's scratch
    for first in range(0, n_frames, frames):
        block = buffer[: min(frames, n_frames - first)]
        with np.errstate(over="ignore"):  # the generator wraps mod 2**64 (numpy warns without the JIT)
            if order is None:
                _uniform(key, block, first)
            elif need is not None:  # the hidden pixels and their ranks only
                _shuffle(key, need, block, first, order)
            else:  # sorted i.i.d. uniforms along the order: an i.i.d. uniform field, free of ties
                rng.random(dtype=np.float32, out=block)  # (sorted by numpy: Numba's sort takes seconds
                block.sort(axis=1)  # to compile)
                _shuffle_sorted(key, block, first, order)
        yield block.reshape(len(block), *shape[1:])


_field = whole_field(_blocks)

FAMILY = Family(
    name="bernoulli",
    summary="i.i.d. pixels: the missing-at-random baseline",
    field=_field,
    colour="#0072B2",
    blocks=_blocks,
)
