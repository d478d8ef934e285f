"""The numpy adapter: layouts, fills, output arrays and dtypes."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import occmask as om
from occmask._occlude import feather_weights

RNG = np.random.default_rng(0)
MASK = RNG.random((4, 6, 5)) < 0.4  # (T, H, W)


def reference(x, mask_view, fill):
    """np.where on an explicitly broadcast mask."""
    return np.where(mask_view, fill, x).astype(x.dtype)


@pytest.mark.parametrize(
    ("layout", "shape", "mask", "view"),
    [
        ("HW", (6, 5), MASK[0], MASK[0]),
        ("CHW", (3, 6, 5), MASK[0], MASK[0][None]),
        ("HWC", (6, 5, 3), MASK[0], MASK[0][..., None]),
        ("THW", (4, 6, 5), MASK, MASK),
        ("TCHW", (4, 3, 6, 5), MASK, MASK[:, None]),
        ("THWC", (4, 6, 5, 3), MASK, MASK[..., None]),
        ("BTCHW", (2, 4, 3, 6, 5), MASK, MASK[None, :, None]),
        ("BTCHW", (2, 4, 3, 6, 5), np.stack([MASK, ~MASK]), np.stack([MASK, ~MASK])[:, :, None]),
    ],
)
@pytest.mark.parametrize("explicit", [False, True])
def test_layouts(layout, shape, mask, view, explicit):
    x = RNG.random(shape).astype(np.float32)
    out = om.occlude(x, mask, fill=-1.0, layout=layout if explicit else None)
    np.testing.assert_array_equal(out, reference(x, view, -1.0))
    assert out.dtype == x.dtype
    assert out is not x


def test_per_channel_and_array_fill():
    x = RNG.integers(0, 255, (4, 6, 5, 3), dtype=np.uint8)
    out = om.occlude(x, MASK, fill=[10, 20, 30])
    np.testing.assert_array_equal(out, np.where(MASK[..., None], np.array([10, 20, 30], np.uint8), x))
    background = RNG.integers(0, 255, (6, 5, 3), dtype=np.uint8)
    np.testing.assert_array_equal(
        om.occlude(x, MASK, fill=background), np.where(MASK[..., None], background, x)
    )
    chw = RNG.random((3, 6, 5))
    np.testing.assert_array_equal(
        om.occlude(chw, MASK[0], fill=np.array([1.0, 2.0, 3.0])),
        np.where(MASK[0], np.array([1.0, 2.0, 3.0])[:, None, None], chw),
    )


def test_out_and_in_place():
    x = RNG.random((4, 6, 5))
    original = x.copy()
    out = np.empty_like(x)
    assert om.occlude(x, MASK, 7.0, out=out) is out
    np.testing.assert_array_equal(x, original)
    assert om.occlude(x, MASK, 7.0, out=x) is x
    np.testing.assert_array_equal(x, out)
    with pytest.raises(ValueError, match="out"):
        om.occlude(x, MASK, out=np.empty((4, 6, 5), np.float32))


def test_nan_fill_for_floats_and_exact_integers():
    x = RNG.random((6, 5)).astype(np.float16)
    assert np.isnan(om.occlude(x, MASK[0], np.nan)[MASK[0]]).all()
    with pytest.raises(ValueError, match="fill"):
        om.occlude(np.zeros((6, 5), np.uint8), MASK[0], fill=0.5)
    with pytest.raises(ValueError, match="fill"):
        om.occlude(np.zeros((6, 5), np.uint8), MASK[0], fill=256)
    with pytest.raises(ValueError, match="fill"):
        om.occlude(np.zeros((6, 5), np.float32), MASK[0], fill=1e40)
    with pytest.raises(ValueError, match="fill"):
        om.occlude(np.zeros((6, 5), bool), MASK[0], fill=2)
    assert om.occlude(np.zeros((6, 5), np.float32), MASK[0], fill=0.1)[MASK[0]][0] == np.float32(0.1)


@pytest.mark.parametrize(
    ("x", "mask", "kwargs", "error", "words"),
    [
        (np.zeros((4, 3, 6, 5)), MASK[:, :5], {}, ValueError, "broadcast"),
        (np.zeros((4, 4, 6, 5)), MASK, {}, ValueError, "ambiguous"),
        (np.zeros((4, 6, 5, 3)), MASK, {"layout": "TCHW"}, ValueError, "layout"),
        (np.zeros((4, 6, 5)), MASK, {"layout": "TXW"}, ValueError, "layout"),
        (np.zeros((4, 6, 5)), MASK, {"layout": 3}, TypeError, "layout"),
        (np.zeros((4, 6, 5)), MASK.astype(np.uint8), {}, TypeError, "mask"),
        (np.zeros((4, 6, 5)), MASK[0, 0], {}, ValueError, "mask"),
        ([[0.0]], MASK[0], {}, TypeError, "x"),
        (np.zeros((4, 6, 5)), MASK, {"fill": [1, 2]}, ValueError, "fill"),
        (np.zeros((4, 6, 5)), MASK, {"fill": "red"}, TypeError, "fill"),
    ],
)
def test_bad_input(x, mask, kwargs, error, words):
    with pytest.raises(error, match=words):
        om.occlude(x, mask, **kwargs)


def test_ambiguity_resolved_by_layout():
    x = RNG.random((4, 4, 6, 5))
    np.testing.assert_array_equal(om.occlude(x, MASK, layout="TCHW"), reference(x, MASK[:, None], 0.0))
    np.testing.assert_array_equal(om.occlude(x, MASK, layout="CTHW"), reference(x, MASK[None], 0.0))


@pytest.mark.parametrize(
    "dtype", [np.float32, np.float64, np.float16, np.uint8, np.int16, np.int64, np.bool_]
)
@pytest.mark.parametrize(
    ("layout", "shape", "view"),
    [
        ("TCHW", (4, 3, 6, 5), MASK[:, None]),
        ("CTHW", (3, 4, 6, 5), MASK[None]),
        ("BTCHW", (2, 4, 3, 6, 5), MASK[None, :, None]),
        ("BCTHW", (2, 3, 4, 6, 5), MASK[None, None]),
        ("CBTHW", (3, 2, 4, 6, 5), MASK[None, None]),
        ("THWC", (4, 6, 5, 3), MASK[..., None]),
        ("BTHW", (2, 4, 6, 5), MASK[None]),
    ],
)
@pytest.mark.parametrize("fill", ["scalar", "channels"])
@pytest.mark.parametrize("where", ["new", "out", "in_place", "strided"])
def test_every_path_equals_np_where(dtype, layout, shape, view, fill, where):
    """The one-pass kernel and the numpy fallback agree with np.where.

    The kernel takes contiguous data with a scalar or per-channel fill."""
    x = (RNG.random(shape) * 100).astype(dtype)
    if where == "strided":
        x = np.repeat(x, 2, axis=-1)[..., ::2]
    n_c = shape[layout.index("C")] if "C" in layout else 1
    values = (
        np.arange(1, n_c + 1).astype(dtype) if fill == "channels" and "C" in layout else np.array(1, dtype)
    )
    shaped = values.reshape([n_c if letter == "C" else 1 for letter in layout]) if values.ndim else values
    expected = np.where(view, shaped, x)
    out = {"new": None, "out": np.empty_like(x), "in_place": x, "strided": None}[where]
    result = om.occlude(x, MASK, fill=values, layout=layout, out=out)
    np.testing.assert_array_equal(result, expected)
    assert result.dtype == x.dtype
    assert out is None or result is out


def test_array_fill_along_an_axis_as_long_as_the_channels():
    """A fill varying along W is not a per-channel fill, even when W equals C."""
    x = RNG.random((2, 3, 4, 3)).astype(np.float32)
    mask = RNG.random((2, 4, 3)) < 0.5
    fill = np.array([1.0, 2.0, 3.0], np.float32).reshape(1, 1, 1, 3)
    np.testing.assert_array_equal(
        om.occlude(x, mask, fill=fill, layout="TCHW"), np.where(mask[:, None], fill, x)
    )


# ----------------------------------------------------------------------------- fills made per call

LAYOUTS = [
    ((6, 3, 8, 10), "TCHW", (6, 8, 10)),
    ((6, 8, 10, 3), "THWC", (6, 8, 10)),
    ((2, 6, 3, 8, 10), None, (2, 6, 8, 10)),
]


@pytest.mark.parametrize(("shape", "layout", "mask_shape"), LAYOUTS)
def test_mean_fill_is_each_samples_mean_per_channel(shape, layout, mask_shape):
    """Against a loop over samples and channels (normalised data: negative values too)."""
    rng = np.random.default_rng(0)
    x = rng.normal(0.0, 1.0, shape).astype(np.float32)
    mask = rng.random(mask_shape) < 0.4
    y = om.occlude(x, mask, fill="mean", layout=layout)
    letters = layout or "BTCHW"
    channel = letters.index("C")
    expected = x.copy()
    for b in range(shape[0] if letters[0] == "B" else 1):
        for c in range(shape[channel]):
            index = [slice(None)] * x.ndim
            index[channel] = c
            if letters[0] == "B":
                index[0] = b
            sample = x[tuple(index)]
            hidden = mask[b] if letters[0] == "B" else mask
            expected[tuple(index)] = np.where(hidden, np.float32(sample.astype(np.float64).mean()), sample)
    np.testing.assert_allclose(y, expected, rtol=1e-6)
    integer = om.occlude(np.arange(12, dtype=np.uint8).reshape(1, 3, 4), np.ones((3, 4), bool), fill="mean")
    assert (integer == 6).all()  # mean 5.5, rounded to even


def test_noise_fill_is_reproducible_and_in_range():
    x = np.full((4, 2, 16, 16), 5.0, dtype=np.float32)
    mask = om.perlin((4, 16, 16), 0.5, rng=1)
    hidden = np.broadcast_to(mask[:, None], x.shape)
    uniform = om.occlude(x, mask, fill=om.Noise(-2.0, -1.0), rng=3)
    assert ((uniform[hidden] >= -2.0) & (uniform[hidden] < -1.0)).all()
    assert (uniform[~hidden] == 5).all()
    assert len(np.unique(uniform[hidden])) > 0.9 * hidden.sum()  # one value per element
    np.testing.assert_array_equal(uniform, om.occlude(x, mask, fill=om.Noise(-2.0, -1.0), rng=3))
    assert not np.array_equal(uniform, om.occlude(x, mask, fill=om.Noise(-2.0, -1.0), rng=4))
    normal = om.occlude(
        np.zeros((64, 64, 3), np.float32), np.ones((64, 64), bool), fill=om.Noise(mean=-3.0, std=0.5), rng=0
    )
    assert abs(normal.mean() + 3.0) < 0.02
    assert abs(normal.std() - 0.5) < 0.02
    default = om.occlude(np.zeros((32, 32)), np.ones((32, 32), bool), fill="noise", rng=0)
    assert default.min() >= 0.0
    assert default.max() < 1.0
    assert default.dtype == np.float64
    pixels = om.occlude(np.zeros((32, 32), np.uint8), np.ones((32, 32), bool), fill=om.Noise(0, 256), rng=0)
    assert pixels.min() == 0
    assert pixels.max() == 255
    assert len(np.unique(pixels)) > 200


def test_image_fill_pastes_another_sample():
    x, texture = np.zeros((3, 8, 8), np.float32), np.arange(3 * 64, dtype=np.float32).reshape(3, 8, 8)
    mask = om.bernoulli((8, 8), 0.5, rng=0)
    np.testing.assert_array_equal(om.occlude(x, mask, fill=texture), np.where(mask, texture, x))


@pytest.mark.parametrize(
    ("fill", "kwargs", "error", "words"),
    [
        ("red", {}, TypeError, "'noise', 'mean'"),
        (om.Noise(-1.0, 1.0), {"rng": "seed"}, TypeError, "rng"),
        (0.0, {"rng": -1}, ValueError, "rng"),
        (om.Noise(0, 300), {"rng": 0}, ValueError, "cannot be represented"),  # a seed that draws >= 256
    ],
)
def test_special_fills_reject_bad_input(fill, kwargs, error, words):
    with pytest.raises(error, match=words):
        om.occlude(np.zeros((4, 4), np.uint8), np.ones((4, 4), bool), fill=fill, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"low": 1.0, "high": 1.0}, ValueError, "low < high"),
        ({"low": 0.0, "mean": 1.0}, ValueError, "not both"),
        ({"mean": 0.0, "std": -1.0}, ValueError, "std"),
        ({"low": float("nan")}, ValueError, "low"),
        ({"high": "1"}, TypeError, "high"),
    ],
)
def test_noise_rejects_bad_parameters(kwargs, error, words):
    with pytest.raises(error, match=words):
        om.Noise(**kwargs)


# --------------------------------------------------------------------------- soft edges


def feather_reference(mask, feather):
    """Weights by brute force: per hidden pixel, the distance to every visible pixel of its frame."""
    weights = np.zeros(mask.shape)
    frames = mask.reshape(-1, *mask.shape[-2:])
    for frame, out in zip(frames, weights.reshape(frames.shape), strict=True):
        visible = np.argwhere(~frame)
        for y, x in np.argwhere(frame):
            d = np.hypot(*(visible - (y, x)).T).min() if len(visible) else np.inf
            out[y, x] = min(1.0, d / feather)
    return weights


@settings(max_examples=40, deadline=None)
@given(
    hnp.arrays(bool, hnp.array_shapes(min_dims=2, max_dims=4, min_side=1, max_side=7)),
    st.floats(0.1, 6.0),
)
def test_feather_weights_equal_brute_force_distances(mask, feather):
    got = feather_weights(mask, feather)
    assert got.shape == mask.shape
    np.testing.assert_allclose(got, feather_reference(mask, feather), rtol=1e-12, atol=0)


@pytest.mark.parametrize(
    ("layout", "shape"), [("HW", (6, 5)), ("TCHW", (4, 3, 6, 5)), ("THWC", (4, 6, 5, 3))]
)
@pytest.mark.parametrize("fill", [0.25, "noise"])
def test_feather_blends_the_fill_by_distance(layout, shape, fill):
    mask = MASK[0] if layout == "HW" else MASK
    x = RNG.normal(size=shape)
    got = om.occlude(x, mask, fill, layout=layout, feather=2.5, rng=1)
    values = om.occlude(np.zeros(shape), np.ones(mask.shape, bool), fill, layout=layout, rng=1)
    w = feather_reference(mask, 2.5)
    w = w[:, None] if layout == "TCHW" else w[..., None] if layout == "THWC" else w
    np.testing.assert_allclose(got, (1 - w) * x + w * values, rtol=1e-12, atol=1e-15)
    assert np.array_equal(got[(w == 0) & np.ones(shape, bool)], x[(w == 0) & np.ones(shape, bool)])
    assert np.array_equal(
        om.occlude(x, mask, fill, layout=layout, feather=0, rng=1),
        om.occlude(x, mask, fill, layout=layout, rng=1),
    )


def test_feather_rounds_on_integer_data_and_keeps_the_ends():
    mask = np.zeros((9, 9), bool)
    mask[2:7, 2:7] = True  # a 5x5 square: weights 1/3, 2/3, 1 from its edge inwards with feather 3
    x = np.full((9, 9), 200, np.uint8)
    got = om.occlude(x, mask, fill=0, feather=3.0)
    assert got.dtype == np.uint8
    assert (got[~mask] == 200).all()
    assert got[4, 2:7].tolist() == [133, 67, 0, 67, 133]  # round(200 * (1 - w))
    out = np.empty_like(x)
    assert om.occlude(x, mask, fill=0, feather=3.0, out=out) is out
    assert np.array_equal(out, got)
    edge = om.occlude(np.full((9, 9), 1e300), mask, fill=np.inf, feather=3.0)  # 0 * inf is NaN
    assert not np.isnan(edge).any()
    assert (edge[~mask] == 1e300).all()
    assert edge[4, 4] == np.inf


@pytest.mark.parametrize(
    ("feather", "x", "error", "words"),
    [
        (-1.0, np.zeros((6, 5)), ValueError, "feather must be a finite number in [0, inf]"),
        (float("nan"), np.zeros((6, 5)), ValueError, "feather must be a finite number"),
        ("2", np.zeros((6, 5)), TypeError, "feather must be a real number"),
        (2.0, np.zeros((6, 5), bool), TypeError, "boolean data cannot hold"),
    ],
)
def test_feather_rejects_bad_input(feather, x, error, words):
    with pytest.raises(error, match=re.escape(words)):
        om.occlude(x, MASK[0], 1.0, feather=feather)
