"""The calibrator cuts exactly, as a stable sort would, in every match mode."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from occmask import calibrate


def reference_cut(field, k):
    """Slow and obvious: the first k pixels of a stable argsort, frame by frame."""
    rows = field.reshape(field.shape[0], -1)
    out = np.zeros(rows.shape, dtype=bool)
    for r, row in enumerate(rows):
        out[r, np.argsort(row, kind="stable")[:k]] = True
    return out.reshape(field.shape)


# values with many ties, signed zeros and wide ranges
values = st.one_of(
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5, 1e-30, -1e30, 3.0e38, np.inf]),
    st.floats(-1e6, 1e6, width=32, allow_nan=False, allow_infinity=False),
)


@settings(max_examples=200, deadline=None)
@given(
    field=hnp.arrays(
        np.float32, hnp.array_shapes(min_dims=3, max_dims=3, min_side=1, max_side=12), elements=values
    ),
    coverage=st.floats(0.0, 1.0),
)
def test_frame_cut_equals_stable_sort(field, coverage):
    k = calibrate.target_count(coverage, field.shape[1] * field.shape[2])
    mask = calibrate.cut(field, coverage)
    np.testing.assert_array_equal(mask, reference_cut(field, k))


@settings(max_examples=100, deadline=None)
@given(
    field=hnp.arrays(
        np.float32, hnp.array_shapes(min_dims=3, max_dims=3, min_side=1, max_side=10), elements=values
    ),
    coverage=st.floats(0.0, 1.0),
)
def test_video_cut_equals_stable_sort(field, coverage):
    k = calibrate.target_count(coverage, field.size)
    mask = calibrate.cut(field, coverage, match="video")
    np.testing.assert_array_equal(mask.ravel(), reference_cut(field.reshape(1, 1, -1), k).ravel())


LARGE = [(64, 64), (128, 160)]  # the second: counted in several histogram copies


def large_fields(n=64 * 64):
    """Rows long enough for the histogram and its refinements: +inf tails, ties, outliers."""
    rng = np.random.default_rng(5)
    ramp = np.arange(n, dtype=np.float32)
    half_inf = np.where(rng.random(n) < 0.5, np.inf, ramp).astype(
        np.float32
    )  # k-th at the top of the finite values
    levels = rng.integers(0, 3, n).astype(np.float32)  # thousands of ties per value
    spikes = rng.random(n, dtype=np.float32)
    spikes[rng.choice(n, 40, replace=False)] = rng.choice(
        [-3e38, 3e38, 1e-30], 40
    )  # outside the sample's range
    constant_and_inf = np.where(rng.random(n) < 0.7, np.float32(2.0), np.inf).astype(np.float32)
    clustered = (1.0 + rng.random(n) * 1e-6).astype(np.float32)  # a narrow range inside a wide one
    clustered[:3] = [-1e6, 1e6, np.inf]
    return {
        "half_inf": half_inf,
        "levels": levels,
        "spikes": spikes,
        "constant_and_inf": constant_and_inf,
        "clustered": clustered,
        "all_inf": np.full(n, np.inf, np.float32),
    }


@pytest.mark.parametrize("side", LARGE)
@pytest.mark.parametrize("name", sorted(large_fields()))
@pytest.mark.parametrize("coverage", [0.01, 0.3, 0.5, 0.69, 0.7, 0.99])
def test_large_rows_cut_equals_stable_sort(name, coverage, side):
    field = large_fields(side[0] * side[1])[name].reshape(1, *side)
    k = calibrate.target_count(coverage, field.size)
    np.testing.assert_array_equal(calibrate.cut(field, coverage), reference_cut(field, k))


def test_image_cut_and_ends():
    field = np.random.default_rng(0).random((9, 7), dtype=np.float32)
    assert calibrate.cut(field, 0.0).sum() == 0
    assert calibrate.cut(field, 1.0).all()
    assert calibrate.cut(field, 0.5).sum() == 32  # floor(31.5 + 0.5)


def test_target_count_rounds_half_up():
    assert [calibrate.target_count(c, 10) for c in (0.0, 0.04, 0.05, 0.15, 0.999, 1.0)] == [
        0,
        0,
        1,
        2,
        10,
        10,
    ]


def test_expected_cut_uses_the_quantile_curve():
    rng = np.random.default_rng(1)
    curve = calibrate.quantile_curve(rng.random(200_000))
    field = rng.random((50, 32, 32), dtype=np.float32)
    for coverage in (0.1, 0.5, 0.9):
        mask = calibrate.cut(field, coverage, match="expected", reference=curve)
        assert mask.mean() == pytest.approx(coverage, abs=0.01)
        np.testing.assert_array_equal(mask, field < calibrate.expected_threshold(curve, coverage))
    assert not calibrate.cut(field, 0.0, match="expected", reference=curve).any()
    assert calibrate.cut(field, 1.0, match="expected", reference=curve).all()


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"field": np.zeros((4, 4))}, TypeError, "field"),
        ({"field": np.zeros((4,), np.float32)}, ValueError, "field"),
        ({"field": np.full((2, 2), np.nan, np.float32)}, ValueError, "NaN"),
        ({"field": np.full((2, 2), -np.inf, np.float32)}, ValueError, "inf"),
        ({"coverage": 1.5}, ValueError, "coverage"),
        ({"coverage": float("nan")}, ValueError, "coverage"),
        ({"match": "pixel"}, ValueError, "match"),
        ({"match": "expected"}, ValueError, "reference"),
        ({"match": "expected", "reference": np.array([0.5, 0.2, 0.9])}, ValueError, "non-decreasing"),
        ({"match": "expected", "reference": np.array([0.0, np.nan])}, ValueError, "reference"),
        ({"match": "expected", "reference": np.zeros((3, 3))}, ValueError, "1-D"),
    ],
)
def test_cut_rejects_bad_input(kwargs, error, words):
    args = {"field": np.zeros((3, 3), np.float32), "coverage": 0.5, **kwargs}
    field, coverage = args.pop("field"), args.pop("coverage")
    with pytest.raises(error, match=words):
        calibrate.cut(field, coverage, **args)


def test_expected_threshold_reads_the_curve_and_checks_its_arguments():
    curve = calibrate.quantile_curve(np.linspace(0.0, 2.0, 2001))
    assert calibrate.expected_threshold(curve, 0.5) == pytest.approx(1.0)
    assert calibrate.expected_threshold(curve, 0.0) == -np.inf
    assert calibrate.expected_threshold(curve, 1.0) == np.inf
    for bad in ([1.0], [2.0, 1.0], [[0.0, 1.0]], [0.0, np.nan]):
        with pytest.raises(ValueError, match="curve must be a quantile curve"):
            calibrate.expected_threshold(np.asarray(bad), 0.5)
    with pytest.raises(TypeError, match="curve must be an array of numbers"):
        calibrate.expected_threshold(["a", "b"], 0.5)
    with pytest.raises(ValueError, match="coverage"):
        calibrate.expected_threshold(curve, 1.5)
