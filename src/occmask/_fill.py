"""The kernels that read and write the data in memory: the one-pass fill and the channel means.

Shared by the numpy and torch adapters, which check everything first (with the
rules of :mod:`occmask._occlude`). :func:`occlude_array` writes a mask and a
fill into a numpy array in one pass: the data is seen as ``L`` blocks of ``C``
channels and ``S`` pixels, and each block takes one row of the mask and one row
of fill values (one per channel, or one for all). Channels-first blocks ``(C, S)``
are filled one channel at a time (:func:`_fill_where`). Channels-last blocks
``(S, C)`` are filled on the bits of the data, one pixel at a time: a pixel of 1,
2, 4 or 8 bytes is one unsigned word (:func:`_fill_where` again), a pixel of 3
bytes (RGB ``uint8``) is filled 8 at a time as three 64-bit words
(:func:`_fill_triples`), and wider pixels word by word (:func:`_fill_pixels`);
none of them branches per pixel, so they run about as fast as the same data
channels first. A fill of the data's own shape (noise) goes into channels-last
data through :func:`_paste_last`, in any memory order. :func:`mean_values` gives
the means of a ``"mean"`` fill, summing channels-last data in its own memory
order (:func:`_channel_sums`).
"""

from __future__ import annotations

import functools
import math
import sys
from typing import NamedTuple

import numpy as np

from ._jit import kernel
from ._occlude import KERNEL_DTYPES

__all__ = ["mean_values", "occlude_array"]


class _Blocks(NamedTuple):
    """``x`` as ``n_l`` blocks of ``n_c`` channels and ``n_s`` pixels, and the kernel that fills them:
    ``how`` is "first" (channels first), or for channels last "word" (a pixel is one ``word``),
    "triples" (pixels of 3 bytes, 8 at a time), "pixels" (pixels of several ``word``\\ s) or
    "paste" (a fill of the data's shape).

    ``lead`` is None where one row of fill values serves every block, else the
    shapes that give each block its own row: ``values`` reshaped to ``lead[0]``
    (its axes of ``S``, all of size 1, dropped), broadcast to ``lead[1]``.
    """

    n_l: int
    n_c: int
    n_s: int
    how: str
    word: np.dtype
    lead: tuple[tuple[int, ...], tuple[int, ...]] | None


def occlude_array(
    x: np.ndarray,
    mask: np.ndarray,
    values: np.ndarray,
    view: tuple[int, ...],
    channel: int | None,
    out: np.ndarray | None,
) -> np.ndarray:
    """Set ``x`` to ``values`` where ``mask`` is True, into ``out`` (a new array if None).

    Everything is checked already: ``mask`` is a bool array that broadcasts as
    ``view`` (from :func:`occmask._occlude.resolve`), ``values`` has ``x``'s dtype
    and a shape from :func:`occmask._occlude.fill_shape`, and ``out`` is None or
    an array of ``x``'s shape and dtype.
    """
    blocks = None
    if (
        x.dtype in KERNEL_DTYPES
        and x.flags.c_contiguous
        and x.size
        and (out is None or out.flags.c_contiguous)
    ):
        blocks = _blocks(x.shape, x.itemsize, view, channel, values.shape)
    if blocks is None:
        hidden = mask.reshape(view)
        if channel == x.ndim - 1 and x.shape[channel] > 1:  # numpy broadcasts a last axis slowly
            hidden = np.repeat(hidden, x.shape[channel], axis=channel)
        if out is None:
            result = np.where(hidden, values, x)  # one pass
            return result if result.dtype == x.dtype else result.astype(x.dtype)  # np.where's is native
        if out is not x:
            np.copyto(out, x)
        np.copyto(out, values, where=hidden)
        return out
    result = np.empty_like(x) if out is None else out
    n_l, n_c, n_s, how, word, lead = blocks
    rows = np.ascontiguousarray(mask).reshape(-1, n_s)
    if how == "paste":
        shape = (n_l, n_s, n_c)
        _paste_last(x.reshape(shape), rows.view(np.uint8), values.reshape(shape), result.reshape(shape))
        return result
    if lead is None:
        fill = values.reshape(1, -1)  # one value, or one per channel
    else:
        fill = np.broadcast_to(values.reshape(lead[0]), lead[1]).reshape(n_l, -1)
    if how == "first":
        shape = (n_l, n_c, n_s)
        _fill_where(x.reshape(shape), rows, fill, result.reshape(shape))
    elif how == "triples":
        _fill_triples(x.reshape(n_l, -1), rows, fill, result.reshape(n_l, -1))
    elif how == "word":  # as one channel first
        shape = (n_l, 1, n_s)
        pixels = _pixels(fill, n_c, word)
        _fill_where(x.view(word).reshape(shape), rows, pixels, result.view(word).reshape(shape))
    else:
        pixels = _pixels(fill, n_c, word)
        source, target = x.view(word).reshape(n_l, -1), result.view(word).reshape(n_l, -1)
        _fill_pixels(source, rows.view(np.uint8), pixels, target)
    return result


