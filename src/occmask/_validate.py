"""Argument checks shared by every public function.

Each check returns the normalised value or raises a ``ValueError``/``TypeError``
that names the argument, shows the value and says what is allowed. Public
functions call these before any kernel runs, so a kernel never sees an input that
could make it read or write out of bounds.
"""

from __future__ import annotations

import math
import numbers
import os
import sys
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

__all__ = [
    "choice",
    "coverage",
    "integer",
    "is_real",
    "mask",
    "number",
    "number_range",
    "region",
    "rng",
    "shape",
    "show",
    "typed",
    "unwrap",
    "warn",
]


def show(value: Any) -> str:
    """``repr(value)``, cut to 80 characters: a bad value as an error message quotes it."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def unwrap(value: Any) -> Any:
    """A 0-d numpy array or tensor as the Python number it holds (anything else unchanged)."""
    if getattr(value, "ndim", None) == 0 and callable(getattr(value, "item", None)):
        return value.item()
    return value


def is_real(value: Any) -> bool:
    """Whether ``value`` is a real number (bools excluded)."""
    if type(value) is float or type(value) is int:  # the usual cases, without the slower ABC check
        return True
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _is_int(value: Any) -> bool:
    if type(value) is int:
        return True
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def number(
    name: str,
    value: Any,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Check a finite real number in an interval (a 0-d array or tensor too); return it as ``float``."""
    if (
        type(value) is float
        and low <= value <= high
        and abs(value) < math.inf
        and not (low_open or high_open)
    ):
        return value  # the usual case, in a few comparisons (NaN fails them)
    value = unwrap(value)
    if not is_real(value):
        raise TypeError(f"{name} must be a real number, got {show(value)} of type {type(value).__name__}")
    value = float(value)
    below = value <= low if low_open else value < low
    above = value >= high if high_open else value > high
    if math.isnan(value) or below or above or math.isinf(value):
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        raise ValueError(
            f"{name} must be a finite number in {left}{low:g}, {high:g}{right}, got {show(value)}"
        )
    return value


def integer(name: str, value: Any, *, low: int | None = None, high: int | None = None) -> int:
    """Check an integer (not a bool, not a float; a 0-d array or tensor too) within ``[low, high]``."""
    if type(value) is int and (low is None or value >= low) and (high is None or value <= high):
        return value  # the usual case, in a few comparisons
    value = unwrap(value)
    if not _is_int(value):
        raise TypeError(f"{name} must be an integer, got {show(value)} of type {type(value).__name__}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {value}")
    return value


def number_range(
    name: str, value: Any, *, low: float = -math.inf, high: float = math.inf, low_open: bool = False
) -> tuple[float, float]:
    """Check a number or a ``(lo, hi)`` pair with ``lo <= hi``; a number ``v`` means ``(v, v)``."""
    value = unwrap(value)
    if is_real(value):
        v = number(name, value, low=low, high=high, low_open=low_open)
        return (v, v)
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(f"{name} must be a number or a (low, high) pair, got {show(value)}")
    pair = tuple(value)
    if len(pair) != 2:
        raise ValueError(f"{name} must be a number or a (low, high) pair, got {show(value)}")
    lo = number(f"{name}[0]", pair[0], low=low, high=high, low_open=low_open)
    hi = number(f"{name}[1]", pair[1], low=low, high=high, low_open=low_open)
    if lo > hi:
        raise ValueError(f"{name} must satisfy low <= high, got {show(value)}")
    return (lo, hi)


def coverage(value: Any, name: str = "coverage") -> float:
    """Check a coverage: a real number in [0, 1]."""
    return number(name, value, low=0.0, high=1.0)


def choice(name: str, value: Any, allowed: Iterable[str] | Mapping[str, Any]) -> str:
    """Check that ``value`` is one of the ``allowed`` strings."""
    options = list(allowed)
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {options}, got {show(value)}")
    return value


def typed(value: Any) -> Any:
    """``value`` with its type, and a tuple's items with theirs: a key under which ``1``,
    ``1.0``, ``True`` and ``numpy.float64(1)`` stay apart (their hashes are equal)."""
    if type(value) is tuple:
        return (tuple, *(typed(v) for v in value))
    return (type(value), value)


