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
    draw: Callable[[np.ndarray, np.ndarray, float, int], np.ndarray],
) -> np.ndarray:
    """A field of shapes dropped in order, batch after batch, until each frame is covered enough.

    ``draw(out, u, first_index, stop)`` draws the shapes of uniforms ``u``
    (``n_sets``, batch, ``uniforms``) into the ``+inf`` pixels of ``out`` and returns
    how many stay uncovered per frame; it is called until at most ``stop`` pixels
    per frame are (all of them with ``need=None``, else all but ``need``). The
    uniforms are drawn shape-major, so the sequence of shapes does not depend on
    the batch size.
    """
    area = shape[1] * shape[2]
    stop = 0 if need is None else area - need
    # expected shapes to leave at most `stop` pixels uncovered, with some margin
    batch = area / mean_area * (math.log(area / (stop + 0.5)) + 0.5)
    batch = min(_MAX_BATCH, max(8, math.ceil(batch)))
    out = np.full(shape, np.inf, dtype=np.float32)
    drawn = 0
    while True:
        u = np.ascontiguousarray(rng.random((batch, n_sets, uniforms)).transpose(1, 0, 2))
        remaining = draw(out, u, float(drawn), stop)
        drawn += batch
        if (remaining <= stop).all():
            return out


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
