"""Inputs a user can build that are valid but unusual: every entry point gives the answer of the
plain equivalent input, never a crash or a silently different result."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import occmask as om
import occmask.torch as omt


def assert_same(actual, expected):
    """Equal results, whatever their kind: arrays (same dtype), tuples, numbers, Descriptors."""
    if isinstance(expected, tuple):
        assert isinstance(actual, tuple)
        assert len(actual) == len(expected)
        for a, e in zip(actual, expected, strict=True):
            assert_same(a, e)
    elif isinstance(expected, np.ndarray):
        assert isinstance(actual, np.ndarray)
        assert actual.dtype == expected.dtype
        np.testing.assert_array_equal(actual, expected)
    elif isinstance(expected, torch.Tensor):
        assert type(actual) is type(expected)
        assert actual.dtype == expected.dtype
        torch.testing.assert_close(actual, expected, rtol=0, atol=0)
    else:
        assert actual == expected


# --- bool arrays whose bytes are not 0/1 ------------------------------------------------------
# numpy reads any non-zero byte of a bool array as True; such arrays come from views of other
# bytes (e.g. ``uint8_array.view(bool)``, a torch uint8 tensor viewed as bool).

#: Entry points that take a bool mask: (name, call on a (T, H, W) mask).
BOOL_ENTRY_POINTS = [
    ("describe", lambda m: om.describe(m)),
    ("describe 8 spatiotemporal", lambda m: om.describe(m, 8, spatiotemporal=True)),
    ("describe image", lambda m: om.describe(m[0])),
    ("label", lambda m: om.label(m)),
    ("label 8", lambda m: om.label(m, 8)),
    ("label spatiotemporal", lambda m: om.label(m, spatiotemporal=True)),
    ("label image", lambda m: om.label(m[0])),
    # occlude: the one-pass kernel, np.where (a fill array), in place (np.copyto), the torch paths
    (
        "occlude",
        lambda m: om.occlude(np.arange(m.size * 2.0).reshape(m.shape[0], 2, *m.shape[1:]), m, layout="TCHW"),
    ),
    *(
        (
            f"occlude channels last {dtype.__name__}",
            lambda m, dtype=dtype: om.occlude(
                (np.arange(m.size * 3) % 100).astype(dtype).reshape(*m.shape, 3), m, [7, 8, 9], layout="THWC"
            ),
        )
        for dtype in (np.uint8, np.float32)  # 8 pixels at a time (when W is a multiple of 8), or one
    ),
    ("occlude fill array", lambda m: om.occlude(np.ones(m.shape), m, fill=np.full(m.shape, -1.0))),
    (
        "occlude out",
        lambda m: om.occlude(np.ones(m.shape, np.uint8), m, fill=7, out=np.empty(m.shape, np.uint8)),
    ),
    ("torch occlude", lambda m: omt.occlude(torch.ones(m.shape), m, fill=-1.0)),
    ("torch occlude mask tensor", lambda m: omt.occlude(torch.ones(m.shape), torch.from_numpy(m), fill=2)),
    (
        "torch occlude with gradients",
        lambda m: omt.occlude(torch.ones(m.shape, requires_grad=True), torch.from_numpy(m), -1.0).detach(),
    ),
    ("torch occlude fill tensor", lambda m: omt.occlude(torch.ones(m.shape), m, fill=torch.tensor(3.0))),
]

byte_masks = hnp.arrays(
    np.uint8,
    hnp.array_shapes(min_dims=3, max_dims=3, min_side=1, max_side=12),
    elements=st.one_of(st.just(0), st.integers(0, 255)),
)


@pytest.mark.parametrize(("name", "call"), BOOL_ENTRY_POINTS, ids=[n for n, _ in BOOL_ENTRY_POINTS])
@settings(max_examples=60, deadline=None)
@given(data=byte_masks)
def test_any_nonzero_byte_of_a_bool_mask_is_true(name, call, data):
    assert_same(call(data.view(bool)), call(data != 0))


@pytest.mark.parametrize(("name", "call"), BOOL_ENTRY_POINTS, ids=[n for n, _ in BOOL_ENTRY_POINTS])
def test_bool_mask_of_alternating_bytes(name, call):
    """Bytes 1 and 2 side by side: every pixel is hidden (this used to write past the run buffers)."""
    data = np.tile(np.array([1, 2], np.uint8), (3, 256, 64))
    assert_same(call(data.view(bool)), call(np.ones(data.shape, bool)))


# --- values that are numbers in another wrapper ------------------------------------------------

#: (name, call with unusual but valid arguments, call with the plain equivalent)
SAME_AS_PLAIN = [
    (
        "0-d arrays as numbers",
        lambda: om.triangles((12, 12), np.array(0.3), size=np.array(4.0), aspect=np.float32(2), rng=1),
        lambda: om.triangles((12, 12), 0.3, size=4.0, aspect=2.0, rng=1),
    ),
    (
        "0-d tensors as numbers",
        lambda: om.perlin(
            (12, 12), torch.tensor(0.3), scale=torch.tensor(4.0), octaves=torch.tensor(2), rng=1
        ),
        lambda: om.perlin((12, 12), 0.3, scale=4.0, octaves=2, rng=1),
    ),
    (
        "a 0-d coverage range for the transform",
        lambda: omt.Occlude("bernoulli", coverage=np.array(0.25)).coverage,
        lambda: omt.Occlude("bernoulli", coverage=0.25).coverage,
    ),
    (
        "an integer fill beyond 64 bits on float data",
        lambda: om.occlude(np.ones((2, 3, 3), np.float32), np.eye(3, dtype=bool), fill=10**30),
        lambda: om.occlude(np.ones((2, 3, 3), np.float32), np.eye(3, dtype=bool), fill=1e30),
    ),
    (
        "big-endian data keeps its byte order (np.where path)",
        lambda: om.occlude(np.arange(18.0, dtype=">f4").reshape(2, 3, 3), np.eye(3, dtype=bool), fill=-1),
        lambda: np.where(np.eye(3, dtype=bool), -1, np.arange(18.0).reshape(2, 3, 3)).astype(">f4"),
    ),
    (
        "big-endian data keeps its byte order (in place)",
        lambda: om.occlude(
            np.arange(18, dtype=">i8").reshape(2, 3, 3),
            np.eye(3, dtype=bool),
            fill=-1,
            out=np.zeros((2, 3, 3), ">i8"),
        ),
        lambda: np.where(np.eye(3, dtype=bool), -1, np.arange(18).reshape(2, 3, 3)).astype(">i8"),
    ),
]


@pytest.mark.parametrize(("name", "call", "plain"), SAME_AS_PLAIN, ids=[n for n, *_ in SAME_AS_PLAIN])
def test_same_as_the_plain_input(name, call, plain):
    assert_same(call(), plain())


def test_descriptors_compare_equal():
    mask = om.perlin((3, 24, 24), 0.4, rng=0)
    d = om.describe(mask, spatiotemporal=True)
    assert d == om.describe(mask.copy(), spatiotemporal=True)
    assert d != om.describe(mask, 8, spatiotemporal=True)
    assert d != om.describe(mask)  # without the 3-D figures
    assert d != om.describe(~mask, spatiotemporal=True)
    assert d != d.summary()


# --- tensor subclasses -------------------------------------------------------------------------


class Frames(torch.Tensor):
    """A tensor subclass defined outside torch, as torchvision's ``tv_tensors.Image``."""


