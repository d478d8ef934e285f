"""The family record, the registry and the one generator that drives every family.

A leaf module: it imports only the argument checks and the calibrator, and every
family module imports it (never the package), so no module ever sees a
half-initialised package.
"""

from __future__ import annotations

import copy
import functools
import inspect
import itertools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from types import MappingProxyType
from typing import Any

import numpy as np

from .. import _validate, calibrate

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

#: How a mask behaves across frames.
TEMPORAL = ("evolving", "static", "independent")

#: Names :func:`generate` takes itself: no family parameter may use them.
RESERVED = ("family", "shape", "coverage", "rng", "match", "temporal", "region")
#: Names a family's ``field`` and ``blocks`` take besides its parameters: no parameter may use them.
_FIELD_ARGUMENTS = ("need", "frames")

#: Reference pixels used to estimate a family's field distribution for ``match="expected"``: fields
#: of the calibration shape until about this many pixels are drawn. At least 8 fields: low-frequency
#: fields (fourier) differ a lot from one draw to the next, so one large field would give a
#: threshold far from the distribution's quantile. At most 256: a small shape needs no million
#: pixels (256 fields of 16 x 16 pixels already put the threshold within about 0.002 of the
#: coverage), and each field costs a call of the family (Python's overhead, a user's slow field).
#: Of these pixels, at most ``_CALIBRATION_VALUES`` evenly spaced values are kept (64 per step of
#: the 4097-point quantile curve; 1 MiB).
_CALIBRATION_PIXELS = 1 << 20
_CALIBRATION_VALUES = 1 << 18
_CALIBRATION_MIN_FIELDS = 8
_CALIBRATION_MAX_FIELDS = 256
_CALIBRATION_SEED = 20260905

#: Fields of more pixels than this are made and cut in blocks of about ``_BLOCK_PIXELS`` pixels
#: (whole frames) by families that can (:attr:`Family.blocks`), with ``match="frame"`` or
#: ``"expected"``: the mask, and not the float32 field (4 bytes a pixel), then sets the peak memory.
_BLOCKS_ABOVE = 1 << 22
_BLOCK_PIXELS = 1 << 20

#: Families whose fields are not scanned for NaN or -inf for every mask: the built-in ones
#: (``occmask.families`` adds them), whose fields the tests check against references.
_TRUSTED: list[Family] = []

#: Names of the user families whose field was found, on its first call with a ``need``, to give the
#: same lowest pixels as with ``need=None`` (:func:`_check_need`); dropped when a name is registered.
_NEED_CHECKED: set[str] = set()

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _no_check(params: dict[str, Any]) -> dict[str, Any]:
    return params


