"""The calibrator: turn a priority field into a mask of an exact coverage.

Every family produces a float32 *priority field*; the mask is the set of pixels
with the lowest priorities. This module is the calibrator's public, checked API; the
cut itself, which the engines share, is in :mod:`occmask._cut`:

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

import numpy as np

from . import _validate
from ._cut import cut_field, sorted_quantile_curve, target_count, threshold

__all__ = ["MATCHES", "cut", "expected_threshold", "quantile_curve", "target_count"]

#: The coverage-matching modes.
MATCHES = ("frame", "video", "expected")


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
    values = np.asarray(samples)
    if values.dtype not in (np.float32, np.float64):
        values = values.astype(np.float64)
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError("samples must be a non-empty array of finite values")
    return sorted_quantile_curve(np.sort(values, axis=None))


def cut(
    field: np.ndarray,
    coverage: float,
    *,
    match: str = "frame",
    reference: np.ndarray | None = None,
    region: np.ndarray | None = None,
) -> np.ndarray:
    """Cut a priority field into a boolean mask of the requested coverage.

    Parameters
    ----------
    field : ndarray of float32, shape (H, W) or (T, H, W)
        Priorities: low values are masked first. ``+inf`` marks pixels that are
        never needed (they sort last); NaN and ``-inf`` are refused.
    coverage : float
        Target fraction of masked pixels, in [0, 1].
    match : {"frame", "video", "expected"}
        ``"frame"``: exactly ``floor(coverage*H*W + 0.5)`` pixels in every frame;
        ``"video"``: exactly ``floor(coverage*T*H*W + 0.5)`` over the whole video;
        ``"expected"``: pixels below the ``coverage``-quantile of ``reference``.
    reference : ndarray, optional
        Quantile curve of the field's distribution (see :func:`quantile_curve`);
        required for ``match="expected"`` and ignored otherwise.
    region : ndarray of bool, optional
        Coverage of a region instead of the canvas: shape (H, W) (every frame) or
        the field's shape. With ``"frame"``, each frame hides exactly
        ``floor(coverage*|R_t| + 0.5)`` pixels of its region ``R_t``; with
        ``"video"``, ``floor(coverage*|R| + 0.5)`` of the region's pixels in the
        whole video. The threshold (the priority of the last region pixel hidden)
        applies to the whole frame, so pixels outside the region with a lower
        priority are hidden too and the occluder keeps its shape. A frame (or
        video) with an empty region hides nothing. With ``"expected"`` the
        threshold is the field's coverage-quantile as without a region: for a
        stationary field the expected share of any region hidden is ``coverage``.

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
    >>> region = np.zeros((8, 8), bool)
    >>> region[2:6, 2:6] = True                                   # 16 pixels
    >>> (cut(field, 0.25, region=region) & region).sum(axis=(1, 2))  # 4 of them in every frame
    array([4, 4, 4, 4])
    """
    if not isinstance(field, np.ndarray) or field.dtype != np.float32:
        raise TypeError(
            f"field must be a numpy.ndarray of float32, got {type(field).__name__} "
            f"{getattr(field, 'dtype', '')}; convert it with field.astype(np.float32) if intended "
            "(rounding may create ties, which are ordered by pixel index)"
        )
    if field.ndim not in (2, 3) or field.size == 0:
        raise ValueError(f"field must be a non-empty (H, W) or (T, H, W) array, got shape {field.shape}")
    coverage = _validate.coverage(coverage)
    match = _validate.choice("match", match, MATCHES)
    if region is not None:
        region = _validate.region(region, field.shape)
    if match == "expected":
        if reference is None:
            raise ValueError("reference must be given for match='expected' (see quantile_curve)")
        _check_curve("reference", reference)
    lowest = field.min()  # every mode: a NaN would silently stay visible under a threshold too
    if np.isnan(lowest) or lowest == -np.inf:
        raise ValueError("field must not contain NaN or -inf (+inf marks pixels that are never needed)")
    return cut_field(field, coverage, match, reference, region)


def expected_threshold(curve: np.ndarray, coverage: float) -> float:
    """Threshold ``t`` with ``P(field < t) = coverage`` read off a quantile curve.

    ``match="expected"`` hides the pixels of a field below this threshold.
    Coverage 0 gives ``-inf`` (nothing masked) and 1 gives ``+inf`` (everything).

    Parameters
    ----------
    curve : ndarray
        Quantile curve of a field's distribution, from :func:`quantile_curve`.
    coverage : float
        Target expected fraction of hidden pixels, in [0, 1].

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from occmask.calibrate import expected_threshold, quantile_curve
    >>> curve = quantile_curve(np.linspace(0, 1, 1001, dtype=np.float32))
    >>> round(expected_threshold(curve, 0.25), 3)
    0.25
    """
    return threshold(_check_curve("curve", curve), _validate.coverage(coverage))


def _check_curve(name: str, curve: object) -> np.ndarray:
    """A quantile curve as float64, or a ``ValueError`` naming the argument."""
    try:
        values = np.asarray(curve, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of numbers (a quantile curve), got {curve!r:.80}") from None
    if values.ndim != 1 or values.size < 2 or not np.all(np.isfinite(values)) or np.any(np.diff(values) < 0):
        raise ValueError(
            f"{name} must be a quantile curve: a 1-D, finite, non-decreasing array of at "
            f"least 2 values (see quantile_curve), got shape {values.shape}"
        )
    return values
