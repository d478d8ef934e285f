"""The numpy adapter: layouts, fills, output arrays and dtypes."""

import numpy as np
import pytest

import occmask as om

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
    assert out.dtype == x.dtype and out is not x


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
    assert result.dtype == x.dtype and (out is None or result is out)


def test_array_fill_along_an_axis_as_long_as_the_channels():
    """A fill varying along W is not a per-channel fill, even when W equals C."""
    x = RNG.random((2, 3, 4, 3)).astype(np.float32)
    mask = RNG.random((2, 4, 3)) < 0.5
    fill = np.array([1.0, 2.0, 3.0], np.float32).reshape(1, 1, 1, 3)
    np.testing.assert_array_equal(
        om.occlude(x, mask, fill=fill, layout="TCHW"), np.where(mask[:, None], fill, x)
    )
