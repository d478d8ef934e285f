"""occmask: occlusion masks of different geometry at exactly matched coverage.

>>> import occmask as om
>>> m = om.generate("cgol", (8, 32, 32), coverage=0.3, rng=0)
>>> d = om.describe(m)
>>> float(d.coverage[0])
0.2998046875
"""

from __future__ import annotations

from .apply import Noise, occlude
from .calibrate import cut
from .describe import Descriptors, describe, label
from .families import (
    BUILTIN,
    FAMILIES,
    Family,
    field,
    generate,
    register_family,
    unregister_family,
    whole_field,
)
from .families.bernoulli import bernoulli
from .families.cgol import cgol
from .families.fourier import fourier
from .families.patches import patches
from .families.perlin import perlin
from .families.rectangles import rectangles
from .families.triangles import triangles

__version__ = "0.1.0"

__all__ = [
    "FAMILIES",
    "Descriptors",
    "Family",
    "Noise",
    "bernoulli",
    "cgol",
    "cut",
    "describe",
    "field",
    "fourier",
    "generate",
    "label",
    "occlude",
    "patches",
    "perlin",
    "rectangles",
    "register_family",
    "triangles",
    "unregister_family",
    "warmup",
    "whole_field",
]


def warmup() -> None:
    """Compile (or load from the on-disk cache) every Numba kernel of occmask.

    Call it once in the parent process before forking data-loader workers, so
    that no worker pays the compilation time.

    Examples
    --------
    >>> import occmask as om
    >>> om.warmup()
    """
    import numpy as np

    for name in BUILTIN:  # occmask's kernels; a user family's are its own
        for temporal in ("evolving", "independent"):
            for match in ("frame", "video"):  # a field cut early, and a whole one
                generate(name, (2, 8, 8), 0.5, rng=0, temporal=temporal, match=match)
    mask = np.zeros((2, 4, 4), dtype=bool)
    describe(mask, spatiotemporal=True)
    label(mask, spatiotemporal=True)
    occlude(np.zeros((2, 1, 4, 4), dtype=np.float32), mask)
