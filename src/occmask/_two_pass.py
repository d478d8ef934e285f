"""The exact cut of a video's field made in blocks, without holding the whole field.

``match="video"`` hides the ``k`` lowest values of a whole video. For a large video
made block by block (:attr:`occmask.Family.blocks`), the field is made twice: a
first pass counts its values by the high bits of their order keys, a second marks
the values of lower bins and keeps those of the bin that decides the cut, which a
stable sort resolves. The mask is the one :mod:`occmask.calibrate` cuts from the
whole field, equal values in index order.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ._cut import rank_bin, target_count
from ._jit import kernel

__all__ = ["cut_in_two_passes"]

#: How many high bits of a float32's order key the first pass of a cut in two passes counts.
_KEY_BITS = 16


@kernel
def _order_key(bits: int) -> int:
    """An integer that orders as the float32 whose bit pattern is ``bits`` (a uint32) does: -0.0
    as +0.0; NaN never comes (fields hold none)."""
    u = np.int64(bits)
    if u & 0x7FFFFFFF == 0:
        return np.int64(0x80000000)
    return u ^ 0x80000000 if u < 0x80000000 else 0xFFFFFFFF - u


@kernel
def _count_keys(
    bits: np.ndarray, hist: np.ndarray, inside: np.ndarray | None = None, hist_in: np.ndarray | None = None
) -> None:
    """Add to ``hist`` how many of the float32 values whose bit patterns are ``bits`` fall in each
    bin of the high ``_KEY_BITS`` bits of their order key (:func:`_order_key`); with ``inside``
    (bool, repeated along ``bits``), add to ``hist_in`` how many of those inside do."""
    shift = 32 - _KEY_BITS
    for i in range(bits.size):
        b = _order_key(bits[i]) >> shift
        hist[b] += 1
        if inside is not None:
            hist_in[b] += inside[i % inside.size]  # type: ignore[index]  # given with inside


@kernel
def _mark_keys(
    bits: np.ndarray,
    target: int,
    first: int,
    out: np.ndarray,
    candidates: np.ndarray,
    keys: np.ndarray,
    m: int,
    inside: np.ndarray | None = None,
    flags: np.ndarray | None = None,
) -> tuple[int, int]:
    """``out[i]``: whether value ``i`` falls in a bin below ``target``; the values in bin ``target``
    are appended to ``candidates`` (their index, ``first + i``) and ``keys`` (their order key),
    and with ``inside`` (bool, repeated along ``bits``) to ``flags`` (whether they are inside),
    from position ``m``, while there is room. Returns the new ``m``, counting them all, and how
    many values fell below (of those inside, with ``inside``)."""
    shift = 32 - _KEY_BITS
    marked = 0
    for i in range(bits.size):
        key = _order_key(bits[i])
        below = key >> shift < target
        out[i] = below
        if inside is None:
            marked += below
        else:
            marked += below and inside[i % inside.size]
        if key >> shift == target:
            if m < candidates.size:
                candidates[m], keys[m] = first + i, key
                if inside is not None:
                    flags[m] = inside[i % inside.size]  # type: ignore[index]  # given with inside
            m += 1
    return m, marked


def cut_in_two_passes(
    first: Iterable[np.ndarray],
    second: Iterable[np.ndarray],
    coverage: float,
    out: np.ndarray,
    name: str = "the field",
    region: np.ndarray | None = None,
) -> bool:
    """Cut a field made in blocks at ``coverage`` of the whole video into ``out`` (flat, bool),
    equal values in index order (as :func:`occmask._cut.cut_rows` on one row, or the region cut
    with a region), never holding the whole field.

    ``first`` and ``second`` yield the same field's float32 blocks of whole frames in order, twice
    (each block is used before the next is asked for). The first pass counts the values by the
    high bits of their order keys; the second marks the values in lower bins and keeps those of
    the bin that holds rank ``k``, which a stable sort resolves. With a ``region`` ((H, W), or
    the video's (T, H, W)), ``k = floor(coverage * |R| + 0.5)`` of its pixels are hidden, and
    every pixel that sorts before the last of them. Returns False, having written nothing, when
    that bin holds more than ``out.size // 16`` values (their indices and keys would outweigh the
    mask): then cut the whole field. A ``ValueError`` naming ``name`` if the second pass finds
    other counts.
    """
    flat = None if region is None else region.reshape(-1)

    def inside(start: int, size: int) -> np.ndarray | None:  # the region of a block's pixels
        if flat is None or region is None or region.ndim == 2:
            return flat  # (repeated along the block by the kernels)
        return flat[start : start + size]

    hist = np.zeros((1 << _KEY_BITS) + 1, np.int64)
    counted = hist if region is None else np.zeros_like(hist)
    start = 0
    for block in first:
        bits = block.reshape(-1).view(np.uint32)
        _count_keys(bits, hist, inside(start, bits.size), counted)
        start += bits.size
    k = target_count(coverage, int(counted.sum()))
    if k == 0:  # nothing to hide (coverage 0, or an empty region)
        out[:] = False
        return True
    target, below = rank_bin(counted, k)
    if hist[target] > out.size // 16:
        return False
    candidates, keys = np.empty(hist[target], np.int64), np.empty(hist[target], np.int64)
    flags = None if region is None else np.empty(hist[target], np.bool_)
    start, m, marked = 0, np.int64(0), 0
    for block in second:
        bits = block.reshape(-1).view(np.uint32)
        where = inside(start, bits.size)
        m, more = _mark_keys(
            bits, target, start, out[start : start + bits.size], candidates, keys, m, where, flags
        )
        start, marked = start + bits.size, marked + more
    if (m, marked) != (candidates.size, below):
        raise ValueError(
            f"{name}: a field made twice from the same generator state differed ({below} and "
            f"{candidates.size} values below and in the bin that decides the cut, then {marked} and "
            f"{m}); a family must draw only from its rng"
        )
    order = np.argsort(keys, kind="stable")  # (value, index) order: candidates come in index order
    if flags is None:
        out[candidates[order[: k - below]]] = True
    else:  # hidden up to the (k - below)-th region pixel of the bin, whatever lies between
        last = np.flatnonzero(flags[order])[k - below - 1]
        out[candidates[order[: last + 1]]] = True
    return True
