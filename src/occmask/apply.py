"""Apply masks to arrays: the numpy adapter (torch tensors are passed to ``occmask.torch``).

A mask is (H, W), (T, H, W) or (B, T, H, W); the data may add a channel axis and
leading axes, in any of the usual layouts: (H, W), (C, H, W), (H, W, C),
(T, H, W), (T, C, H, W), (T, H, W, C), (B, T, C, H, W), ... The layout is found
from the shapes when that is unambiguous, or given as a string of the letters
``B``, ``T``, ``C``, ``H``, ``W`` (e.g. ``layout="THWC"``).
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from . import _validate
from ._fill import mean_values, occlude_array
from ._occlude import (
    Noise,
    blend_array,
    check_feather,
    computed_fill,
    feather_weights,
    fill_array,
    fill_shape,
    mean_axes,
    resolve,
)

__all__ = ["Noise", "occlude"]


def occlude(
    x: Any,
    mask: Any,
    fill: Any = 0.0,
    *,
    layout: str | None = None,
    out: Any = None,
    rng: Any = None,
    feather: float = 0.0,
) -> Any:
    """Hide the masked pixels of an image, video or batch.

    Parameters
    ----------
    x : ndarray or torch.Tensor
        Data whose trailing spatial axes match the mask: (H, W), (C, H, W),
        (H, W, C), (T, H, W), (T, C, H, W), (T, H, W, C), (B, T, C, H, W), ...
        Torch tensors (and their subclasses) are handled by :func:`occmask.torch.occlude`.
    mask : ndarray of bool, shape (H, W), (T, H, W) or (B, T, H, W)
        True where a pixel is hidden; broadcast over channels and leading axes.
    fill : scalar, sequence, ndarray, "noise", "mean" or Noise, default 0.0
        Value for hidden pixels: one number, one per channel (length C), or an
        array that broadcasts to ``x`` (a background image, a texture, another
        sample). It must be representable in ``x.dtype`` (no silent rounding or
        clipping). ``"mean"``: each sample's mean per channel (over its frames
        and pixels; rounded on integer data). ``"noise"`` or an
        :class:`~occmask.Noise`: random values drawn from ``rng``, one per hidden
        element. All of them work in the data's own units (normalised data too).
    layout : str, optional
        Letters naming the axes of ``x`` (``B``, ``T``, ``C``, ``H``, ``W``), e.g.
        ``"THWC"``. Needed only when the shapes leave the layout ambiguous.
    out : ndarray, optional
        Where to write the result (a writable array of ``x``'s shape and dtype);
        pass ``out=x`` to occlude in place. By default a new array is returned.
    rng : None, int, numpy.random.SeedSequence or numpy.random.Generator
        Source of the values of a ``"noise"`` fill (SPEC 7); checked, and
        otherwise unused, for other fills.
    feather : float, default 0.0
        Soft edges: a hidden pixel at a distance ``d`` (in pixels, Euclidean)
        from the nearest visible pixel of its frame gets
        ``(1 - w) * x + w * fill`` with ``w = min(1, d / feather)``, so the
        fill fades in over ``feather`` pixels inside the mask's edge (rounded
        to the nearest integer on integer data; not for boolean data). Visible
        pixels are unchanged. 0 (the default) is a hard edge.

    Returns
    -------
    ndarray
        ``x`` with hidden pixels set to ``fill``, same shape and dtype (byte order too).

    Examples
    --------
    >>> import numpy as np
    >>> import occmask as om
    >>> video = np.ones((8, 3, 32, 32), dtype=np.float32)           # (T, C, H, W)
    >>> mask = om.perlin((8, 32, 32), coverage=0.25, rng=0)
    >>> hidden = om.occlude(video, mask, fill=[0.5, 0.4, 0.3])      # one value per channel
    >>> float((hidden[:, 0] == 0.5).mean())
    0.25
    >>> soft = om.occlude(video, mask, fill=0.0, feather=4.0)[0, 0]  # fades in over 4 pixels
    >>> bool((soft[~mask[0]] == 1).all()), float(soft[mask[0]].max()), float(soft[mask[0]].min())
    (True, 0.75, 0.0)
    """
    if not isinstance(x, np.ndarray):  # (first: a tensor's isinstance check is the slower one)
        torch = sys.modules.get("torch")  # a tensor exists only once torch is imported
        if torch is not None and isinstance(x, torch.Tensor):  # subclasses too
            from .torch import occlude as torch_occlude

            return torch_occlude(x, mask, fill, layout=layout, out=out, rng=rng, feather=feather)
        raise TypeError(f"x must be a numpy.ndarray or a torch.Tensor, got {type(x).__name__}")
    mask = _validate.mask(mask, ndims=(2, 3, 4))
    view, channel = resolve(x.shape, mask.shape, layout)
    fill = computed_fill(fill, x.shape, x.dtype.kind, rng, lambda: _mean(x, mask.ndim, channel, layout))
    values = fill_array(fill, x.dtype)
    values = values.reshape(fill_shape(values.shape, x.shape, channel))
    if out is not None and (not isinstance(out, np.ndarray) or out.shape != x.shape or out.dtype != x.dtype):
        raise ValueError(
            f"out must be a numpy.ndarray of shape {x.shape} and dtype {x.dtype}, got "
            f"{getattr(out, 'shape', type(out).__name__)} {getattr(out, 'dtype', '')}".rstrip()
        )
    if out is not None and not out.flags.writeable:
        raise ValueError("out must be a writable array, got a read-only one (out.flags.writeable is False)")
    if check_feather(feather, x.dtype.kind) > 0:
        return blend_array(x, feather_weights(mask, feather).reshape(view), values, out)
    return occlude_array(x, mask, values, view, channel, out)


def _mean(x: np.ndarray, mask_ndim: int, channel: int | None, layout: str | None) -> np.ndarray:
    """Each sample's mean per channel (see :func:`occmask._occlude.mean_axes`), rounded for integer data."""
    if x.size == 0:
        return np.zeros((), dtype=np.float64)
    mean = mean_values(x, mean_axes(x.ndim, mask_ndim, channel, layout))
    return mean if x.dtype.kind in "fc" else np.rint(mean)