def shape(value: Any, name: str = "shape") -> tuple[tuple[int, int, int], bool]:
    """Check a mask shape ``(H, W)`` or ``(T, H, W)`` of positive integers.

    Returns the shape as ``(T, H, W)`` and whether the caller asked for an image.
    """
    if _is_int(value) or isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(f"{name} must be a tuple (H, W) or (T, H, W) of positive integers, got {show(value)}")
    dims = tuple(value)
    if len(dims) not in (2, 3):
        raise ValueError(
            f"{name} must have 2 dimensions (H, W) or 3 (T, H, W), got {len(dims)} dimensions: {show(value)}"
        )
    for d in dims:
        if not _is_int(d):
            raise TypeError(f"{name} must contain integers, got {show(d)} in {show(value)}")
        if d < 1:
            raise ValueError(f"{name} must contain positive integers, got {show(value)}")
    dims = tuple(int(d) for d in dims)
    if len(dims) == 2:
        return (1, dims[0], dims[1]), True
    return (dims[0], dims[1], dims[2]), False


#: Integer seeds that every random part of occmask draws or accepts for a sample lie in
#: ``[0, SEED_BOUND)``: 63 bits, which torch holds in an int64.
SEED_BOUND = 2**63 - 1


def rng(value: Any) -> np.random.Generator:
    """Normalise ``rng`` once at a public boundary (SPEC 7)."""
    if value is None or isinstance(value, (np.random.Generator, np.random.SeedSequence)):
        return np.random.default_rng(value)
    if _is_int(value):
        if value < 0:
            raise ValueError(f"rng must be a non-negative integer seed, got {value}")
        return np.random.default_rng(int(value))
    raise TypeError(
        "rng must be None, a non-negative int, a numpy.random.SeedSequence or a numpy.random.Generator, "
        f"got {show(value)} of type {type(value).__name__}"
    )


def mask(
    value: Any, name: str = "mask", ndims: tuple[int, ...] = (2, 3), *, nonempty: bool = False
) -> np.ndarray:
    """Check a boolean mask array with one of the allowed numbers of dimensions (and, with
    ``nonempty``, no zero-length axis: the rule of :func:`shape`)."""
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray of bool, got {type(value).__name__}")
    if value.dtype != np.bool_:
        raise TypeError(
            f"{name} must have dtype bool, got dtype {value.dtype}; use mask.astype(bool) if intended"
        )
    if value.ndim not in ndims:
        raise ValueError(
            f"{name} must have {' or '.join(map(str, ndims))} dimensions, got shape {value.shape}"
        )
    if nonempty and value.size == 0:
        raise ValueError(
            f"{name} must have positive sizes (at least one frame of one pixel), got shape {value.shape}"
        )
    return value


def region(value: Any, shape: tuple[int, ...], name: str = "region") -> np.ndarray:
    """Check a region for masks of ``shape`` ((H, W) or (T, H, W)): a bool array of shape (H, W),
    or ``shape`` itself; return it C-contiguous."""
    allowed = [shape] if len(shape) == 2 else [shape[-2:], shape]
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray of bool, got {type(value).__name__}")
    if value.dtype != np.bool_:
        raise TypeError(
            f"{name} must have dtype bool, got dtype {value.dtype}; use {name}.astype(bool) or {name} > 0 "
            "if intended"
        )
    if value.shape not in [tuple(a) for a in allowed]:
        raise ValueError(
            f"{name} must have shape {' or '.join(str(tuple(a)) for a in allowed)} for masks of shape "
            f"{tuple(shape)}, got {value.shape}"
        )
    return np.ascontiguousarray(value)


def warn(message: str) -> None:
    """Issue ``message`` as a ``RuntimeWarning`` from the first caller outside the occmask package.

    Parameters
    ----------
    message : str
        The warning's text.
    """
    package = os.path.dirname(__file__) + os.sep
    frame, level = sys._getframe(1), 2
    while frame.f_back is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, RuntimeWarning, stacklevel=level)
