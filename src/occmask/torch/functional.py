"""The functional part of the torch adapter: :func:`occlude` and its fills, for tensors.

The torch twin of :mod:`occmask.apply`: the same layouts, broadcasting and fill
rules (from :mod:`occmask._occlude`); the data never leaves its device. CPU
tensors whose memory numpy can share (contiguous, or in any other dense order
such as ``torch.channels_last``) go through the numpy adapter's one-pass kernel.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch

from .. import _validate
from .._fill import mean_values, occlude_array
from .._occlude import (
    KERNEL_DTYPES,
    check_feather,
    computed_fill,
    feather_weights,
    fill_array,
    fill_shape,
    mean_axes,
    resolve,
    special_fill,
    unrepresentable,
)

__all__ = ["occlude"]


# --------------------------------------------------------------------------- occlude


def _as_mask(mask: Any, device: torch.device) -> torch.Tensor:
    """The mask as a bool tensor on ``device`` (moved at most once, without blocking)."""
    if isinstance(mask, torch.Tensor):
        if mask.dtype != torch.bool:
            raise TypeError(f"mask must have dtype torch.bool, got {mask.dtype}; use mask.bool() if intended")
        if mask.ndim not in (2, 3, 4):
            raise ValueError(f"mask must have 2, 3 or 4 dimensions, got shape {tuple(mask.shape)}")
        if mask.is_meta and device.type != "meta":
            raise ValueError(
                f"mask is on the meta device (shapes without data) but x is on {device}; "
                "pass a mask that holds values"
            )
        return mask.to(device, non_blocking=True)
    if not isinstance(mask, np.ndarray):
        raise TypeError(f"mask must be a numpy.ndarray or a torch.Tensor of bool, got {type(mask).__name__}")
    mask = _validate.mask(mask, ndims=(2, 3, 4))
    if not (mask.flags.c_contiguous and mask.flags.writeable):
        mask = np.array(mask, order="C")  # torch.from_numpy wants a writable, plain array
    return torch.from_numpy(mask).to(device, non_blocking=True)


@functools.cache
def _numpy_dtype(dtype: torch.dtype) -> np.dtype | None:
    """The numpy dtype matching a torch dtype, or None (bfloat16, float8, ...)."""
    try:
        return torch.empty(0, dtype=dtype).numpy().dtype
    except (TypeError, RuntimeError):
        return None


def is_float(dtype: torch.dtype) -> bool:
    return dtype.is_floating_point or dtype.is_complex


def _fill_values(fill: Any, dtype: torch.dtype) -> np.ndarray:
    """A non-tensor ``fill`` checked against ``dtype`` with the numpy adapter's rules.

    Returns the values as a numpy array of the matching dtype, or of float64 when
    numpy has no such dtype (then overflow is checked here, in torch).
    """
    np_dtype = _numpy_dtype(dtype)
    if np_dtype is not None:
        return fill_array(fill, np_dtype)
    values = fill_array(fill, np.dtype(np.float64))
    if is_float(dtype):
        wide = torch.as_tensor(values)
        narrow = wide.to(dtype).double()  # float8 formats may saturate or turn to NaN instead of inf
        if bool(
            (torch.isfinite(wide) & (~torch.isfinite(narrow) | (wide.abs() > torch.finfo(dtype).max))).any()
        ):
            raise unrepresentable(values if values.ndim else fill, dtype)
        return values
    raise TypeError(f"x has dtype {dtype}, which occlude does not support")


def _cast_cannot_fail(src: torch.dtype, dst: torch.dtype) -> bool:
    """Whether every value of ``src`` converts to ``dst`` under the adapter's rules."""
    if src == dst or src == torch.bool:
        return True
    if is_float(dst):
        if src.is_complex and not dst.is_complex:
            return False
        top = torch.finfo(src).max if is_float(src) else torch.iinfo(src).max
        return top <= torch.finfo(dst).max
    if is_float(src) or dst == torch.bool:
        return False
    s, d = torch.iinfo(src), torch.iinfo(dst)
    return d.min <= s.min and s.max <= d.max


def _fill_tensor(fill: torch.Tensor, x: torch.Tensor, channel: int | None) -> torch.Tensor:
    """A tensor ``fill`` cast to ``x``'s dtype and device, shaped to broadcast against ``x``."""
    if fill.dtype.is_complex and not x.dtype.is_complex:
        raise TypeError(f"fill must be real for data of dtype {x.dtype}, got a tensor of dtype {fill.dtype}")
    shape = fill_shape(tuple(fill.shape), tuple(x.shape), channel)
    values = fill.reshape(shape).to(device=x.device, non_blocking=True)
    cast = values.to(x.dtype)
    if not _cast_cannot_fail(fill.dtype, x.dtype):
        # Only here does the check wait for the device: the cast may overflow or round.
        if is_float(x.dtype):
            bad = torch.isfinite(values) & ~torch.isfinite(cast)
        else:
            bad = cast.to(values.dtype) != values
        if bool(bad.any()):
            shown = values.detach().cpu().double() if not values.is_complex() else values.detach().cpu()
            raise unrepresentable(shown.numpy() if values.ndim else shown.item(), x.dtype)
    return cast