@dataclass(frozen=True)
class Family:
    """A mask family: its name, parameters, field recipe and how plots show it.

    Parameters
    ----------
    name : str
        Registry key, e.g. ``"perlin"``: lower-case letters, digits and ``_``,
        starting with a letter.
    summary : str
        One line describing the geometry.
    field : callable
        ``field(shape, rng, temporal, need, **params) -> ndarray``: the float32
        priority field of shape ``shape = (T, H, W)``, drawn from the
        ``numpy.random.Generator`` ``rng`` (never from global state). ``temporal``
        is one of ``"evolving"``, ``"static"`` (then ``T = 1``: the one frame is
        repeated) and ``"independent"``. With ``need=None`` the field is finite everywhere; with an integer
        ``need`` only the ``need`` lowest values of each frame must be exact and
        the others may be ``+inf`` (a family may stop early); the mask must not
        depend on ``need`` otherwise. Low values are hidden first; equal values
        are ordered by pixel index, so a field should be free of ties where a cut
        can fall.
    defaults : Mapping[str, Any], optional
        Every parameter with its default value; values must be hashable (the
        ``match="expected"`` calibration is cached per parameter set).
    check : callable, optional
        ``check(params) -> params``: validates a complete parameter dict and
        returns it normalised (raises ``ValueError``/``TypeError`` naming the
        parameter). Default: no check.
    colour : str, default "#555555"
        Display colour ``"#rrggbb"`` of the family in plots (the study, the
        gallery). Families are shown in registry order.
    blocks : callable, optional
        ``blocks(shape, rng, temporal, need, frames, **params) -> iterator``: the
        same field as ``field`` with the same arguments and generator state, a
        few frames at a time: float32 arrays of ``(n, H, W)``, consecutive, in
        order, of ``frames`` frames each where the field can be split (the last
        one shorter). A block may be overwritten by the next one: each is used
        before the next is asked for. Optional: with it, masks of large videos
        never hold the whole field, only the mask and a block (``match="video"``
        makes the blocks twice, the first time from a copy of the generator).
        :func:`whole_field` makes ``field`` from it.

    Examples
    --------
    >>> import numpy as np
    >>> import occmask as om
    >>> def stripes(shape, rng, temporal, need, *, period=8):
    ...     t, h, w = shape
    ...     phase = rng.random((t, 1, 1)) * period
    ...     x = (np.arange(w)[None, None, :] + phase) % period
    ...     return (x + rng.random(shape) * 1e-3).astype(np.float32)
    >>> family = om.Family("stripes", "vertical bars", stripes, defaults={"period": 8})
    >>> family.params({"period": 4})
    {'period': 4}
    """

    name: str
    summary: str
    field: Callable[..., np.ndarray] = dataclass_field(repr=False)
    defaults: Mapping[str, Any] = dataclass_field(default_factory=dict)
    check: Callable[[dict[str, Any]], dict[str, Any]] = dataclass_field(default=_no_check, repr=False)
    colour: str = "#555555"
    blocks: Callable[..., Iterator[np.ndarray]] | None = dataclass_field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise ValueError(
                f"name must be lower-case letters, digits and '_', starting with a letter, got {self.name!r}"
            )
        if not isinstance(self.summary, str):
            raise TypeError(f"summary must be a str, got {type(self.summary).__name__}")
        for attr in ("field", "check", "blocks"):
            if attr == "blocks" and self.blocks is None:
                continue
            if not callable(getattr(self, attr)):
                raise TypeError(
                    f"{attr} of family {self.name!r} must be callable, got {getattr(self, attr)!r}"
                )
        if not isinstance(self.defaults, Mapping):
            raise TypeError(f"defaults must be a mapping, got {type(self.defaults).__name__}")
        for key, value in self.defaults.items():
            if not isinstance(key, str) or not key.isidentifier() or key in RESERVED + _FIELD_ARGUMENTS:
                raise ValueError(
                    f"defaults of family {self.name!r}: parameter name {key!r} must be an identifier "
                    f"other than {list(RESERVED + _FIELD_ARGUMENTS)}"
                )
            try:
                hash(value)
            except TypeError:
                raise TypeError(
                    f"defaults of family {self.name!r}: parameter {key!r} has the unhashable value "
                    f"{value!r}; use a tuple instead of a list"
                ) from None
        if not isinstance(self.colour, str) or not _COLOUR.match(self.colour):
            raise ValueError(f"colour must be a '#rrggbb' string, got {self.colour!r}")
        object.__setattr__(self, "defaults", MappingProxyType(dict(self.defaults)))

    def params(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Merge ``given`` over the defaults, rejecting unknown names, and validate."""
        unknown = sorted(set(given) - set(self.defaults))
        if unknown:
            raise TypeError(
                f"unknown parameter(s) {unknown} for family {self.name!r}; allowed: {sorted(self.defaults)}"
            )
        checked = self.check({**self.defaults, **given})
        if not isinstance(checked, dict) or set(checked) != set(self.defaults):
            raise TypeError(
                f"the check of family {self.name!r} must return the dict of its parameters "
                f"{sorted(self.defaults)}, got {_validate._show(checked)}"
            )
        for key, value in checked.items():
            try:
                hash(value)
            except TypeError:
                raise TypeError(
                    f"parameter {key!r} of family {self.name!r} must be hashable, got {value!r}"
                ) from None
        return checked


def whole_field(blocks: Callable[..., Iterator[np.ndarray]]) -> Callable[..., np.ndarray]:
    """The ``field`` of a family given by its ``blocks``: every frame in one block.

    Examples
    --------
    >>> import numpy as np
    >>> import occmask as om
    >>> def noise_blocks(shape, rng, temporal, need, frames):
    ...     for start in range(0, shape[0], frames):  # one draw per block: the same stream
    ...         yield rng.random((min(frames, shape[0] - start), *shape[1:]), dtype=np.float32)
    >>> noise = om.Family("noise_doc", "i.i.d.", om.whole_field(noise_blocks), blocks=noise_blocks)
    >>> noise.field((3, 4, 4), np.random.default_rng(0), "evolving", None).shape
    (3, 4, 4)
    """

    def field(
        shape: tuple[int, int, int], rng: np.random.Generator, temporal: str, need: int | None, **params: Any
    ) -> np.ndarray:
        (values,) = blocks(shape, rng, temporal, need, shape[0], **params)
        return values

    field.__module__ = getattr(blocks, "__module__", field.__module__)  # where the family lives
    return field


_REGISTRY: dict[str, Family] = {}

#: Read-only view of the registry: name -> :class:`Family`, in display order.
FAMILIES: Mapping[str, Family] = MappingProxyType(_REGISTRY)


def register_family(family: Family, *, replace: bool = False) -> Family:
    """Make a family available to :func:`occmask.generate` and everything built on it.

    Parameters
    ----------
    family : Family
        The family record; its ``name`` becomes the key of ``occmask.FAMILIES``.
    replace : bool, default False
        Allow replacing a family of the same name (its cached calibration is
        dropped). Without it, registering a name twice is an error.

    Returns
    -------
    Family
        ``family``, so a module can write ``FAMILY = register_family(Family(...))``.

    Raises
    ------
    ValueError
        If the name is taken and ``replace`` is False.

    Examples
    --------
    >>> import numpy as np
    >>> import occmask as om
    >>> def rows(shape, rng, temporal, need):
    ...     t, h, w = shape  # whole rows, in a random order per frame
    ...     order = rng.random((t, h, 1)) + np.arange(w) * 1e-6
    ...     return np.broadcast_to(order, shape).astype(np.float32)
    >>> _ = om.register_family(om.Family("rows_doc", "whole rows", rows), replace=True)
    >>> int(om.generate("rows_doc", (8, 10), 0.25, rng=0).all(axis=1).sum())
    2
    """
    if not isinstance(family, Family):
        raise TypeError(f"family must be an occmask.Family, got {type(family).__name__}")
    if not isinstance(replace, bool):
        raise TypeError(f"replace must be True or False, got {replace!r}")
    if family.name in _REGISTRY:
        if not replace:
            raise ValueError(
                f"a family named {family.name!r} is already registered; pass replace=True to replace it"
            )
        _curve.cache_clear()
    _NEED_CHECKED.discard(family.name)
    _REGISTRY[family.name] = family
    return family


def unregister_family(name: str) -> Family:
    """Remove a family added with :func:`register_family` (a built-in family stays).

    Parameters
    ----------
    name : str
        The family's name, a key of ``occmask.FAMILIES``.

    Returns
    -------
    Family
        The family removed.

    Raises
    ------
    ValueError
        If no family of that name is registered, or it is a built-in family.

    Examples
    --------
    >>> import numpy as np
    >>> import occmask as om
    >>> def noise(shape, rng, temporal, need):
    ...     return rng.random(shape, dtype=np.float32)
    >>> _ = om.register_family(om.Family("noise_gone", "i.i.d.", noise))
    >>> om.unregister_family("noise_gone").name, "noise_gone" in om.FAMILIES
    ('noise_gone', False)
    """
    family = FAMILIES[_validate.choice("name", name, FAMILIES)]
    if _trusted(family):
        raise ValueError(
            f"{name!r} is a built-in family; only families added with register_family can be removed"
        )
    del _REGISTRY[name]
    _NEED_CHECKED.discard(name)
    _curve.cache_clear()
    return family


def generate(
    family: str,
    shape: tuple[int, ...],
    coverage: float,
    *,
    rng: Any = None,
    match: str = "frame",
    temporal: str = "evolving",
    region: np.ndarray | None = None,
    **params: Any,
) -> np.ndarray:
    """Generate a boolean occlusion mask of any family at an exact coverage.

    Parameters
    ----------
    family : str
        A name from ``occmask.FAMILIES`` (the built-in families, and any added
        with :func:`occmask.register_family`).
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
    region : ndarray of bool, optional
        Hide ``coverage`` of a region (e.g. an object) instead of the canvas: shape
        (H, W) (the same region in every frame) or ``shape`` (a region per frame).
        With ``"frame"`` each frame hides exactly ``floor(coverage*|R_t| + 0.5)``
        pixels of its region, with ``"video"`` exactly ``floor(coverage*|R| + 0.5)``
        of the region's pixels in the video. A static mask is one field on every
        frame and ``"video"`` is ``"frame"`` for it, with a region too: each frame
        hides its exact share, so with a region that changes across frames the
        occluder stays in place and grows or shrinks with the region. The threshold applies to the whole
        frame, so the occluder keeps its shape across the region's border (pixels
        outside with a lower priority are hidden too); a frame with an empty region
        hides nothing. With ``"expected"`` the mask is the one without a region (a
        stationary field hides ``coverage`` of any region on average). The region
        never changes the field, only the threshold: with a full region the mask is
        the canvas mask. See :func:`occmask.cut`.
    **params
        Family parameters; see the family's function (e.g. :func:`occmask.perlin`).

    Returns
    -------
    ndarray of bool, shape ``shape``
        True where the pixel is hidden.

    Examples
    --------
    >>> import numpy as np
    >>> import occmask as om
    >>> m = om.generate("perlin", (20, 64, 64), coverage=0.5, rng=0)
    >>> m.shape, m.dtype, int(m[0].sum())
    ((20, 64, 64), dtype('bool'), 2048)
    >>> disc = np.hypot(*np.mgrid[-32:32, -32:32]) < 20              # an object of 1,245 pixels
    >>> m = om.generate("perlin", (20, 64, 64), coverage=0.4, rng=0, region=disc)
    >>> int((m[0] & disc).sum()), round(0.4 * disc.sum())             # 40% of the object
    (498, 498)
    """
    fam = FAMILIES[_validate.choice("family", family, FAMILIES)]
    shape3, image = _validate.shape(shape)
    coverage = _validate.coverage(coverage)
    match = _validate.choice("match", match, calibrate.MATCHES)
    temporal = _validate.choice("temporal", temporal, TEMPORAL)
    checked = fam.params(params)
    if region is not None:
        region = _validate.region(region, shape3[1:] if image else shape3)
    return _generate(fam, shape3, image, coverage, match, temporal, checked, region, _validate.rng(rng))


def _generate(
    fam: Family,
    shape3: tuple[int, int, int],
    image: bool,
    coverage: float,
    match: str,
    temporal: str,
    checked: Mapping[str, Any],
    region: np.ndarray | None,
    gen: np.random.Generator,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`generate` for arguments already checked (``shape3`` and ``image`` from
    :func:`occmask._validate.shape`, ``checked`` from :meth:`Family.params`, a checked region): what
    callers that make many masks of one kind (the torch transform) call per mask. With ``out`` (a
    C-contiguous bool array of the mask's shape) the mask is written there and ``out`` returned."""
    if match == "expected" and coverage in (0.0, 1.0):
        match = "frame"  # nothing or everything is hidden: the same mask, without a calibration
    if temporal == "static" and match == "video":
        match = "frame"  # one field on every frame: the video's share is each frame's
    frames = 1 if temporal == "static" else shape3[0]
    field_shape = (frames, shape3[1], shape3[2])
    # a region's threshold may lie anywhere in the frame: then the whole field is needed
    early = match == "frame" and region is None
    need = calibrate.target_count(coverage, shape3[1] * shape3[2]) if early else None
    reference = None
    if match == "expected":  # before the field: the reference fields and the field never coexist
        # frames of an independent video are independent draws: calibrate on one frame
        calibration_shape = field_shape if temporal == "evolving" else (1, *field_shape[1:])
        reference = _curve(fam.name, calibration_shape, temporal, tuple(sorted(checked.items())))
        region = None  # the threshold is the field's quantile, whatever the region
    if match == "video" and _in_blocks(fam, field_shape):
        mask = np.empty(shape3, np.bool_) if out is None else out.reshape(shape3)
        if _video_in_blocks(fam, field_shape, gen, temporal, checked, coverage, region, mask):
            return mask if out is None else out
    if match != "video" and _in_blocks(fam, field_shape):
        mask = np.empty(shape3, np.bool_) if out is None else out.reshape(shape3)
        for start, block in _parts(fam, field_shape, gen, temporal, need, checked):
            stop = start + len(block)
            part = region if region is None or region.ndim == 2 else region[start:stop]
            calibrate._cut(block, coverage, match, reference, part, mask[start:stop])
        return mask[0] if image and out is None else (mask if out is None else out)
    field = _field(fam, field_shape, gen, temporal, need, checked)
    if region is not None and region.ndim == 3 and frames != shape3[0]:  # a static field, a region per frame
        field, frames = np.repeat(field, shape3[0], axis=0), shape3[0]
    into = None if out is None or frames != shape3[0] else out.reshape(field.shape)
    mask = calibrate._cut(field, coverage, match, reference, region, into)
    if out is not None:
        if into is None:
            np.copyto(out.reshape(shape3), mask)  # the one frame of a static mask, on every frame
        return out
    if frames != shape3[0]:
        mask = np.repeat(mask, shape3[0], axis=0)
    return mask[0] if image else mask


