"""Hypothesis strategies for property tests of code that uses occmask.

Each function returns a `hypothesis <https://hypothesis.readthedocs.io>`_
strategy. hypothesis is imported when a strategy is built, so importing this
module does not need it. Arguments are keyword-only and checked when the
strategy is built: a bad one raises hypothesis' ``InvalidArgument`` naming it, which
is also a ``ValueError`` or ``TypeError``, as occmask raises elsewhere.

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

import functools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import numpy as np

from . import _validate
from .calibrate import MATCHES, target_count
from .families import FAMILIES, TEMPORAL, generate

__all__ = [
    "check_blocks",
    "check_deterministic",
    "check_exact",
    "check_family",
    "check_stationary",
    "coverages",
    "mask_shapes",
    "masks",
    "seeds",
]

if TYPE_CHECKING:
    from types import ModuleType

    from hypothesis.strategies import DrawFn, SearchStrategy

_P = ParamSpec("_P")
_R = TypeVar("_R")
_INVALID: dict[type, type] = {}  # ValueError / TypeError -> its InvalidArgument twin


def _strategy(factory: Callable[_P, _R]) -> Callable[_P, _R]:
    """A strategy factory whose bad arguments raise hypothesis' ``InvalidArgument``, as
    hypothesis' own strategies do; the error is also the ``ValueError`` or ``TypeError`` that
    occmask raises elsewhere, so either can be caught."""

    @functools.wraps(factory)
    def build(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return factory(*args, **kwargs)
        except (ValueError, TypeError) as error:
            from hypothesis.errors import InvalidArgument

            kind = ValueError if isinstance(error, ValueError) else TypeError
            if kind not in _INVALID:
                _INVALID[kind] = type(
                    f"Invalid{kind.__name__}", (InvalidArgument, kind), {"__module__": __name__}
                )
            raise _INVALID[kind](str(error)) from None

    return build


def _st() -> ModuleType:
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


@_strategy
def mask_shapes(
    *,
    min_side: int = 1,
    max_side: int = 96,
    min_frames: int = 1,
    max_frames: int = 8,
    video: bool | None = None,
) -> SearchStrategy[tuple[int, ...]]:
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


@_strategy
def coverages(
    *, min_value: float = 0.0, max_value: float = 1.0, include_ends: bool = True
) -> SearchStrategy[float]:
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


def seeds() -> SearchStrategy[int]:
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


def _given(value: Any, default: Any, check: Callable[[Any], Any]) -> Any:
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


@_strategy
def masks(
    *,
    family: Any = None,
    shape: Any = None,
    coverage: Any = None,
    match: Any = None,
    temporal: Any = None,
    **params: Any,
) -> SearchStrategy[np.ndarray]:
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
    if params and (family is None or not isinstance(family, str)):
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
    def draw_mask(draw: DrawFn) -> np.ndarray:
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


# --- property checks for a family's author ----------------------------------------------------


def _family(family: Any, params: dict[str, Any]) -> str:
    name = _validate.choice("family", family, FAMILIES)
    FAMILIES[name].params(params)  # unknown or bad parameters fail now, not inside hypothesis
    return name


def _for_all(
    name: str,
    params: dict[str, Any],
    max_examples: int,
    prop: Callable[[tuple[int, int, int], float, int, str], None],
) -> None:
    """Run ``prop(shape, coverage, rng, temporal)`` on hypothesis-drawn videos of up to 4 frames
    and sides up to 40, coverages, seeds and temporal modes."""
    from hypothesis import HealthCheck, given, note, settings
    from hypothesis.errors import Flaky

    max_examples = _validate.integer("max_examples", max_examples, low=1)

    @settings(max_examples=max_examples, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        shape=mask_shapes(max_side=40, max_frames=4, video=True),
        coverage=coverages(),
        rng=seeds(),
        temporal=_st().sampled_from(TEMPORAL),
    )
    def run(shape: tuple[int, int, int], coverage: float, rng: int, temporal: str) -> None:
        note(
            f"occmask.generate({name!r}, {shape}, {coverage!r}, rng={rng}, temporal={temporal!r}, **{params})"
        )
        prop(shape, coverage, rng, temporal)

    try:
        run()
    except Flaky as error:  # a failure that did not recur on replay: the family itself is not repeatable
        causes = "; ".join(str(e) for e in getattr(error, "exceptions", ())) or str(error)
        raise AssertionError(
            f"{name}: a failing example did not fail again when replayed, so its masks depend on more "
            f"than (shape, coverage, rng, temporal, params): {causes}"
        ) from error


def check_exact(family: str, *, max_examples: int = 50, **params: Any) -> None:
    """Check that a family hides exactly the requested number of pixels in every match mode.

    On hypothesis-drawn shapes (1-4 frames, sides 1-40), coverages, seeds and
    temporal modes: ``match="frame"`` hides ``floor(coverage*H*W + 0.5)`` pixels
    in every frame, ``match="video"`` ``floor(coverage*T*H*W + 0.5)`` in the video
    (per frame for a static mask), and ``match="expected"`` hides nothing at
    coverage 0, everything at 1, and masks nested in the coverage.

    Parameters
    ----------
    family : str
        A name from ``occmask.FAMILIES``.
    max_examples : int, default 50
        Hypothesis examples to draw.
    **params
        Family parameters (checked now).

    Raises
    ------
    AssertionError
        With the :func:`occmask.generate` call that breaks the property.

    Examples
    --------
    >>> from occmask.testing import check_exact
    >>> check_exact("triangles", max_examples=10, size=(4, 8))
    """
    name = _family(family, params)

    def exact(shape: tuple[int, int, int], coverage: float, rng: int, temporal: str) -> None:
        t, h, w = shape
        frame = generate(name, shape, coverage, rng=rng, temporal=temporal, **params)
        counts = frame.sum(axis=(1, 2))
        assert (counts == target_count(coverage, h * w)).all(), f"match='frame': {counts.tolist()} pixels"
        video = generate(name, shape, coverage, rng=rng, temporal=temporal, match="video", **params)
        want = (
            t * target_count(coverage, h * w) if temporal == "static" else target_count(coverage, t * h * w)
        )
        assert video.sum() == want, f"match='video': {video.sum()} pixels, not {want}"
        low, high = (
            generate(name, shape, c, rng=rng, temporal=temporal, match="expected", **params)
            for c in (coverage / 2, coverage)
        )
        assert not (low & ~high).any(), "match='expected': a lower coverage is not nested in a higher one"
        for c, everything in ((0.0, False), (1.0, True)):
            ends = generate(name, shape, c, rng=rng, temporal=temporal, match="expected", **params)
            assert (ends == everything).all(), f"match='expected' at coverage {c}"

    _for_all(name, params, max_examples, exact)


def check_deterministic(family: str, *, max_examples: int = 25, **params: Any) -> None:
    """Check that a family's masks depend on the seed alone.

    On hypothesis-drawn shapes, coverages, seeds and temporal modes: the same
    seed gives the same mask again, and as a ``SeedSequence`` and a
    ``Generator`` seeded alike.

    Parameters
    ----------
    family : str
        A name from ``occmask.FAMILIES``.
    max_examples : int, default 25
        Hypothesis examples to draw.
    **params
        Family parameters (checked now).

    Raises
    ------
    AssertionError
        With the :func:`occmask.generate` call that breaks the property.

    Examples
    --------
    >>> from occmask.testing import check_deterministic
    >>> check_deterministic("bernoulli", max_examples=10)
    """
    name = _family(family, params)

    def deterministic(shape: tuple[int, int, int], coverage: float, rng: int, temporal: str) -> None:
        first = generate(name, shape, coverage, rng=rng, temporal=temporal, **params)
        for seed in (rng, np.random.SeedSequence(rng), np.random.default_rng(rng)):
            again = generate(name, shape, coverage, rng=seed, temporal=temporal, **params)
            assert np.array_equal(first, again), f"rng={seed!r} gave another mask"

    _for_all(name, params, max_examples, deterministic)


def check_blocks(family: str, *, max_examples: int = 25, **params: Any) -> None:
    """Check that a family's blocks (:class:`occmask.Family`'s ``blocks``) join into its field.

    On hypothesis-drawn shapes, coverages, seeds and temporal modes: the blocks of
    1, 2 and all frames, joined, equal the field byte for byte, with every value
    (``need=None``) and with only a frame's ``need`` lowest ones exact.

    Parameters
    ----------
    family : str
        A name from ``occmask.FAMILIES`` whose record has ``blocks``.
    max_examples : int, default 25
        Hypothesis examples to draw.
    **params
        Family parameters (checked now).

    Raises
    ------
    ValueError
        If the family has no blocks.
    AssertionError
        With the :func:`occmask.generate` call that breaks the property.

    Examples
    --------
    >>> from occmask.testing import check_blocks
    >>> check_blocks("perlin", max_examples=5, scale=4.0)
    """
    name = _family(family, params)
    record = FAMILIES[name]
    blocks = record.blocks
    if blocks is None:
        raise ValueError(f"family {name!r} has no blocks: its Family record was made without them")
    checked = record.params(params)

    def joined(shape: tuple[int, int, int], coverage: float, rng: int, temporal: str) -> None:
        frames, height, width = 1 if temporal == "static" else shape[0], shape[1], shape[2]
        for need in (None, target_count(coverage, height * width)):
            field = record.field(
                (frames, height, width), np.random.default_rng(rng), temporal, need, **checked
            )
            for size in sorted({1, 2, frames}):
                made = blocks(
                    (frames, height, width), np.random.default_rng(rng), temporal, need, size, **checked
                )
                parts = [np.array(part, copy=True) for part in made]  # a block may be overwritten by the next
                assert np.array_equal(np.concatenate(parts), field), (
                    f"blocks of {size} frame(s), need={need}: not the field ({[p.shape for p in parts]})"
                )

    _for_all(name, params, max_examples, joined)


def check_stationary(
    family: str,
    *,
    shape: tuple[int, int] = (40, 40),
    coverage: float = 0.4,
    n: int = 1000,
    tolerance: float = 0.03,
    border: int = 3,
    **params: Any,
) -> None:
    """Check that no part of the frame is favoured: border and centre are hidden equally often.

    Draws ``n`` independent masks (``temporal="independent"``, seed 0) and
    compares how often the pixels within ``border`` of an edge, and those of the
    central 30% of the frame, are hidden with ``coverage``.

    Parameters
    ----------
    family : str
        A name from ``occmask.FAMILIES``.
    shape : (int, int), default (40, 40)
        Frame size.
    coverage : float, default 0.4
        Coverage of every mask, in (0, 1).
    n : int, default 1000
        Number of independent masks.
    tolerance : float, default 0.03
        Largest allowed difference between each region's rate and ``coverage``.
    border : int, default 3
        Width of the border region in pixels.
    **params
        Family parameters (checked now).

    Raises
    ------
    AssertionError
        Naming both rates.

    Examples
    --------
    >>> from occmask.testing import check_stationary
    >>> check_stationary("bernoulli", n=200)
    """
    name = _family(family, params)
    (_, height, width), image = _validate.shape(shape)
    if not image or min(height, width) < 2 * border + 4:
        raise ValueError(f"shape must be an image (H, W) wider than twice the border, got {shape!r}")
    coverage = _validate.number("coverage", coverage, low=0.0, high=1.0, low_open=True, high_open=True)
    n = _validate.integer("n", n, low=1)
    tolerance = _validate.number("tolerance", tolerance, low=0.0, low_open=True)
    rate = generate(name, (n, height, width), coverage, rng=0, temporal="independent", **params).mean(axis=0)
    edge = np.ones((height, width), bool)
    edge[border:-border, border:-border] = False
    ch, cw = max(1, round(0.15 * height)), max(1, round(0.15 * width))
    centre = rate[height // 2 - ch : height // 2 + ch, width // 2 - cw : width // 2 + cw].mean()
    outer = rate[edge].mean()
    rates = (
        f"{name}: centre pixels hidden at rate {centre:.4f}, border pixels at {outer:.4f}, "
        f"target {coverage} +- {tolerance}"
    )
    assert abs(centre - coverage) < tolerance, rates
    assert abs(outer - coverage) < tolerance, rates


def check_family(family: str, *, max_examples: int = 25, **params: Any) -> None:
    """Run every property check on a family: :func:`check_deterministic` (first, so that a family
    that draws from elsewhere is named as such), :func:`check_exact`, :func:`check_stationary`
    (with their defaults) and, if it makes its field in blocks, :func:`check_blocks`.

    Parameters
    ----------
    family : str
        A name from ``occmask.FAMILIES``.
    max_examples : int, default 25
        Hypothesis examples per check.
    **params
        Family parameters (checked now).

    Examples
    --------
    >>> from occmask.testing import check_family
    >>> check_family("patches", max_examples=5, patch=4)
    """
    check_deterministic(family, max_examples=max_examples, **params)  # first: others assume it
    check_exact(family, max_examples=max_examples, **params)
    check_stationary(family, **params)
    if FAMILIES[_family(family, params)].blocks is not None:
        check_blocks(family, max_examples=max_examples, **params)
