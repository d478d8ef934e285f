"""The family record, the registry and the one generator that drives them.

A leaf of the families package: family modules import :class:`Family` and
:func:`generate` from here, and the package fills :data:`FAMILIES` with them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from types import MappingProxyType
from typing import Any

import numpy as np

from .. import _validate, calibrate

__all__ = ["FAMILIES", "TEMPORAL", "Family", "field", "generate"]

#: How a mask behaves across frames.
TEMPORAL = ("evolving", "static", "independent")

#: Reference pixels used to estimate a family's field distribution for ``match="expected"``.
_CALIBRATION_PIXELS = 1 << 20
_CALIBRATION_MIN_FIELDS, _CALIBRATION_MAX_FIELDS = 8, 4096
_CALIBRATION_SEED = 20260905


@dataclass(frozen=True)
class Family:
    """A mask family: its name, parameters and field recipe.

    Attributes
    ----------
    name : str
        Registry key, e.g. ``"perlin"``.
    summary : str
        One line describing the geometry.
    defaults : Mapping[str, Any]
        Every parameter with its default value.
    check : callable
        ``check(params) -> params``: validates a complete parameter dict and
        returns it normalised (raises ``ValueError``/``TypeError`` naming the parameter).
    field : callable
        ``field(shape, rng, temporal, need, **params) -> ndarray`` with ``shape=(T, H, W)``,
        returning the float32 priority field. With ``need=None`` it is finite
        everywhere; with an integer ``need`` only the ``need`` lowest values of each
        frame must be exact and the others may be ``+inf`` (a family may stop early).
        The result must not depend on ``need`` otherwise.
    """

    name: str
    summary: str
    defaults: Mapping[str, Any]
    check: Callable[[dict[str, Any]], dict[str, Any]]
    field: Callable[..., np.ndarray] = dataclass_field(repr=False)

    def params(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Merge ``given`` over the defaults, rejecting unknown names, and validate."""
        unknown = sorted(set(given) - set(self.defaults))
        if unknown:
            raise TypeError(
                f"unknown parameter(s) {unknown} for family {self.name!r}; allowed: {sorted(self.defaults)}"
            )
        return self.check({**self.defaults, **given})


#: Family modules' records by name, filled by :mod:`occmask.families`; read it through FAMILIES.
_REGISTRY: dict[str, Family] = {}
FAMILIES: Mapping[str, Family] = MappingProxyType(_REGISTRY)


def generate(
    family: str,
    shape: tuple[int, ...],
    coverage: float,
    *,
    rng: Any = None,
    match: str = "frame",
    temporal: str = "evolving",
    **params: Any,
) -> np.ndarray:
    """Generate a boolean occlusion mask of any family at an exact coverage.

    Parameters
    ----------
    family : str
        One of ``occmask.FAMILIES``: ``"bernoulli"``, ``"perlin"``, ``"cgol"``, ``"triangles"``.
    shape : tuple of int
        ``(H, W)`` for an image or ``(T, H, W)`` for a video.
    coverage : float
        Fraction of masked pixels, in [0, 1].
    rng : None, int, numpy.random.SeedSequence or numpy.random.Generator
        Source of randomness (SPEC 7). The same seed gives the same mask.
    match : {"frame", "video", "expected"}
        ``"frame"``: exactly ``floor(coverage*H*W + 0.5)`` pixels per frame;
        ``"video"``: exact over the whole video; ``"expected"``: a fixed threshold
        whose mean coverage is the target (coverage varies from mask to mask).
    temporal : {"evolving", "static", "independent"}
        ``"evolving"``: the family's own dynamics across frames; ``"static"``: one
        mask repeated on every frame (then ``"video"`` matching equals ``"frame"``);
        ``"independent"``: a fresh mask per frame.
    **params
        Family parameters; see the family's function (e.g. :func:`occmask.perlin`).

    Returns
    -------
    ndarray of bool, shape ``shape``
        True where the pixel is hidden.

    Examples
    --------
    >>> import occmask as om
    >>> m = om.generate("perlin", (20, 64, 64), coverage=0.5, rng=0)
    >>> m.shape, m.dtype, int(m[0].sum())
    ((20, 64, 64), dtype('bool'), 2048)
    """
    fam = FAMILIES[_validate.choice("family", family, FAMILIES)]
    shape3, image = _validate.shape(shape)
    coverage = _validate.coverage(coverage)
    match = _validate.choice("match", match, calibrate.MATCHES)
    temporal = _validate.choice("temporal", temporal, TEMPORAL)
    checked = fam.params(params)
    gen = _validate.rng(rng)

    if match == "expected" and coverage in (0.0, 1.0):
        match = "frame"  # nothing or everything is hidden: the same mask, without a calibration
    need = calibrate.target_count(coverage, shape3[1] * shape3[2]) if match == "frame" else None
    values = _field(fam, shape3, gen, temporal, need, checked)
    reference = None
    if match == "expected":
        # frames of an independent video are independent draws: calibrate on one frame
        calibration_shape = values.shape if temporal == "evolving" else (1, *values.shape[1:])
        reference = _curve(fam.name, calibration_shape, temporal, tuple(sorted(checked.items())))
    mask = calibrate._cut(values, coverage, match, reference)  # the family's field needs no check
    if values.shape[0] != shape3[0]:
        mask = np.repeat(mask, shape3[0], axis=0)
    return mask[0] if image else mask


