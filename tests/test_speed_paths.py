"""Fast paths against the general path they stand in for: the same mask from the same seed."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import occmask as om
from occmask.calibrate import target_count
from occmask.families import _engine, patches
from occmask.families._family import TEMPORAL

# --- patches: whole patches of an aligned grid, without the field ------------------------------


def whole_patch_cases():
    """Shapes, patch sizes and coverages of a whole number of patches on a grid that tiles the frame."""
    return st.tuples(
        st.integers(1, 4),  # frames
        st.integers(1, 6),  # rows of patches
        st.integers(1, 6),  # columns of patches
        st.integers(1, 9),  # patch height
        st.integers(1, 9),  # patch width
    ).flatmap(
        lambda c: st.tuples(
            st.just(c), st.integers(0, c[1] * c[2]), st.sampled_from(TEMPORAL), st.integers(0, 2**32)
        )
    )


@settings(max_examples=80, deadline=None)  # the first example compiles the kernels
@given(case=whole_patch_cases())
def test_whole_patches_equal_the_cut_of_the_field(case):
    (n_t, rows, cols, ph, pw), hidden, temporal, seed = case
    frames = 1 if temporal == "static" else n_t
    shape = (frames, rows * ph, cols * pw)
    need = hidden * ph * pw
    params = {"patch": (ph, pw), "offset": "aligned", "time_scale": 3.0}
    mask = patches._mask(shape, np.random.default_rng(seed), temporal, need, **params)
    field = om.field("patches", shape, rng=seed, temporal=temporal, **params)
    coverage = need / (shape[1] * shape[2])
    assert target_count(coverage, shape[1] * shape[2]) == need
    assert mask is not None
    assert mask.dtype == np.bool_
    assert mask.shape == shape
    np.testing.assert_array_equal(mask, om.cut(field, coverage))
    tiles = mask.reshape(frames, rows, ph, cols, pw)
    assert (tiles.all(axis=(2, 4)) == tiles.any(axis=(2, 4))).all()  # whole patches


@pytest.mark.parametrize(
    ("shape", "need", "params"),
    [
        ((1, 32, 32), 256, {"patch": (16, 16), "offset": "random"}),  # a shifted grid
        ((1, 40, 32), 256, {"patch": (16, 16), "offset": "aligned"}),  # patches that do not tile
        ((1, 32, 32), 300, {"patch": (16, 16), "offset": "aligned"}),  # part of a patch
    ],
)
def test_whole_patches_decline_other_cases_without_drawing(shape, need, params):
    rng = np.random.default_rng(5)
    state = rng.bit_generator.state
    assert patches._mask(shape, rng, "evolving", need, time_scale=8.0, **params) is None
    assert rng.bit_generator.state == state


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.integers(-5, 5) | st.floats(-1e3, 1e3), min_size=1, max_size=60),
    data=st.data(),
)
def test_kth_lowest_is_the_sorted_value(values, data):
    array = np.array(values, dtype=np.float64)
    k = data.draw(st.integers(0, array.size - 1))
    assert patches._kth_lowest(array.copy(), k) == np.sort(array)[k]


@pytest.mark.parametrize("temporal", ["evolving", "static", "independent"])
def test_generate_takes_the_patches_shortcut_and_gives_the_fields_cut(temporal):
    """MAE's setting (aligned 16-px patches, 75% hidden) goes through Family.mask; the mask is the
    cut of the field from the same seed, also into ``out`` and for a static mask's frames."""
    shape = (3, 224, 224)
    kwargs = {"patch": 16, "offset": "aligned", "temporal": temporal}
    mask = om.generate("patches", shape, 0.75, rng=5, **kwargs)
    np.testing.assert_array_equal(mask, om.cut(om.field("patches", shape, rng=5, **kwargs), 0.75))
    family = om.FAMILIES["patches"]
    out = np.zeros(shape, bool)
    params = family.params({"patch": 16, "offset": "aligned"})
    made = _engine.generate_checked(
        family, shape, False, 0.75, "frame", temporal, params, None, np.random.default_rng(5), out
    )
    assert made is out
    np.testing.assert_array_equal(out, mask)


def test_a_user_familys_mask_shortcut_is_checked_against_its_field():
    def noise(shape, rng, temporal, need):
        return rng.random(shape, dtype=np.float32)

    def right(shape, rng, temporal, need):
        field = rng.random(shape, dtype=np.float32).reshape(shape[0], -1)
        return om.cut(field.reshape(shape), need / field.shape[1]).reshape(shape)

    def wrong(shape, rng, temporal, need):
        return ~right(shape, rng, temporal, need)

    for name, shortcut, works in (("shortcut_right", right, True), ("shortcut_wrong", wrong, False)):
        om.register_family(om.Family(name, "i.i.d.", noise, mask=shortcut))
        try:
            if works:
                mask = om.generate(name, (2, 8, 8), 0.25, rng=1)
                np.testing.assert_array_equal(
                    mask, om.cut(noise((2, 8, 8), np.random.default_rng(1), "", None), 0.25)
                )
            else:
                with pytest.raises(ValueError, match="mask shortcut of family 'shortcut_wrong' must give"):
                    om.generate(name, (2, 8, 8), 0.25, rng=1)
        finally:
            om.unregister_family(name)
