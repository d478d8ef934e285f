"""Mask families: one module per family, each registered in ``FAMILIES``.

A family is a recipe for a float32 *priority field* of shape (T, H, W); the
shared calibrator (:mod:`occmask.calibrate`) cuts it at the requested coverage.
Each built-in family lives in its own module that defines its parameters, its
field and its :class:`Family` record; the tuple below registers them, in the
order every list, table and plot shows them. Users add theirs with
:func:`register_family`.
"""

from __future__ import annotations

import importlib

from ._engine import field, generate
from ._family import FAMILIES, TEMPORAL, TRUSTED, Family, register_family, unregister_family, whole_field

__all__ = [
    "FAMILIES",
    "TEMPORAL",
    "Family",
    "field",
    "generate",
    "register_family",
    "unregister_family",
    "whole_field",
]

#: The built-in families, one module each, in display order.
BUILTIN = ("bernoulli", "perlin", "cgol", "triangles", "rectangles", "fourier", "patches")

for _name in BUILTIN:
    TRUSTED.append(register_family(importlib.import_module(f"{__name__}.{_name}").FAMILY))