def _pixels(fill: np.ndarray, n_c: int, word: np.dtype) -> np.ndarray:
    """The rows of fill values (one value, or one per channel) as rows of whole pixels in ``word``\\ s.
    One row (the usual case) is cached."""
    if fill.shape[0] == 1:
        return _one_pixel(fill.tobytes(), fill.dtype, n_c, word)
    return _whole_pixels(fill, n_c, word)


@functools.lru_cache(maxsize=64)
def _one_pixel(data: bytes, dtype: np.dtype, n_c: int, word: np.dtype) -> np.ndarray:
    return _whole_pixels(np.frombuffer(data, dtype).reshape(1, -1), n_c, word)


def _whole_pixels(fill: np.ndarray, n_c: int, word: np.dtype) -> np.ndarray:
    return np.ascontiguousarray(np.broadcast_to(fill, (fill.shape[0], n_c))).view(word)


@functools.lru_cache(maxsize=256)
def _blocks(
    x_shape: tuple[int, ...],
    itemsize: int,
    view: tuple[int, ...],
    channel: int | None,
    values_shape: tuple[int, ...],
) -> _Blocks | None:
    """How :func:`occlude_array` sees ``x`` (:class:`_Blocks`), or None where no kernel applies.

    The mask must span every axis after its first one (the leading axes it
    repeats over excepted) but the channel, and the fill vary only along the
    channel and the axes before the pixels of a block.
    """
    n = len(x_shape)
    values = (1,) * (n - len(values_shape)) + values_shape
    spanned = [a for a in range(n) if a != channel]
    first = next((a for a in spanned if view[a] != 1), n)  # the mask repeats over the axes before it
    if any(view[a] != x_shape[a] for a in spanned if a >= first):
        return None
    varies = [a for a in spanned if values[a] != 1]
    if channel == n - 1 and first <= n - 3 and values == x_shape:  # a fill of x's shape (noise)
        # blocks of one frame: a fill drawn channels first and seen channels last still merges into them
        n_l, n_s = math.prod(x_shape[: n - 3]), x_shape[n - 3] * x_shape[n - 2]
        return _Blocks(n_l, x_shape[channel], n_s, "paste", np.dtype("u1"), None)
    if channel is None or (channel == n - 1 and first < channel):  # channels last, or none
        cut = max(first, varies[-1] + 1 if varies else 0)  # blocks are the axes from here on
        if cut > spanned[-2]:  # the fill varies along the pixels
            return None
    else:
        if any(channel < a < first for a in spanned) or any(a > channel for a in varies):
            return None
        cut = channel
    n_c = 1 if channel is None else x_shape[channel]
    n_s = math.prod(x_shape[a] for a in spanned if a >= cut)
    word = np.dtype(f"u{math.gcd(8, n_c * itemsize)}")  # the widest unsigned word that divides a pixel
    how = "first"
    if channel is not None and channel == n - 1 and cut < channel:
        how = "word" if word.itemsize == n_c * itemsize else "pixels"
        if n_c * itemsize == 3 and n_s % 8 == 0 and sys.byteorder == "little":
            how = "triples"
    lead = None
    if varies:
        kept = tuple(values[a] for a in range(n) if a < cut or a == channel)
        lead = (kept if channel is not None else (*kept, 1), (*x_shape[:cut], n_c))
    return _Blocks(math.prod(x_shape[:cut]), n_c, n_s, how, word, lead)


@kernel
def _fill_where(x: np.ndarray, mask: np.ndarray, values: np.ndarray, out: np.ndarray) -> None:
    """``out[l, c, s] = values[l % V, c % W]`` where ``mask[l % M, s]``, else ``x[l, c, s]`` (``x``,
    ``out``: L, C, S; ``values``: V, W)."""
    n_l, n_c, n_s = x.shape
    n_m = mask.shape[0]
    n_v, n_w = values.shape
    for i in range(n_l):
        hidden, fill = mask[i % n_m], values[i % n_v]
        for c in range(n_c):
            value, source, target = fill[c % n_w], x[i, c], out[i, c]
            for s in range(n_s):
                target[s] = value if hidden[s] else source[s]


