"""Masks made by torch ops on a device (occmask.torch.device), on CPU torch; CUDA where there is one."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import hypothesis.strategies as st  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from scipy.stats import ks_2samp  # noqa: E402

import occmask as om  # noqa: E402
from occmask import calibrate  # noqa: E402
from occmask._batch import MaskMaker  # noqa: E402
from occmask.families import TEMPORAL as TEMPORAL_MODES  # noqa: E402
from occmask.torch import Occlude  # noqa: E402
from occmask.torch.device import DEVICE_FIELDS, _cut, _generators, _seed, fields, masks, supported  # noqa: E402

FAMILIES = list(om.FAMILIES)
TEMPORAL = list(TEMPORAL_MODES)
SHAPE = (3, 24, 20)

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")


def _device_field(family, shape, seed, temporal="evolving", **params):
    """The device field that ``generate(family, shape, ..., rng=seed, device="cpu")`` cuts."""
    fam = om.FAMILIES[family]
    gens = _generators([_seed(np.random.default_rng(seed))], torch.device("cpu"))
    frames = 1 if temporal == "static" else shape[0]
    return DEVICE_FIELDS[family]((frames, *shape[1:]), gens, temporal, None, **fam.params(params))[0]


def test_every_built_in_family_has_a_device_field():
    assert set(DEVICE_FIELDS) == set(om.FAMILIES)
    assert all(supported(name) for name in om.FAMILIES)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("temporal", TEMPORAL)
def test_frame_and_video_matching_are_exact(family, temporal):
    for coverage in (0.0, 0.3, 0.77, 1.0):
        m = om.generate(family, SHAPE, coverage, rng=5, temporal=temporal, device="cpu")
        assert isinstance(m, torch.Tensor)
        assert m.dtype == torch.bool
        assert m.shape == SHAPE
        k = calibrate.target_count(coverage, 24 * 20)
        assert m.sum(dim=(1, 2)).tolist() == [k] * 3
        v = om.generate(family, SHAPE, coverage, rng=5, temporal=temporal, match="video", device="cpu")
        video_k = 3 * k if temporal == "static" else calibrate.target_count(coverage, 3 * 24 * 20)
        assert int(v.sum()) == video_k  # a static mask's video share is each frame's
    image = om.generate(family, (24, 20), 0.4, rng=1, device="cpu")
    assert image.shape == (24, 20)
    assert int(image.sum()) == 192


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("match", ["frame", "video"])
def test_the_mask_is_the_calibrators_cut_of_the_device_field(family, match):
    """The device cut equals occmask.cut (the Numba calibrator) on the same field, with and without
    a region; and a static mask is one frame, on every frame."""
    region = np.random.default_rng(0).random(SHAPE) < 0.4
    for temporal in TEMPORAL:
        field = _device_field(family, SHAPE, 11, temporal).numpy()
        if temporal == "static":
            field = np.repeat(field, SHAPE[0], axis=0)
        mode = "frame" if temporal == "static" else match
        for reg in (None, region, region[0]):
            got = om.generate(
                family, SHAPE, 0.35, rng=11, temporal=temporal, match=match, region=reg, device="cpu"
            )
            want = calibrate.cut(field, 0.35, match=mode, region=reg)
            np.testing.assert_array_equal(got.numpy(), want)


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(FAMILIES),
    st.sampled_from(TEMPORAL),
    st.sampled_from(["frame", "video"]),
    st.tuples(st.integers(1, 3), st.integers(1, 20), st.integers(1, 20)),
    st.floats(0.0, 1.0),
    st.integers(0, 2**32 - 1),
)
def test_exact_counts_on_drawn_shapes(family, temporal, match, shape, coverage, seed):
    m = om.generate(family, shape, coverage, rng=seed, temporal=temporal, match=match, device="cpu")
    counts = m.sum(dim=(1, 2))
    k = calibrate.target_count(coverage, shape[1] * shape[2])
    if match == "frame" or temporal == "static":
        assert counts.tolist() == [k] * shape[0]
    else:
        assert int(counts.sum()) == calibrate.target_count(coverage, shape[0] * shape[1] * shape[2])


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 3),
    st.integers(1, 4),
    st.integers(1, 40),
    st.lists(st.floats(0.0, 1.0), min_size=1, max_size=3),
    st.integers(0, 2**32 - 1),
    st.booleans(),
)
def test_rank_cut_against_a_slow_reference(rows, levels, n, coverages, seed, with_region):
    """Equal values in index order; with a region, up to its k-th pixel in (value, index) order."""
    rng = np.random.default_rng(seed)
    values = rng.integers(0, levels, (len(coverages), rows, n)).astype(np.float32)  # many ties
    inside = rng.random(values.shape) < 0.5 if with_region else np.ones(values.shape, bool)
    got = _cut(
        torch.from_numpy(values),
        torch.tensor(coverages, dtype=torch.float64),
        torch.from_numpy(inside) if with_region else None,
    ).numpy()
    for s, coverage in enumerate(coverages):
        for r in range(rows):
            order = sorted(range(n), key=lambda i: (values[s, r, i], i))
            k = calibrate.target_count(coverage, int(inside[s, r].sum()))
            region_order = [i for i in order if inside[s, r, i]]
            last = order.index(region_order[k - 1]) if k else -1
            want = np.zeros(n, bool)
            want[order[: last + 1]] = True
            np.testing.assert_array_equal(got[s, r], want)


@pytest.mark.parametrize("family", FAMILIES)
def test_same_seed_same_mask_and_batches_do_not_matter(family):
    shape = (2, 20, 24)
    maker = MaskMaker(family, (0.2, 0.6))
    seeds = [3, None, 9, 3]
    batch = masks(maker, shape, seeds, device="cpu")
    assert batch.shape == (4, *shape)
    assert not batch[1].any()
    assert torch.equal(batch[0], batch[3])
    assert not torch.equal(batch[0], batch[2])
    for i in (0, 2):
        rng = np.random.default_rng(seeds[i])
        coverage = maker.coverage_of(rng)  # the sample's first draw, as the batch engine's
        alone = om.generate(family, shape, coverage, rng=rng, device="cpu")
        assert torch.equal(batch[i], alone)
        assert batch[i].sum(dim=(1, 2)).tolist() == [calibrate.target_count(coverage, 480)] * 2
    assert torch.equal(masks(maker, shape, [9], device="cpu")[0], batch[2])


@pytest.mark.parametrize("family", FAMILIES)
def test_expected_matching_hits_the_coverage_on_average(family):
    shape = (2, 16, 16)
    got = [
        om.generate(family, shape, 0.4, rng=seed, match="expected", device="cpu").float().mean().item()
        for seed in range(40)
    ]
    spread = max(got) - min(got)
    assert abs(np.mean(got) - 0.4) < 0.12
    assert family == "bernoulli" or spread > 0.01


def test_region_may_be_a_tensor_and_is_checked():
    region = torch.zeros(24, 20, dtype=torch.bool)
    region[4:12, 4:16] = True
    m = om.generate("perlin", SHAPE, 0.5, rng=0, region=region, device="cpu")
    assert (m & region).sum(dim=(1, 2)).tolist() == [48] * 3
    with pytest.raises(TypeError, match="region must have dtype bool"):
        om.generate("perlin", SHAPE, 0.5, rng=0, region=region.float(), device="cpu")
    with pytest.raises(ValueError, match="region must have shape"):
        om.generate("perlin", SHAPE, 0.5, rng=0, region=region[1:], device="cpu")


def test_bad_device_and_unsupported_parameters_are_refused():
    with pytest.raises(TypeError, match="device must be a torch device"):
        om.generate("perlin", SHAPE, 0.5, rng=0, device=3.5)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="torch finds no CUDA device"):
            om.generate("perlin", SHAPE, 0.5, rng=0, device="cuda")
    with pytest.raises(NotImplementedError, match="basis='simplex'"):
        om.generate("perlin", SHAPE, 0.5, rng=0, device="cpu", basis="simplex")
    with pytest.raises(ValueError, match="coverage"):
        om.generate("perlin", SHAPE, 1.5, rng=0, device="cpu")


def test_device_none_is_the_numpy_path():
    m = om.generate("cgol", SHAPE, 0.3, rng=2, device=None)
    assert isinstance(m, np.ndarray)
    np.testing.assert_array_equal(m, om.generate("cgol", SHAPE, 0.3, rng=2))


def _rows(shape, rng, temporal, need):
    t, h, w = shape
    order = rng.random((t, h, 1)) + np.arange(w) * 1e-6
    return np.broadcast_to(order, shape).astype(np.float32)


def test_a_family_without_a_device_field_is_made_on_the_cpu_and_moved():
    om.register_family(om.Family("rows_device", "whole rows", _rows))
    assert not supported("rows_device")
    m = om.generate("rows_device", SHAPE, 0.25, rng=4, device="cpu")
    assert isinstance(m, torch.Tensor)
    np.testing.assert_array_equal(m.numpy(), om.generate("rows_device", SHAPE, 0.25, rng=4))
    region = np.ones(SHAPE[1:], bool)
    maker = MaskMaker("rows_device", 0.25)
    batch = masks(maker, SHAPE, [1, None], device="cpu", regions=[torch.from_numpy(region), None])
    np.testing.assert_array_equal(batch.numpy(), maker.masks(SHAPE, [1, None], regions=[region, None]))
    om.register_family(om.Family("perlin", "rows under a built-in name", _rows), replace=True)
    assert not supported("perlin")  # the device field is the built-in family's, not the name's
    np.testing.assert_array_equal(
        om.generate("perlin", SHAPE, 0.5, rng=1, device="cpu").numpy(),
        om.generate("perlin", SHAPE, 0.5, rng=1),
    )


def test_occlude_makes_its_masks_on_the_inputs_device():
    batch = torch.ones(3, 2, 1, 20, 24)  # (B, T, C, H, W)
    t = Occlude("triangles", (0.2, 0.5), on_device=True, return_mask=True)
    params = t.make_params(batch)
    hidden, mask = t.apply(batch, params)
    assert torch.equal(mask, t.make_masks(batch, params))
    want = masks(t.maker, (2, 20, 24), params["seeds"], device="cpu")
    assert torch.equal(mask, want)
    assert torch.equal(hidden[:, :, 0] == 0, mask)
    assert torch.equal(t.make_mask((2, 20, 24), params["seeds"][1]), mask[1])
    counts = [calibrate.target_count(c, 480) for c in params["coverages"]]
    assert mask.sum(dim=(2, 3))[:, 0].tolist() == counts
    assert "on_device=True" in repr(t)
    with pytest.raises(TypeError, match="on_device must be a bool"):
        Occlude("perlin", 0.3, on_device="yes")


def test_occlude_on_device_with_a_region_and_a_layout():
    images = torch.zeros(2, 1, 16, 16)  # (B, C, H, W)
    images[:, :, 4:12, 4:12] = 1.0
    t = Occlude("perlin", 0.5, layout="BCHW", on_device=True, return_mask=True, region=lambda x: x[0] > 0)
    _, mask = t(images)
    assert mask.shape == (2, 16, 16)
    assert (mask[:, 4:12, 4:12].sum(dim=(1, 2)) == 32).all()


# -- the device fields' parts against slow references ------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(st.integers(3, 12), st.integers(3, 12), st.integers(0, 2**32 - 1))
def test_life_step_against_numpy(n_h, n_w, seed):
    cells = np.random.default_rng(seed).random((n_h, n_w)) < 0.4
    count = sum(
        np.roll(np.roll(cells, dy, axis=0), dx, axis=1).astype(int)
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
        if dy or dx
    )
    want = (count == 3) | (cells & (count == 2))
    got = fields._life(torch.from_numpy(cells)[None, None])[0, 0].numpy()
    np.testing.assert_array_equal(got, want)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 9), st.integers(1, 9), st.integers(0, 2**32 - 1))
def test_distance_passes_against_brute_force(n_h, n_w, seed):
    """Two passes give min over pixels q of f(q) + torus distance(p, q)^2."""
    f = np.random.default_rng(seed).integers(0, 50, (n_h, n_w)).astype(np.float32)
    d = fields._distance_pass(torch.from_numpy(f)[None])
    got = fields._distance_pass(d.transpose(1, 2).contiguous()).transpose(1, 2)[0].numpy()
    ys, xs = np.mgrid[:n_h, :n_w]
    want = np.empty_like(f)
    for y in range(n_h):
        for x in range(n_w):
            dy, dx = np.abs(ys - y), np.abs(xs - x)
            dy, dx = np.minimum(dy, n_h - dy), np.minimum(dx, n_w - dx)
            want[y, x] = (f + dy**2 + dx**2).min()
    np.testing.assert_array_equal(got, want)


def test_triangle_gauges_are_the_numba_familys():
    from occmask.families import triangles

    u = np.random.default_rng(0).random((2, 30, 12))
    size, aspect = (6.0, 20.0), (1.0, 2.5)
    want = triangles._geometry(u, 32, 32, size, aspect, 1.0, 0.05)[1]
    got = fields._gauges(torch.from_numpy(u), size, aspect).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_aligned_patches_are_whole_patches():
    m = om.generate("patches", (2, 64, 64), 0.25, rng=0, patch=16, offset="aligned", device="cpu").numpy()
    blocks = m.reshape(2, 4, 16, 4, 16)
    assert (blocks.all(axis=(2, 4)) | ~blocks.any(axis=(2, 4))).all()
    assert blocks.all(axis=(2, 4)).sum(axis=(1, 2)).tolist() == [4, 4]


@pytest.mark.parametrize("family", [name for name in FAMILIES if name != "bernoulli"])
def test_evolving_masks_change_smoothly_and_static_ones_stay(family):
    """Successive frames of an evolving mask overlap more than independent frames do."""

    def overlap(temporal):
        m = om.generate(family, (2, 48, 48), 0.4, rng=3, temporal=temporal, device="cpu")
        return float((m[0] & m[1]).sum() / (m[0] | m[1]).sum())

    assert overlap("static") == 1.0
    assert overlap("evolving") > overlap("independent") + 0.1


def test_gradient_noise_wraps_its_lattice_and_vanishes_on_it():
    """Noise on a lattice of period (4, 5) is the same a period away, and 0 at lattice points
    (gradient noise), whatever the permutation."""
    gen = torch.Generator().manual_seed(0)
    perm = torch.argsort(torch.rand(2, 256, generator=gen), dim=-1)
    y = torch.rand(2, 1, 6, 1, generator=gen, dtype=torch.float64) * 4
    x = torch.rand(2, 1, 1, 7, generator=gen, dtype=torch.float64) * 5
    z = torch.rand(2, 3, 1, 1, generator=gen, dtype=torch.float64) * 9
    a = fields._octave(perm, y, x, z, 4, 5)
    torch.testing.assert_close(fields._octave(perm, y + 4, x + 5, z, 4, 5), a, rtol=0, atol=1e-5)
    on = fields._octave(perm, torch.floor(y), torch.floor(x), torch.floor(z), 4, 5)
    assert on.abs().max() == 0
    assert a.abs().max() > 0.1


# -- geometry: the device fields against the Numba families ------------------------------------------

GEOMETRY_SHAPES = ((48, 48), (32, 64))
GEOMETRY_COVERAGES = (0.2, 0.5)
DESCRIPTORS = ("n_components", "largest_fraction", "boundary")
SAMPLES = 50
ALPHA = 0.01


def _descriptors(mask):
    d = om.describe(mask)
    return {key: getattr(d, key) for key in DESCRIPTORS}


def _geometry_pvalues(family, numba_family=None):
    """KS p-values of every descriptor, shape and coverage: device masks of ``family`` against Numba
    masks of ``numba_family`` (the same family by default), from disjoint seeds."""
    out = {}
    for shape in GEOMETRY_SHAPES:
        for coverage in GEOMETRY_COVERAGES:
            seeds = list(range(SAMPLES))
            numba = MaskMaker(numba_family or family, coverage).masks(shape, seeds, threads=1)
            device = masks(MaskMaker(family, coverage), shape, [s + 10**6 for s in seeds], device="cpu")
            a, b = _descriptors(numba), _descriptors(device.numpy())
            for key in DESCRIPTORS:
                out[(shape, coverage, key)] = ks_2samp(a[key], b[key]).pvalue
    return out


def test_geometry_test_can_tell_families_apart():
    """The test has power: Numba perlin and device cgol are told apart (Bonferroni over the cells)."""
    pvalues = _geometry_pvalues("cgol", numba_family="perlin")
    assert min(pvalues.values()) * len(pvalues) < ALPHA


@pytest.mark.parametrize("family", FAMILIES)
def test_device_geometry_agrees_with_the_numba_family(family):
    """Two-sample KS tests of components, largest component share and boundary length; the smallest
    p-value of all families' cells, Bonferroni-adjusted, must stay above alpha (reachable: with
    50 masks a side the smallest possible p-value is about 1e-29)."""
    pvalues = _geometry_pvalues(family)
    cells = len(pvalues) * len(FAMILIES)
    worst = min(pvalues, key=pvalues.get)
    assert pvalues[worst] * cells >= ALPHA, f"{family} {worst}: p={pvalues[worst]:.2g}"


def _video_descriptors(videos):
    """Per video: 3-D components, the largest one's pixels, and the pixels that change between frames."""
    rows = []
    for video in videos:
        d = om.describe(video, spatiotemporal=True)
        rows.append((d.n_components_3d, d.largest_component_3d, int((video[1:] != video[:-1]).sum())))
    return np.array(rows)


