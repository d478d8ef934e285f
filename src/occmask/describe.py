"""Structural descriptors of masks: how much is hidden, and in what shape.

Two masks with the same coverage can hide a stroke of a digit in a thousand
pinholes or in one blob. The descriptors here put numbers on that: coverage,
number of connected components, the largest component (pixels and fraction of
the frame) and the boundary length between hidden and visible pixels. The
labelling is a Numba union-find over the whole video in one call.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from . import _validate
from ._jit import kernel

__all__ = ["Descriptors", "describe", "label"]

_CONNECTIVITY = (4, 8)


@kernel
def _find(parent: np.ndarray, i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


# A row is handled as bits, 64 pixels to a word (pixel j of the row is bit j % 64 of word
# j // 64): runs and the places where two rows' runs touch are found with a few word
# operations and one step per run or contact, with no branch per pixel.
_ONE = np.uint64(1)
_TOP = np.uint64(63)


@kernel
def _popcount(x: np.uint64) -> int:
    """Set bits of a word. The compiler turns the loop into one ``popcnt``; written without
    the usual multiply, which overflows, so it also runs as plain Python."""
    n = 0
    while x:
        x &= x - _ONE
        n += 1
    return n


@kernel
def _lowest(x: np.uint64) -> int:
    """Index of the lowest set bit of a non-zero word (one ``tzcnt``)."""
    return _popcount((x & (~x + _ONE)) - _ONE)


@kernel
def _pack(mask: np.ndarray) -> np.ndarray:
    """The mask's rows as words, shape (T*H, ceil(W/64)). Any non-zero byte of ``mask`` is
    hidden, as in numpy: a bool array viewed from other bytes reads as its truth values."""
    n_t, n_h, n_w = mask.shape
    n_words = (n_w + 63) // 64
    bits = np.empty((n_t * n_h, n_words), np.uint64)
    for t in range(n_t):
        for i in range(n_h):
            row = mask[t, i].view(np.uint8)
            for w in range(n_words):
                word = np.uint64(0)
                for j in range(min(64, n_w - 64 * w)):
                    word |= np.uint64(row[64 * w + j] != 0) << np.uint64(j)
                bits[t * n_h + i, w] = word
    return bits


@kernel
def _find_runs(bits: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Runs of hidden pixels in raster order: ``starts``, ``ends`` (exclusive) and, for each
    of the T*H rows, the index of its first run (``first``, length T*H + 1). Also each
    row's run starts as bits (``heads``, the shape of ``bits``) and, per word, how many
    runs of its row start in the words before it (``before``)."""
    n_rows, n_words = bits.shape
    heads = np.empty_like(bits)
    tails = np.empty_like(bits)  # the last pixel of each run
    before = np.empty(bits.shape, np.int32)
    first = np.empty(n_rows + 1, np.int64)
    n = 0
    for r in range(n_rows):
        first[r] = n
        left = np.uint64(0)  # the last pixel of the word before
        for w in range(n_words):
            x = bits[r, w]
            right = bits[r, w + 1] & _ONE if w + 1 < n_words else np.uint64(0)
            heads[r, w] = x & ~((x << _ONE) | left)
            tails[r, w] = x & ~((x >> _ONE) | (right << _TOP))
            left = x >> _TOP
            before[r, w] = n - first[r]
            n += _popcount(heads[r, w])
    first[n_rows] = n
    starts = np.empty(n, np.int32)
    ends = np.empty(n, np.int32)
    k = m = 0
    for r in range(n_rows):
        for w in range(n_words):
            head, tail = heads[r, w], tails[r, w]
            while head:
                starts[k] = 64 * w + _lowest(head)
                head &= head - _ONE
                k += 1
            while tail:
                ends[m] = 64 * w + _lowest(tail) + 1
                tail &= tail - _ONE
                m += 1
    return starts, ends, first, heads, before


@kernel
def _grown(bits: np.ndarray, r: int, w: int, grow: bool) -> np.uint64:
    """Word ``w`` of row ``r``, each run grown by one pixel to the right when ``grow``."""
    x = bits[r, w]
    if grow:
        x |= x << _ONE
        if w > 0:
            x |= bits[r, w - 1] >> _TOP
    return x


@kernel
def _run_at(runs: tuple, r: int, p: int) -> int:
    """Index of the run of row ``r`` that holds pixel ``p`` (or, grown, reaches it)."""
    _, _, first, heads, before = runs
    w = p >> 6
    up_to_p = ~np.uint64(0) >> np.uint64(63 - (p & 63))  # bits 0 to p % 64
    return first[r] + before[r, w] + _popcount(heads[r, w] & up_to_p) - 1


