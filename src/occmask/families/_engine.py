"""The one generator that drives every family: field, then cut, in blocks where a field is large.

:func:`generate` checks its arguments, asks the family (:mod:`occmask.families._family`)
for its priority field, holds the field to the family contract and cuts it with the
calibrator's cut (:mod:`occmask._cut`): per frame, over the video (in two passes for large
videos) or at the threshold of ``match="expected"``, calibrated once per family, shape and
parameter set on reference fields.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import importlib
import itertools
import weakref
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from .. import _cut, _validate, calibrate
from .._seeds import borrow, hand_back
from .._two_pass import cut_in_two_passes
from ._family import FAMILIES, TEMPORAL, Family, trusted

__all__ = ["CALIBRATION", "field", "generate", "generate_checked"]


@dataclasses.dataclass(frozen=True)
class Calibration:
    """How much of a family's field is drawn to estimate its distribution for ``match="expected"``.

    Fields of the calibration shape are drawn from fixed seeds until about ``pixels`` pixels
    are drawn. At least ``min_fields``: low-frequency fields (fourier) differ a lot from one
    draw to the next, so one large field would give a threshold far from the distribution's
    quantile. At most ``max_fields``: a small shape needs no million pixels (256 fields of
    16 x 16 pixels already put the threshold within about 0.002 of the coverage), and each
    field costs a call of the family (Python's overhead, a user's slow field). Of these
    pixels, at most ``values`` evenly spaced values are kept (64 per step of the 4097-point
    quantile curve; 1 MiB).
    """

    pixels: int = 1 << 20
    values: int = 1 << 18
    min_fields: int = 8
    max_fields: int = 256
    seed: int = 20260905

    def fields(self, size: int) -> int:
        """How many fields of ``size`` pixels to draw."""
        return min(max(self.min_fields, round(self.pixels / size)), self.max_fields)


#: The one calibration budget, of the Numba engine and the device engine alike.
CALIBRATION = Calibration()

#: Fields of more pixels than this are made and cut in blocks of about ``_BLOCK_PIXELS`` pixels
#: (whole frames) by families that can (:attr:`Family.blocks`), with ``match="frame"`` or
#: ``"expected"``: the mask, and not the float32 field (4 bytes a pixel), then sets the peak memory.
_BLOCKS_ABOVE = 1 << 22
_BLOCK_PIXELS = 1 << 20

#: User families whose field was found, on its first call with a ``need``, to give the same lowest
#: pixels as with ``need=None`` (:func:`_check_need`).
_NEED_CHECKED: weakref.WeakSet[Family] = weakref.WeakSet()
#: User families whose :attr:`Family.mask` shortcut was found equal to the cut of their field.
_MASK_CHECKED: weakref.WeakSet[Family] = weakref.WeakSet()


def generate(
    family: str,
    shape: tuple[int, ...],
    coverage: float,
    *,
    rng: Any = None,
    match: str = "frame",
    temporal: str = "evolving",
    region: np.ndarray | None = None,
    device: Any = None,
    **params: Any,
) -> Any:
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
    device : str or torch.device, optional
        Make the mask with torch ops on this device (e.g. ``"cuda"``) and return
        a torch bool tensor there (see :mod:`occmask.torch.device`): the same
        coverage rules and the family's geometry, other random numbers than
        without a device. ``region`` may then be a bool tensor. None (the
        default): the numpy path.
    **params
        Family parameters; see the family's function (e.g. :func:`occmask.perlin`).

    Returns
    -------
    ndarray of bool, shape ``shape``
        True where the pixel is hidden (a ``torch.Tensor`` on ``device`` if given).

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
    if device is not None:
        # by name, when called: the device engine builds on this module (and torch is optional)
        engine = importlib.import_module("occmask.torch.device")
        return engine.on_device(
            fam, shape3, image, coverage, match, temporal, checked, region, _validate.rng(rng), device
        )
    if region is not None:
        region = _validate.region(region, shape3[1:] if image else shape3)
    if type(rng) is not int or not 0 <= rng < 2**64:
        return generate_checked(
            fam, shape3, image, coverage, match, temporal, checked, region, _validate.rng(rng)
        )
    gen = borrow(rng)  # default_rng(rng), faster: an integer seed's generator ends with the call
    try:
        return generate_checked(fam, shape3, image, coverage, match, temporal, checked, region, gen)
    finally:
        hand_back(gen)


def generate_checked(
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
    need = _cut.target_count(coverage, shape3[1] * shape3[2]) if early else None
    if need is not None and fam.mask is not None:
        direct = _direct_mask(fam, field_shape, gen, temporal, need, checked)
        if direct is not None:
            if out is not None:
                np.copyto(out.reshape(shape3), direct)  # a static mask's one frame on every frame
                return out
            if frames != shape3[0]:
                direct = np.repeat(direct, shape3[0], axis=0)
            return direct[0] if image else direct
    reference = None
    if match == "expected":  # before the field: the reference fields and the field never coexist
        # frames of an independent video are independent draws: calibrate on one frame
        calibration_shape = field_shape if temporal == "evolving" else (1, *field_shape[1:])
        reference = _curve(fam, calibration_shape, temporal, tuple(sorted(checked.items())))
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
            _cut.cut_field(block, coverage, match, reference, part, mask[start:stop])
        return mask[0] if image and out is None else (mask if out is None else out)
    field = _field(fam, field_shape, gen, temporal, need, checked)
    if region is not None and region.ndim == 3 and frames != shape3[0]:  # a static field, a region per frame
        field, frames = np.repeat(field, shape3[0], axis=0), shape3[0]
    into = None if out is None or frames != shape3[0] else out.reshape(field.shape)
    mask = _cut.cut_field(field, coverage, match, reference, region, into)
    if out is not None:
        if into is None:
            np.copyto(out.reshape(shape3), mask)  # the one frame of a static mask, on every frame
        return out
    if frames != shape3[0]:
        mask = np.repeat(mask, shape3[0], axis=0)
    return mask[0] if image else mask


def _direct_mask(
    fam: Family,
    shape: tuple[int, int, int],
    rng: np.random.Generator,
    temporal: str,
    need: int,
    params: Mapping[str, Any],
) -> np.ndarray | None:
    """A family's :attr:`Family.mask` shortcut, or None where it does not apply. A user family's is
    checked once against the cut of its field from a copy of ``rng``."""
    assert fam.mask is not None
    if trusted(fam) or fam in _MASK_CHECKED:
        return fam.mask(shape, rng, temporal, need, **params)
    trial = copy.deepcopy(rng)
    direct = fam.mask(shape, rng, temporal, need, **params)
    if direct is None:
        if trial.bit_generator.state != rng.bit_generator.state:
            raise ValueError(f"the mask shortcut of family {fam.name!r} drew from rng but returned None")
        return None
    cut = _lowest(_field(fam, shape, trial, temporal, need, params), need)
    fits = isinstance(direct, np.ndarray) and direct.dtype == np.bool_ and direct.shape == shape
    if not (fits and np.array_equal(direct, cut)) or (trial.bit_generator.state != rng.bit_generator.state):
        raise ValueError(
            f"the mask shortcut of family {fam.name!r} must give the bool {shape} mask that its "
            f"field's cut at need={need} gives, from the same generator state, or None"
        )
    _MASK_CHECKED.add(fam)
    return direct


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
    field: the field is made twice (:func:`occmask._two_pass.cut_in_two_passes`), the first
    time from a copy of ``rng``. A field that comes as one block is cut at once. Returns False,
    with ``rng`` untouched, where the whole field must be cut instead."""
    trial = copy.deepcopy(rng)
    parts = _parts(fam, shape, trial, temporal, None, params)
    _, block = next(parts)
    if len(block) == shape[0]:  # one block: the whole field is here already
        _cut.cut_field(block, coverage, "video", None, region, mask)
        rng.bit_generator.state = trial.bit_generator.state
        return True
    first = itertools.chain([block], (block for _, block in parts))  # the block already made first
    second = (block for _, block in _parts(fam, shape, rng, temporal, None, params))  # (lazy: after first)
    return cut_in_two_passes(first, second, coverage, mask.reshape(-1), f"family {fam.name!r}", region)


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

    The values of the built-in families' fields (``TRUSTED``) are not scanned."""
    if need is not None and fam not in _NEED_CHECKED and not trusted(fam):
        _check_need(fam, shape, rng, temporal, need, params)
    field = fam.field(shape, rng, temporal, need, **params)
    _hold(fam, field, shape, need)
    return field


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
    cuts = []
    for asked in (None, need):
        field = fam.field(shape, copy.deepcopy(rng), temporal, asked, **params)
        _hold(fam, field, shape, asked)
        cuts.append(_lowest(field, need))
    if not np.array_equal(cuts[0], cuts[1]):
        raise ValueError(
            f"the field of family {fam.name!r} has other {need} lowest pixels with need={need} than with "
            "need=None (from the same generator state): its mask must not depend on need (beyond +inf "
            "on the pixels it does not need), and it must draw only from its rng"
        )
    _NEED_CHECKED.add(fam)


