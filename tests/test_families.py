"""Public behaviour of every family: exactness, time, geometry, stationarity, determinism."""

import hashlib
import subprocess
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import occmask as om
from occmask.families import BUILTIN

FAMILIES = sorted(om.FAMILIES)


def digest(mask):
    return hashlib.sha256(np.packbits(mask).tobytes() + str(mask.shape).encode()).hexdigest()


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("temporal", ["evolving", "static", "independent"])
def test_exact_coverage_per_frame_and_video(family, temporal):
    mask = om.generate(family, (5, 23, 31), 0.37, rng=3, temporal=temporal)
    assert mask.dtype == np.bool_
    assert mask.shape == (5, 23, 31)
    assert (mask.sum(axis=(1, 2)) == round(0.37 * 23 * 31)).all()
    video = om.generate(family, (5, 23, 31), 0.37, rng=3, temporal=temporal, match="video")
    expected = 5 * round(0.37 * 23 * 31) if temporal == "static" else round(0.37 * 5 * 23 * 31)
    assert video.sum() == expected


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("temporal", ["evolving", "independent"])
@pytest.mark.parametrize("coverage", [0.0, 0.05, 0.5, 0.97, 1.0])
def test_early_stopping_does_not_change_the_mask(family, temporal, coverage):
    """A family may stop once a frame's lowest pixels are known; the mask equals the full field's cut."""
    fam = om.FAMILIES[family]
    full = fam.field((4, 40, 36), np.random.default_rng(8), temporal, None, **fam.params({}))
    assert np.isfinite(full).all()
    expected = om.cut(full, coverage)
    np.testing.assert_array_equal(
        om.generate(family, (4, 40, 36), coverage, rng=8, temporal=temporal), expected
    )


@settings(max_examples=60, deadline=None)
@given(
    family=st.sampled_from(list(FAMILIES)),
    shape=st.tuples(st.integers(1, 3), st.integers(1, 40), st.integers(1, 40)),
    coverage=st.floats(0.0, 1.0),
    temporal=st.sampled_from(["evolving", "independent", "static"]),
    patch=st.tuples(st.integers(1, 9), st.integers(1, 9)),
    seed=st.integers(0, 2**32 - 1),
)
def test_fields_stopped_early_give_the_full_fields_cut(family, shape, coverage, temporal, patch, seed):
    """A family may hold only the needed values in its field (+inf elsewhere, as triangles,
    rectangles and patches do): the mask is the full field's cut."""
    fam = om.FAMILIES[family]
    params = fam.params({"patch": patch} if "patch" in fam.defaults else {})
    frames = 1 if temporal == "static" else shape[0]  # as generate asks for it
    full = fam.field((frames, *shape[1:]), np.random.default_rng(seed), temporal, None, **params)
    expected = om.cut(np.broadcast_to(full, shape), coverage)
    mask = om.generate(family, shape, coverage, rng=seed, temporal=temporal, **params)
    np.testing.assert_array_equal(mask, expected)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("temporal", ["evolving", "static", "independent"])
def test_public_field_is_what_generate_cuts(family, temporal):
    f = om.field(family, (4, 20, 18), rng=6, temporal=temporal)
    assert f.dtype == np.float32
    assert f.shape == (4, 20, 18)
    assert np.isfinite(f).all()
    for match in ("frame", "video"):
        np.testing.assert_array_equal(
            om.cut(f, 0.4, match=match),
            om.generate(family, (4, 20, 18), 0.4, rng=6, temporal=temporal, match=match),
        )
    if temporal == "static":
        assert (f == f[0]).all()
    image = om.field(family, (20, 18), rng=6)
    np.testing.assert_array_equal(om.cut(image, 0.3), om.generate(family, (20, 18), 0.3, rng=6))


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"family": "voronoi"}, ValueError, "family"),
        ({"shape": (0, 8)}, ValueError, "shape"),
        ({"temporal": "frozen"}, ValueError, "temporal"),
        ({"scale": -1.0}, ValueError, "scale"),
        ({"width": 3}, TypeError, "width"),
    ],
)
def test_public_field_rejects_bad_input(kwargs, error, words):
    args = {"family": "perlin", "shape": (8, 8), **kwargs}
    with pytest.raises(error, match=words):
        om.field(args.pop("family"), args.pop("shape"), rng=0, **args)


@pytest.mark.parametrize("family", FAMILIES)
def test_masks_are_nested_across_coverages(family):
    """The same seed gives the same field, so a lower coverage hides a subset of a higher one."""
    low, high = (om.generate(family, (3, 32, 32), c, rng=4) for c in (0.2, 0.6))
    assert not (low & ~high).any()


