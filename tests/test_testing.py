"""The hypothesis strategies of occmask.testing, and the coverage properties they drive."""

import math

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

import occmask as om
from occmask.calibrate import target_count
from occmask.families import TEMPORAL
from occmask.testing import coverages, mask_shapes, masks, seeds

FAMILIES = sorted(om.FAMILIES)


# --------------------------------------------------------------------------- coverage properties


@pytest.mark.parametrize("family", FAMILIES)
@settings(max_examples=50, deadline=None)
@given(shape=mask_shapes(), coverage=coverages(), temporal=st.sampled_from(TEMPORAL), data=st.data())
def test_frame_match_is_exact_in_every_frame(family, shape, coverage, temporal, data):
    mask = data.draw(masks(family=family, shape=shape, coverage=coverage, match="frame", temporal=temporal))
    assert mask.dtype == np.bool_
    assert mask.shape == shape
    frames = mask.reshape(-1, shape[-2] * shape[-1])
    assert (frames.sum(axis=1) == target_count(coverage, frames.shape[1])).all()
    if coverage == 0.0:
        assert not mask.any()
    if coverage == 1.0:
        assert mask.all()
    if temporal == "static":
        assert (frames == frames[0]).all()


@pytest.mark.parametrize("family", FAMILIES)
@settings(max_examples=40, deadline=None)
@given(shape=mask_shapes(), coverage=coverages(), temporal=st.sampled_from(TEMPORAL), data=st.data())
def test_video_match_is_exact_over_the_video(family, shape, coverage, temporal, data):
    mask = data.draw(masks(family=family, shape=shape, coverage=coverage, match="video", temporal=temporal))
    assert mask.dtype == np.bool_
    assert mask.shape == shape
    frames = mask.reshape(-1, shape[-2] * shape[-1])
    if temporal == "static":  # one frame repeated: video matching is frame matching
        assert (frames.sum(axis=1) == target_count(coverage, frames.shape[1])).all()
        assert (frames == frames[0]).all()
    else:
        assert mask.sum() == target_count(coverage, mask.size)


# Each new (family, shape, temporal) calibrates "expected" matching once (about a second), so few examples.
@settings(max_examples=12, deadline=None)
@given(
    family=st.sampled_from(FAMILIES),
    shape=mask_shapes(),
    coverage=st.sampled_from([0.0, 1.0]),
    temporal=st.sampled_from(TEMPORAL),
    data=st.data(),
)
def test_expected_match_at_the_ends(family, shape, coverage, temporal, data):
    mask = data.draw(
        masks(family=family, shape=shape, coverage=coverage, match="expected", temporal=temporal)
    )
    assert mask.dtype == np.bool_
    assert mask.shape == shape
    assert mask.all() if coverage == 1.0 else not mask.any()


# --------------------------------------------------------------------------- the strategies


@settings(max_examples=60)
@given(st.data())
def test_mask_shapes_respect_their_bounds(data):
    low = data.draw(st.integers(1, 20))
    high = data.draw(st.integers(low, 40))
    frames = data.draw(st.integers(1, 5))
    video = data.draw(st.sampled_from([None, True, False]))
    shape = data.draw(
        mask_shapes(min_side=low, max_side=high, min_frames=frames, max_frames=frames + 2, video=video)
    )
    assert len(shape) == (2 if video is False else 3 if video else len(shape))
    assert len(shape) in (2, 3)
    assert all(low <= side <= high for side in shape[-2:])
    if len(shape) == 3:
        assert frames <= shape[0] <= frames + 2
    om.generate("bernoulli", shape, 0.5, rng=0)  # a valid shape


def test_mask_shapes_reach_both_kinds_and_the_extremes():
    assert len(find(mask_shapes(), lambda s: len(s) == 3)) == 3
    assert find(mask_shapes(), lambda s: len(s) == 2) == (1, 1)
    assert find(mask_shapes(), lambda s: max(s) == 96) in ((1, 96), (96, 1))
    assert find(mask_shapes(video=True), lambda s: s[0] == 8)[0] == 8


@settings(max_examples=80)
@given(st.data())
def test_coverages_stay_in_range(data):
    low = data.draw(st.floats(0.0, 1.0))
    high = data.draw(st.floats(low, 1.0))
    value = data.draw(coverages(min_value=low, max_value=high))
    assert low <= value <= high
    if math.nextafter(low, 1.0) < high:
        inner = data.draw(coverages(min_value=low, max_value=high, include_ends=False))
        assert low < inner < high


def test_coverages_draw_the_ends():
    assert find(coverages(), lambda c: c == 0.0) == 0.0
    assert find(coverages(), lambda c: c == 1.0) == 1.0
    assert find(coverages(min_value=0.25, max_value=0.75), lambda c: c > 0.7) == 0.75