SUBCLASS_CALLS = [
    ("om.occlude", lambda x, m: om.occlude(x, m, fill=-1.0)),
    ("om.occlude, per-channel fill", lambda x, m: om.occlude(x, m, fill=[1.0, 2.0])),
    ("torch occlude", lambda x, m: omt.occlude(x, m, fill=-1.0)),
    ("torch occlude, gradients", lambda x, m: omt.occlude(x.requires_grad_(), m, fill=-1.0).detach()),
    ("torch occlude, fill tensor", lambda x, m: omt.occlude(x, torch.from_numpy(m), fill=torch.tensor(5.0))),
]


@pytest.mark.parametrize(("name", "call"), SUBCLASS_CALLS, ids=[n for n, _ in SUBCLASS_CALLS])
def test_tensor_subclasses_are_accepted_and_kept(name, call):
    mask = om.bernoulli((3, 5, 4), 0.4, rng=0)
    plain = torch.arange(120.0).reshape(3, 2, 5, 4)
    result = call(plain.clone().as_subclass(Frames), mask)
    assert type(result) is Frames
    torch.testing.assert_close(result.as_subclass(torch.Tensor), call(plain.clone(), mask), rtol=0, atol=0)


# --- torch-specific bad input ------------------------------------------------------------------

TORCH_BAD = [
    (
        lambda: omt.occlude(torch.ones(2, 4, 4), torch.zeros(2, 4, 4, dtype=torch.bool, device="meta")),
        ValueError,
        ["mask", "meta", "cpu"],
    ),
    (
        lambda: omt.occlude(
            torch.ones(2, 4, 4), np.zeros((2, 4, 4), bool), out=torch.ones(2, 4, 4, requires_grad=True)
        ),
        ValueError,
        ["out", "gradients", "without out"],
    ),
    (lambda: omt.Occlude("perlin", coverage=torch.tensor(1.5)), ValueError, ["coverage", "1.5"]),
]


@pytest.mark.parametrize(("call", "error", "words"), TORCH_BAD)
def test_bad_torch_input_is_named(call, error, words):
    with pytest.raises(error) as info:
        call()
    for word in words:
        assert word in str(info.value), f"{word!r} missing from the message: {info.value}"


def test_torch_adapter_without_torch_names_the_extra():
    code = "import sys; sys.modules['torch'] = None\nimport occmask as om\nimport occmask.torch"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "ModuleNotFoundError: occmask.torch needs PyTorch" in done.stderr, done.stderr[-2000:]
    assert "pip install 'occmask[torch]'" in done.stderr