def _in_blocks(fam: Family, shape: tuple[int, int, int]) -> bool:
    """Whether a field of ``shape`` is made in blocks: a family with blocks, several frames, and
    more than ``_BLOCKS_ABOVE`` pixels."""
    return fam.blocks is not None and shape[0] > 1 and shape[0] * shape[1] * shape[2] > _BLOCKS_ABOVE


def _video_in_blocks(
    fam: Family,
    shape: tuple[int, int, int],
    rng: np.random.Generator,
    temporal: str,
    params: Mapping[str, Any],
    coverage: float,
    region: np.ndarray | None,
    mask: np.ndarray,
) -> bool:
    """A ``match="video"`` mask of a field made in blocks, into ``mask``, without holding the whole
    field: the field is made twice (:func:`occmask.calibrate._cut_in_two_passes`), the first
    time from a copy of ``rng``. A field that comes as one block is cut at once. Returns False,
    with ``rng`` untouched, where the whole field must be cut instead."""
    trial = copy.deepcopy(rng)
    parts = _parts(fam, shape, trial, temporal, None, params)
    _, block = next(parts)
    if len(block) == shape[0]:  # one block: the whole field is here already
        calibrate._cut(block, coverage, "video", None, region, mask)
        rng.bit_generator.state = trial.bit_generator.state
        return True
    first = itertools.chain([block], (block for _, block in parts))  # the block already made first
    second = (block for _, block in _parts(fam, shape, rng, temporal, None, params))  # (lazy: after first)
    return calibrate._cut_in_two_passes(
        first, second, coverage, mask.reshape(-1), f"family {fam.name!r}", region
    )