@settings(max_examples=30, deadline=None)
@given(seed=seeds(), mask=masks(family="perlin", shape=(3, 20, 24), coverage=0.4, match="frame", scale=5.0))
def test_masks_with_fixed_arguments_and_family_parameters(seed, mask):
    assert 0 <= seed < 2**63
    assert mask.shape == (3, 20, 24)
    assert (mask.sum(axis=(1, 2)) == target_count(0.4, 20 * 24)).all()


@settings(max_examples=30, deadline=None)
@given(
    mask=masks(
        family=st.sampled_from(["cgol", "triangles"]),
        shape=mask_shapes(max_side=12, video=True),
        coverage=coverages(max_value=0.5),
        match=st.just("video"),
        temporal="independent",
    )
)
def test_masks_with_strategy_arguments(mask):
    assert mask.ndim == 3
    assert max(mask.shape[1:]) <= 12
    assert mask.sum() <= target_count(0.5, mask.size)


def test_masks_are_the_generate_call_they_report():
    """A failing example reports the occmask.generate call that rebuilds its mask."""
    seen = []

    @settings(max_examples=5, database=None)
    @given(masks(family="triangles", shape=(2, 9, 7), coverage=0.5, match="frame", temporal="static"))
    def prop(mask):
        seen.append(mask)
        raise AssertionError("fail every example")

    with pytest.raises(AssertionError) as info:
        prop()
    notes = "\n".join(getattr(info.value, "__notes__", []))
    call = next(line for line in notes.splitlines() if "occmask.generate(" in line)
    assert "rng=0" in call  # shrunk to seed 0
    rebuilt = eval(call.split("mask = ", 1)[1], {"occmask": om})
    np.testing.assert_array_equal(rebuilt, seen[-1])
    np.testing.assert_array_equal(rebuilt, om.generate("triangles", (2, 9, 7), 0.5, rng=0, temporal="static"))


@pytest.mark.parametrize(
    ("function", "kwargs", "error", "words"),
    [
        (mask_shapes, {"min_side": 0}, ValueError, "min_side"),
        (mask_shapes, {"min_side": 2.5}, TypeError, "min_side"),
        (mask_shapes, {"min_side": 5, "max_side": 4}, ValueError, "max_side"),
        (mask_shapes, {"max_frames": 0}, ValueError, "max_frames"),
        (mask_shapes, {"min_frames": 3, "max_frames": 2}, ValueError, "max_frames"),
        (mask_shapes, {"video": "yes"}, TypeError, "video"),
        (coverages, {"min_value": -0.1}, ValueError, "min_value"),
        (coverages, {"max_value": 1.5}, ValueError, "max_value"),
        (coverages, {"min_value": 0.6, "max_value": 0.4}, ValueError, "min_value"),
        (coverages, {"min_value": 0.5, "max_value": 0.5, "include_ends": False}, ValueError, "include_ends"),
        (
            coverages,
            {"min_value": 0.5, "max_value": math.nextafter(0.5, 1), "include_ends": False},
            ValueError,
            "strictly between",
        ),
        (coverages, {"include_ends": 1}, TypeError, "include_ends"),
        (masks, {"family": "voronoi"}, ValueError, "family"),
        (masks, {"shape": (0, 4)}, ValueError, "shape"),
        (masks, {"shape": (2, 3, 4, 5)}, ValueError, "shape"),
        (masks, {"coverage": 2.0}, ValueError, "coverage"),
        (masks, {"match": "pixel"}, ValueError, "match"),
        (masks, {"temporal": "frozen"}, ValueError, "temporal"),
        (masks, {"scale": 4.0}, ValueError, "family"),
        (masks, {"family": "perlin", "scale": -1.0}, ValueError, "scale"),
        (masks, {"family": "perlin", "density": 0.5}, TypeError, "density"),
    ],
)
def test_invalid_arguments_raise_when_the_strategy_is_built(function, kwargs, error, words):
    with pytest.raises(error, match=words):
        function(**kwargs)


def test_strategies_are_keyword_only():
    for function, args in ((mask_shapes, (1, 8)), (coverages, (0.0, 1.0)), (masks, ("perlin",))):
        with pytest.raises(TypeError):
            function(*args)


def test_invalid_arguments_are_hypothesis_invalid_argument_too():
    from hypothesis.errors import InvalidArgument

    for function, kwargs, kind, words in (
        (coverages, {"min_value": 2.0}, ValueError, "min_value"),
        (masks, {"family": "perlin", "density": 0.5}, TypeError, "density"),
        (mask_shapes, {"video": 1}, TypeError, "video"),
    ):
        with pytest.raises(InvalidArgument, match=words) as info:
            function(**kwargs)
        assert isinstance(info.value, kind)
