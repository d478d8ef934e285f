"""Hypothesis strategies for property tests of code that uses occmask.

Each function returns a `hypothesis <https://hypothesis.readthedocs.io>`_
strategy. hypothesis is imported when a strategy is built, so importing this
module does not need it. Arguments are keyword-only and checked when the
strategy is built: a bad one raises ``ValueError``/``TypeError`` naming it.

:func:`masks` draws a seed like any other value, so hypothesis shrinks a
failing mask (smaller shape, simpler coverage, seed 0) and replays it from its
database; the exact :func:`occmask.generate` call is printed with the failure.

Examples
--------
>>> from hypothesis import given, settings
>>> from occmask.calibrate import target_count
>>> from occmask.testing import masks
>>> @settings(max_examples=20, deadline=None)
... @given(masks(family="perlin", shape=(4, 16, 16), coverage=0.25, match="frame"))
... def test_quarter_of_every_frame(mask):
...     assert (mask.sum(axis=(1, 2)) == target_count(0.25, 16 * 16)).all()
>>> test_quarter_of_every_frame()
"""

from __future__ import annotations

import math
from typing import Any

from . import _validate
from .calibrate import MATCHES
from .families import FAMILIES, TEMPORAL, generate

__all__ = ["coverages", "mask_shapes", "masks", "seeds"]

#: Largest seed drawn by :func:`seeds` (63 bits, as :class:`occmask.torch.Occlude` draws).


def _st():
    try:
        from hypothesis import strategies
    except ImportError as error:  # pragma: no cover - exercised only without hypothesis
        raise ImportError("occmask.testing needs hypothesis: pip install hypothesis") from error
    return strategies


def _flag(name: str, value: Any, *, allow_none: bool = False) -> bool | None:
    if value is None and allow_none:
        return None
    if not isinstance(value, bool):
        allowed = "None, True or False" if allow_none else "True or False"
        raise TypeError(f"{name} must be {allowed}, got {value!r}")
    return value


def mask_shapes(
    *,
    min_side: int = 1,
    max_side: int = 96,
    min_frames: int = 1,
    max_frames: int = 8,
    video: bool | None = None,
):
    """Strategy for mask shapes: ``(H, W)`` images and ``(T, H, W)`` videos.

    Parameters
    ----------
    min_side, max_side : int, default 1 and 96
        Bounds of ``H`` and ``W``, ``1 <= min_side <= max_side``.
    min_frames, max_frames : int, default 1 and 8
        Bounds of ``T`` for videos, ``1 <= min_frames <= max_frames``.
    video : bool, optional
        True: only ``(T, H, W)``; False: only ``(H, W)``; None: both (shrinking
        towards images).

    Returns
    -------
    hypothesis.strategies.SearchStrategy of tuple of int

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from occmask.testing import mask_shapes
    >>> @settings(max_examples=20)
    ... @given(mask_shapes(max_side=8, video=True))
    ... def test_small_videos(shape):
    ...     t, h, w = shape
    ...     assert 1 <= t <= 8 and 1 <= h <= 8 and 1 <= w <= 8
    >>> test_small_videos()
    """
    min_side = _validate.integer("min_side", min_side, low=1)
    max_side = _validate.integer("max_side", max_side, low=min_side)
    min_frames = _validate.integer("min_frames", min_frames, low=1)
    max_frames = _validate.integer("max_frames", max_frames, low=min_frames)
    video = _flag("video", video, allow_none=True)
    st = _st()
    side = st.integers(min_side, max_side)
    image = st.tuples(side, side)
    movie = st.tuples(st.integers(min_frames, max_frames), side, side)
    if video is None:
        return st.one_of(image, movie)
    return movie if video else image


def coverages(*, min_value: float = 0.0, max_value: float = 1.0, include_ends: bool = True):
    """Strategy for coverages: floats in ``[min_value, max_value]``.

    Parameters
    ----------
    min_value, max_value : float, default 0.0 and 1.0
        Bounds, ``0 <= min_value <= max_value <= 1``.
    include_ends : bool, default True
        True: the bounds themselves are drawn often (coverage 0 and 1 are edge
        cases worth testing); False: they are never drawn (then
        a float strictly between them is required).

    Returns
    -------
    hypothesis.strategies.SearchStrategy of float

    Examples
    --------
    >>> from hypothesis import given
    >>> from occmask.testing import coverages
    >>> @given(coverages(min_value=0.1, max_value=0.2, include_ends=False))
    ... def test_inside(coverage):
    ...     assert 0.1 < coverage < 0.2
    >>> test_inside()
    """
    low = _validate.coverage(min_value, name="min_value")
    high = _validate.coverage(max_value, name="max_value")
    if low > high:
        raise ValueError(f"min_value must be <= max_value, got min_value={low!r}, max_value={high!r}")
    st = _st()
    if _flag("include_ends", include_ends):
        if low == high:
            return st.just(low)
        return st.one_of(st.sampled_from([low, high]), st.floats(low, high))
    if math.nextafter(low, math.inf) >= high:
        raise ValueError(
            f"include_ends=False needs a float strictly between min_value={low!r} and max_value={high!r}"
        )
    return st.floats(low, high, exclude_min=True, exclude_max=True)