def _parts(
    fam: Family,
    shape: tuple[int, int, int],
    rng: np.random.Generator,
    temporal: str,
    need: int | None,
    params: Mapping[str, Any],
) -> Iterator[tuple[int, np.ndarray]]:
    """A family's field as ``(first frame, block)`` pairs: its blocks of about ``_BLOCK_PIXELS``
    pixels where :func:`_in_blocks`, else the whole field; each held to the contract as
    :func:`_field` holds a whole field."""
    if not _in_blocks(fam, shape):
        yield 0, _field(fam, shape, rng, temporal, need, params)
        return
    assert fam.blocks is not None
    frames = max(1, _BLOCK_PIXELS // (shape[1] * shape[2]))
    start = 0
    for block in fam.blocks(shape, rng, temporal, need, frames, **params):
        fits = isinstance(block, np.ndarray) and block.dtype == np.float32 and block.shape[1:] == shape[1:]
        n = block.shape[0] if fits and block.ndim == 3 else 0
        if not 0 < n <= shape[0] - start:
            raise TypeError(
                f"the blocks of family {fam.name!r} must be float32 ndarrays of (n, {shape[1]}, "
                f"{shape[2]}) with 1 <= n <= {shape[0] - start} (the frames left), got "
                f"{type(block).__name__} {getattr(block, 'dtype', '')} {getattr(block, 'shape', '')}"
            )
        _hold(fam, block, (n, *shape[1:]), need)
        yield start, block
        start += n
    if start != shape[0]:
        raise ValueError(f"the blocks of family {fam.name!r} gave {start} frames, not {shape[0]}")


def _field(
    fam: Family,
    shape: tuple[int, int, int],
    rng: np.random.Generator,
    temporal: str,
    need: int | None,
    params: Mapping[str, Any],
) -> np.ndarray:
    """Call a family's field and hold it to the contract: float32, the shape asked for, no NaN or -inf.

    The values of the built-in families' fields (``_TRUSTED``) are not scanned."""
    if need is not None and fam.name not in _NEED_CHECKED and not _trusted(fam):
        _check_need(fam, shape, rng, temporal, need, params)
    field = fam.field(shape, rng, temporal, need, **params)
    _hold(fam, field, shape, need)
    return field


def _trusted(fam: Family) -> bool:
    """Whether ``fam`` is a built-in family, whose fields the tests check against references."""
    return any(fam is trusted for trusted in _TRUSTED)


def _check_need(
    fam: Family,
    shape: tuple[int, int, int],
    rng: np.random.Generator,
    temporal: str,
    need: int,
    params: Mapping[str, Any],
) -> None:
    """On a user family's first field with a ``need``: the field with ``need`` and the field with
    ``need=None``, from copies of ``rng``, must have the same ``need`` lowest pixels per frame (the
    mask must not depend on ``need``, and the family must draw only from its rng)."""
    fields = []
    for asked in (None, need):
        field = fam.field(shape, copy.deepcopy(rng), temporal, asked, **params)
        _hold(fam, field, shape, asked)
        fields.append(field.reshape(shape[0], -1))
    whole, early = (calibrate._cut_rows(f, need, np.empty(f.shape, np.bool_)) for f in fields)
    if not np.array_equal(whole, early):
        raise ValueError(
            f"the field of family {fam.name!r} has other {need} lowest pixels with need={need} than with "
            "need=None (from the same generator state): its mask must not depend on need (beyond +inf "
            "on the pixels it does not need), and it must draw only from its rng"
        )
    _NEED_CHECKED.add(fam.name)


def _hold(fam: Family, field: Any, shape: tuple[int, ...], need: int | None) -> None:
    """Hold a family's field (or block) to the contract: a float32 ndarray of ``shape``, no NaN or
    -inf, finite where ``need`` is None and at least ``need`` finite values per frame otherwise.
    Built-in families' values (``_TRUSTED``) are not scanned."""
    if not isinstance(field, np.ndarray) or field.dtype != np.float32 or field.shape != shape:
        raise TypeError(
            f"the field of family {fam.name!r} must return a float32 ndarray of shape {shape}, got "
            f"{type(field).__name__} {getattr(field, 'dtype', '')} {getattr(field, 'shape', '')}"
        )
    if _trusted(fam):
        return
    lowest = field.min()
    if np.isnan(lowest) or lowest == -np.inf:
        raise ValueError(
            f"the field of family {fam.name!r} holds NaN or -inf (+inf only marks unneeded pixels)"
        )
    if need is None and field.max() == np.inf:
        raise ValueError(
            f"the field of family {fam.name!r} holds +inf with need=None: then every value must be "
            "finite (+inf only marks the pixels beyond the need lowest when need is an integer)"
        )
    if need is not None:
        finite = np.count_nonzero(field != np.inf, axis=(1, 2)).min()
        if finite < need:
            raise ValueError(
                f"the field of family {fam.name!r} has a frame with {finite} finite values, fewer than "
                f"need={need}: the need lowest values of every frame must be exact (finite)"
            )


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
    frames = 1 if temporal == "static" else shape3[0]
    values = _field(fam, (frames, shape3[1], shape3[2]), _validate.rng(rng), temporal, None, checked)
    if values.shape[0] != shape3[0]:
        values = np.repeat(values, shape3[0], axis=0)
    return values[0] if image else values


@functools.lru_cache(maxsize=256)
def _curve(name: str, shape: tuple[int, int, int], temporal: str, params: tuple) -> np.ndarray:
    """Quantile curve of a family's field for one shape and parameter set (cached).

    Estimated from reference fields drawn with a fixed seed, so it is the same in
    every process whatever the cache state. The fields are drawn one at a time,
    until about ``_CALIBRATION_PIXELS`` pixels are drawn and at least
    ``_CALIBRATION_MIN_FIELDS`` fields; at most ``_CALIBRATION_VALUES`` evenly
    spaced values of them are kept (the field is stationary: every pixel of a
    frame has the same distribution), so the memory is that of one field, or of
    one block of it (:func:`_parts`).
    """
    fam = FAMILIES[name]
    size = shape[0] * shape[1] * shape[2]
    n_fields = min(max(_CALIBRATION_MIN_FIELDS, round(_CALIBRATION_PIXELS / size)), _CALIBRATION_MAX_FIELDS)
    stride = -(-size * n_fields // _CALIBRATION_VALUES)
    per_field = -(-size // stride)
    samples = np.empty(n_fields * per_field, np.float32)
    seeds = np.random.SeedSequence([_CALIBRATION_SEED, *name.encode()]).spawn(n_fields)
    taken = 0
    for seed in seeds:  # every stride-th value of each field, a block at a time where it has blocks
        for start, block in _parts(fam, shape, np.random.default_rng(seed), temporal, None, dict(params)):
            values = block.ravel()[-start * shape[1] * shape[2] % stride :: stride]
            samples[taken : taken + values.size] = values
            taken += values.size
            del block, values  # before the next one is drawn
    samples.sort()
    return calibrate._sorted_quantile_curve(samples)


def signature_defaults(function: Callable) -> dict[str, Any]:
    """The keyword defaults of a family's public function other than :func:`generate`'s own
    arguments: a built-in family's ``defaults``, written once, in the function's signature."""
    return {
        name: p.default
        for name, p in inspect.signature(function).parameters.items()
        if p.kind is p.KEYWORD_ONLY and name not in RESERVED
    }
