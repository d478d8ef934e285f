"""Fast paths against the general path they stand in for: the same mask from the same seed."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import occmask as om
from occmask import _torus
from occmask.calibrate import target_count
from occmask.families import _engine, patches, rectangles
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


# --- rectangles: the boxes painted into the mask, without the field -----------------------------


def rectangles_cases():
    """Shapes, coverages and box parameters: boxes from far smaller to far larger than the frame,
    extreme aspect ratios, fast ones that wrap around the torus."""
    side = st.floats(1.0, 80.0)
    return st.tuples(
        st.tuples(st.integers(1, 3), st.integers(1, 40), st.integers(1, 40)),
        st.floats(0.0, 1.0),
        st.tuples(side, st.floats(1.0, 4.0)).map(lambda s: (s[0], s[0] * s[1])),
        st.tuples(st.floats(0.01, 100.0), st.floats(1.0, 100.0)).map(
            lambda a: (a[0], min(100.0, a[0] * a[1]))
        ),
        st.floats(0.0, 50.0),
        st.sampled_from(TEMPORAL),
        st.integers(0, 2**32),
    )


def check_rectangles_shortcut(shape, coverage, size, aspect, speed, temporal, seed):
    """The shortcut's mask is the cut of the full field from the same seed, and it leaves the
    generator where the field drawn with ``need`` leaves it (boxes of any size painted)."""
    frames = 1 if temporal == "static" else shape[0]
    shape = (frames, *shape[1:])
    need = target_count(coverage, shape[1] * shape[2])
    params = {"size": size, "aspect": aspect, "speed": speed}
    rng, trial = np.random.default_rng(seed), np.random.default_rng(seed)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rectangles, "_PAINT_AREA", 0.0)
        mask = rectangles._mask(shape, rng, temporal, need, **params)
    rectangles._field(shape, trial, temporal, need, **params)
    field = om.field("rectangles", shape, rng=seed, temporal=temporal, **params)
    assert mask is not None
    assert mask.dtype == np.bool_
    assert mask.shape == shape
    assert mask.view(np.uint8).max(initial=0) <= 1  # a true bool array
    np.testing.assert_array_equal(mask, _engine._lowest(field, need))
    assert rng.bit_generator.state == trial.bit_generator.state


@settings(max_examples=150, deadline=None)  # the first example compiles the kernels
@given(case=rectangles_cases())
def test_rectangles_shortcut_is_the_cut_of_the_field(case):
    check_rectangles_shortcut(*case)


@pytest.mark.parametrize(
    ("shape", "coverage", "size", "aspect", "speed", "temporal"),
    [
        ((1, 1, 1), 1.0, (1.0, 1.0), (1.0, 1.0), 0.0, "evolving"),  # one pixel
        ((2, 17, 23), 0.0, (3.0, 9.0), (0.5, 2.0), 1.0, "evolving"),  # nothing hidden
        ((2, 17, 23), 1.0, (3.0, 9.0), (0.5, 2.0), 1.0, "independent"),  # everything hidden
        ((2, 20, 30), 0.6, (200.0, 400.0), (0.5, 2.0), 3.0, "evolving"),  # boxes larger than the frame
        ((2, 30, 30), 0.5, (30.0, 30.0), (100.0, 100.0), 0.0, "evolving"),  # a column each, whole height
        ((2, 30, 30), 0.5, (30.0, 30.0), (0.01, 0.01), 0.0, "static"),  # a row each, whole width
        ((3, 9, 40), 0.45, (2.0, 2.0), (1.0, 1.0), 0.0, "evolving"),  # equal squares: ties on rings
        ((4, 25, 25), 0.8, (6.0, 12.0), (0.3, 3.0), 40.0, "evolving"),  # fast boxes wrap around
        ((2, 60, 60), 0.97, (1.0, 1.5), (0.5, 2.0), 1.0, "independent"),  # thousands of tiny boxes
    ],
)
def test_rectangles_shortcut_edge_cases(shape, coverage, size, aspect, speed, temporal):
    for seed in range(5):
        check_rectangles_shortcut(shape, coverage, size, aspect, speed, temporal, seed)


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32), first=st.sampled_from([0, 7, 2**16, 2**20, 2**23, 2**24 - 30]))
def test_rectangles_paint_kernel_equals_the_fields_cut_at_any_index(seed, first):
    """The painting kernel against the field's kernels (draw, trim, cut) on one batch of boxes
    centred on a grid of ``1 / grid`` pixels, with half-sides in quarter pixels (many equal
    values), at box indices where float32 rounds a box's values up to the next box's index (from
    2**16 on, every other value from 2**23)."""
    rng = np.random.default_rng(seed)
    n_t, n_h, n_w, n, grid = (int(v) for v in rng.integers(1, (4, 25, 25, 31, 5)))
    sets = n_t if rng.random() < 0.5 else 1  # a set of boxes per frame, or one for all
    halves = rng.integers(1, 49, (sets, n, 2)) / 4
    centers = (rng.integers(0, 24 * grid + 1, (sets, n, 2)) / grid) % (n_h, n_w)
    velocity = rng.choice([-1.5, -0.5, 0.0, 1.0], (sets, n, 2))
    need, moving = int(rng.integers(0, n_h * n_w + 1)), bool(rng.random() < 0.5)
    field = np.full((n_t, n_h, n_w), np.inf, np.float32)
    stop = n_h * n_w - need
    remaining, last = rectangles._draw(field, centers, halves, velocity, float(first), moving, stop)
    assume((remaining <= stop).all())  # the batch reaches need in every frame
    _torus._trim(field, need, n_h * n_w - remaining, last)
    mask = np.zeros(field.shape, np.uint8)
    covered, previous = np.zeros(n_t, np.int64), np.full((n_t, rectangles._BOX), -1.0)
    assert rectangles._paint(mask, centers, halves, velocity, float(first), moving, need, covered, previous)
    assert mask.max(initial=0) <= 1
    np.testing.assert_array_equal(mask.view(np.bool_), _engine._lowest(field, need))


def test_rectangles_shortcut_declines_past_the_exact_indices(monkeypatch):
    """Where the boxes would pass float32's exact integers the shortcut gives None with the
    generator as it was, and generate cuts the field."""
    shape, params = (1, 64, 64), {"size": (8.0, 16.0), "aspect": (0.5, 2.0), "speed": 1.0}
    assert rectangles._mask(shape, np.random.default_rng(3), "evolving", 2000, **params) is not None
    monkeypatch.setattr(rectangles, "_EXACT_BOXES", 16)  # fewer than a batch
    rng = np.random.default_rng(3)
    state = rng.bit_generator.state
    assert rectangles._mask(shape, rng, "evolving", 2000, **params) is None
    assert rng.bit_generator.state == state
    mask = om.rectangles(shape, 0.5, rng=3, **params)
    np.testing.assert_array_equal(mask, om.cut(om.field("rectangles", shape, rng=3, **params), 0.5))


@pytest.mark.parametrize(("size", "painted"), [((4.0, 12.0), False), ((5.0, 15.0), True), (8.0, True)])
def test_rectangles_shortcut_declines_small_boxes_without_drawing(size, painted):
    """Boxes below ``_PAINT_AREA`` pixels on average are cut from the field, where painting them
    is no faster: the shortcut gives None and leaves the generator as it was."""
    rng = np.random.default_rng(4)
    state = rng.bit_generator.state
    params = om.FAMILIES["rectangles"].params({"size": size})
    mask = rectangles._mask((2, 32, 32), rng, "evolving", 300, **params)
    assert (mask is not None) == painted
    assert (rng.bit_generator.state == state) != painted


@pytest.mark.parametrize(
    ("kwargs", "painted"),
    [
        ({}, True),
        ({"temporal": "static"}, True),
        ({"temporal": "independent"}, True),
        ({"match": "video"}, False),
        ({"match": "expected"}, False),
        ({"region": np.eye(24, dtype=bool)}, False),
    ],
)
def test_generate_paints_rectangles_for_exact_frames_without_a_region(monkeypatch, kwargs, painted):
    """``match="frame"`` without a region goes through the shortcut; its mask, also into ``out``,
    is the field's cut from the same seed. Other matches and regions cut the field."""
    calls = []
    paint = rectangles._paint

    def spy(*args):
        calls.append(len(args))
        return paint(*args)

    monkeypatch.setattr(rectangles, "_paint", spy)
    shape, params = (3, 24, 24), {"size": (8.0, 12.0)}
    mask = om.rectangles(shape, 0.4, rng=2, **params, **kwargs)
    assert bool(calls) == painted
    if "match" not in kwargs:
        temporal = kwargs.get("temporal", "evolving")
        field = om.field("rectangles", shape, rng=2, temporal=temporal, **params)
        np.testing.assert_array_equal(mask, om.cut(field, 0.4, region=kwargs.get("region")))
