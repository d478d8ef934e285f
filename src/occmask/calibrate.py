"""The calibrator: turn a priority field into a mask of an exact coverage.

Every family produces a float32 *priority field*; the mask is the set of pixels
with the lowest priorities. This module is the one place where that cut happens:

* ``match="frame"``: each frame gets exactly ``k = floor(coverage * H * W + 0.5)``
  pixels (round half up);
* ``match="video"``: the whole video gets exactly ``floor(coverage * T * H * W + 0.5)``;
* ``match="expected"``: a fixed threshold, the ``coverage``-quantile of the field's
  distribution estimated once from reference fields, so the *mean* coverage is the
  target and each mask varies around it like a real occluder.

Equal priorities are ordered by pixel index (row-major), which makes the exact
cut deterministic. Families make their fields free of ties where it matters, so
this rule never decides the shape of a mask.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from . import _validate

__all__ = ["MATCHES", "cut", "quantile_curve", "target_count"]

#: The coverage-matching modes.
MATCHES = ("frame", "video", "expected")

_CURVE_POINTS = 4097


def target_count(coverage: float, n: int) -> int:
    """Number of masked pixels for a coverage over ``n`` pixels: ``floor(coverage*n + 0.5)``.

    Examples
    --------
    >>> from occmask.calibrate import target_count
    >>> target_count(0.5, 5), target_count(0.3, 4096)
    (3, 1229)
    """
    return min(n, int(math.floor(coverage * n + 0.5)))


@njit(cache=True, nogil=True)
def _sort_key(value):
    """Map float32 bits to uint32 keys that sort like the floats (with -0.0 == 0.0)."""
    b = np.uint32(value)
    if b == np.uint32(0x80000000):
        b = np.uint32(0)
    if b & np.uint32(0x80000000):
        return ~b
    return b | np.uint32(0x80000000)


@njit(cache=True, nogil=True)
def _cut_rows(field, k, out):
    """Mark the ``k`` lowest values of every row of ``field`` (F, N) in ``out``.

    A three-pass radix select on the float bits finds the k-th smallest key in
    O(N) per row; equal keys are taken in index order.
    """
    n_rows, n = field.shape
    bits = field.view(np.uint32)
    keys = np.empty(n, np.uint32)
    hist = np.empty(2048, np.int64)
    for r in range(n_rows):
        if k <= 0 or k >= n:
            out[r, :] = k >= n and k > 0
            continue
        for i in range(n):
            keys[i] = _sort_key(bits[r, i])
        # Radix select: 11 + 11 + 10 bits, narrowing on the bucket that holds rank k-1.
        rank = k - 1
        prefix = np.uint32(0)
        below = 0
        for shift, width, pshift in ((21, 2048, 32), (10, 2048, 21), (0, 1024, 10)):
            hist[:width] = 0
            for i in range(n):
                key = keys[i]
                if pshift == 32 or (key >> np.uint32(pshift)) == (prefix >> np.uint32(pshift)):
                    hist[(key >> np.uint32(shift)) & np.uint32(width - 1)] += 1
            b = 0
            while rank >= hist[b]:
                rank -= hist[b]
                below += hist[b]
                b += 1
            prefix |= np.uint32(b) << np.uint32(shift)
        equal_needed = k - below
        for i in range(n):
            key = keys[i]
            if key < prefix:
                out[r, i] = True
            elif key == prefix and equal_needed > 0:
                out[r, i] = True
                equal_needed -= 1
            else:
                out[r, i] = False
    return out


def quantile_curve(samples: np.ndarray) -> np.ndarray:
    """Summarise reference field values as a quantile curve for ``match="expected"``.

    Parameters
    ----------
    samples : ndarray
        Field values drawn from the family's distribution (any shape).

    Returns
    -------
    ndarray of float64, shape (4097,)
        The quantiles at probabilities ``0, 1/4096, ..., 1``.

    Examples
    --------
    >>> import numpy as np
    >>> from occmask.calibrate import quantile_curve
    >>> curve = quantile_curve(np.random.default_rng(0).random(100_000))
    >>> round(float(curve[2048]), 2)
    0.5
    """
    values = np.asarray(samples, dtype=np.float64).ravel()
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError("samples must be a non-empty array of finite values")
    return np.quantile(values, np.linspace(0.0, 1.0, _CURVE_POINTS))


def cut(
    field: np.ndarray,
    coverage: float,
    *,
    match: str = "frame",
    reference: np.ndarray | None = None,
) -> np.ndarray:
    """Cut a priority field into a boolean mask of the requested coverage.

    Parameters
    ----------
    field : ndarray of float32, shape (H, W) or (T, H, W)
        Priorities: low values are masked first. Must be finite.
    coverage : float
        Target fraction of masked pixels, in [0, 1].
    match : {"frame", "video", "expected"}
        ``"frame"``: exactly ``floor(coverage*H*W + 0.5)`` pixels in every frame;
        ``"video"``: exactly ``floor(coverage*T*H*W + 0.5)`` over the whole video;
        ``"expected"``: pixels below the ``coverage``-quantile of ``reference``.
    reference : ndarray, optional
        Quantile curve of the field's distribution (see :func:`quantile_curve`);
        required for ``match="expected"`` and ignored otherwise.

    Returns
    -------
    ndarray of bool, same shape as ``field``

    Examples
    --------
    >>> import numpy as np
    >>> from occmask.calibrate import cut
    >>> field = np.random.default_rng(0).random((4, 8, 8), dtype=np.float32)
    >>> cut(field, 0.25).sum(axis=(1, 2))
    array([16, 16, 16, 16])
    """
    if not isinstance(field, np.ndarray) or field.dtype != np.float32:
        raise TypeError(f"field must be a numpy.ndarray of float32, got {type(field).__name__} "
                        f"{getattr(field, 'dtype', '')}".rstrip())
    if field.ndim not in (2, 3) or field.size == 0:
        raise ValueError(f"field must be a non-empty (H, W) or (T, H, W) array, got shape {field.shape}")
    coverage = _validate.coverage(coverage)
    match = _validate.choice("match", match, MATCHES)
    if match == "expected":
        if reference is None:
            raise ValueError("reference must be given for match='expected' (see quantile_curve)")
        return field < expected_threshold(np.asarray(reference, dtype=np.float64), coverage)
    if not np.all(np.isfinite(field)):
        raise ValueError("field must contain only finite values")
    field = np.ascontiguousarray(field)
    rows = field.reshape(1, -1) if match == "video" or field.ndim == 2 else field.reshape(field.shape[0], -1)
    out = np.empty(rows.shape, dtype=np.bool_)
    _cut_rows(rows, target_count(coverage, rows.shape[1]), out)
    return out.reshape(field.shape)


def expected_threshold(curve: np.ndarray, coverage: float) -> float:
    """Threshold ``t`` with ``P(field < t) = coverage`` read off a quantile curve.

    Coverage 0 gives ``-inf`` (nothing masked) and 1 gives ``+inf`` (everything).
    """
    if coverage <= 0.0:
        return -math.inf
    if coverage >= 1.0:
        return math.inf
    probs = np.linspace(0.0, 1.0, curve.size)
    return float(np.interp(coverage, probs, curve))