@pytest.mark.parametrize("family", FAMILIES)
def test_family_function_equals_generate(family):
    function = getattr(om, family)
    np.testing.assert_array_equal(
        function((4, 16, 16), 0.3, rng=5), om.generate(family, (4, 16, 16), 0.3, rng=5)
    )
    assert function((16, 12), 0.5, rng=1).shape == (16, 12)


@pytest.mark.parametrize("family", FAMILIES)
def test_temporal_modes(family):
    static = om.generate(family, (6, 32, 32), 0.4, rng=0, temporal="static")
    assert all((frame == static[0]).all() for frame in static)

    def mean_overlap(mask):  # intersection over union of consecutive frames
        inter = (mask[1:] & mask[:-1]).sum(axis=(1, 2))
        union = (mask[1:] | mask[:-1]).sum(axis=(1, 2))
        return float((inter / union).mean())

    independent = mean_overlap(om.generate(family, (12, 48, 48), 0.4, rng=0, temporal="independent"))
    evolving = mean_overlap(om.generate(family, (12, 48, 48), 0.4, rng=0, temporal="evolving"))
    assert independent < 0.4, f"independent frames overlap like coherent ones: IoU {independent:.3f}"
    if family == "bernoulli":
        assert evolving < 0.4
    else:
        assert evolving > independent + 0.2, f"evolving IoU {evolving:.3f} vs independent {independent:.3f}"


def test_geometry_differs_at_matched_coverage():
    """At coverage 0.3 on 64x64 (below percolation): components bernoulli > cgol > every shaped
    family (perlin, triangles, rectangles, fourier, patches), bernoulli by far; largest the reverse."""
    count, largest = {}, {}
    for family in FAMILIES:
        d = [om.describe(om.generate(family, (64, 64), 0.3, rng=seed)) for seed in range(8)]
        count[family] = np.mean([x.n_components[0] for x in d])
        largest[family] = np.mean([x.largest_component[0] for x in d])
    shaped = [f for f in BUILTIN if f not in ("bernoulli", "cgol")]
    message = f"mean components {count}, mean largest component {largest}"
    assert len(shaped) == len(BUILTIN) - 2
    assert count["bernoulli"] > count["cgol"] > max(count[f] for f in shaped), message
    assert count["bernoulli"] > 20 * max(count[f] for f in shaped), message
    assert largest["bernoulli"] < largest["cgol"] < min(largest[f] for f in shaped), message
    assert min(largest[f] for f in shaped) > 10 * largest["bernoulli"], message


@pytest.mark.parametrize("family", FAMILIES)
def test_stationary_no_centre_or_border_bias(family):
    """Over 1,000 independent masks, border and centre pixels are hidden equally often."""
    masks = om.generate(family, (1000, 40, 40), 0.4, rng=11, temporal="independent")
    frequency = masks.mean(axis=0)
    border = np.ones((40, 40), bool)
    border[3:-3, 3:-3] = False
    centre, edge = frequency[14:26, 14:26].mean(), frequency[border].mean()
    assert abs(centre - 0.4) < 0.03, f"centre {centre:.4f}, border {edge:.4f}"
    assert abs(edge - 0.4) < 0.03, f"centre {centre:.4f}, border {edge:.4f}"


@pytest.mark.parametrize("family", FAMILIES)
def test_expected_matching_is_right_on_average(family):
    masks = om.generate(family, (1000, 32, 32), 0.3, rng=2, temporal="independent", match="expected")
    per_mask = masks.mean(axis=(1, 2))
    assert abs(per_mask.mean() - 0.3) < 0.01, f"mean coverage {per_mask.mean():.4f}"
    assert per_mask.std() > 0.005  # realised coverage varies around the target
    assert not om.generate(family, (3, 8, 8), 0.0, rng=0, match="expected").any()
    assert om.generate(family, (3, 8, 8), 1.0, rng=0, match="expected").all()


@pytest.mark.parametrize("family", FAMILIES)
def test_reproducible_across_processes(family):
    here = digest(om.generate(family, (6, 20, 30), 0.45, rng=1234))
    code = (
        "import hashlib, numpy as np, occmask as om;"
        f"m = om.generate({family!r}, (6, 20, 30), 0.45, rng=1234);"
        "print(hashlib.sha256(np.packbits(m).tobytes() + str(m.shape).encode()).hexdigest())"
    )
    there = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert here == there


