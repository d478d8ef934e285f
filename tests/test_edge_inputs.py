"""Inputs a user can build that are valid but unusual: every entry point gives the answer of the
plain equivalent input, never a crash or a silently different result."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import occmask as om


def assert_same(actual, expected):
    """Equal results, whatever their kind: arrays (same dtype), tuples, numbers, Descriptors."""
    if isinstance(expected, tuple):
        assert isinstance(actual, tuple) and len(actual) == len(expected)
        for a, e in zip(actual, expected, strict=True):
            assert_same(a, e)
    elif isinstance(expected, np.ndarray):
        assert isinstance(actual, np.ndarray) and actual.dtype == expected.dtype
        np.testing.assert_array_equal(actual, expected)
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
