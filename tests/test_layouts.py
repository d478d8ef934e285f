"""Channels-last data, (..., H, W, C) arrays and channels_last tensors, against slow references; the
fills' rules on complex data, overlapping ``out`` tensors and the fill's error messages."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import occmask as om
from occmask._fill import mean_values

DTYPES = [np.uint8, np.int16, np.float32, np.float64, np.bool_]


def reference(x, mask, fill, channel_last=True):
    """The obvious result: every channel of a hidden pixel set to the fill, one pixel at a time."""
    out = x.copy()
    frames = x.reshape(-1, *x.shape[-3:]) if channel_last else None
    hidden = np.broadcast_to(mask, (frames.shape[0] if frames is not None else 1, *mask.shape[-2:]))
    result = out.reshape(-1, *x.shape[-3:])
    values = np.broadcast_to(np.asarray(fill, x.dtype), (x.shape[-1],))
    for f in range(result.shape[0]):
        for i, j in zip(*np.nonzero(hidden[f % hidden.shape[0]]), strict=True):
            result[f, i, j, :] = values
    return out


@settings(max_examples=40, deadline=None)
@given(
    lead=st.lists(st.integers(1, 3), max_size=2),
    size=st.tuples(st.integers(1, 9), st.integers(1, 9)),
    channels=st.integers(1, 5),
    dtype=st.sampled_from(DTYPES),
    per_channel=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_channels_last_kernel_equals_a_loop(lead, size, channels, dtype, per_channel, seed):
    rng = np.random.default_rng(seed)
    shape = (*lead, *size, channels)
    x = (rng.random(shape) * 100).astype(dtype)
    mask_shape = (*lead, *size) if lead and rng.random() < 0.5 else size  # per frame, or one for all
    if rng.random() < 0.2:
        mask_shape = (*mask_shape[:-2], 1, mask_shape[-1])  # one row for every row
    mask = rng.random(mask_shape) < 0.4
    fill = [1, 0, 1, 0, 1][:channels] if per_channel and channels > 1 else 1
    layout = "BTHWC"[-len(shape) :] if len(shape) > 3 else "HWC"
    got = om.occlude(x, mask, fill, layout=layout)
    want = reference(x, np.broadcast_to(mask, (*lead, *size)).reshape(-1, *size), fill)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", [*DTYPES, np.uint16, np.float16])
@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("aligned", [True, False])
def test_eight_pixels_at_a_time_equals_a_loop(dtype, channels, aligned):
    """Rows of a multiple of 8 pixels (RGB uint8 ones take the 8-pixel kernel), in memory aligned to
    8 bytes or not: the obvious result."""
    rng = np.random.default_rng(channels)
    shape = (3, 8, 6, channels)  # (T, H, W, C): 48 pixels per frame
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    memory = np.zeros(size + 1, np.uint8)[0 if aligned else 1 :][:size]
    x = memory.view(dtype).reshape(shape)
    x[...] = (rng.random(shape) * 100).astype(dtype)
    for mask in (rng.random(shape[:-1]) < 0.5, rng.random(shape[1:-1]) < 0.5):
        for fill in (1, [1, 0, 1, 0][:channels]):
            got = om.occlude(x, mask, fill, layout="THWC")
            want = reference(x, np.broadcast_to(mask, shape[:-1]), fill)
            np.testing.assert_array_equal(got, want)


KERNEL_CASES = [np.uint8, np.int8, np.bool_, np.uint16, np.int16, np.float32, np.int32, np.float64, np.int64]


@pytest.mark.parametrize("dtype", KERNEL_CASES)
@pytest.mark.parametrize("channels", [1, 2, 3, 4, 6])
@settings(max_examples=20, deadline=None)
@given(
    lead=st.lists(st.integers(1, 3), max_size=2),
    size=st.tuples(st.integers(1, 6), st.sampled_from([1, 3, 8, 16])),
    order=st.sampled_from(["last", "last", "first", "none"]),
    fill_kind=st.sampled_from(["one", "per channel", "per sample", "whole", "whole, channels first"]),
    memory=st.sampled_from(["new", "out", "in place", "read-only", "strided", "big-endian"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_every_kernel_equals_np_where(lead, size, channels, dtype, order, fill_kind, memory, seed):
    """Each fill kernel (channels first; channels last as one word, 8 RGB bytes at a time or several
    words per pixel, a fill of the data's shape) and the numpy fallback against ``np.where`` on the
    broadcast mask: any layout, a fill of one value, one per channel, one per channel and leading
    index (a "mean" fill of a batch) or one per element (noise, in any memory order), masks whose
    bytes are any non-zero value or that repeat a row, and every kind of memory."""
    rng = np.random.default_rng(seed)
    channels = 1 if order == "none" else channels
    letters = {"last": "HWC", "first": "CHW", "none": "HW"}[order]
    sizes = dict(zip("HWC", (*size, channels), strict=True))
    shape = (*lead, *(sizes[letter] for letter in letters))
    x = (rng.random(shape) * 200 - (0 if np.dtype(dtype).kind in "ub" else 100)).astype(dtype)
    mask_shape = (*lead, *size) if lead and rng.random() < 0.5 else size  # per frame, or one for all
    if rng.random() < 0.2:
        mask_shape = (*mask_shape[:-2], 1, mask_shape[-1])  # one row for every row
    mask = rng.integers(0, 4, mask_shape).astype(np.uint8).view(bool)  # bytes 2 and 3 are True too
    c_axis = len(lead) + letters.index("C") if "C" in letters else None
    fill_shape = [1] * len(shape)
    if fill_kind != "one" and c_axis is not None:
        fill_shape[c_axis] = channels
    if fill_kind == "per sample":
        fill_shape[: len(lead)] = lead
    if fill_kind.startswith("whole"):  # (noise, an image)
        fill_shape = list(shape)
    fill = (rng.random(fill_shape) * 100 - (0 if np.dtype(dtype).kind in "ub" else 50)).astype(dtype)
    if fill_kind == "whole, channels first" and c_axis is not None:  # seen in another memory order
        fill = np.moveaxis(np.ascontiguousarray(np.moveaxis(fill, c_axis, 0)), 0, c_axis)
    view = [1] * len(shape)
    spatial = [a for a in range(len(shape)) if a != c_axis][-len(mask_shape) :]
    for axis, length in zip(spatial, mask_shape, strict=True):
        view[axis] = length
    want = np.where(mask.reshape(view), fill, x)
    out = None
    if memory == "out":
        out = np.empty_like(x)
    elif memory == "in place":
        out = x = x.copy()
    elif memory == "read-only":
        x.flags.writeable = False
    elif memory == "strided":
        x = np.repeat(x, 2, axis=-1)[..., ::2]
    elif memory == "big-endian":
        x = x.astype(x.dtype.newbyteorder())
    layout = "BT"[2 - len(lead) :] + letters
    got = om.occlude(x, mask, fill if fill.size > 1 else fill.item(), layout=layout, out=out)
    np.testing.assert_array_equal(got, want)
    assert got.dtype == x.dtype
    assert out is None or got is out


@settings(max_examples=30, deadline=None)
@given(
    lead=st.lists(st.integers(1, 3), max_size=2),
    size=st.tuples(st.integers(1, 9), st.integers(1, 9)),
    channels=st.integers(1, 4),
    dtype=st.sampled_from([np.uint8, np.int32, np.float32, np.float64]),
    seed=st.integers(0, 2**32 - 1),
)
def test_channel_sums_equal_numpy_mean(lead, size, channels, dtype, seed):
    x = (np.random.default_rng(seed).random((*lead, *size, channels)) * 200).astype(dtype)
    axes = tuple(range(len(lead), len(lead) + 2))
    want = x.astype(np.float64).mean(axis=axes, keepdims=True)
    np.testing.assert_allclose(mean_values(x, axes), want, rtol=1e-12)


@pytest.mark.parametrize("fill", [0, [10, 20, 30], "mean", om.Noise(0, 9)])
@pytest.mark.parametrize("shape", [(8, 6, 3), (4, 8, 6, 3)])
def test_hwc_equals_chw_for_every_fill(fill, shape):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 200, shape, dtype=np.uint8)
    mask = om.perlin(shape[-3:-1], 0.4, scale=3.0, rng=0)
    chw = np.moveaxis(x, -1, -3)
    for feather in (0.0, 2.0):
        hwc_result = om.occlude(x, mask, fill, rng=5, feather=feather)
        chw_result = om.occlude(np.ascontiguousarray(chw), mask, fill, rng=5, feather=feather)
        if isinstance(fill, om.Noise):  # noise is drawn in the data's own layout: visible pixels kept
            np.testing.assert_array_equal(hwc_result[..., ~mask, :], x[..., ~mask, :])
        else:
            np.testing.assert_array_equal(hwc_result, np.moveaxis(chw_result, -3, -1))


def test_mean_fill_keeps_the_imaginary_part_of_complex_data():
    x = np.full((2, 4, 4), 1 + 2j, dtype=np.complex128)  # (C, H, W)
    mask = np.zeros((4, 4), bool)
    mask[0, 0] = True
    assert om.occlude(x, mask, "mean")[0, 0, 0] == 1 + 2j


def test_fill_errors_name_the_argument_dtype_and_range_not_the_array():
    x = np.zeros((3, 32, 32), np.uint8)
    mask = np.zeros((32, 32), bool)
    with pytest.raises(ValueError, match="fill") as error:
        om.occlude(x, mask, np.full((3, 32, 32), 300.0))
    text = str(error.value)
    assert "fill (an array of shape (3, 32, 32) and dtype float64, values in [300, 300])" in text
    assert "uint8, which holds integers in [0, 255]" in text
    assert "300., 300." not in text
    with pytest.raises(ValueError, match=r"fill \(256\) cannot .* uint8, which holds integers in \[0, 255\]"):
        om.occlude(x, mask, 256)


torch = pytest.importorskip("torch")
from occmask.torch import Occlude, occlude  # noqa: E402


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("fill", [0, [1, 2, 3], "mean"])
def test_channels_last_tensors_take_the_kernel_and_keep_their_memory_format(dtype, fill):
    x = (torch.rand(4, 3, 16, 12) * 100).to(dtype)
    last = x.contiguous(memory_format=torch.channels_last)
    mask = torch.from_numpy(om.perlin((4, 16, 12), 0.4, scale=4.0, rng=0))
    want = occlude(x, mask, fill, layout="BCHW")
    got = occlude(last, mask, fill, layout="BCHW")
    assert torch.equal(got, want)
    assert got.is_contiguous(memory_format=torch.channels_last)
    hwc = x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)  # (B, H, W, C) memory seen as BCHW
    assert torch.equal(occlude(hwc, mask, fill, layout="BCHW"), want)


def test_occlude_transform_on_hwc_and_channels_last_batches_gives_the_bchw_result():
    x = torch.rand(5, 3, 16, 16)
    results = []
    for data, layout in (
        (x, "BCHW"),
        (x.permute(0, 2, 3, 1).contiguous(), "BHWC"),
        (x.contiguous(memory_format=torch.channels_last), "BCHW"),
    ):
        torch.manual_seed(2)
        hidden, mask = Occlude("perlin", 0.5, fill=[0.1, 0.2, 0.3], layout=layout, return_mask=True)(data)
        results.append((hidden if layout == "BCHW" else hidden.permute(0, 3, 1, 2), mask))
    for hidden, mask in results[1:]:
        assert torch.equal(mask, results[0][1])
        assert torch.equal(hidden, results[0][0])


def test_out_refuses_a_tensor_whose_frames_share_memory():
    frame = torch.ones(1, 8, 8)
    expanded = frame.expand(4, 8, 8)  # four frames that are one in memory
    mask = torch.from_numpy(om.bernoulli((4, 8, 8), 0.5, rng=0))
    with pytest.raises(ValueError, match="out must not have elements that share memory"):
        occlude(expanded, mask, out=expanded)
    assert (frame == 1).all()  # nothing written
    y = occlude(expanded, mask)  # out of place it is fine
    assert torch.equal(y == 0, mask)


def test_mean_fill_keeps_the_imaginary_part_of_complex_tensors():
    x = torch.full((2, 4, 4), 1 + 2j, dtype=torch.complex128)
    mask = torch.zeros(4, 4, dtype=torch.bool)
    mask[0, 0] = True
    assert occlude(x, mask, "mean")[0, 0, 0] == 1 + 2j