def _lowest(field: np.ndarray, need: int) -> np.ndarray:
    """The ``need`` lowest pixels of every frame of a field (T, H, W), as the calibrator cuts them."""
    rows = field.reshape(field.shape[0], -1)
    return _cut.cut_rows(rows, need, np.empty(rows.shape, np.bool_)).reshape(field.shape)


def _hold(fam: Family, field: Any, shape: tuple[int, ...], need: int | None) -> None:
    """Hold a family's field (or block) to the contract: a float32 ndarray of ``shape``, no NaN or
    -inf, finite where ``need`` is None and at least ``need`` finite values per frame otherwise.
    Built-in families' values (``TRUSTED``) are not scanned."""
    if not isinstance(field, np.ndarray) or field.dtype != np.float32 or field.shape != shape:
        raise TypeError(
            f"the field of family {fam.name!r} must return a float32 ndarray of shape {shape}, got "
            f"{type(field).__name__} {getattr(field, 'dtype', '')} {getattr(field, 'shape', '')}"
        )
    if trusted(fam):
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
def _curve(fam: Family, shape: tuple[int, int, int], temporal: str, params: tuple) -> np.ndarray:
    """Quantile curve of a family's field for one shape and parameter set (cached per family
    record: a family registered anew under the same name is calibrated anew).

    Estimated from reference fields drawn with a fixed seed, so it is the same in
    every process whatever the cache state. The fields are drawn one at a time,
    until about ``CALIBRATION.pixels`` pixels are drawn and at least
    ``CALIBRATION.min_fields`` fields; at most ``CALIBRATION.values`` evenly
    spaced values of them are kept (the field is stationary: every pixel of a
    frame has the same distribution), so the memory is that of one field, or of
    one block of it (:func:`_parts`).
    """
    size = shape[0] * shape[1] * shape[2]
    n_fields = CALIBRATION.fields(size)
    stride = -(-size * n_fields // CALIBRATION.values)
    per_field = -(-size // stride)
    samples = np.empty(n_fields * per_field, np.float32)
    seeds = np.random.SeedSequence([CALIBRATION.seed, *fam.name.encode()]).spawn(n_fields)
    taken = 0
    for seed in seeds:  # every stride-th value of each field, a block at a time where it has blocks
        for start, block in _parts(fam, shape, np.random.default_rng(seed), temporal, None, dict(params)):
            values = block.ravel()[-start * shape[1] * shape[2] % stride :: stride]
            samples[taken : taken + values.size] = values
            taken += values.size
            del block, values  # before the next one is drawn
    samples.sort()
    return _cut.sorted_quantile_curve(samples)
