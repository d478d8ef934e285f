"""Kernels shared by the families that place shapes on a torus (the canvas wraps at its edges).

A shape is placed as if the canvas went on past its edges: what leaves one side
comes back on the other, so no pixel is favoured.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ._jit import kernel

__all__ = ["drop", "span", "wrap_offset"]

_MAX_BATCH = 8192  # shapes drawn per pattern set at a time; more batches follow until all is covered


def drop(
    shape: tuple[int, int, int],
    rng: np.random.Generator,
    n_sets: int,
    uniforms: int,
    need: int | None,
    mean_area: float,
    draw: Callable[[np.ndarray, np.ndarray, float, int], tuple[np.ndarray, np.ndarray]],
) -> np.ndarray:
    """A field of shapes dropped in order, batch after batch, until each frame is covered enough.

    ``draw(out, u, first_index, stop)`` draws the shapes of uniforms ``u``
    (``n_sets``, batch, ``uniforms``) into the ``+inf`` pixels of ``out``, a shape
    ``k`` covering a pixel at ``first_index + k`` plus a scale in [0, 1], and
    returns how many pixels stay uncovered per frame and the index of the last
    shape it drew in each (-1 if none); it is called until at most ``stop``
    pixels per frame are uncovered (none with ``need=None``, else all but
    ``need``). The uniforms are drawn shape-major, so the sequence of shapes
    does not depend on the batch size. With ``need``, each frame then keeps its
    ``need`` lowest values only (:func:`_trim`).
    """
    area = shape[1] * shape[2]
    stop = 0 if need is None else area - need
    # expected shapes to leave at most `stop` pixels uncovered, with some margin
    batch = area / mean_area * (math.log(area / (stop + 0.5)) + 0.5)
    batch = min(_MAX_BATCH, max(8, math.ceil(batch)))
    out = np.full(shape, np.inf, dtype=np.float32)
    last = np.full(shape[0], -1.0)
    drawn = 0
    while True:
        u = np.ascontiguousarray(rng.random((batch, n_sets, uniforms)).transpose(1, 0, 2))
        remaining, drew = draw(out, u, float(drawn), stop)
        np.maximum(last, drew, out=last)
        drawn += batch
        if (remaining <= stop).all():
            return out if need is None else _trim(out, need, area - remaining, last)


@kernel
def _trim(out, need, covered, last):
    """Keep the ``need`` lowest values of every frame of a dropped-shape field ``out`` (T, H, W),
    equal values in index order, and set the others to ``+inf``: the cut is the same, and finds
    exactly ``need`` finite values, which it takes as they are (no histogram).

    Frame ``t`` has ``covered[t]`` finite values; ``last[t]`` is the index of its
    last shape, drawn while fewer than ``need`` pixels were covered. Every value
    below it, of earlier shapes, is kept; of the values from it up (that shape's,
    and any equal to it), the lowest are kept, by value, then index.
    """
    for t in range(out.shape[0]):
        if covered[t] <= need:
            continue
        frame = out[t].reshape(-1)
        bits = frame.view(np.uint32)  # values >= 0: their bits are in their order, +inf's the highest
        low = np.empty(1, np.float32)
        low[0] = last[t]
        start, end = low.view(np.uint32)[0], np.uint32(0x7F800000)  # the candidates: start <= bits < end
        m = 0
        for i in range(frame.size):
            m += (bits[i] >= start) & (bits[i] < end)
        keys = np.empty(m, np.int64)  # the value's bits, then the index
        m = 0
        for i in range(frame.size):
            if bits[i] >= start and bits[i] < end:
                keys[m] = (np.int64(bits[i]) << 32) | i
                m += 1
        keep = need - (covered[t] - m)
        _lowest_first(keys, keep)
        for c in range(keep, m):
            frame[keys[c] & 0xFFFFFFFF] = np.inf
    return out


@kernel
def _lowest_first(keys, k):
    """Reorder the distinct ``keys`` in place so that the ``k`` lowest come first (quickselect,
    written out: numpy's partition takes Numba seconds to compile)."""
    if k <= 0 or k >= keys.size:
        return
    q, lo, hi = k - 1, 0, keys.size - 1  # place the k-th lowest, keys[q], where it belongs
    while lo < hi:
        pivot = keys[(lo + hi) // 2]
        i, j = lo, hi
        while i <= j:
            while keys[i] < pivot:
                i += 1
            while keys[j] > pivot:
                j -= 1
            if i <= j:
                keys[i], keys[j] = keys[j], keys[i]
                i += 1
                j -= 1
        if q <= j:  # keys[lo:j + 1] <= pivot <= keys[i:hi + 1], and between them the pivot
            hi = j
        elif q >= i:
            lo = i
        else:
            return


@kernel
def span(center, reach, n):
    """Pixel offsets a shape of radius ``reach`` at ``center`` can touch on a circle of ``n`` pixels.

    Returns the first pixel and the count; when the shape spans the whole circle
    every pixel is visited once, at its offset nearest to the centre.
    """
    if 2.0 * reach + 1.0 >= n:
        return 0, n, True
    first = math.ceil(center - reach)
    return first, int(math.floor(center + reach)) - first + 1, False


@kernel
def wrap_offset(pixel, center, n):
    d = pixel - center
    return d - n * math.floor(d / n + 0.5)
