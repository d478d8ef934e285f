"""Perlin masks: coherent blobs from fractal gradient noise.

The field is fractal (multi-octave) improved Perlin noise (Perlin 2002, "Improving
noise"), sampled on the pixel grid with a feature size of ``scale`` pixels. A
video samples 3-D noise whose third axis is time, so blobs drift and morph
smoothly; ``time_scale`` is the number of frames per noise period along time.
``basis="simplex"`` swaps the gradient noise for OpenSimplex noise (Spencer 2014;
same points, same permutation). Every mask is placed at a random continuous
offset, so no pixel is favoured; ``periodic=True`` makes the field tile the
canvas seamlessly (the canvas is a torus).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import _noise, _validate
from ._docs import shared_parameters
from ._engine import generate
from ._family import Family, signature_defaults, whole_field

__all__ = ["perlin"]


@shared_parameters
def perlin(
    shape: tuple[int, ...],
    coverage: float,
    *,
    rng: Any = None,
    match: str = "frame",
    temporal: str = "evolving",
    region: np.ndarray | None = None,
    scale: float = 16.0,
    octaves: int = 3,
    persistence: float = 0.5,
    time_scale: float = 12.0,
    basis: str = "perlin",
    periodic: bool = False,
) -> np.ndarray:
    """Perlin-noise blob occlusion mask at an exact coverage.

    Parameters
    ----------
    %(shape)s
    %(coverage)s
    %(rng)s
    %(match)s
    %(temporal)s
        ``"evolving"`` samples 3-D noise (blobs morph over time).
    scale : float, default 16
        Feature size in pixels: the lattice spacing of the first octave, in [0.5, 1e5].
    octaves : int, default 3
        Number of octaves (1-8); each doubles the frequency.
    persistence : float, default 0.5
        Amplitude ratio between successive octaves, in (0, 1]. Lower gives smoother edges.
    time_scale : float, default 12
        Frames per lattice unit along time, in [0.5, 1e6]; larger means slower change.
    basis : {"perlin", "simplex"}
        Gradient noise basis: improved Perlin noise or OpenSimplex noise.
    periodic : bool, default False
        Make the field tile the canvas (``basis="perlin"`` only). The lattice
        spacing is adjusted so a whole number of cells fits each side.
    %(region)s

    Returns
    -------
    ndarray of bool, shape ``shape``

    Examples
    --------
    >>> import occmask as om
    >>> m = om.perlin((10, 64, 64), coverage=0.3, scale=12, rng=0)
    >>> m.shape, int(m[3].sum())
    ((10, 64, 64), 1229)
    """
    return generate("perlin", **locals())


#: Lattice spacings in pixels (or frames) that keep the field a stationary noise: below half a
#: pixel lattice cells alias into pixel noise; above 1e5 a pixel step changes the noise by about
#: 1e-5, near float32's resolution, and equal values would decide the cut (in raster order).
MIN_SCALE, MAX_SCALE, MAX_TIME_SCALE = 0.5, 1e5, 1e6


def _check(params: dict[str, Any]) -> dict[str, Any]:
    params["scale"] = _validate.number("scale", params["scale"], low=MIN_SCALE, high=MAX_SCALE)
    params["octaves"] = _validate.integer("octaves", params["octaves"], low=1, high=8)
    params["persistence"] = _validate.number(
        "persistence", params["persistence"], low=0.0, high=1.0, low_open=True
    )
    params["time_scale"] = _validate.number(
        "time_scale", params["time_scale"], low=MIN_SCALE, high=MAX_TIME_SCALE
    )
    params["basis"] = _validate.choice("basis", params["basis"], _noise.BASES)
    if not isinstance(params["periodic"], (bool, np.bool_)):
        raise TypeError(f"periodic must be a bool, got {params['periodic']!r}")
    params["periodic"] = bool(params["periodic"])
    if params["periodic"] and params["basis"] != "perlin":
        raise ValueError(f"periodic=True needs basis='perlin', got basis={params['basis']!r}")
    return params


def _blocks(
    shape: tuple[int, int, int],
    rng: np.random.Generator,
    temporal: str,
    need: int | None,
    frames: int,
    **params: Any,
) -> Iterator[np.ndarray]:
    """The noise field, ``frames`` frames at a time (:attr:`occmask.Family.blocks`)."""
    return _noise.fractal_noise_blocks(shape, rng, temporal, frames, **params)


_field = whole_field(_blocks)

FAMILY = Family(
    name="perlin",
    summary="fractal gradient noise: smooth coherent blobs that drift and morph",
    defaults=signature_defaults(perlin),  # the public function's keyword defaults
    check=_check,
    field=_field,
    colour="#E69F00",
    blocks=_blocks,
)
