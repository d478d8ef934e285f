"""Kernels shared by the families that place shapes on a torus (the canvas wraps at its edges).

A shape is placed as if the canvas went on past its edges: what leaves one side
comes back on the other, so no pixel is favoured.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator

import numpy as np

from ._jit import kernel

__all__ = ["MAX_SPEED", "batches", "drop", "lowest_first", "span", "wrap_offset"]

#: Largest speed in pixels per frame of a moving shape. A shape's place in frame ``t`` is
#: ``(centre + velocity * t) % side`` in float64: far above this (about 1e20 and up) the product
#: swamps the centre's fraction of a pixel, every shape lands on a few places and the canvas is
#: never covered. Ten thousand pixels a frame is already past any canvas occmask makes.
MAX_SPEED = 1e4

_MAX_BATCH = 8192  # shapes drawn per pattern set at a time; more batches follow until all is covered


def drop(
    shape: tuple[int, int, int],
    rng: np.random.Generator,
    temporal: str,
    need: int | None,
    frames: int,
    uniforms: int,
    mean_area: float,
    geometry: Callable[[np.ndarray], tuple[np.ndarray, ...]],
    draw: Callable[..., tuple[np.ndarray, np.ndarray]],
) -> Iterator[np.ndarray]:
    """A field of shapes dropped in order, batch after batch, until each frame is covered enough.

    Parameters
    ----------
    shape : tuple of int
        ``(T, H, W)`` of the field.
    rng : numpy.random.Generator
        Source of the shapes' uniforms.
    temporal : {"evolving", "static", "independent"}
        ``"independent"``: one set of shapes per frame; otherwise one set for
        every frame, moving with time when ``"evolving"``.
    need : int or None
        With ``None`` every pixel is covered; with an integer each frame keeps
        its ``need`` lowest values only, the others ``+inf`` (:func:`_trim`).
    frames : int
        Frames per block.
    uniforms : int
        Uniform numbers per shape.
    mean_area : float
        Mean area of a shape in pixels, which sizes the batches.
    geometry : callable
        ``geometry(u) -> arrays``: the shapes of uniforms ``u`` (sets, batch,
        ``uniforms``), every array indexed by set then shape.
    draw : callable
        The kernel ``draw(out, *arrays, first_index, moving, stop, first_frame)``:
        draws a batch into the ``+inf`` pixels of ``out``, frames ``first_frame``
        on of the field (set ``first_frame + t`` of an independent field for frame
        ``t`` of ``out``), shape ``k`` covering a pixel at ``first_index + k`` plus
        a scale in [0, 1], until at most ``stop`` pixels of a frame are uncovered.
        Returns how many pixels stay uncovered per frame and the index of the last
        shape drawn in each (-1 if none).

    Yields
    ------
    ndarray of float32, shape (n, H, W)
        The field's frames, ``frames`` at a time (the last block shorter), each
        in the same buffer.

    Notes
    -----
    The uniforms are drawn shape-major, ``(batch, sets, uniforms)``, so the
    sequence of shapes does not depend on the batch size. A block draws batches
    until its own frames are covered enough; the batches drawn are kept (their
    shapes, for the blocks that follow), so the generator draws as many as for
    the frames that need most, as for the whole field in one block.
    """
    n_t, n_h, n_w = shape
    area = n_h * n_w
    stop = 0 if need is None else area - need
    moving = temporal == "evolving"
    source = batches(shape, rng, temporal, need, uniforms, mean_area, geometry)
    drawn: list[tuple[float, tuple[np.ndarray, ...]]] = []  # every batch drawn so far
    buffer = np.empty((min(frames, n_t), n_h, n_w), np.float32)
    for start in range(0, n_t, frames):
        out = buffer[: n_t - start]
        out.fill(np.inf)
        last = np.full(len(out), -1.0)
        for index in itertools.count():
            if index == len(drawn):
                drawn.append(next(source))
            first, shapes = drawn[index]
            remaining, drew = draw(out, *shapes, first, moving, stop, start)
            np.maximum(last, drew, out=last)
            if (remaining <= stop).all():
                break
        yield out if need is None else _trim(out, need, area - remaining, last)


def batches(
    shape: tuple[int, int, int],
    rng: np.random.Generator,
    temporal: str,
    need: int | None,
    uniforms: int,
    mean_area: float,
    geometry: Callable[[np.ndarray], tuple[np.ndarray, ...]],
) -> Iterator[tuple[float, tuple[np.ndarray, ...]]]:
    """The shapes that :func:`drop` drops, batch after batch, each drawn from ``rng`` when it is
    asked for (the arguments are :func:`drop`'s): the index of the batch's first shape, as the
    draw kernels take it, and ``geometry`` of its uniforms."""
    n_t, n_h, n_w = shape
    area = n_h * n_w
    stop = 0 if need is None else area - need
    # expected shapes to leave at most `stop` pixels uncovered, with some margin
    batch = area / mean_area * (math.log(area / (stop + 0.5)) + 0.5)
    batch = min(_MAX_BATCH, max(8, math.ceil(batch)))
    n_sets = n_t if temporal == "independent" else 1
    for index in itertools.count():
        u = np.ascontiguousarray(rng.random((batch, n_sets, uniforms)).transpose(1, 0, 2))
        yield float(index * batch), geometry(u)


@kernel
def _trim(out: np.ndarray, need: int, covered: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Keep the ``need`` lowest values of every frame of a dropped-shape field ``out`` (T, H, W),
    equal values in index order, and set the others to ``+inf``: the cut is the same, and finds
    exactly ``need`` finite values, which it takes as they are (no histogram).

    Frame ``t`` has ``covered[t]`` finite values; ``last[t]`` is the index of its
    last shape, drawn while fewer than ``need`` pixels were covered. Every value
    below it, of earlier shapes, is kept; of the values from it up (that shape's,
    and any equal to it), the lowest are kept, by value, then index.
    """
    n_h, n_w = out.shape[1], out.shape[2]
    per_row = np.empty(n_h, np.int64)
    for t in range(out.shape[0]):
        if covered[t] <= need:
            continue
        frame = out[t].reshape(-1)
        bits = frame.view(np.uint32)  # values >= 0: their bits are in their order, +inf's the highest
        low = np.empty(1, np.float32)
        low[0] = last[t]
        start, end = low.view(np.uint32)[0], np.uint32(0x7F800000)  # the candidates: start <= bits < end
        m = 0
        for i in range(n_h):  # counted row by row: the second pass visits only the rows that hold some
            row = bits[i * n_w : (i + 1) * n_w]
            count = 0
            for j in range(n_w):
                count += (row[j] >= start) & (row[j] < end)
            per_row[i] = count
            m += count
        keys = np.empty(m, np.int64)  # the value's bits, then the index
        m = 0
        for i in range(n_h):
            if per_row[i] == 0:
                continue
            for j in range(i * n_w, (i + 1) * n_w):
                if bits[j] >= start and bits[j] < end:
                    keys[m] = (np.int64(bits[j]) << 32) | j
                    m += 1
        keep = need - (covered[t] - m)
        lowest_first(keys, keep)
        for c in range(keep, m):
            frame[keys[c] & 0xFFFFFFFF] = np.inf
    return out


@kernel
def lowest_first(keys: np.ndarray, k: int) -> None:
    """Reorder ``keys`` in place so that the ``k`` lowest come first, the ``k``-th lowest at
    ``keys[k - 1]`` (Hoare's quickselect, written out: numpy's partition takes Numba seconds to
    compile); nothing moves where ``k <= 0`` or ``k >= keys.size``."""
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
def span(center: float, reach: float, n: int) -> tuple[int, int, bool]:
    """Pixel offsets a shape of radius ``reach`` at ``center`` can touch on a circle of ``n`` pixels.

    Returns the first pixel and the count; when the shape spans the whole circle
    every pixel is visited once, at its offset nearest to the centre.
    """
    if 2.0 * reach + 1.0 >= n:
        return 0, n, True
    first = math.ceil(center - reach)
    return first, math.floor(center + reach) - first + 1, False


@kernel
def wrap_offset(pixel: int, center: float, n: int) -> float:
    d = pixel - center
    return d - n * math.floor(d / n + 0.5)