_LOW7 = np.uint64(0x7F7F7F7F7F7F7F7F)
_ONES = np.uint64(0x0101010101010101)
_BYTE = np.uint64(0xFF)
_SHIFTS = tuple(np.uint64(8 * j) for j in range(8))
#: For each of the 3 words of 8 pixels of 3 bytes, the pixels whose bytes it holds (the first, and a mask
#: of as many bits as there are), and the multiplier that copies each pixel's bit to the low bit of each
#: of its bytes in the word (byte k of word q is of pixel (8 q + k) // 3; no two terms overlap).
_TRIPLES = tuple(
    (
        np.uint64(8 * q // 3),
        np.uint64((1 << ((8 * q + 7) // 3 - 8 * q // 3 + 1)) - 1),
        np.uint64(sum(1 << (8 * k - ((8 * q + k) // 3 - 8 * q // 3)) for k in range(8))),
    )
    for q in range(3)
)


@kernel
def _fill_triples(x: np.ndarray, mask: np.ndarray, values: np.ndarray, out: np.ndarray) -> None:
    """Pixels of 3 bytes, 8 at a time as 3 64-bit words (little-endian): ``x``, ``out`` (L, 3 S) bytes,
    ``mask`` (M, S) with S a multiple of 8 (any non-zero byte hides its pixel), ``values`` (V, W) the
    fill (one byte, or one per channel). The 8 mask bytes become 8 bits, each word's bits are copied
    to its bytes by a multiplication (see ``_TRIPLES``), so there is no table and no branch and the
    loop is vectorised; each word of data is ``a ^ ((a ^ fill) & hidden)``."""
    n_l = x.shape[0]
    n_m = mask.shape[0]
    n_v, n_w = values.shape
    for i in range(n_l):
        source, target = x[i].view(np.uint64), out[i].view(np.uint64)
        hidden, fill = mask[i % n_m].view(np.uint64), values[i % n_v]
        p = np.uint64(0)  # one pixel of fill (its bytes: int8 and bool too), spread over 8 below
        for c in range(3):
            p |= (np.uint64(fill[c % n_w]) & _BYTE) << _SHIFTS[c]
        v0 = p | p << _SHIFTS[3] | p << _SHIFTS[6]
        v1 = p >> _SHIFTS[2] | p << _SHIFTS[1] | p << _SHIFTS[4] | p << _SHIFTS[7]
        v2 = p >> _SHIFTS[1] | p << _SHIFTS[2] | p << _SHIFTS[5]
        for g in range(hidden.size):
            w = hidden[g]
            w = (((w & _LOW7) + _LOW7) | w) >> np.uint64(7) & _ONES  # each byte 1 if it was non-zero
            w |= w >> np.uint64(7)  # bit j: pixel j is hidden (no multiplication: it would overflow)
            w |= w >> np.uint64(14)
            bits = (w | w >> np.uint64(28)) & _BYTE
            h0 = (((bits >> _TRIPLES[0][0]) & _TRIPLES[0][1]) * _TRIPLES[0][2] & _ONES) * _BYTE
            h1 = (((bits >> _TRIPLES[1][0]) & _TRIPLES[1][1]) * _TRIPLES[1][2] & _ONES) * _BYTE
            h2 = (((bits >> _TRIPLES[2][0]) & _TRIPLES[2][1]) * _TRIPLES[2][2] & _ONES) * _BYTE
            base = 3 * g
            a, b, c = source[base], source[base + 1], source[base + 2]
            target[base] = a ^ ((a ^ v0) & h0)
            target[base + 1] = b ^ ((b ^ v1) & h1)
            target[base + 2] = c ^ ((c ^ v2) & h2)


@kernel
def _paste_last(x: np.ndarray, mask: np.ndarray, values: np.ndarray, out: np.ndarray) -> None:
    """``out[l, s, c] = values[l, s, c]`` where ``mask[l % M, s]`` (a non-zero byte), else ``x[l, s, c]``
    (``x``, ``values``, ``out``: L, S, C; ``values`` in any memory order): a fill of the data's shape,
    such as noise, into channels-last data, where numpy would broadcast the mask along its last axis."""
    n_l, n_s, n_c = x.shape
    n_m = mask.shape[0]
    for i in range(n_l):
        hidden, source, fill, target = mask[i % n_m], x[i], values[i], out[i]
        for s in range(n_s):
            h = hidden[s] != 0
            for c in range(n_c):
                target[s, c] = fill[s, c] if h else source[s, c]


@kernel
def _fill_pixels(x: np.ndarray, mask: np.ndarray, values: np.ndarray, out: np.ndarray) -> None:
    """Pixels of ``P`` words: ``x``, ``out`` (L, S P) words, ``mask`` (M, S) bytes (non-zero: hidden),
    ``values`` (V, P) words of one pixel of fill; each word is ``a ^ ((a ^ fill) & hidden)``. 2, 3
    and 4 words, the usual cases, are written out: a loop over them runs several times slower."""
    n_l = x.shape[0]
    n_m, n_s = mask.shape
    n_v, n_p = values.shape
    for i in range(n_l):
        hidden, fill, source, target = mask[i % n_m], values[i % n_v], x[i], out[i]
        zero = fill[0] ^ fill[0]
        ones = ~zero
        if n_p == 2:
            v0, v1 = fill[0], fill[1]
            for s in range(n_s):
                k = ones if hidden[s] != 0 else zero
                a, b = source[2 * s], source[2 * s + 1]
                target[2 * s] = a ^ ((a ^ v0) & k)
                target[2 * s + 1] = b ^ ((b ^ v1) & k)
        elif n_p == 3:
            v0, v1, v2 = fill[0], fill[1], fill[2]
            for s in range(n_s):
                k = ones if hidden[s] != 0 else zero
                a, b, c = source[3 * s], source[3 * s + 1], source[3 * s + 2]
                target[3 * s] = a ^ ((a ^ v0) & k)
                target[3 * s + 1] = b ^ ((b ^ v1) & k)
                target[3 * s + 2] = c ^ ((c ^ v2) & k)
        elif n_p == 4:
            v0, v1, v2, v3 = fill[0], fill[1], fill[2], fill[3]
            for s in range(n_s):
                k = ones if hidden[s] != 0 else zero
                a, b, c, d = source[4 * s], source[4 * s + 1], source[4 * s + 2], source[4 * s + 3]
                target[4 * s] = a ^ ((a ^ v0) & k)
                target[4 * s + 1] = b ^ ((b ^ v1) & k)
                target[4 * s + 2] = c ^ ((c ^ v2) & k)
                target[4 * s + 3] = d ^ ((d ^ v3) & k)
        else:
            for s in range(n_s):
                k = ones if hidden[s] != 0 else zero
                for p in range(n_p):
                    a = source[n_p * s + p]
                    target[n_p * s + p] = a ^ ((a ^ fill[p]) & k)


def mean_values(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """``x``'s mean over ``axes`` (kept as axes of size 1), in float64 (complex128 for complex data,
    whose imaginary part it keeps). Channels-last data whose axes run just before the channel,
    (..., H, W, C), is summed by :func:`_channel_sums` (numpy reduces it several times slower than
    (..., C, H, W)); integers of 1 or 2 bytes exactly, in int64, as numpy's float64 sums are."""
    n = x.ndim
    if (
        axes
        and x.flags.c_contiguous
        and x.dtype in KERNEL_DTYPES
        and x.dtype.kind != "b"
        and axes == tuple(range(axes[0], n - 1))
        and x.size > 0
    ):
        n_l, n_s, n_c = math.prod(x.shape[: axes[0]]), math.prod(x.shape[axes[0] : n - 1]), x.shape[-1]
        exact = x.dtype.kind in "iu" and x.itemsize <= 2
        sums = np.zeros((n_l, n_c), np.int64 if exact else np.float64)
        _channel_sums(x.reshape(n_l, n_s * n_c), sums)
        kept = tuple(1 if a in axes else size for a, size in enumerate(x.shape))
        return (sums / n_s).reshape(kept)
    return x.mean(axis=axes, keepdims=True, dtype=np.complex128 if x.dtype.kind == "c" else np.float64)


@kernel
def _channel_sums(x: np.ndarray, sums: np.ndarray) -> None:
    """``sums[l, c] += x[l, s C + c]`` over ``s``: channels-last blocks (L, S C), summed in ``sums``'
    dtype, one channel at a time in 4 independent sums (which the processor adds side by side)."""
    n_l, n_c = sums.shape
    zero = sums[0, 0] - sums[0, 0]
    for i in range(n_l):
        block, total = x[i], sums[i]
        n_s = block.size // n_c
        n_4 = n_s // 4 * 4
        for c in range(n_c):
            t0 = t1 = t2 = t3 = zero
            for s in range(0, n_4, 4):
                t0 += block[s * n_c + c]
                t1 += block[(s + 1) * n_c + c]
                t2 += block[(s + 2) * n_c + c]
                t3 += block[(s + 3) * n_c + c]
            for s in range(n_4, n_s):
                t0 += block[s * n_c + c]
            total[c] += (t0 + t1) + (t2 + t3)