@pytest.mark.parametrize("family", FAMILIES)
def test_reproducible_across_threads_and_seed_types(family):
    with ThreadPoolExecutor(2) as pool:
        a, b = pool.map(lambda _: om.generate(family, (8, 40, 40), 0.3, rng=99), range(2))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, om.generate(family, (8, 40, 40), 0.3, rng=np.random.SeedSequence(99)))
    np.testing.assert_array_equal(a, om.generate(family, (8, 40, 40), 0.3, rng=np.random.default_rng(99)))
    assert not np.array_equal(a, om.generate(family, (8, 40, 40), 0.3, rng=100))


def test_generator_is_advanced_not_reset():
    rng = np.random.default_rng(0)
    first, second = om.perlin((16, 16), 0.5, rng=rng), om.perlin((16, 16), 0.5, rng=rng)
    assert not np.array_equal(first, second)


@pytest.mark.parametrize(
    ("family", "params"),
    [
        ("perlin", {"scale": 4.0, "octaves": 1, "persistence": 1.0, "time_scale": 2.0}),
        ("perlin", {"basis": "simplex"}),
        ("perlin", {"periodic": True}),
        ("cgol", {"density": 0.1, "burn_in": 0, "step": 3, "memory": 1, "decay": 0.0}),
        ("triangles", {"size": 5.0, "aspect": (2.0, 4.0), "speed": 0.0, "spin": 0.0}),
        ("rectangles", {"size": (3.0, 5.0)}),
        ("rectangles", {"aspect": 4.0, "speed": 0.0}),
        ("fourier", {"decay": 1.5}),
        ("fourier", {"time_scale": 2.0}),
        ("patches", {"patch": (4, 8)}),
        ("patches", {"offset": "aligned", "time_scale": 1.0}),
    ],
)
def test_parameters_change_the_mask_and_keep_it_exact(family, params):
    mask = om.generate(family, (3, 30, 30), 0.5, rng=0, **params)
    assert (mask.sum(axis=(1, 2)) == 450).all()
    assert not np.array_equal(mask, om.generate(family, (3, 30, 30), 0.5, rng=0))


def test_tiny_and_degenerate_canvases():
    for family in FAMILIES:
        for shape in [(1, 1), (1, 7), (7, 1), (3, 1, 1), (2, 2, 9)]:
            for coverage in (0.0, 0.5, 1.0):
                mask = om.generate(family, shape, coverage, rng=0)
                frame = mask.reshape(-1, shape[-2] * shape[-1])
                assert (frame.sum(axis=1) == int(np.floor(coverage * shape[-2] * shape[-1] + 0.5))).all()


def test_cgol_warns_when_the_soup_dies_out():
    with pytest.warns(RuntimeWarning, match="died out in 3 of 3 frame"):
        mask = om.cgol((3, 24, 24), 0.3, rng=0, density=0.95)
    assert (mask.sum(axis=(1, 2)) == round(0.3 * 24 * 24)).all()  # still exact, from the tie-break field
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        om.cgol((3, 64, 64), 0.3, rng=0)


def test_patches_hide_whole_patches_then_a_centred_square():
    """MAE geometry: whole patches of the aligned grid, and of the next one a square about its centre."""
    n = 3 * 64 + 16  # three 8x8 patches and a 4x4 square
    mask = om.patches((32, 32), n / (32 * 32), patch=8, offset="aligned", rng=5)
    blocks = mask.reshape(4, 8, 4, 8).transpose(0, 2, 1, 3).reshape(16, 8, 8)
    counts = blocks.sum(axis=(1, 2))
    assert sorted(counts)[-4:] == [16, 64, 64, 64]
    assert counts.sum() == n
    square = np.zeros((8, 8), bool)
    square[2:6, 2:6] = True
    np.testing.assert_array_equal(blocks[counts == 16][0], square)
    tube = om.patches((5, 32, 32), 0.3, temporal="static", rng=1)  # VideoMAE tube masking
    assert (tube == tube[0]).all()


@pytest.mark.parametrize("density", [0.1, 0.35, 0.7])
def test_cgol_soup_has_the_density_asked_for(density):
    """Before any generation (burn_in=0) and with memory 1, the live cells are the field's values
    below 1 (distance 0 plus a tie-break under 1): their share is the density (65,536 cells,
    binomial standard error below 0.002)."""
    field = om.field("cgol", (256, 256), rng=0, density=density, burn_in=0, memory=1)
    assert abs((field < 1).mean() - density) < 0.01


def test_cgol_density_is_drawn_in_steps_of_2_to_the_minus_16():
    om.cgol((8, 8), 0.5, rng=0, density=2**-16)
    om.cgol((8, 8), 0.5, rng=0, density=1 - 2**-16)
    for density in (2**-17, 1 - 2**-17):
        with pytest.raises(ValueError, match="density"):
            om.cgol((8, 8), 0.5, rng=0, density=density)