def occlude(
    x: torch.Tensor,
    mask: Any,
    fill: Any = 0.0,
    *,
    layout: str | None = None,
    out: torch.Tensor | None = None,
    rng: Any = None,
    feather: float = 0.0,
) -> torch.Tensor:
    """Hide the masked pixels of an image, video or batch held in a tensor.

    The torch twin of :func:`occmask.occlude` (which calls it for tensors): the
    same layouts, broadcasting and fill rules. The result keeps ``x``'s dtype and
    device; a numpy mask is moved to the device once, and ``x`` never leaves it.
    Without ``out`` the operation is out of place (``torch.where``) and
    differentiable: gradients flow to the visible pixels of ``x`` (and to
    ``fill`` if it is a tensor that requires them). Contiguous CPU tensors that
    need no gradient take the numpy adapter's one-pass kernel instead.

    Parameters
    ----------
    x : torch.Tensor
        Data (a tensor of any subclass, which the result keeps) whose trailing
        spatial axes match the mask: (H, W), (C, H, W),
        (H, W, C), (T, H, W), (T, C, H, W), (T, H, W, C), (B, T, C, H, W), ...
    mask : ndarray or torch.Tensor of bool, shape (H, W), (T, H, W) or (B, T, H, W)
        True where a pixel is hidden; broadcast over channels and leading axes.
    fill : scalar, sequence, ndarray, torch.Tensor, "noise", "mean" or Noise, default 0.0
        Value for hidden pixels: one number, one per channel (length C), or an
        array that broadcasts to ``x`` (a background image, a texture, another
        sample). Integer and boolean data must hold it exactly; floating data may
        round it but not overflow. ``"mean"``: each sample's mean per channel;
        ``"noise"`` or an :class:`~occmask.Noise`: random values drawn from
        ``rng`` (the same on every device), as in :func:`occmask.occlude`.
    layout : str, optional
        Letters naming the axes of ``x`` (``B``, ``T``, ``C``, ``H``, ``W``), e.g.
        ``"THWC"``. Needed only when the shapes leave the layout ambiguous.
    out : torch.Tensor, optional
        Where to write the result (same shape, dtype and device as ``x``); pass
        ``out=x`` to occlude in place (not with tensors that require gradients).
    rng : None, int, numpy.random.SeedSequence or numpy.random.Generator
        Source of the values of a ``"noise"`` fill (SPEC 7).
    feather : float, default 0.0
        Soft edges over this many pixels, as in :func:`occmask.occlude` (the
        weights are computed from the mask on the CPU and moved to the device
        once; the blend is differentiable). 0 is a hard edge.

    Returns
    -------
    torch.Tensor
        ``x`` with hidden pixels set to ``fill``, same shape, dtype and device.

    Examples
    --------
    >>> import torch
    >>> import occmask as om
    >>> from occmask.torch import occlude
    >>> video = torch.ones(8, 3, 32, 32, requires_grad=True)        # (T, C, H, W)
    >>> mask = om.perlin((8, 32, 32), coverage=0.25, rng=0)         # numpy bool (T, H, W)
    >>> hidden = occlude(video, mask, fill=[0.5, 0.4, 0.3])          # one value per channel
    >>> float((hidden[:, 0] == 0.5).float().mean())
    0.25
    >>> hidden.sum().backward()                                     # gradients reach visible pixels
    >>> float(video.grad.mean())
    0.75
    """
    result = _occlude(x, mask, fill, layout, out, rng, feather)
    if out is None and type(result) is not type(x):  # a subclass of Tensor (e.g. a tv_tensors.Image)
        result = result.as_subclass(type(x))
    return result


