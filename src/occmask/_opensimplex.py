"""3-D OpenSimplex noise (Kurt Spencer, 2014), the ``basis="simplex"`` of :mod:`occmask._noise`.

OpenSimplex noise at a point is a sum over the vertices of a simplectic honeycomb:
the point is stretched onto an integer lattice, and every lattice vertex within
distance ``sqrt(2)`` of it (measured after squishing the vertex back) adds
``(2 - d**2)**4`` times the dot product of its hashed gradient with the offset
``d``, over 103. The hash and the 24 gradients are those of the original and of
the ``opensimplex`` package. The package picks the vertices by the simplex the
point lies in and leaves out some still within reach near the simplices' faces
(its noise jumps there by up to about 1e-4); this kernel sums every vertex within
reach, so its noise is continuous and elsewhere equals the package's up to rounding.
"""

from __future__ import annotations

import itertools

import numpy as np

from ._jit import kernel

__all__ = ["noise3"]

_STRETCH = -1.0 / 6.0  # (1 / sqrt(3 + 1) - 1) / 3: onto the lattice
_SQUISH = 1.0 / 3.0  # (sqrt(3 + 1) - 1) / 3: back from it
_NORM = 103.0  # scales the values into about [-1, 1]
#: Gradients towards the vertices of a rhombicuboctahedron, one row each.
_GRADIENTS = np.array(
    [
        [-11, 4, 4], [-4, 11, 4], [-4, 4, 11], [11, 4, 4], [4, 11, 4], [4, 4, 11],
        [-11, -4, 4], [-4, -11, 4], [-4, -4, 11], [11, -4, 4], [4, -11, 4], [4, -4, 11],
        [-11, 4, -4], [-4, 11, -4], [-4, 4, -11], [11, 4, -4], [4, 11, -4], [4, 4, -11],
        [-11, -4, -4], [-4, -11, -4], [-4, -4, -11], [11, -4, -4], [4, -11, -4], [4, -4, -11],
    ],
    dtype=np.float64,
)  # fmt: skip
_HASHED_GRADIENTS = _GRADIENTS[np.arange(256) % len(_GRADIENTS)]  # the gradient of each hash value


def _vertex_offsets() -> tuple[np.ndarray, np.ndarray]:
    """The lattice vertices that can lie within ``sqrt(2)`` of a point, as integer offsets (rows)
    from the point's cell, sorted by their sum; and where each sum (0 to 3) starts among them.

    With ``f`` in [0, 1)**3 the point's offset in its cell, the vertex at offset ``o`` lies at
    squared distance ``|u|**2 + sum(u)**2`` with ``u = f - o`` (the squished difference). That is
    at least 2 unless ``o`` is a corner of the cell ({0, 1} along every axis) or leaves it along
    one axis only: to -1 where the other two sum to 1 or more, to 2 where they sum to 1 or less.
    """
    offsets = []
    for o in itertools.product(range(-1, 3), repeat=3):
        outside = [axis for axis in range(3) if o[axis] not in (0, 1)]
        rest = sum(o) - sum(o[axis] for axis in outside)
        if not outside or (len(outside) == 1 and (rest >= 1 if o[outside[0]] < 0 else rest <= 1)):
            offsets.append(o)
    offsets.sort(key=sum)
    sums = [sum(o) for o in offsets]
    return np.array(offsets, dtype=np.int64), np.searchsorted(sums, np.arange(5))


_OFFSETS, _SUM_STARTS = _vertex_offsets()
#: ``|u|**2 >= sum(u)**2 / 3``, so a vertex within ``sqrt(2)`` has ``|sum(u)| < sqrt(3 / 2)``.
_SUM_REACH = float(np.sqrt(1.5))


@kernel
def noise3(x: float, y: float, z: float, perm: np.ndarray) -> float:
    """OpenSimplex noise at ``(x, y, z)`` with the permutation ``perm`` (its first 256 entries)."""
    stretch = (x + y + z) * _STRETCH
    xs, ys, zs = x + stretch, y + stretch, z + stretch
    cell_x, cell_y, cell_z = np.floor(xs), np.floor(ys), np.floor(zs)
    fx, fy, fz = xs - cell_x, ys - cell_y, zs - cell_z
    i, j, k = np.int64(cell_x), np.int64(cell_y), np.int64(cell_z)
    inside = fx + fy + fz
    lowest = max(0, np.int64(np.ceil(inside - _SUM_REACH)))  # the vertex sums in reach
    highest = min(3, np.int64(np.floor(inside + _SUM_REACH)))
    g = _HASHED_GRADIENTS
    value = 0.0
    for n in range(_SUM_STARTS[lowest], _SUM_STARTS[highest + 1]):
        ox, oy, oz = _OFFSETS[n, 0], _OFFSETS[n, 1], _OFFSETS[n, 2]
        ux, uy, uz = fx - ox, fy - oy, fz - oz
        total = ux + uy + uz
        attenuation = 2.0 - ux * ux - uy * uy - uz * uz - total * total
        if attenuation > 0.0:
            squish = total * _SQUISH  # the offset in space: u squished back
            dx, dy, dz = ux + squish, uy + squish, uz + squish
            h = perm[(perm[(perm[(i + ox) & 255] + j + oy) & 255] + k + oz) & 255]
            attenuation *= attenuation
            value += attenuation * attenuation * (g[h, 0] * dx + g[h, 1] * dy + g[h, 2] * dz)
    return value / _NORM
