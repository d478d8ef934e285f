"""Evaluation in shards: every shard's partial report, merged, is the single-process report exactly."""

import itertools
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import occmask as om
from occmask.robustness import PartialReport, evaluate, merge, verdicts
from occmask.robustness.cells import fill_seed
from occmask.robustness.shards import plan

GRID = {"families": ("bernoulli", "perlin"), "coverages": (0.0, 0.3, 0.6), "n_boot": 40, "progress": False}


def _images(n=23, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 2, 12, 12), dtype=np.float32)
    return x, rng.integers(0, 3, n)


def _videos(n=13, t=3, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.random((n, t, 1, 12, 12), dtype=np.float32)
    return x, rng.integers(0, 3, n)


def _model(batch):
    """Three scores of each frame: its top half, bottom half and spread."""
    b = np.asarray(batch, dtype=np.float32)
    return 8 * np.stack([b[:, 0, :6].mean((1, 2)), b[:, 0, 6:].mean((1, 2)), b[:, -1].std((1, 2))], axis=1)


def _batch_dependent(batch):
    """Scores that depend on the other samples of the batch (as a model with batch statistics)."""
    b = np.asarray(batch, dtype=np.float32)
    return _model(b - b.mean(axis=0))


def bright(sample):
    """The region: the bright pixels of each frame."""
    return sample[:, 0] > 0.4


def _assert_same(merged, single):
    """Rows, curves and every per-sample array equal, value for value and dtype for dtype."""
    np.testing.assert_equal(merged.rows, single.rows)
    np.testing.assert_equal(merged.gaps, single.gaps)
    np.testing.assert_array_equal(merged.labels, single.labels)
    assert merged.summary() == single.summary()
    for a, b in zip(merged.cells, single.cells, strict=True):
        assert (a.temporal, a.family, a.coverage) == (b.temporal, b.family, b.coverage)
        for name in ("logp", "realised", "n_components", "largest_fraction", "region_hidden"):
            x, y = getattr(a, name), getattr(b, name)
            assert (x is None) == (y is None)
            if x is not None:
                assert x.dtype == y.dtype
                np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_merged_shards_of_images_with_a_region_and_noise_are_the_single_report(count):
    data, grid = _images(), dict(GRID, region=bright, fill="noise", batch_size=4)
    single = evaluate(_model, data, **grid)
    parts = [evaluate(_model, data, shard=(i, count), **grid) for i in range(count)]
    assert all(isinstance(p, PartialReport) and p.shard == (i, count) for i, p in enumerate(parts))
    assert [p.start for p in parts] == [0, *(p.stop for p in parts[:-1])]
    assert parts[-1].stop == 23
    _assert_same(merge(parts[::-1]), single)


def test_merged_shards_of_videos_in_every_mode_are_the_single_report():
    data = _videos()
    grid = dict(
        GRID, temporal=("evolving", "static", "independent"), rules=("sum_logprob", "mean_prob"),
        region=bright, fill="noise", batch_size=7,
    )  # fmt: skip
    single = evaluate(_model, data, **grid)
    parts = [evaluate(_model, data, shard=(i, 3), **grid) for i in range(3)]
    assert [(p.start, p.stop) for p in parts] == [(0, 4), (4, 8), (8, 13)]  # batches of 7 // 3 = 2 videos
    merged = merge(parts)
    _assert_same(merged, single)
    x = data[0]
    np.testing.assert_array_equal(
        merged.mask(9, family="perlin", coverage=0.6, temporal="static", sample=x[9]),
        single.mask(9, family="perlin", coverage=0.6, temporal="static", sample=x[9]),
    )


def test_a_shard_holds_exactly_what_its_samples_get_in_a_single_run():
    data, grid = _videos(), dict(GRID, region=bright, fill="noise", batch_size=6)
    single = evaluate(_model, data, **grid)
    part = evaluate(_model, data, shard=(1, 2), **grid)
    assert (part.start, part.stop, part.n_samples) == (6, 13, 13)  # batches of 2 videos: 3 | 4
    np.testing.assert_array_equal(part.labels, data[1][6:])
    for mine, whole in zip(part.cells, single.cells, strict=True):
        np.testing.assert_array_equal(mine.logp, whole.logp[6:])
        np.testing.assert_array_equal(mine.region_hidden, whole.region_hidden[6:])
    x = data[0]
    mask = single.mask(10, family="perlin", coverage=0.3, sample=x[10])  # rebuilt from (seed, cell, 10)
    seen = om.occlude(x[10], mask, "noise", rng=fill_seed(0, "perlin", 0.3, "evolving", 10), layout="TCHW")
    logp = np.log(_softmax(_model(seen).astype(np.float64)))
    np.testing.assert_allclose(part.cells[4].logp[10 - 6], logp, atol=1e-5)


@settings(max_examples=12, deadline=None)
@given(st.integers(1, 30), st.integers(1, 12), st.integers(1, 6), st.sampled_from([1, 2]))
def test_any_split_merges_into_the_single_report(n, batch_size, count, frames):
    rng = np.random.default_rng(n)
    x = rng.random((n, frames, 1, 8, 8), dtype=np.float32)
    data = (x if frames > 1 else x[:, 0], rng.integers(0, 3, n))
    grid = dict(GRID, families=("bernoulli", "rectangles"), fill="noise", batch_size=batch_size, n_boot=10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # small designs cannot reject: not the point here
        single = evaluate(_batch_dependent, data, **grid)
        parts = [evaluate(_batch_dependent, data, shard=(i, count), **grid) for i in range(count)]
        _assert_same(merge(parts), single)


def test_masks_and_noise_do_not_depend_on_the_batches():
    data, grid = _images(), dict(GRID, region=bright, fill="noise")
    a, b = evaluate(_model, data, batch_size=3, **grid), evaluate(_model, data, batch_size=10, **grid)
    for x, y in zip(a.cells, b.cells, strict=True):
        np.testing.assert_array_equal(x.realised, y.realised)
        np.testing.assert_allclose(x.logp, y.logp, atol=1e-6)  # the model's sums may round apart


def test_shards_are_whole_batches_so_a_batch_dependent_model_merges_exactly():
    data, grid = _images(), dict(GRID, batch_size=5)
    single = evaluate(_batch_dependent, data, **grid)
    _assert_same(merge([evaluate(_batch_dependent, data, shard=(i, 2), **grid) for i in range(2)]), single)


def test_a_dataset_shard_reads_its_own_samples():
    x, y = _images(n=40)
    read = []

    class Images:
        def __len__(self):
            return len(y)

        def __getitem__(self, i):
            read.append(i)
            return x[i], int(y[i])

    part = evaluate(_model, Images(), shard=(2, 3), **dict(GRID, batch_size=4))
    assert (part.start, part.stop) == (24, 40)
    assert set(read) - set(range(16)) == set(range(24, 40))  # and the first samples, for the checks
    np.testing.assert_array_equal(part.labels, y[24:])


def test_a_partial_report_pickles_and_merges():
    data, grid = _images(), dict(GRID, region=bright, fill=np.full((2, 1, 1), 0.5, np.float32))
    parts = [pickle.loads(pickle.dumps(evaluate(_model, data, shard=(i, 2), **grid))) for i in range(2)]
    _assert_same(merge(parts), evaluate(_model, data, **grid))


def test_plan_deals_whole_batches_evenly():
    for n in range(1, 40):
        for per_batch in (1, 4, 7):
            for count in (1, 2, 3, 5):
                bounds = [plan(n, per_batch, (i, count)) for i in range(count)]
                assert bounds[0][0] == 0
                assert bounds[-1][1] == n
                assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
                assert all(start % per_batch == 0 for start, stop in bounds if stop > start)
                batches = [-(-(stop - start) // per_batch) for start, stop in bounds]
                assert max(batches) - min(batches) <= 1


def test_parts_that_do_not_fit_are_refused_naming_why():
    data, grid = _images(), dict(GRID, batch_size=4)
    parts = [evaluate(_model, data, shard=(i, 3), **grid) for i in range(3)]
    with pytest.raises(ValueError, match=r"shards \[1\] of 3 are missing"):
        merge([parts[0], parts[2]])
    with pytest.raises(ValueError, match=r"shard 2 of 3 is given twice \(reports\[1\] and reports\[3\]\)"):
        merge([parts[0], parts[2], parts[1], parts[2]])
    cases = {
        "seed: 0 vs 1": dict(grid, seed=1),
        "batch_size: 4 vs 8": dict(grid, batch_size=8),
        "fill: 0.0 vs 1.0": dict(grid, fill=1.0),
        "coverages": dict(grid, coverages=(0.0, 0.3)),
        "region: None vs": dict(grid, region=bright),
    }
    for message, other in cases.items():
        with pytest.raises(ValueError, match=f"different evaluations.*differ in {message}"):
            merge([parts[0], parts[1], evaluate(_model, data, shard=(2, 3), **other)])
    with pytest.raises(ValueError, match="differ in shard count: 3 vs 2"):
        merge([parts[0], evaluate(_model, data, shard=(1, 2), **grid)])
    with pytest.raises(ValueError, match="differ in n_samples: 23 vs 22"):
        merge([*parts[:2], evaluate(_model, (data[0][:22], data[1][:22]), shard=(2, 3), **grid)])
    with pytest.raises(ValueError, match=r"different models or data: .* of the first 16 samples"):
        merge([*parts[:2], evaluate(lambda b: _model(b) * 1.5, data, shard=(2, 3), **grid)])
    same_but_device = merge([*parts[:2], evaluate(_model, data, shard=(2, 3), **dict(grid, progress=True))])
    np.testing.assert_equal(same_but_device.rows, merge(parts).rows)


def test_merge_and_shard_take_only_what_they_can_use():
    data = _images()
    single = evaluate(_model, data, **GRID)
    for bad in ([], single, [single], "parts", [evaluate(_model, data, shard=(0, 1), **GRID), 3]):
        with pytest.raises(TypeError, match="reports"):
            merge(bad)
    for shard, error, message in [
        ((2, 2), ValueError, r"shard index must be an integer in \[0, 1\], got 2"),
        ((-1, 2), ValueError, "shard index"),
        ((0, 0), ValueError, r"shard count must be an integer in \[1, inf\], got 0"),
        ((0.0, 2), TypeError, "shard index must be an integer"),
        ("01", TypeError, "shard must be a pair"),
        (3, TypeError, "shard must be a pair"),
        ((0, 1, 2), TypeError, "shard must be a pair"),
    ]:
        with pytest.raises(error, match=message):
            evaluate(_model, data, shard=shard, **GRID)


def test_an_unresolvable_merge_warns_where_merge_is_called(monkeypatch):
    x = _images(n=8)[0]
    data = (x, _model(x).argmax(1))  # right on every clean sample: some cells are tested
    parts = [evaluate(_model, data, shard=(i, 2), **dict(GRID, batch_size=2)) for i in range(2)]
    monkeypatch.setattr(verdicts, "smallest_p", lambda n: 1.0)  # no design can reject
    with pytest.warns(RuntimeWarning, match="cannot reject") as caught:
        merged = merge(parts)
    assert caught[0].filename == __file__
    assert any(row["resolvable"] is False for row in merged.rows)


def test_timings_of_a_merge_are_the_longest_shards():
    data = _images()
    parts = [evaluate(_model, data, shard=(i, 2), **dict(GRID, batch_size=4)) for i in range(2)]
    merged = merge(parts)
    assert merged.timings["grid"] == max(p.timings["grid"] for p in parts)
    assert merged.timings["total"] >= merged.timings["grid"]
    assert merged.timings["statistics"] > 0


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