def seeds():
    """Strategy for seeds: integers in ``[0, 2**63 - 2]``, shrinking towards 0.

    Returns
    -------
    hypothesis.strategies.SearchStrategy of int

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> import occmask as om
    >>> from occmask.testing import seeds
    >>> @settings(max_examples=20, deadline=None)
    ... @given(seeds())
    ... def test_any_seed(seed):
    ...     assert om.generate("cgol", (8, 8), 0.5, rng=seed).sum() == 32
    >>> test_any_seed()
    """
    return _st().integers(0, _validate.SEED_BOUND - 1)


def _given(value: Any, default: Any, check) -> Any:
    """A strategy for one argument of :func:`masks`: the default, a strategy, or a checked constant."""
    st = _st()
    if value is None:
        return default
    if isinstance(value, st.SearchStrategy):
        return value
    return st.just(check(value))


def _shape(value: Any) -> tuple[int, ...]:
    (frames, height, width), image = _validate.shape(value)
    return (height, width) if image else (frames, height, width)


def masks(
    *,
    family: Any = None,
    shape: Any = None,
    coverage: Any = None,
    match: Any = None,
    temporal: Any = None,
    **params: Any,
):
    """Strategy for occlusion masks made by :func:`occmask.generate` from a drawn seed.

    Each argument is a value (checked now), a hypothesis strategy (drawn per
    example), or None to draw from everything allowed.

    Parameters
    ----------
    family : str or strategy, optional
        A name from ``occmask.FAMILIES``; any family if None.
    shape : tuple of int or strategy, optional
        ``(H, W)`` or ``(T, H, W)``; :func:`mask_shapes` if None.
    coverage : float or strategy, optional
        In [0, 1]; :func:`coverages` (ends included) if None.
    match : {"frame", "video", "expected"} or strategy, optional
        Any mode if None. ``"expected"`` estimates the family's field
        distribution once per (family, shape, temporal, parameters), which takes
        about a second: pin ``shape`` or ``match`` when tests must be quick.
    temporal : {"evolving", "static", "independent"} or strategy, optional
        Any if None.
    **params
        Family parameters, passed on to :func:`occmask.generate`; they need a
        fixed ``family`` and are checked now.

    Returns
    -------
    hypothesis.strategies.SearchStrategy of ndarray of bool
        Masks of the drawn shape. On failure, hypothesis reports the
        :func:`occmask.generate` call that rebuilds the mask.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from occmask.testing import coverages, mask_shapes, masks
    >>> @settings(max_examples=10, deadline=None)
    ... @given(masks(family="cgol", shape=(3, 24, 24), coverage=coverages(max_value=0.5), match="video"))
    ... def test_at_most_half(mask):
    ...     assert mask.shape == (3, 24, 24) and mask.mean() <= 0.5
    >>> test_at_most_half()
    >>> @settings(max_examples=10, deadline=None)
    ... @given(masks(match="frame", coverage=1.0, shape=mask_shapes(max_side=16)))
    ... def test_full_cover(mask):
    ...     assert mask.all()
    >>> test_full_cover()
    """
    st = _st()
    if params:
        if family is None or not isinstance(family, str):
            raise ValueError(
                f"family parameters {sorted(params)} need a fixed family name, got family={family!r}"
            )
    families = _given(
        family, st.sampled_from(sorted(FAMILIES)), lambda v: _validate.choice("family", v, FAMILIES)
    )
    if params:
        checked = FAMILIES[family].params(params)
        params = {name: checked[name] for name in params}
    shapes = _given(shape, mask_shapes(), _shape)
    covers = _given(coverage, coverages(), _validate.coverage)
    matches = _given(match, st.sampled_from(MATCHES), lambda v: _validate.choice("match", v, MATCHES))
    temporals = _given(
        temporal, st.sampled_from(TEMPORAL), lambda v: _validate.choice("temporal", v, TEMPORAL)
    )

    @st.composite
    def draw_mask(draw):
        from hypothesis import note

        args = (draw(families), draw(shapes), draw(covers))
        kwargs = {"rng": draw(seeds()), "match": draw(matches), "temporal": draw(temporals), **params}
        note(
            "mask = occmask.generate("
            + ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
            + ")"
        )
        return generate(*args, **kwargs)

    return draw_mask()