def _occlude(
    x: Any, mask: Any, fill: Any, layout: str | None, out: Any, rng: Any, feather: Any = 0.0
) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    mask = _as_mask(mask, x.device)
    view, channel = resolve(tuple(x.shape), tuple(mask.shape), layout)
    if out is not None:
        if (
            not isinstance(out, torch.Tensor)
            or out.shape != x.shape
            or out.dtype != x.dtype
            or out.device != x.device
        ):
            raise ValueError(
                f"out must be a torch.Tensor of shape {tuple(x.shape)}, dtype {x.dtype} on {x.device}, got "
                + (
                    f"{tuple(out.shape)} {out.dtype} on {out.device}"
                    if isinstance(out, torch.Tensor)
                    else type(out).__name__
                )
            )
        if out.requires_grad:
            raise ValueError(
                "out must not require gradients: writing into it cannot be differentiated; "
                "call occlude without out for a differentiable result"
            )
        if _overlaps(out):
            raise ValueError(
                f"out must not have elements that share memory, got one of shape {tuple(out.shape)} and "
                f"strides {out.stride()} (e.g. an expanded tensor, whose frames are one frame): pass "
                "out=x.clone(), or call occlude without out"
            )
    feather = check_feather(feather, "b" if x.dtype == torch.bool else "f")
    frames = mask  # the mask as given, (..., H, W): soft edges are measured in its frames
    if not isinstance(fill, torch.Tensor):
        kind = "f" if is_float(x.dtype) else "i"
        fill = computed_fill(
            fill, tuple(x.shape), kind, rng, lambda: _mean_fill(x, mask.ndim, channel, layout)
        )
    if isinstance(fill, torch.Tensor):
        values = _fill_tensor(fill, x, channel)
        mask = mask.reshape(view)
    else:
        array = _fill_values(fill, x.dtype)
        array = array.reshape(fill_shape(array.shape, tuple(x.shape), channel))
        order = None if feather else numpy_order(x, out, channel)
        if order is not None:  # the one-pass kernel on the same memory, in its order
            data = x.permute(order).numpy()
            # numpy's allocator: it asks the kernel for huge pages, torch's takes many page faults
            result = out.permute(order).numpy() if out is not None else np.empty_like(data)
            if array.ndim == x.ndim:
                array = array.transpose(order)
            view_p = tuple(view[a] for a in order)
            occlude_array(
                data,
                mask.numpy(),
                array,
                view_p,
                order.index(channel) if channel is not None else None,
                result,
            )
            return out if out is not None else torch.from_numpy(result).permute(_inverse(order))
        mask = mask.reshape(view)
        if array.ndim == 0 and not feather:  # one number: no tensor to build or move
            scalar = array.item()
            if out is None:
                return torch.where(mask, scalar, x)  # (faster than masked_fill on scattered masks)
            if out is not x:
                out.copy_(x)
            return out.masked_fill_(mask, scalar)
        values = torch.from_numpy(np.ascontiguousarray(array)).to(
            device=x.device, dtype=x.dtype, non_blocking=True
        )
    if feather:
        result = _blend(x, frames, view, values, feather)
        return result if out is None else out.copy_(result)
    if out is None:
        return torch.where(mask, values, x)
    return torch.where(mask, values, x, out=out)


def _blend(
    x: torch.Tensor, mask: torch.Tensor, view: tuple[int, ...], values: torch.Tensor, feather: float
) -> torch.Tensor:
    """``x`` with ``values`` blended in by the soft-edge weights of ``mask`` (see
    :func:`occmask._occlude.feather_weights`; computed on the CPU, moved to ``x``'s device once)."""
    if is_float(x.dtype) and x.dtype.itemsize >= 4:
        wide = x.dtype
    else:
        wide = torch.float32 if x.device.type == "mps" else torch.float64
    if mask.is_meta:
        weights = torch.empty(view, dtype=wide, device="meta")
    else:
        found = feather_weights(mask.detach().cpu().numpy(), feather).reshape(view)
        weights = torch.from_numpy(found).to(device=x.device, dtype=wide, non_blocking=True)
    data, fill = x.to(wide), values.to(wide)
    mixed = data * (1 - weights) + fill * weights
    if not is_float(x.dtype):
        mixed = torch.round(mixed)
    return torch.where(weights >= 1, fill, torch.where(weights <= 0, data, mixed)).to(x.dtype)


def _mean_fill(
    x: torch.Tensor, mask_ndim: int, channel: int | None, layout: str | None
) -> torch.Tensor | np.ndarray:
    """Each sample's mean per channel (see :func:`occmask._occlude.mean_axes`), rounded for integer data:
    for CPU data that numpy can share, a numpy array summed in the data's memory order (so that the
    one-pass kernel writes it too), else a tensor on ``x``'s device."""
    if x.numel() == 0:
        return torch.zeros((), dtype=x.dtype, device=x.device)
    axes = mean_axes(x.ndim, mask_ndim, channel, layout)
    order = numpy_order(x, None, channel)
    if order is not None and axes:
        data = x.permute(order).numpy()
        mean = mean_values(data, tuple(sorted(order.index(a) for a in axes))).transpose(_inverse(order))
        return mean if is_float(x.dtype) else np.rint(mean)
    wide = torch.float32 if x.device.type == "mps" else torch.float64
    if x.dtype.is_complex:  # the mean of complex data keeps its imaginary part
        wide = torch.complex64 if x.device.type == "mps" else torch.complex128
    mean = x.to(wide).mean(dim=axes, keepdim=True) if axes else x.to(wide)
    return mean if is_float(x.dtype) else torch.round(mean)