def _field(
    fam: Family,
    shape3: tuple[int, int, int],
    gen: np.random.Generator,
    temporal: str,
    need: int | None,
    checked: dict[str, Any],
) -> np.ndarray:
    """The family's field for a checked (T, H, W) shape: one frame if ``temporal="static"``."""
    frames = 1 if temporal == "static" else shape3[0]
    return fam.field((frames, shape3[1], shape3[2]), gen, temporal, need, **checked)


def field(
    family: str,
    shape: tuple[int, ...],
    *,
    rng: Any = None,
    temporal: str = "evolving",
    **params: Any,
) -> np.ndarray:
    """The priority field that :func:`generate` cuts into a mask.

    With the same arguments, ``generate(family, shape, coverage, rng=seed, ...)``
    equals ``cut(field(family, shape, rng=seed, ...), coverage)`` (with
    ``match="frame"`` or ``"video"``): low values are hidden first. Only the
    order of the values matters.

    Parameters
    ----------
    family : str
        One of ``occmask.FAMILIES``.
    shape : tuple of int
        ``(H, W)`` for an image or ``(T, H, W)`` for a video.
    rng : None, int, numpy.random.SeedSequence or numpy.random.Generator
        Source of randomness (SPEC 7), as for :func:`generate`.
    temporal : {"evolving", "static", "independent"}
        How the field changes across frames, as for :func:`generate`.
    **params
        Family parameters, as for :func:`generate`.

    Returns
    -------
    ndarray of float32, shape ``shape``
        Finite priorities.

    Examples
    --------
    >>> import numpy as np
    >>> import occmask as om
    >>> f = om.field("perlin", (4, 32, 32), rng=0, scale=8.0)
    >>> f.shape, f.dtype
    ((4, 32, 32), dtype('float32'))
    >>> bool(np.array_equal(om.cut(f, 0.3), om.generate("perlin", (4, 32, 32), 0.3, rng=0, scale=8.0)))
    True
    """
    fam = FAMILIES[_validate.choice("family", family, FAMILIES)]
    shape3, image = _validate.shape(shape)
    temporal = _validate.choice("temporal", temporal, TEMPORAL)
    checked = fam.params(params)
    values = _field(fam, shape3, _validate.rng(rng), temporal, None, checked)
    if values.shape[0] != shape3[0]:
        values = np.repeat(values, shape3[0], axis=0)
    return values[0] if image else values


@functools.lru_cache(maxsize=256)
def _curve(name: str, shape: tuple[int, int, int], temporal: str, params: tuple) -> np.ndarray:
    """Quantile curve of a family's field for one shape and parameter set (cached).

    Estimated from reference fields drawn with a fixed seed, so it is the same in
    every process whatever the cache state.
    """
    fam = FAMILIES[name]
    n_fields = -(-_CALIBRATION_PIXELS // (shape[0] * shape[1] * shape[2]))
    n_fields = min(max(n_fields, _CALIBRATION_MIN_FIELDS), _CALIBRATION_MAX_FIELDS)
    seeds = np.random.SeedSequence([_CALIBRATION_SEED, *name.encode()]).spawn(n_fields)
    kwargs = dict(params)
    samples = np.concatenate(
        [fam.field(shape, np.random.default_rng(s), temporal, None, **kwargs).ravel() for s in seeds]
    )
    return calibrate.quantile_curve(samples)