@kernel
def _link(
    bits: np.ndarray,
    runs: tuple,
    row_a: int,
    row_b: int,
    eight: bool,
    fresh: bool,
    parent: np.ndarray,
    size: np.ndarray,
) -> tuple[int, int]:
    """Union the runs of row ``row_b`` with the touching runs of row ``row_a``. Returns how
    many unions joined two components and the largest component they made.

    Runs touch where they share a column, or also a corner (``eight``): where they
    share a column once both are grown by one pixel to the right. Each place where a
    run of each row overlaps starts at the start of one of them or after a column that
    is not shared, so one step per touching pair of runs. ``fresh``: the runs of
    ``row_b`` are still their own roots. The smaller index becomes the root (first in
    raster order).
    """
    heads = runs[3]
    joined = largest = 0
    shared_before = np.uint64(0)
    last_b = root = -1
    for w in range(bits.shape[1]):
        shared = _grown(bits, row_a, w, eight) & _grown(bits, row_b, w, eight)
        places = shared & (~((shared << _ONE) | shared_before) | heads[row_a, w] | heads[row_b, w])
        shared_before = shared >> _TOP
        while places:
            p = 64 * w + _lowest(places)
            places &= places - _ONE
            b = _run_at(runs, row_b, p)
            if b != last_b:
                last_b = b
                root = b if fresh else _find(parent, b)
            other = _find(parent, _run_at(runs, row_a, p))
            if other != root:
                low, high = min(other, root), max(other, root)
                parent[high] = low
                size[low] += size[high]
                root = low
                joined += 1
                largest = max(largest, size[low])
    return joined, largest


