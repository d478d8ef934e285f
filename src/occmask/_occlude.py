"""What the numpy and torch adapters share: layouts, fill rules and the fill kernel.

A leaf module (it imports neither adapter). :func:`resolve` finds how a mask
broadcasts against data of a given shape and layout, :func:`fill_array` and
:func:`fill_shape` turn a ``fill`` into values of the data's dtype and shape,
:class:`Noise`, :func:`special_fill` and :func:`mean_axes` describe the fills
computed from the data or drawn at random, and :func:`occlude_array` writes an
already checked mask and fill into a numpy array (the one-pass kernel where it applies).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _validate
from ._jit import kernel

__all__ = ["KERNEL_DTYPES", "Noise", "check_layout", "computed_fill", "feather_weights", "fill_array"]
__all__ += ["fill_shape", "mean_axes", "mean_values", "noise_values", "occlude_array", "resolve"]
__all__ += ["special_fill", "unrepresentable"]

LETTERS = "BTCHW"
#: dtypes the one-pass kernels handle (others go through numpy): float32/64, (u)int8 to (u)int64, bool
KERNEL_DTYPES = frozenset(
    np.dtype(t) for t in ["f4", "f8", "u1", "i1", "u2", "i2", "u4", "i4", "u8", "i8", "?"]
)


def resolve(
    x_shape: tuple[int, ...], mask_shape: tuple[int, ...], layout: str | None
) -> tuple[tuple[int, ...], int | None]:
    """Shape to view the mask as so it broadcasts against ``x``, and the channel axis.

    Shared by the numpy and torch adapters. Raises ``ValueError`` when the shapes
    do not fit the layout, or when no layout is given and several would fit.
    """
    if layout is not None and not isinstance(layout, str):
        check_layout(layout, len(x_shape))  # raises TypeError
    return _resolve_shapes(tuple(x_shape), tuple(mask_shape), layout)


@functools.lru_cache(maxsize=256)
def _resolve_shapes(
    x_shape: tuple[int, ...], mask_shape: tuple[int, ...], layout: str | None
) -> tuple[tuple[int, ...], int | None]:
    if layout is not None:
        return _view_for_layout(x_shape, mask_shape, check_layout(layout, len(x_shape)))
    candidates: dict[tuple[int, ...], int | None] = {}
    for channel in (len(x_shape) - 3, len(x_shape) - 1, None):
        if channel is not None and channel < 0:
            continue
        view = _view_for_channel(x_shape, mask_shape, channel)
        if view is not None:
            candidates.setdefault(view, channel)
    if len(candidates) == 1:
        view, channel = next(iter(candidates.items()))
        return view, channel
    if not candidates:
        raise ValueError(
            f"mask of shape {mask_shape} does not broadcast against x of shape {x_shape}: x must be the "
            "mask's "
            "shape with optional leading axes and an optional channel axis before or after (H, W)"
        )
    raise ValueError(
        f"the layout of x with shape {x_shape} is ambiguous for a mask of shape {mask_shape}; "
        "pass layout=..., e.g. 'TCHW' or 'THWC'"
    )


def _view_for_channel(
    x_shape: tuple[int, ...], mask_shape: tuple[int, ...], channel: int | None
) -> tuple[int, ...] | None:
    dims = [d for a, d in enumerate(x_shape) if a != channel]
    if len(dims) < len(mask_shape) or tuple(dims[len(dims) - len(mask_shape) :]) != tuple(mask_shape):
        return None
    view = [1] * (len(dims) - len(mask_shape)) + list(mask_shape)
    if channel is not None:
        view.insert(channel, 1)
    return tuple(view)


def check_layout(layout: Any, ndim: int) -> str:
    if not isinstance(layout, str):
        raise TypeError(f"layout must be a string of the letters {LETTERS!r}, got {layout!r}")
    text = layout.upper()
    if (
        len(set(text)) != len(text)
        or not set(text) <= set(LETTERS)
        or not text.replace("C", "").endswith("HW")
    ):
        raise ValueError(
            f"layout must use each of the letters B, T, C, H, W at most once and end in 'HW' "
            f"(a channel 'C' may stand before or after them), got {layout!r}"
        )
    if len(text) != ndim:
        raise ValueError(f"layout {layout!r} has {len(text)} axes but x has {ndim}")
    return text


def _view_for_layout(
    x_shape: tuple[int, ...], mask_shape: tuple[int, ...], layout: str
) -> tuple[tuple[int, ...], int | None]:
    spatial = [a for a, letter in enumerate(layout) if letter != "C"]
    if len(mask_shape) > len(spatial):
        raise ValueError(f"mask of shape {mask_shape} has more axes than layout {layout!r} has besides 'C'")
    view = [1] * len(layout)
    for axis, size in zip(spatial[len(spatial) - len(mask_shape) :], mask_shape, strict=True):
        if size not in (1, x_shape[axis]):
            raise ValueError(
                f"mask of shape {mask_shape} does not fit x of shape {x_shape} with layout {layout!r}: "
                f"axis {layout[axis]!r} has {x_shape[axis]} elements, the mask {size}"
            )
        view[axis] = size
    return tuple(view), (layout.index("C") if "C" in layout else None)


@functools.lru_cache(maxsize=256)
def fill_shape(fill_shape: tuple[int, ...], x_shape: tuple[int, ...], channel: int | None) -> tuple[int, ...]:
    """Shape to view ``fill`` as: a 1-D fill of length C runs along the channel axis."""
    if (
        len(fill_shape) == 1
        and channel is not None
        and fill_shape[0] == x_shape[channel]
        and len(x_shape) > 1
    ):
        shape = [1] * len(x_shape)
        shape[channel] = fill_shape[0]
        return tuple(shape)
    try:
        if np.broadcast_shapes(fill_shape, x_shape) != tuple(x_shape):
            raise ValueError
    except ValueError:
        raise ValueError(
            f"fill of shape {fill_shape} must be a scalar, one value per channel, or broadcast to x of "
            f"shape {x_shape}"
        ) from None
    return fill_shape


def fill_array(fill: Any, dtype: np.dtype) -> np.ndarray:
    """``fill`` as an array of ``dtype``; refuses values the dtype cannot hold.

    Floats may round to the nearest representable value but not overflow;
    integers and booleans must be represented exactly (no rounding, no wrapping).
    """
    if isinstance(fill, (bool, int, float)):  # the usual case, checked once per value and dtype
        return _scalar_fill(fill, dtype)  # shared: callers only read it
    return _cast_fill(fill, dtype)


@functools.lru_cache(maxsize=64, typed=True)
def _scalar_fill(fill: bool | int | float, dtype: np.dtype) -> np.ndarray:
    return _cast_fill(fill, dtype)


def show_fill(fill: Any) -> str:
    """A ``fill`` for an error message: a number or a short sequence in full, else its shape, dtype
    and range (never a whole array)."""
    values = np.asarray(fill) if not hasattr(fill, "shape") else fill
    size = int(np.prod(values.shape)) if hasattr(values, "shape") else 1
    if size <= 8 and not hasattr(fill, "shape"):
        return repr(fill)
    extent = ""
    if size and getattr(values.dtype, "kind", "c") in "biuf":
        extent = f", values in [{float(values.min()):g}, {float(values.max()):g}]"
    return f"an array of shape {tuple(values.shape)} and dtype {values.dtype}{extent}"


def holds(dtype: Any) -> str:
    """What data of ``dtype`` (numpy, or torch by its name) can hold, for an error message."""
    try:
        dtype = np.dtype(str(dtype).removeprefix("torch."))
    except TypeError:  # bfloat16, float8, ...
        return f"values of {dtype}"
    if dtype.kind == "b":
        return "0 or 1 (True or False)"
    if dtype.kind in "iu":
        return f"integers in [{np.iinfo(dtype).min}, {np.iinfo(dtype).max}]"
    return (
        f"finite values in [-{np.finfo(dtype).max:g}, {np.finfo(dtype).max:g}]" if dtype.kind in "fc" else ""
    )


def unrepresentable(fill: Any, dtype: Any) -> ValueError:
    """The error for a ``fill`` that data of ``dtype`` cannot hold: the argument, its values, the dtype
    and what it holds."""
    return ValueError(
        f"fill ({show_fill(fill)}) cannot be represented in the data's dtype {dtype}, which holds "
        f"{holds(dtype)}"
    )


def _cast_fill(fill: Any, dtype: np.dtype) -> np.ndarray:
    values = np.asarray(fill)
    if values.dtype.kind == "O" and all(type(v) is int for v in values.flat):  # beyond 64 bits
        if dtype.kind != "f":
            raise unrepresentable(fill, dtype)
        try:
            values = np.array([float(v) for v in values.flat]).reshape(values.shape)
        except OverflowError:
            raise unrepresentable(fill, dtype) from None
    if values.dtype.kind not in ("biufc" if dtype.kind == "c" else "biuf"):  # complex only for complex data
        raise TypeError(f"fill must be numeric (real for real data), got {show_fill(values)}")
    with np.errstate(invalid="ignore", over="ignore"):
        cast = values.astype(dtype)
    bad = np.isfinite(values) & ~np.isfinite(cast) if dtype.kind in "fc" else cast != values
    if np.any(bad):
        raise unrepresentable(values if values.ndim else fill, dtype)
    return cast


@dataclass(frozen=True)
class Noise:
    """A fill of random values, one per hidden element: uniform or normal.

    ``Noise()`` draws uniformly from [0, 1); ``Noise(low, high)`` from
    [low, high); ``Noise(mean=m, std=s)`` from a normal distribution. Pass it as
    ``fill`` (``fill="noise"`` is ``Noise()``). Values are drawn from the ``rng``
    of :func:`occmask.occlude` (in :class:`occmask.torch.Occlude`, from the
    sample's seed), so the same seed gives the same noise. On integer data,
    uniform values are rounded down and normal ones to the nearest integer;
    every value must fit the data's dtype. The ranges are in the data's own
    units: for normalised data, ``Noise(mean=0.0, std=1.0)`` looks like the data.

    Examples
    --------
    >>> import numpy as np
    >>> import occmask as om
    >>> x = np.zeros((3, 16, 16), dtype=np.float32)                  # (C, H, W)
    >>> mask = om.bernoulli((16, 16), 0.5, rng=0)
    >>> y = om.occlude(x, mask, fill=om.Noise(-1.0, 1.0), rng=0)
    >>> bool((y[:, mask] >= -1).all() and (y[:, mask] < 1).all() and (y[:, ~mask] == 0).all())
    True
    """

    low: float | None = None
    high: float | None = None
    mean: float | None = None
    std: float | None = None

    def __post_init__(self) -> None:
        if self.mean is not None or self.std is not None:
            if self.low is not None or self.high is not None:
                raise ValueError(
                    f"Noise takes low and high (uniform) or mean and std (normal), not both, got {self!r}"
                )
            object.__setattr__(
                self, "mean", _validate.number("mean", 0.0 if self.mean is None else self.mean)
            )
            object.__setattr__(
                self, "std", _validate.number("std", 1.0 if self.std is None else self.std, low=0)
            )
            return
        low = _validate.number("low", 0.0 if self.low is None else self.low)
        high = _validate.number("high", 1.0 if self.high is None else self.high)
        if not low < high:
            raise ValueError(f"Noise needs low < high, got low={low!r}, high={high!r}")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)


def special_fill(fill: Any) -> Noise | str | None:
    """``"mean"`` or a :class:`Noise` for the fills computed per call, None for fixed values."""
    if isinstance(fill, str):
        if fill == "noise":
            return Noise()
        if fill == "mean":
            return "mean"
        raise TypeError(
            f"fill must be a number, one value per channel, an array, 'noise', 'mean' or an occmask.Noise, "
            f"got {fill!r}"
        )
    return fill if isinstance(fill, Noise) else None


def mean_axes(ndim: int, mask_ndim: int, channel: int | None, layout: str | None) -> tuple[int, ...]:
    """The axes a ``"mean"`` fill averages over: the T, H and W axes of each sample (never C or B).

    The letters come from ``layout``, else from the mask: its axes, counted from
    the right of the data's axes besides the channel, are W, H, then T, then B.
    """
    if layout is not None:
        letters = list(check_layout(layout, ndim))
    else:
        letters = ["?"] * ndim
        others = [a for a in range(ndim) if a != channel]
        for axis, letter in zip(others[len(others) - mask_ndim :], "BTHW"[-mask_ndim:], strict=True):
            letters[axis] = letter
    return tuple(a for a, letter in enumerate(letters) if letter in "THW")


def mean_values(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """``x``'s mean over ``axes`` (kept as axes of size 1), in float64 (complex128 for complex data,
    whose imaginary part it keeps). Channels-last data whose axes run just before the channel,
    (..., H, W, C), is summed by a kernel: numpy reduces it several times slower than (..., C, H, W)."""
    wide = np.complex128 if x.dtype.kind == "c" else np.float64
    n = x.ndim
    if (
        axes
        and x.flags.c_contiguous
        and x.dtype in KERNEL_DTYPES
        and x.dtype.kind != "b"
        and axes == tuple(range(axes[0], n - 1))
        and x.size > 0
    ):
        n_l, n_s = math.prod(x.shape[: axes[0]]), math.prod(x.shape[axes[0] : n - 1])
        sums = np.zeros((n_l, x.shape[-1]))
        _channel_sums(x.reshape(n_l, n_s, x.shape[-1]), sums)
        kept = tuple(1 if a in axes else size for a, size in enumerate(x.shape))
        return (sums / n_s).reshape(kept)
    return x.mean(axis=axes, keepdims=True, dtype=wide)


@kernel
def _channel_sums(x: np.ndarray, sums: np.ndarray) -> None:
    """``sums[l, c] += x[l, s, c]`` over ``s`` (float64 sums of channels-last blocks ``(L, S, C)``)."""
    n_l, n_s, n_c = x.shape
    for i in range(n_l):
        block, total = x[i], sums[i]
        if n_c == 3:  # RGB, written out: independent sums the processor can add side by side
            r = g = b = 0.0
            for s in range(n_s):
                r += block[s, 0]
                g += block[s, 1]
                b += block[s, 2]
            total[0] += r
            total[1] += g
            total[2] += b
            continue
        for s in range(n_s):
            for c in range(n_c):
                total[c] += block[s, c]


def computed_fill(fill: Any, shape: tuple[int, ...], kind: str, rng: Any, mean: Any) -> Any:
    """The values of a ``"noise"`` fill (drawn from ``rng``) or a ``"mean"`` fill (``mean()``, the
    adapter's own), or ``fill`` itself; ``rng`` is checked even where it is not used."""
    if rng is None and type(fill) in (float, int):  # the usual case: a number, nothing to draw
        return fill
    special = special_fill(fill)
    if isinstance(special, Noise):
        return noise_values(special, shape, _validate.rng(rng), kind)
    if rng is not None:
        _validate.rng(rng)
    return mean() if special == "mean" else fill


def noise_values(noise: Noise, shape: tuple[int, ...], rng: np.random.Generator, kind: str) -> np.ndarray:
    """Noise for data of ``shape`` and dtype kind ``kind`` (float64; whole numbers for integer data)."""
    if noise.mean is not None and noise.std is not None:
        values = rng.normal(noise.mean, noise.std, shape)
        return values if kind in "fc" else np.rint(values)
    assert noise.low is not None and noise.high is not None  # set where mean and std are not
    values = rng.uniform(noise.low, noise.high, shape)
    return values if kind in "fc" else np.floor(values)


def feather_weights(mask: np.ndarray, feather: float) -> np.ndarray:
    """How much of the fill each pixel of a checked bool mask ``(..., H, W)`` gets with soft edges.

    0 where the pixel is visible; where it is hidden, ``min(1, d / feather)`` with
    ``d`` the Euclidean distance in pixels to the nearest visible pixel of its
    frame (``scipy.ndimage.distance_transform_edt``), so the fill fades in over
    ``feather`` pixels from the mask's edge; 1 in a frame with no visible pixel.
    ``feather`` is a positive number. Returns float64 of the mask's shape.
    """
    from scipy import ndimage

    if mask.size == 0:
        return np.zeros(mask.shape)
    n_h, n_w = mask.shape[-2:]
    apart = math.hypot(n_h, n_w) + feather + 1.0  # frames farther apart than pixels of one frame
    distance = ndimage.distance_transform_edt(mask.reshape(-1, n_h, n_w), sampling=(apart, 1.0, 1.0))
    return np.minimum(distance / feather, 1.0).reshape(mask.shape)


def check_feather(feather: Any, kind: str) -> float:
    """``feather`` checked: a finite number >= 0 (0 is a hard edge), and not on boolean data."""
    if feather == 0 and type(feather) in (float, int):  # the default: a hard edge
        return 0.0
    feather = _validate.number("feather", feather, low=0.0)
    if feather > 0 and kind == "b":
        raise TypeError(f"feather={feather:g} blends the fill into the data, which boolean data cannot hold")
    return feather


def blend_array(x: np.ndarray, weights: np.ndarray, values: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    """``x`` with ``values`` blended in by ``weights`` (broadcast views): ``x`` where the weight is 0,
    ``values`` where it is 1, ``(1 - w) x + w values`` between (rounded to the nearest integer for
    integer data)."""
    wide = x.dtype if x.dtype.kind in "fc" and x.dtype.itemsize >= 4 else np.dtype(np.float64)
    w = weights.astype(wide, copy=False)
    with np.errstate(invalid="ignore", over="ignore"):  # inf data or fill: the ends are set below
        mixed = x * (1 - w) + values.astype(wide, copy=False) * w
    if x.dtype.kind in "iu":
        mixed = np.rint(mixed)
    mixed = np.where(w >= 1, values, np.where(w <= 0, x, mixed))
    if out is None:
        return mixed.astype(x.dtype, copy=False)
    np.copyto(out, mixed, casting="unsafe")
    return out


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
    ``view`` (from :func:`resolve`), ``values`` has ``x``'s dtype and a shape from
    :func:`fill_shape`, and ``out`` is None or an array of ``x``'s shape and dtype.
    """
    blocks = _blocks(x, out, view, channel, values)
    if blocks is not None:  # the common case: one pass in a kernel
        result = np.empty_like(x) if out is None else out
        n_l, n_c, n_s, last = blocks
        rows = np.ascontiguousarray(mask).reshape(-1, n_s)
        if last and _fill_by_words(x, rows, values, n_c, result):
            return result
        kernel = _fill_where_last if last else _fill_where
        shape = (n_l, n_s, n_c) if last else (n_l, n_c, n_s)
        kernel(x.reshape(shape), rows, values.ravel(), result.reshape(shape))
        return result
    hidden = mask.reshape(view)
    if out is None:
        result = np.where(hidden, values, x)  # one pass
        return (
            result if result.dtype == x.dtype else result.astype(x.dtype)
        )  # byte order: np.where's is native
    if out is not x:
        np.copyto(out, x)
    np.copyto(out, values, where=hidden)
    return out


def _blocks(
    x: np.ndarray, out: np.ndarray | None, view: tuple[int, ...], channel: int | None, values: np.ndarray
) -> tuple[int, int, int, bool] | None:
    """``x`` as ``L`` blocks of ``C`` channels and ``S`` pixels, and whether the channel axis comes last
    (then for :func:`_fill_where_last`, else :func:`_fill_where`), or None when no kernel applies.

    They apply to contiguous arrays of the usual dtypes, a scalar or per-channel
    fill, and a mask that spans every axis after its first one (the leading axes
    it repeats over excepted) but the channel.
    """
    if (
        x.dtype not in KERNEL_DTYPES
        or not x.flags.c_contiguous
        or x.size == 0
        or (out is not None and not out.flags.c_contiguous)
    ):
        return None
    blocks = _block_shape(x.shape, view, channel)
    per_channel = channel is not None and values.ndim == x.ndim and values.shape[channel] == values.size
    return blocks if blocks is not None and (values.size == 1 or per_channel) else None


@functools.lru_cache(maxsize=256)
def _block_shape(
    x_shape: tuple[int, ...], view: tuple[int, ...], channel: int | None
) -> tuple[int, int, int, bool] | None:
    spanned = [a for a in range(len(x_shape)) if a != channel]
    first = next(
        (a for a in spanned if view[a] != 1), len(x_shape)
    )  # the mask repeats over the axes before it
    if any(view[a] != x_shape[a] for a in spanned if a >= first):
        return None
    if channel is None:
        return math.prod(x_shape[:first]), 1, math.prod(x_shape[first:]), False
    if channel == len(x_shape) - 1 and first < channel:  # (..., H, W, C): channels side by side
        return math.prod(x_shape[:first]), x_shape[channel], math.prod(x_shape[first:channel]), True
    if any(channel < a < first for a in spanned):  # repeats after the channel
        return None
    return math.prod(x_shape[:channel]), x_shape[channel], math.prod(x_shape[channel + 1 :]), False


@kernel
def _fill_where(x: np.ndarray, mask: np.ndarray, values: np.ndarray, out: np.ndarray) -> None:
    """``out[l, c, s] = values[c]`` (or ``values[0]`` for all) where ``mask[l % M, s]``, else ``x[l, c, s]``
    (``x``, ``out``: L, C, S)."""
    n_l, n_c, n_s = x.shape
    n_m = mask.shape[0]
    for i in range(n_l):
        hidden = mask[i % n_m]
        for c in range(n_c):
            value, source, target = values[c % values.size], x[i, c], out[i, c]
            for s in range(n_s):
                target[s] = value if hidden[s] else source[s]


def _fill_by_words(x: np.ndarray, rows: np.ndarray, values: np.ndarray, n_c: int, out: np.ndarray) -> bool:
    """Channels-last data filled 8 pixels at a time, as 64-bit words (:func:`_fill_words`); False
    where that does not apply: rows of pixels that are not a whole number of 8, or memory that is
    not aligned to 8 bytes (then :func:`_fill_where_last` does it)."""
    if rows.shape[1] % 8:
        return False
    words = [a.reshape(-1).view(np.uint64) for a in (x, rows, out)]
    if not all(w.flags.aligned for w in words):
        return False
    source, hidden, target = words
    n_l = x.size // (rows.shape[1] * n_c)
    _fill_words(
        source.reshape(n_l, -1),
        hidden.reshape(rows.shape[0], -1),
        _fill_pattern(values.tobytes(), x.dtype, n_c),
        _word_masks(n_c * x.dtype.itemsize),
        target.reshape(n_l, -1),
    )
    return True


@functools.lru_cache(maxsize=64)
def _fill_pattern(values: bytes, dtype: np.dtype, n_c: int) -> np.ndarray:
    """The fill of 8 pixels of ``n_c`` channels (one value, or one per channel) as 64-bit words."""
    one = np.broadcast_to(np.frombuffer(values, dtype=dtype), (8, n_c))
    return np.ascontiguousarray(one).reshape(-1).view(np.uint64)


@functools.lru_cache(maxsize=16)
def _word_masks(pixel: int) -> np.ndarray:
    """For each of the 256 patterns of 8 hidden-or-not pixels (as :func:`_pack` numbers them), the
    ``pixel``-byte pixels' bytes all ones where hidden, as ``pixel`` 64-bit words."""
    bits = (np.arange(256)[:, None] >> np.arange(8)) & 1  # pattern, pixel
    table = np.repeat(bits.astype(np.uint8) * np.uint8(255), pixel, axis=1)
    return np.ascontiguousarray(table).view(np.uint64)


@kernel
def _pack(word: np.uint64) -> np.uint64:
    """The low bits of the 8 bytes of ``word`` (each 0 or 1) as one number in [0, 256): byte j to bit j."""
    word |= word >> np.uint64(7)
    word |= word >> np.uint64(14)
    word |= word >> np.uint64(28)
    return word & np.uint64(255)


@kernel
def _fill_words(
    x: np.ndarray, mask: np.ndarray, values: np.ndarray, table: np.ndarray, out: np.ndarray
) -> None:
    """``out = x`` with each hidden pixel's bytes taken from ``values``, 8 pixels (P words) at a time:
    ``x``, ``out`` (L, G * P) words, ``mask`` (M, G) words of 8 mask bytes, ``values`` the P words of 8
    pixels of fill, ``table`` (256, P) the bytes of each pattern of hidden pixels (no branch: each
    word is ``a ^ ((a ^ fill) & hidden)``)."""
    n_l = x.shape[0]
    n_m, n_g = mask.shape
    n_p = values.size
    for i in range(n_l):
        hidden, source, target = mask[i % n_m], x[i], out[i]
        if n_p == 3:  # 8 pixels of 3 bytes (uint8 RGB), the usual case, written out
            v0, v1, v2 = values[0], values[1], values[2]
            flat = table.reshape(-1)
            for g in range(n_g):
                at, base = 3 * _pack(hidden[g]), 3 * g
                a, b, c = source[base], source[base + 1], source[base + 2]
                target[base] = a ^ ((a ^ v0) & flat[at])
                target[base + 1] = b ^ ((b ^ v1) & flat[at + 1])
                target[base + 2] = c ^ ((c ^ v2) & flat[at + 2])
            continue
        for g in range(n_g):
            row, base = table[_pack(hidden[g])], g * n_p
            for w in range(n_p):
                a = source[base + w]
                target[base + w] = a ^ ((a ^ values[w]) & row[w])


@kernel
def _fill_where_last(x: np.ndarray, mask: np.ndarray, values: np.ndarray, out: np.ndarray) -> None:
    """``out[l, s, c] = values[c]`` (or ``values[0]`` for all) where ``mask[l % M, s]``, else
    ``x[l, s, c]`` (``x``, ``out``: L, S, C): channels last, each pixel's channels side by side.
    Three channels (RGB), the usual case, are written out one by one: a loop over them runs
    several times slower."""
    n_l, n_s, n_c = x.shape
    n_m = mask.shape[0]
    n_v = values.size
    for i in range(n_l):
        hidden, source, target = mask[i % n_m], x[i], out[i]
        if n_c == 3:
            v0, v1, v2 = values[0], values[1 % n_v], values[2 % n_v]
            for s in range(n_s):
                h = hidden[s]
                target[s, 0] = v0 if h else source[s, 0]
                target[s, 1] = v1 if h else source[s, 1]
                target[s, 2] = v2 if h else source[s, 2]
            continue
        for s in range(n_s):
            h = hidden[s]
            for c in range(n_c):
                target[s, c] = values[c % n_v] if h else source[s, c]