@pytest.mark.parametrize("family", FAMILIES)
def test_device_dynamics_agree_with_the_numba_family(family):
    """Evolving videos: KS tests of their space-time descriptors, Bonferroni over all families' tests."""
    shape, seeds = (6, 32, 32), list(range(SAMPLES))
    maker = MaskMaker(family, 0.3)
    a = _video_descriptors(maker.masks(shape, seeds, threads=1))
    b = _video_descriptors(masks(maker, shape, [s + 10**6 for s in seeds], device="cpu").numpy())
    pvalues = [ks_2samp(a[:, i], b[:, i]).pvalue for i in range(3)]
    assert min(pvalues) * 3 * len(FAMILIES) >= ALPHA, pvalues


# -- CUDA --------------------------------------------------------------------------------------------


@cuda
@pytest.mark.parametrize("family", FAMILIES)
def test_cuda_masks_are_exact_and_reproducible(family):
    a = om.generate(family, (4, 64, 64), 0.3, rng=7, device="cuda")
    b = om.generate(family, (4, 64, 64), 0.3, rng=7, device="cuda")
    assert a.device.type == "cuda"
    assert torch.equal(a, b)
    assert a.sum(dim=(1, 2)).tolist() == [1229] * 4


# -- the benchmark -----------------------------------------------------------------------------------


@pytest.mark.repo_files("benchmarks/device.py")
def test_device_benchmark_measures_both_paths():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "device.py"
    spec = importlib.util.spec_from_file_location("occmask_device_benchmark", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = bench.measure(torch.device("cpu"), (2, 3, 16, 16), ["patches"], repeat=1)
    assert [row["family"] for row in rows] == ["patches"]
    assert rows[0]["device"] > 0
    assert rows[0]["cpu"] > 0
    assert "| patches |" in bench.table(rows)


@cuda
def test_occlude_on_a_cuda_batch_makes_its_masks_there():
    batch = torch.rand(4, 3, 32, 32, device="cuda")
    t = Occlude("perlin", 0.25, layout="BCHW", on_device=True, return_mask=True)
    params = t.make_params(batch)
    _, mask = t.apply(batch, params)
    assert mask.device.type == "cuda"
    assert (mask.sum(dim=(1, 2)) == 256).all()
    assert torch.equal(t.make_mask((32, 32), params["seeds"][0], device="cuda"), mask[0])


def test_no_family_parameter_may_be_called_device():
    with pytest.raises(ValueError, match="'device'"):
        om.Family("noise_device", "i.i.d.", _rows, defaults={"device": "cpu"})