@kernel
def _connect(
    bits: np.ndarray, runs: tuple, n_t: int, n_w: int, eight: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Union-find over the runs of :func:`_find_runs`, frame by frame. Returns the parents,
    the component sizes at the roots, and per frame: the hidden pixels, the number of
    components (runs less the unions that joined two), the largest component and the
    boundary length."""
    starts, ends, first = runs[:3]
    n_h = bits.shape[0] // n_t
    parent = np.arange(starts.size)
    size = (ends - starts).astype(np.int64)
    hidden = np.zeros(n_t, np.int64)
    counts = np.zeros(n_t, np.int64)
    largest = np.zeros(n_t, np.int64)
    boundary = np.zeros(n_t, np.int64)
    for t in range(n_t):
        # scalars, not array elements, in the loops: the compiler keeps them in registers
        joined = frame_hidden = frame_largest = frame_boundary = 0
        for i in range(n_h):
            row = t * n_h + i
            for r in range(first[row], first[row + 1]):
                frame_largest = max(frame_largest, size[r])
            if first[row + 1] > first[row]:  # left and right edges inside the frame
                frame_boundary += 2 * (first[row + 1] - first[row])
                frame_boundary -= int(starts[first[row]] == 0) + int(ends[first[row + 1] - 1] == n_w)
            for w in range(bits.shape[1]):
                frame_hidden += _popcount(bits[row, w])
                if i > 0:  # top and bottom edges inside the frame
                    frame_boundary += _popcount(bits[row, w] ^ bits[row - 1, w])
            if i > 0:
                unions, made = _link(bits, runs, row - 1, row, eight, True, parent, size)
                joined += unions
                frame_largest = max(frame_largest, made)
        hidden[t], largest[t], boundary[t] = frame_hidden, frame_largest, frame_boundary
        counts[t] = first[(t + 1) * n_h] - first[t * n_h] - joined
    return parent, size, hidden, counts, largest, boundary


@kernel
def _link_time(
    bits: np.ndarray,
    runs: tuple,
    n_t: int,
    parent: np.ndarray,
    size: np.ndarray,
) -> tuple[int, int]:
    """Also union runs that hide the same pixel in consecutive frames (no corners across
    time). Returns how many unions joined two components and the largest they made."""
    n_h = bits.shape[0] // n_t
    joined = largest = 0
    for t in range(1, n_t):
        for i in range(n_h):
            row = t * n_h + i
            unions, made = _link(bits, runs, row - n_h, row, False, False, parent, size)
            joined += unions
            largest = max(largest, made)
    return joined, largest


@kernel
def _measure(
    mask: np.ndarray, eight: bool, spatiotemporal: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, int]:
    """Per-frame hidden pixels, component count, largest component and boundary
    length, and (optionally) the 3-D component count and largest 3-D component."""
    n_t, _, n_w = mask.shape
    bits = _pack(mask)
    runs = _find_runs(bits)
    parent, size, hidden, counts, largest, boundary = _connect(bits, runs, n_t, n_w, eight)
    count_3d = largest_3d = 0
    if spatiotemporal:
        joined, made = _link_time(bits, runs, n_t, parent, size)
        count_3d = counts.sum() - joined
        largest_3d = max(largest.max(), made)
    return hidden, counts, largest, boundary, count_3d, largest_3d


@kernel
def _label(
    mask: np.ndarray, eight: bool, spatiotemporal: bool, labels: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """Label components into ``labels`` (T, H, W), numbered from 1 in raster order of
    their first pixel, per frame (``counts[t]``) or over the video (``counts[0]``)."""
    n_t, n_h, n_w = mask.shape
    bits = _pack(mask)
    runs = _find_runs(bits)
    starts, ends, first = runs[:3]
    parent, size = _connect(bits, runs, n_t, n_w, eight)[:2]
    if spatiotemporal:
        _link_time(bits, runs, n_t, parent, size)
    run_label = np.empty(starts.size, np.int32)
    labels[:] = 0
    counts[:] = 0
    for t in range(n_t):
        slot = 0 if spatiotemporal else t
        for i in range(n_h):
            row = t * n_h + i
            for r in range(first[row], first[row + 1]):
                root = _find(parent, r)
                if root == r:
                    counts[slot] += 1
                    run_label[r] = counts[slot]
                else:
                    run_label[r] = run_label[root]
                labels[t, i, starts[r] : ends[r]] = run_label[r]
    return labels


def _check_connectivity(connectivity: object) -> int:
    if isinstance(connectivity, (bool, np.bool_)) or connectivity not in _CONNECTIVITY:
        raise ValueError(f"connectivity must be 4 or 8, got {connectivity!r}")
    return int(connectivity)


def label(
    mask: np.ndarray, connectivity: int = 4, *, spatiotemporal: bool = False
) -> tuple[np.ndarray, np.ndarray | int]:
    """Label the connected components of a mask.

    Parameters
    ----------
    mask : ndarray of bool, shape (H, W) or (T, H, W)
        True where a pixel is hidden (any non-zero byte); every size must be
        positive, as for :func:`occmask.generate`.
    connectivity : {4, 8}
        In-plane neighbourhood: edge neighbours only (4) or edges and corners (8).
    spatiotemporal : bool, default False
        Label components of the video as a 3-D volume, where a pixel also touches
        the same pixel in the previous and next frames. Otherwise every frame is
        labelled on its own.

    Returns
    -------
    labels : ndarray of int32, same shape as ``mask``
        0 on visible pixels; components numbered from 1 in raster order of their
        first pixel (per frame, unless ``spatiotemporal``), as ``scipy.ndimage.label``.
    count : int or ndarray of int64, shape (T,)
        Number of components: per frame for a per-frame labelling of a video,
        an int for an image or a spatio-temporal labelling.

    Examples
    --------
    >>> import numpy as np
    >>> import occmask as om
    >>> m = np.array([[1, 1, 0, 0], [0, 0, 0, 1], [1, 0, 1, 1]], dtype=bool)
    >>> labels, n = om.label(m)
    >>> n
    3
    >>> labels
    array([[1, 1, 0, 0],
           [0, 0, 0, 2],
           [3, 0, 2, 2]], dtype=int32)
    """
    mask = _validate.mask(mask, nonempty=True)
    connectivity = _check_connectivity(connectivity)
    video = np.ascontiguousarray(mask if mask.ndim == 3 else mask[None])
    labels = np.empty(video.shape, dtype=np.int32)
    counts = np.empty(video.shape[0], dtype=np.int64)
    _label(video, connectivity == 8, bool(spatiotemporal), labels, counts)
    if mask.ndim == 2 or spatiotemporal:
        return labels.reshape(mask.shape), int(counts[0])
    return labels, counts


def _same(a: Any, b: Any) -> bool:
    """Equal values: arrays element by element with the same shape, NaN equal to NaN (an empty region)."""
    if a is None or b is None:
        return a is b
    a, b = np.asarray(a), np.asarray(b)
    return np.array_equal(a, b, equal_nan=a.dtype.kind == "f" and b.dtype.kind == "f")


@dataclass(frozen=True, eq=False)
class Descriptors:
    """Structural descriptors of a mask, per frame (arrays of length T; T=1 for an image).

    Attributes
    ----------
    connectivity : int
        Neighbourhood used for the components (4 or 8).
    coverage : ndarray of float64
        Fraction of hidden pixels.
    n_components : ndarray of int64
        Number of connected hidden regions.
    largest_component : ndarray of int64
        Pixels in the largest hidden region (0 when nothing is hidden).
    largest_fraction : ndarray of float64
        ``largest_component`` as a fraction of the frame.
    boundary : ndarray of int64
        Number of edges between a hidden and a visible pixel (4-neighbours, inside
        the frame): long for scattered masks, short for compact ones.
    n_components_3d, largest_component_3d : int or None
        Spatio-temporal components of the whole video (when requested).
    region_hidden : ndarray of float64 or None
        With a region: the fraction of the region's pixels hidden in each frame
        (NaN where the region is empty).
    """

    connectivity: int
    coverage: np.ndarray
    n_components: np.ndarray
    largest_component: np.ndarray
    largest_fraction: np.ndarray
    boundary: np.ndarray
    n_components_3d: int | None = None
    largest_component_3d: int | None = None
    region_hidden: np.ndarray | None = None

    def __eq__(self, other: object) -> bool:
        """Equal when every field is equal (arrays element by element, with the same shape).

        Examples
        --------
        >>> import occmask as om
        >>> m = om.perlin((2, 32, 32), 0.4, rng=0)
        >>> om.describe(m) == om.describe(m.copy()), om.describe(m) == om.describe(m, 8)
        (True, False)
        """
        if not isinstance(other, Descriptors):
            return NotImplemented
        return all(_same(getattr(self, f.name), getattr(other, f.name)) for f in fields(Descriptors))

    __hash__ = None  # type: ignore[assignment]  # mutable arrays inside: not hashable, as ndarray

    def summary(self) -> dict[str, float]:
        """Video summary: means over frames, plus the spatio-temporal figures if computed.

        Examples
        --------
        >>> import occmask as om
        >>> d = om.describe(om.perlin((4, 32, 32), 0.5, rng=0))
        >>> sorted(d.summary())[:3]
        ['boundary', 'coverage', 'largest_component']
        """
        out = {
            "coverage": float(self.coverage.mean()),
            "n_components": float(self.n_components.mean()),
            "largest_component": float(self.largest_component.mean()),
            "largest_fraction": float(self.largest_fraction.mean()),
            "boundary": float(self.boundary.mean()),
        }
        if self.n_components_3d is not None:
            out["n_components_3d"] = float(self.n_components_3d)
            out["largest_component_3d"] = float(self.largest_component_3d or 0)
        if self.region_hidden is not None:
            shown = self.region_hidden[~np.isnan(self.region_hidden)]
            out["region_hidden"] = float(shown.mean()) if shown.size else float("nan")
        return out


def _from_torch(value: Any) -> Any:
    """A torch tensor as a numpy array (on the CPU); anything else as it is. torch is not imported."""
    if type(value).__module__.split(".")[0] == "torch" and hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return value


def describe(
    mask: np.ndarray,
    connectivity: int = 4,
    *,
    spatiotemporal: bool = False,
    region: np.ndarray | None = None,
) -> Descriptors:
    """Measure the geometry of a mask, frame by frame.

    Parameters
    ----------
    mask : ndarray or torch.Tensor of bool, shape (H, W) or (T, H, W)
        True where a pixel is hidden (any non-zero byte); every size must be
        positive, as for :func:`occmask.generate`.
    connectivity : {4, 8}
        Neighbourhood for connected components.
    spatiotemporal : bool, default False
        Also count components of the video as a 3-D volume (a pixel touches the
        same pixel in adjacent frames).
    region : ndarray or torch.Tensor of bool, optional
        A region of shape (H, W) (every frame) or the mask's shape: adds
        ``region_hidden``, the share of the region hidden in each frame.

    Returns
    -------
    Descriptors

    Examples
    --------
    >>> import numpy as np
    >>> import occmask as om
    >>> d = om.describe(om.bernoulli((2, 64, 64), 0.3, rng=0))
    >>> d.coverage
    array([0.30004883, 0.30004883])
    >>> bool((d.n_components > 100).all())
    True
    >>> ink = np.zeros((64, 64), bool)
    >>> ink[16:48, 16:48] = True
    >>> om.describe(om.perlin((2, 64, 64), 0.3, rng=0, region=ink), region=ink).region_hidden
    array([0.29980469, 0.29980469])
    """
    mask = _validate.mask(_from_torch(mask), nonempty=True)
    if region is not None:
        region = _validate.region(_from_torch(region), mask.shape)
    connectivity = _check_connectivity(connectivity)
    video = np.ascontiguousarray(mask if mask.ndim == 3 else mask[None])
    n_h, n_w = video.shape[1:]
    hidden, counts, largest, boundary, count_3d, largest_3d = _measure(
        video, connectivity == 8, bool(spatiotemporal)
    )
    extra: dict[str, Any] = (
        {"n_components_3d": int(count_3d), "largest_component_3d": int(largest_3d)} if spatiotemporal else {}
    )
    if region is not None:
        inside = np.broadcast_to(region, video.shape).reshape(video.shape[0], -1)
        size = inside.sum(axis=1)
        hidden_inside = (video.reshape(video.shape[0], -1) & inside).sum(axis=1)
        extra["region_hidden"] = np.where(size > 0, hidden_inside / np.maximum(size, 1), np.nan)
    return Descriptors(
        connectivity=connectivity,
        coverage=hidden / (n_h * n_w),
        n_components=counts,
        largest_component=largest,
        largest_fraction=largest / (n_h * n_w),
        boundary=boundary,
        **extra,
    )
