"""Mask families and the one generator that drives them.

A family is a recipe for a float32 *priority field* of shape (T, H, W); the
shared calibrator (:mod:`occmask.calibrate`) cuts it at the requested coverage.
Each family lives in its own module (``bernoulli``, ``perlin``, ``cgol``,
``triangles``) that defines its parameters and its Numba field kernel; the
record, registry and generator they share live in :mod:`occmask.families._family`.
"""

from __future__ import annotations

from . import bernoulli, cgol, perlin, triangles
from ._family import _REGISTRY, FAMILIES, TEMPORAL, Family, field, generate

__all__ = ["FAMILIES", "TEMPORAL", "Family", "field", "generate"]

_REGISTRY.update((f.name, f) for f in (bernoulli.FAMILY, perlin.FAMILY, cgol.FAMILY, triangles.FAMILY))
