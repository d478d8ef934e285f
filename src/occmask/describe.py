"""Structural descriptors of masks: how much is hidden, and in what shape.

Two masks with the same coverage can hide a stroke of a digit in a thousand
pinholes or in one blob. The descriptors here put numbers on that: coverage,
number of connected components, the largest component (pixels and fraction of
the frame) and the boundary length between hidden and visible pixels. The
labelling is a Numba union-find over the whole video in one call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from . import _validate

__all__ = ["Descriptors", "describe", "label"]

_CONNECTIVITY = (4, 8)


@njit(cache=True, nogil=True)
def _find(parent, i):
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


@njit(cache=True, nogil=True)
def _union(parent, a, b):
    """Link the two roots; the smaller index becomes the root (first in raster order)."""
    ra, rb = _find(parent, a), _find(parent, b)
    if ra < rb:
        parent[rb] = ra
    elif rb < ra:
        parent[ra] = rb


@njit(cache=True, nogil=True)
def _label(mask, eight, across_time, labels, counts):
    """Label connected components of ``mask`` (T, H, W) into ``labels`` (int32).

    In-plane 4- or 8-connectivity; with ``across_time`` a pixel also touches the
    same pixel in the previous frame. Labels count from 1 in raster order of each
    component's first pixel, per frame (``counts[t]``) or over the video (``counts[0]``).
    """
    n_t, n_h, n_w = mask.shape
    plane = n_h * n_w
    flat = labels.reshape(-1)
    parent = np.empty(n_t * plane, np.int64)
    for t in range(n_t):
        for i in range(n_h):
            for j in range(n_w):
                if not mask[t, i, j]:
                    continue
                idx = t * plane + i * n_w + j
                parent[idx] = idx
                if j > 0 and mask[t, i, j - 1]:
                    _union(parent, idx, idx - 1)
                if i > 0:
                    if mask[t, i - 1, j]:
                        _union(parent, idx, idx - n_w)
                    if eight:
                        if j > 0 and mask[t, i - 1, j - 1]:
                            _union(parent, idx, idx - n_w - 1)
                        if j < n_w - 1 and mask[t, i - 1, j + 1]:
                            _union(parent, idx, idx - n_w + 1)
                if across_time and t > 0 and mask[t - 1, i, j]:
                    _union(parent, idx, idx - plane)
    counts[:] = 0
    flat_mask = mask.reshape(-1)
    for t in range(n_t):
        slot = 0 if across_time else t
        for idx in range(t * plane, (t + 1) * plane):
            if not flat_mask[idx]:
                flat[idx] = 0
                continue
            root = _find(parent, idx)
            if root == idx:
                counts[slot] += 1
                flat[idx] = counts[slot]
            else:
                flat[idx] = flat[root]
    return labels


@njit(cache=True, nogil=True)
def _largest(labels, counts, across_time):
    """Size of the largest component per frame (or of the video, in ``out[0]``)."""
    n_t = labels.shape[0]
    n_slots = 1 if across_time else n_t
    out = np.zeros(n_slots, np.int64)
    sizes = np.zeros(counts.max() + 1, np.int64)
    for s in range(n_slots):
        sizes[:] = 0
        frames = range(n_t) if across_time else range(s, s + 1)
        for t in frames:
            for v in labels[t].ravel():
                sizes[v] += 1
        sizes[0] = 0
        out[s] = sizes.max()
    return out


def _check_connectivity(connectivity: object) -> int:
    if isinstance(connectivity, (bool, np.bool_)) or connectivity not in _CONNECTIVITY:
        raise ValueError(f"connectivity must be 4 or 8, got {connectivity!r}")
    return int(connectivity)


def label(mask: np.ndarray, connectivity: int = 4, *, spatiotemporal: bool = False) -> tuple[np.ndarray, np.ndarray | int]:
    """Label the connected components of a mask.

    Parameters
    ----------
    mask : ndarray of bool, shape (H, W) or (T, H, W)
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
    mask = _validate.mask(mask)
    connectivity = _check_connectivity(connectivity)
    video = np.ascontiguousarray(mask if mask.ndim == 3 else mask[None])
    labels = np.empty(video.shape, dtype=np.int32)
    counts = np.empty(video.shape[0], dtype=np.int64)
    _label(video, connectivity == 8, bool(spatiotemporal), labels, counts)
    if mask.ndim == 2 or spatiotemporal:
        return labels.reshape(mask.shape), int(counts[0])
    return labels, counts


@dataclass(frozen=True)
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
    """

    connectivity: int
    coverage: np.ndarray
    n_components: np.ndarray
    largest_component: np.ndarray
    largest_fraction: np.ndarray
    boundary: np.ndarray
    n_components_3d: int | None = None
    largest_component_3d: int | None = None

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
            out["largest_component_3d"] = float(self.largest_component_3d)
        return out


def describe(mask: np.ndarray, connectivity: int = 4, *, spatiotemporal: bool = False) -> Descriptors:
    """Measure the geometry of a mask, frame by frame.

    Parameters
    ----------
    mask : ndarray of bool, shape (H, W) or (T, H, W)
    connectivity : {4, 8}
        Neighbourhood for connected components.
    spatiotemporal : bool, default False
        Also count components of the video as a 3-D volume (a pixel touches the
        same pixel in adjacent frames).

    Returns
    -------
    Descriptors

    Examples
    --------
    >>> import occmask as om
    >>> d = om.describe(om.bernoulli((2, 64, 64), 0.3, rng=0))
    >>> d.coverage
    array([0.30004883, 0.30004883])
    >>> bool((d.n_components > 100).all())
    True
    """
    mask = _validate.mask(mask)
    connectivity = _check_connectivity(connectivity)
    video = np.ascontiguousarray(mask if mask.ndim == 3 else mask[None])
    n_t, n_h, n_w = video.shape
    labels = np.empty(video.shape, dtype=np.int32)
    counts = np.empty(n_t, dtype=np.int64)
    _label(video, connectivity == 8, False, labels, counts)
    largest = _largest(labels, counts, False)
    n_components = counts.copy()
    boundary = (np.count_nonzero(video[:, 1:, :] != video[:, :-1, :], axis=(1, 2))
                + np.count_nonzero(video[:, :, 1:] != video[:, :, :-1], axis=(1, 2)))
    extra = {}
    if spatiotemporal:
        _label(video, connectivity == 8, True, labels, counts)
        extra = {"n_components_3d": int(counts[0]),
                 "largest_component_3d": int(_largest(labels, counts[:1], True)[0])}
    return Descriptors(
        connectivity=connectivity,
        coverage=np.count_nonzero(video, axis=(1, 2)) / (n_h * n_w),
        n_components=n_components,
        largest_component=largest,
        largest_fraction=largest / (n_h * n_w),
        boundary=boundary.astype(np.int64),
        **extra,
    )
