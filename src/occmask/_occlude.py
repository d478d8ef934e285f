"""What the numpy and torch adapters share: layouts and fill rules.

A leaf module (it imports neither adapter). :func:`resolve` finds how a mask
broadcasts against data of a given shape and layout, :func:`fill_array` and
:func:`fill_shape` turn a ``fill`` into values of the data's dtype and shape, and
:class:`Noise`, :func:`special_fill` and :func:`mean_axes` describe the fills
computed from the data or drawn at random. The kernels that write an already
checked mask and fill into memory are in :mod:`occmask._fill`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _validate

__all__ = ["KERNEL_DTYPES", "Noise", "check_layout", "computed_fill", "feather_weights", "fill_array"]
__all__ += ["fill_shape", "mean_axes", "noise_values", "resolve", "special_fill", "unrepresentable"]

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
        return values if kind in "fc" else np.rint(values, out=values)  # in place: no second array
    assert noise.low is not None and noise.high is not None  # set where mean and std are not
    values = rng.uniform(noise.low, noise.high, shape)
    return values if kind in "fc" else np.floor(values, out=values)


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
