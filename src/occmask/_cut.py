"""The calibrator's cut: the machinery :mod:`occmask.calibrate` and the engines share.

:func:`cut_field` cuts a priority field whose arguments are already checked (a family's
own field, a checked region) into a mask of an exact coverage, per frame or per video,
or below a threshold read off a quantile curve (``match="expected"``). The Numba
engine (:mod:`occmask.families._engine`), the cut in two passes
(:mod:`occmask._two_pass`) and the device engine (:mod:`occmask.torch.device`) build
on these functions; :mod:`occmask.calibrate` is the public, checked API over them.
Equal values are ordered by pixel index (row-major).
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import kernel

__all__ = ["cut_field", "cut_rows", "rank_bin", "sorted_quantile_curve", "target_count", "threshold"]

#: Points of a quantile curve (probabilities ``0, 1/4096, ..., 1``).
CURVE_POINTS = 4097


def target_count(coverage: float, n: int) -> int:
    """Number of masked pixels for a coverage over ``n`` pixels: ``floor(coverage*n + 0.5)``.

    Examples
    --------
    >>> from occmask.calibrate import target_count
    >>> target_count(0.5, 5), target_count(0.3, 4096)
    (3, 1229)
    """
    return min(n, math.floor(coverage * n + 0.5))


# The kernels read field values as float64 (``float(row[i])``), as Numba would type them
# anyway, so that they compute the same without the JIT (NUMBA_DISABLE_JIT=1).
_BINS = 2048  # histogram bins for finite values; +inf has one more of its own
_SAMPLE = 256  # values sampled per row to set the histogram's range
_SMALL = 64  # candidates sorted directly
_LANES = 4  # copies of a histogram filled in turn (see _histogram)


@kernel
def _sample_range(row: np.ndarray) -> tuple[float, float]:
    """Smallest and largest finite values of an evenly spaced sample of ``row``."""
    step = max(1, row.size // _SAMPLE) | 1  # odd: not every sample in one column of an image
    lo, hi = np.inf, -np.inf
    for i in range(0, row.size, step):
        v = float(row[i])
        if v != np.inf:
            lo = min(lo, v)
            hi = max(hi, v)
    return lo, hi


@kernel
def _finite_range(row: np.ndarray, candidates: np.ndarray, m: int) -> tuple[float, float]:
    """Smallest and largest finite values of ``row[candidates[:m]]`` (``+inf``, ``-inf`` if none)."""
    lo, hi = np.inf, -np.inf
    for c in range(m):
        v = float(row[candidates[c]])
        lo = min(lo, v)
        hi = max(hi, v if v != np.inf else -np.inf)
    return lo, hi


@kernel
def _select(
    row: np.ndarray, candidates: np.ndarray, m: int, need: int, out_row: np.ndarray, hist: np.ndarray
) -> None:
    """Mark in ``out_row`` the ``need`` smallest of ``row[candidates[:m]]``, equal values in the
    order of ``candidates`` (increasing indices).

    While many candidates remain, a histogram over their finite range keeps only
    the bin that holds rank ``need`` (``+inf`` has a bin of its own); the last few,
    or equal values, are finished by a stable insertion sort.
    """
    while m > _SMALL and need < m:
        lo, hi = _finite_range(row, candidates, m)
        if lo == np.inf:  # all +inf: index order decides
            break
        scale = (_BINS - 1) / (hi - lo) if hi > lo else 0.0
        hist[:] = 0
        for c in range(m):
            v = float(row[candidates[c]])
            hist[_BINS if v == np.inf else min(np.int64((v - lo) * scale), _BINS - 1)] += 1
        target, below = 0, 0
        while below + hist[target] < need:
            below += hist[target]
            target += 1
        if hist[target] == m:  # all equal: index order decides
            break
        kept = 0
        for c in range(m):
            i = candidates[c]
            v = float(row[i])
            b = _BINS if v == np.inf else min(np.int64((v - lo) * scale), _BINS - 1)
            if b < target:
                out_row[i] = True
            elif b == target:
                candidates[kept] = i
                kept += 1
        m, need = kept, need - below
    if need >= m:
        for c in range(m):
            out_row[candidates[c]] = True
        return
    for a in range(1, m):  # insertion sort in place: stable, no allocation
        item = candidates[a]
        b = a - 1
        while b >= 0 and row[candidates[b]] > row[item]:
            candidates[b + 1] = candidates[b]
            b -= 1
        candidates[b + 1] = item
    for c in range(need):
        out_row[candidates[c]] = True


@kernel
def _bin_row(row: np.ndarray, bins: np.ndarray) -> None:
    """Histogram bin of every value of ``row`` (int16, in ``bins``), monotone in the value.

    Bins span the range of a sample of the row (values outside it fall in the end
    bins, ``+inf`` in a bin of its own, ``_BINS``).
    """
    lo, hi = _sample_range(row)
    if not hi > lo:  # a constant (or all +inf) sample: any positive scale will do
        lo, hi = (0.0, 1.0) if lo == np.inf else (lo, lo + max(1.0, abs(lo)))
    # bin 0 holds values below the sample's range; a finite positive scale keeps NaN out
    scale = min((_BINS - 2) / (hi - lo), 1e30)
    base = 1.0 - lo * scale
    top = _BINS - 1.0
    for i in range(row.size):
        v = float(row[i])
        bins[i] = _BINS if v == np.inf else np.int16(min(max(v * scale + base, 0.0), top))


@kernel
def _histogram(bins: np.ndarray, inside: np.ndarray | None, hist: np.ndarray, lanes: np.ndarray) -> None:
    """``hist[b]``: how many of ``bins`` equal ``b`` (of those where ``inside`` is True, unless it
    is None).

    In rows of many values (at least 8 per bin), consecutive values are
    counted in ``_LANES`` copies of the histogram in turn (``lanes``, (``_LANES``,
    bins)), then summed: in a smooth field, or a run of ``+inf``, neighbours fall
    in the same bin, and one counter would make each increment wait for the one
    before (about 2x slower on a 256 x 256 frame).
    """
    few = bins.size < 8 * hist.size  # then clearing and summing the copies costs more
    lanes[: 1 if few else _LANES] = 0
    for i in range(bins.size):
        lane = 0 if few else i % _LANES
        if inside is None:
            lanes[lane, bins[i]] += 1
        else:
            lanes[lane, bins[i]] += inside[i]
    hist[:] = lanes[0]
    if not few:
        for lane in range(1, _LANES):
            hist += lanes[lane]


@kernel
def rank_bin(hist: np.ndarray, k: int) -> tuple[int, int]:
    """The bin that holds rank ``k`` (1-based) of a histogram, and the count below it."""
    target, below = 0, 0
    while below + hist[target] < k:
        below += hist[target]
        target += 1
    return target, below


@kernel
def cut_rows(field: np.ndarray, k: int, out: np.ndarray) -> np.ndarray:
    """Mark the ``k`` lowest values of every row of ``field`` (F, N) in ``out``, equal values in
    index order. The field must hold no NaN or ``-inf``; ``+inf`` sorts last.

    Per row: where exactly ``k`` values are finite, they are the mask; otherwise a
    histogram of the values (:func:`_bin_row`), then only the bin that holds rank
    ``k`` is resolved, by :func:`_select`. The passes are kept simple so that they
    vectorise.
    """
    n_rows, n = field.shape
    bins = np.empty(n, np.int16)
    hist = np.empty(_BINS + 1, np.int64)
    lanes = np.empty((_LANES, _BINS + 1), np.int64)
    candidates = np.empty(0, np.int64)  # sized by the bins resolved, not the row (a whole video)
    for r in range(n_rows):
        row, out_row = field[r], out[r]
        if k <= 0 or k >= n:
            out_row[:] = k > 0
            continue
        finite = 0
        for i in range(n):
            finite += row[i] != np.inf
        if finite == k:  # a field that marks exactly its k needed pixels: they are the k lowest
            for i in range(n):
                out_row[i] = row[i] != np.inf
            continue
        _bin_row(row, bins)
        _histogram(bins, None, hist, lanes)
        target, below = rank_bin(hist, k)
        for i in range(n):
            out_row[i] = bins[i] < target
        if candidates.size < hist[target]:
            candidates = np.empty(hist[target], np.int64)
        m = np.int64(0)  # not the literal 0: Numba would also compile _select for it
        for i in range(n):
            if bins[i] == target:
                candidates[m] = i
                m += 1
        _select(row, candidates, m, k - below, out_row, hist)
    return out


@kernel
def _cut_region_rows(field: np.ndarray, region: np.ndarray, coverage: float, out: np.ndarray) -> np.ndarray:
    """Region cut of every row of ``field`` (F, N), with ``region[r]`` (or ``region[0]`` for all
    rows when it has one row) the region of row ``r``.

    The ``k = floor(coverage * |R| + 0.5)`` lowest region pixels (equal values in
    index order) are hidden, and so is every pixel, inside the region or not, that
    sorts before the last of them: the threshold applies to the whole row. Nothing
    is hidden where ``k = 0`` (an empty region included). As :func:`cut_rows`, with
    a histogram of the region's values: every pixel below the bin that holds rank
    ``k`` is hidden, and that bin is resolved by :func:`_select` among its region pixels.
    """
    n_rows, n = field.shape
    shared = region.shape[0] == 1
    bins = np.empty(n, np.int16)
    hist = np.empty(_BINS + 1, np.int64)
    lanes = np.empty((_LANES, _BINS + 1), np.int64)
    # sized by the bin resolved, not the row (a whole video with match="video")
    members = np.empty(0, np.int64)  # every pixel of the bin, in index order
    values = np.empty(0, field.dtype)  # their values
    candidates = np.empty(0, np.int64)  # the places in members of the region's pixels
    chosen = np.empty(0, np.bool_)
    for r in range(n_rows):
        row, inside, out_row = field[r], region[0 if shared else r], out[r]
        _bin_row(row, bins)
        _histogram(bins, inside, hist, lanes)
        size = hist.sum()
        k = min(size, math.floor(coverage * size + 0.5))
        if k == 0:
            out_row[:] = False
            continue
        target, below = rank_bin(hist, k)
        q = 0
        for i in range(n):
            out_row[i] = bins[i] < target
            q += bins[i] == target
        if members.size < q:
            members, values = np.empty(q, np.int64), np.empty(q, field.dtype)
            candidates, chosen = np.empty(q, np.int64), np.empty(q, np.bool_)
        m = q = 0
        for i in range(n):
            if bins[i] == target:
                members[q], values[q] = i, row[i]
                if inside[i]:
                    candidates[m] = q
                    m += 1
                q += 1
        chosen[:q] = False
        _select(values, candidates, m, k - below, chosen, hist)
        last_value, last_place = -np.inf, -1  # the last chosen pixel in (value, index) order
        for c in range(q):
            if chosen[c] and values[c] >= last_value:
                last_value, last_place = values[c], c
        for c in range(q):
            v = values[c]
            out_row[members[c]] = v < last_value or (v == last_value and c <= last_place)
    return out


def sorted_quantile_curve(values: np.ndarray) -> np.ndarray:
    """:func:`occmask.calibrate.quantile_curve` of finite values already sorted (1-D, any float
    dtype; not copied).

    The quantiles are those of ``np.quantile`` (linear interpolation), computed in float64.
    """
    probs = np.linspace(0.0, 1.0, CURVE_POINTS)
    index = probs * (values.size - 1)
    below = np.floor(index).astype(np.int64)
    above = np.minimum(below + 1, values.size - 1)
    t = index - below
    low, high = values[below].astype(np.float64), values[above].astype(np.float64)
    step = high - low
    return np.where(t >= 0.5, high - step * (1.0 - t), low + step * t)


def cut_field(
    field: np.ndarray,
    coverage: float,
    match: str,
    reference: np.ndarray | None,
    region: np.ndarray | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`occmask.calibrate.cut` for arguments already checked (a family's own field, a
    checked region), into ``out`` if given (a C-contiguous bool array of the field's shape).

    No pass over the field to check it."""
    if match == "expected":
        return np.less(field, threshold(np.asarray(reference, dtype=np.float64), coverage), out=out)
    field = np.ascontiguousarray(field)
    rows = field.reshape(1, -1) if match == "video" or field.ndim == 2 else field.reshape(field.shape[0], -1)
    out = np.empty(rows.shape, dtype=np.bool_) if out is None else out.reshape(rows.shape)
    if region is None:
        cut_rows(rows, target_count(coverage, rows.shape[1]), out)
    else:
        if match == "video" and region.shape != field.shape:
            region = np.broadcast_to(region, field.shape)
        per_row = rows.shape[0] if region.ndim == field.ndim else 1
        _cut_region_rows(rows, np.ascontiguousarray(region).reshape(per_row, -1), coverage, out)
    return out.reshape(field.shape)


def threshold(curve: np.ndarray, coverage: float) -> float:
    """:func:`occmask.calibrate.expected_threshold` for arguments already checked."""
    if coverage <= 0.0:
        return -math.inf
    if coverage >= 1.0:
        return math.inf
    probs = np.linspace(0.0, 1.0, curve.size)
    return float(np.interp(coverage, probs, curve))