def numpy_order(x: torch.Tensor, out: torch.Tensor | None, channel: int | None) -> tuple[int, ...] | None:
    """The order of ``x``'s axes in memory when :func:`occlude` can hand it to the numpy kernel, else
    None: CPU data of a dtype it handles, no gradient to track, and dense in the order of its axes
    or with only the channel axis elsewhere (``torch.channels_last``, an (H, W, C) array seen as
    (C, H, W)); ``out``, if given, in the same order."""
    if x.device.type != "cpu" or x.requires_grad or _numpy_dtype(x.dtype) not in KERNEL_DTYPES:
        return None
    for order in _orders(x.ndim, channel):
        if x.permute(order).is_contiguous() and (out is None or out.permute(order).is_contiguous()):
            return order
    return None


@functools.lru_cache(maxsize=64)
def _orders(ndim: int, channel: int | None) -> tuple[tuple[int, ...], ...]:
    """The axes in their order, then with the channel axis moved to each other place (last first)."""
    same = tuple(range(ndim))
    if channel is None:
        return (same,)
    others = [a for a in same if a != channel]
    moved = [(*others[:place], channel, *others[place:]) for place in range(ndim - 1, -1, -1)]
    return (same, *(order for order in moved if order != same))


def _inverse(order: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(sorted(range(len(order)), key=order.__getitem__))


def _overlaps(t: torch.Tensor) -> bool:
    """Whether two elements of ``t`` may share memory (a stride 0, or strides that interleave)."""
    reach = 1
    for stride, size in sorted((s, n) for s, n in zip(t.stride(), t.shape, strict=True) if n > 1):
        if stride < reach:
            return True
        reach = stride * size
    return False


class SlicedFill:
    """Occlusion of a CPU batch by the numpy adapter's kernel, one slice of samples at a time, so that
    the thread that makes a slice's masks fills it too (``then`` of the batch engine). :meth:`of`
    says where it applies; the result is :attr:`result`, in ``x``'s memory order."""

    def __init__(
        self, x: torch.Tensor, values: np.ndarray, layout: str, mask_shape: tuple[int, ...], order: tuple
    ) -> None:
        self.order = order
        self.x = x.permute(order).numpy()
        view, channel = resolve(tuple(x.shape), mask_shape, layout)
        self.view = tuple(view[a] for a in order)
        self.channel = None if channel is None else order.index(channel)
        self.values = values.transpose(order) if values.ndim == x.ndim else values
        self.batch = "B" in layout  # then on the first axis, sliced with the masks
        self.per_sample = self.batch and self.values.ndim == self.x.ndim and self.values.shape[0] > 1
        self.out = np.empty_like(self.x)  # numpy's allocator (see occlude)

    @classmethod
    def of(cls, x: torch.Tensor, fill: Any, layout: str, mask_shape: tuple[int, ...]) -> SlicedFill | None:
        """The sliced fill of ``x`` with a fixed ``fill`` (numbers or an array: not a tensor, not
        ``"mean"``, not noise), or None where :func:`occlude` does the work: data the kernel cannot
        share, or samples on an axis other than the first."""
        channel = layout.index("C") if "C" in layout else None
        if isinstance(fill, torch.Tensor) or special_fill(fill) is not None:
            return None
        order = numpy_order(x, None, channel)
        if order is None or ("B" in layout and (layout[0] != "B" or order[0] != 0)):
            return None
        values = _fill_values(fill, x.dtype)
        values = values.reshape(fill_shape(values.shape, tuple(x.shape), channel))
        return cls(x, values, layout, mask_shape, order)

    def __call__(self, masks: np.ndarray, start: int, stop: int) -> None:
        """Fill samples ``start`` to ``stop - 1`` of the result with their masks, ``masks[start:stop]``."""
        if not self.batch:
            occlude_array(self.x, masks[0], self.values, self.view, self.channel, self.out)
            return
        occlude_array(
            self.x[start:stop],
            masks[start:stop],
            self.values[start:stop] if self.per_sample else self.values,
            (stop - start, *self.view[1:]),
            self.channel,
            self.out[start:stop],
        )

    @property
    def result(self) -> torch.Tensor:
        return torch.from_numpy(self.out).permute(_inverse(self.order))
