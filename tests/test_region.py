"""Region coverage: an exact share of a region hidden, by every family, with the canvas threshold rule."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import occmask as om
from occmask.calibrate import target_count
from occmask.testing import coverages, seeds

#: Hypothesis examples per family in the exactness property (the closing figure: times the families).
EXAMPLES = 40


def region_cut_reference(field, coverage, region):
    """Per frame: order pixels by (value, index); the k-th region pixel in that order is the last
    hidden, and every pixel before it is hidden too."""
    out = np.zeros(field.shape, bool)
    region = np.broadcast_to(region, field.shape)
    for t in range(field.shape[0]):
        values, inside = field[t].ravel(), region[t].ravel()
        order = np.lexsort((np.arange(values.size), values))  # by value, then index
        k = int(np.floor(coverage * inside.sum() + 0.5))
        if k == 0:
            continue
        last = np.flatnonzero(inside[order])[k - 1]  # position of the k-th region pixel
        out[t].ravel()[order[: last + 1]] = True
    return out


@st.composite
def regions(draw, shape):
    """A region for masks of ``shape``: per frame or shared, from empty or one pixel to full."""
    t, h, w = shape
    kind = draw(st.sampled_from(["random", "one pixel", "full", "border", "empty frame"]))
    per_frame = draw(st.booleans())
    region_shape = (t, h, w) if per_frame else (h, w)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "random":
        region = rng.random(region_shape) < draw(st.floats(0.05, 0.95))
    elif kind == "one pixel":
        region = np.zeros(region_shape, bool)
        region.reshape(-1, h * w)[:, rng.integers(h * w)] = True
    elif kind == "full":
        region = np.ones(region_shape, bool)
    elif kind == "border":
        region = np.zeros(region_shape, bool)
        region[..., : max(1, h // 3), :] = True
        region[..., :, -max(1, w // 3) :] = True
    else:  # the first frame's region (or the shared one) is empty
        region = rng.random(region_shape) < 0.5
        region[0 if per_frame else slice(None)] = False
    return region


@pytest.mark.parametrize("family", list(om.FAMILIES))
def test_every_family_hides_an_exact_share_of_the_region(family):
    @settings(max_examples=EXAMPLES, deadline=None)
    @given(
        data=st.data(),
        coverage=coverages(),
        seed=seeds(),
        temporal=st.sampled_from(["evolving", "static", "independent"]),
    )
    def exact(data, coverage, seed, temporal):
        shape = data.draw(st.tuples(st.integers(1, 4), st.integers(1, 24), st.integers(1, 24)), label="shape")
        region = data.draw(regions(shape), label="region")
        mask = om.generate(family, shape, coverage, rng=seed, temporal=temporal, region=region)
        inside = np.broadcast_to(region, shape)
        wanted = [target_count(coverage, int(r.sum())) for r in inside]
        assert (mask & inside).sum(axis=(1, 2)).tolist() == wanted
        field = om.field(family, shape, rng=seed, temporal=temporal)
        np.testing.assert_array_equal(mask, region_cut_reference(field, coverage, region))
        again = om.generate(family, shape, coverage, rng=seed, temporal=temporal, region=region)
        np.testing.assert_array_equal(mask, again)
        full = om.generate(
            family, shape, coverage, rng=seed, temporal=temporal, region=np.ones(shape[1:], bool)
        )
        assert full.tobytes() == om.generate(family, shape, coverage, rng=seed, temporal=temporal).tobytes()
        video = om.generate(
            family, shape, coverage, rng=seed, temporal=temporal, match="video", region=region
        )
        if temporal == "static":  # one frame repeated: "video" is "frame"
            np.testing.assert_array_equal(video, mask)
        else:
            assert (video & inside).sum() == target_count(coverage, int(inside.sum()))

    exact()


@settings(max_examples=200, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 3), st.integers(1, 12), st.integers(1, 12)),
    levels=st.integers(1, 6),
    coverage=coverages(),
    seed=st.integers(0, 2**32 - 1),
    per_frame=st.booleans(),
)
def test_region_cut_equals_the_sorting_reference_with_ties_and_inf(shape, levels, coverage, seed, per_frame):
    rng = np.random.default_rng(seed)
    field = rng.integers(0, levels, shape).astype(np.float32)  # few levels: many ties
    field[rng.random(shape) < 0.2] = np.inf
    region = rng.random(shape if per_frame else shape[1:]) < rng.random()
    mask = om.cut(field, coverage, region=region)
    np.testing.assert_array_equal(mask, region_cut_reference(field, coverage, region))
    video = om.cut(field, coverage, region=region, match="video")
    np.testing.assert_array_equal(
        video.reshape(1, -1),
        region_cut_reference(
            field.reshape(1, -1)[None], coverage, np.broadcast_to(region, shape).reshape(1, -1)
        )[0],
    )


@pytest.mark.parametrize("coverage", [0.05, 0.5, 0.93])
def test_region_cut_of_large_smooth_frames_equals_the_sorting_reference(coverage):
    """Frames of 128 x 160: counted in several histogram copies; runs of equal values and of +inf."""
    rng = np.random.default_rng(11)
    field = np.repeat(rng.integers(0, 50, (2, 128, 16)), 10, axis=2).astype(np.float32)
    field[:, 40:70] = np.inf
    region = rng.random((2, 128, 160)) < 0.4
    mask = om.cut(field, coverage, region=region)
    np.testing.assert_array_equal(mask, region_cut_reference(field, coverage, region))


def test_the_occluder_crosses_the_region_border():
    field = np.arange(64, dtype=np.float32).reshape(1, 8, 8)  # hidden row by row from the top
    region = np.zeros((8, 8), bool)
    region[4:, :] = True  # the lower half: 32 pixels
    mask = om.cut(field, 0.25, region=region)  # 8 region pixels: row 4, and everything above it
    assert mask[0, :5].all()
    assert not mask[0, 5:].any()


def test_empty_regions_and_expected_matching():
    region = np.zeros((3, 10, 10), bool)
    region[1, 2:5, 2:5] = True
    mask = om.generate("perlin", (3, 10, 10), 0.5, rng=0, region=region)
    assert not mask[0].any()
    assert not mask[2].any()
    assert (mask[1] & region[1]).sum() == 5
    assert not om.generate("perlin", (10, 10), 0.7, rng=0, region=np.zeros((10, 10), bool)).any()
    ink = np.zeros((16, 16), bool)
    ink[4:12, 4:12] = True
    expected = om.generate("fourier", (2, 16, 16), 0.4, rng=1, match="expected", region=ink)
    np.testing.assert_array_equal(expected, om.generate("fourier", (2, 16, 16), 0.4, rng=1, match="expected"))
    shares = om.describe(
        om.generate(
            "bernoulli", (500, 16, 16), 0.4, rng=2, match="expected", temporal="independent", region=ink
        ),
        region=ink,
    ).region_hidden
    assert abs(shares.mean() - 0.4) < 0.02  # a stationary field: the region's expected share is the coverage


def test_family_functions_take_the_region():
    ink = np.zeros((20, 20), bool)
    ink[5:15, 3:9] = True
    for name in om.FAMILIES:
        mask = getattr(om, name)((2, 20, 20), 0.3, rng=4, region=ink)
        np.testing.assert_array_equal(mask, om.generate(name, (2, 20, 20), 0.3, rng=4, region=ink))
        assert ((mask & ink).sum(axis=(1, 2)) == 18).all()


@pytest.mark.parametrize(
    ("region", "error", "words"),
    [
        (np.ones((5, 5)), TypeError, ["region", "float64", "astype(bool)"]),
        (np.ones((5, 6), bool), ValueError, ["region", "(6, 6) or (2, 6, 6)", "(5, 6)"]),
        (np.ones((3, 6, 6), bool), ValueError, ["region", "(3, 6, 6)"]),
        ([[True] * 6] * 6, TypeError, ["region", "list"]),
    ],
)
def test_bad_regions_are_named(region, error, words):
    with pytest.raises(error) as info:
        om.generate("bernoulli", (2, 6, 6), 0.5, region=region)
    assert all(w in str(info.value) for w in words), str(info.value)
    with pytest.raises(error):
        om.cut(np.zeros((2, 6, 6), np.float32), 0.5, region=region)


def test_describe_reports_the_share_of_the_region():
    ink = np.zeros((2, 8, 8), bool)
    ink[0, :2] = True  # 16 pixels in frame 0, none in frame 1
    mask = np.zeros((2, 8, 8), bool)
    mask[0, 0, :4] = True
    d = om.describe(mask, region=ink)
    assert d.region_hidden[0] == 0.25
    assert np.isnan(d.region_hidden[1])
    assert d.summary()["region_hidden"] == 0.25
    assert om.describe(mask).region_hidden is None
    torch = pytest.importorskip("torch")
    assert om.describe(torch.from_numpy(mask), region=torch.from_numpy(ink)) == d
    with pytest.raises(ValueError, match="region must have shape"):
        om.describe(mask, region=ink[0, :4])


def test_occlude_transform_with_a_region_function():
    torch = pytest.importorskip("torch")
    from occmask.torch import Occlude

    torch.manual_seed(0)
    x = torch.zeros(3, 4, 1, 24, 24)  # (B, T, C, H, W)
    x[:, :, :, 6:18, 4:12] = 1.0  # 96 bright pixels per frame
    t = Occlude("triangles", 0.4, return_mask=True, region=lambda v: v.amax(dim=-3) > 0.5)
    _, mask = t(x)
    ink = x.amax(dim=2) > 0.5
    assert ((mask & ink).sum(dim=(-2, -1)) == 38).all()
    rebuilt = t.make_mask((4, 24, 24), t.last_seeds[2], region=ink[2])
    np.testing.assert_array_equal(rebuilt, mask[2].numpy())
    with pytest.raises(TypeError, match="region must be None or a callable"):
        Occlude("perlin", 0.4, region=np.ones((24, 24), bool))


def test_occluded_dataset_rebuilds_region_masks():
    torch = pytest.importorskip("torch")
    from occmask.torch import Occlude, OccludedDataset

    clips = torch.zeros(3, 4, 1, 24, 24)
    clips[:, :, :, 4:20, 10:14] = 1.0  # 64 bright pixels per frame
    transform = Occlude(
        "perlin", 0.25, layout="TCHW", return_mask=True, region=lambda v: v.amax(dim=-3) > 0.5
    )
    data = OccludedDataset(torch.utils.data.TensorDataset(clips), transform, seed=3)
    _, mask = data[1]
    assert ((mask & (clips[1, :, 0] > 0.5)).sum(dim=(-2, -1)) == 16).all()
    np.testing.assert_array_equal(data.mask(1), mask.numpy())


@pytest.mark.parametrize("match", ["frame", "video"])
def test_static_region_one_rule_for_2d_and_equal_3d_regions(match):
    """A static mask is one frame repeated: a 2-D region and the same region as (T, H, W) give the
    same mask, every frame hides floor(coverage * |R| + 0.5) of it, with 'video' as with 'frame'."""
    region = np.zeros((6, 6), bool)
    region[2, 3] = True  # one pixel: the per-frame rule hides it (round(0.5) = 1) in every frame
    flat = om.generate("perlin", (4, 6, 6), 0.5, rng=1, temporal="static", match=match, region=region)
    stacked = om.generate(
        "perlin", (4, 6, 6), 0.5, rng=1, temporal="static", match=match, region=np.stack([region] * 4)
    )
    np.testing.assert_array_equal(flat, stacked)
    assert (flat == flat[:1]).all()
    assert (flat & region).sum(axis=(1, 2)).tolist() == [1, 1, 1, 1]


def test_static_mask_with_a_changing_region_keeps_its_field_and_each_frames_share():
    """A region that changes across frames: the one field on every frame, each frame cut for its
    own region, with 'video' as with 'frame' (before, 'video' cut the repeated field as a whole)."""
    region = np.zeros((3, 8, 8), bool)
    region[0, :4], region[1, 4:], region[2, 2:6] = True, True, True
    field = om.field("perlin", (8, 8), rng=0)
    for match in ("frame", "video"):
        mask = om.generate("perlin", (3, 8, 8), 0.3, rng=0, temporal="static", match=match, region=region)
        assert (mask & region).sum(axis=(1, 2)).tolist() == [target_count(0.3, 32)] * 3
        for t in range(3):
            np.testing.assert_array_equal(mask[t], om.cut(field, 0.3, region=region[t]))
