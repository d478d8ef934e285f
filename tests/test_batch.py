"""The batch engine: masks of many samples from their seeds alone, on any number of threads."""

import itertools
import pickle

import numpy as np
import pytest

import occmask as om
from occmask._batch import MaskMaker
from occmask.calibrate import target_count

SHAPE = (3, 24, 24)


@pytest.mark.parametrize("family", sorted(om.FAMILIES))
def test_masks_are_those_of_generate_for_the_same_seeds(family):
    seeds = [5, None, 2**64 - 1, np.random.SeedSequence(9, spawn_key=(0, 1, 2))]
    masks = MaskMaker(family, 0.3).masks(SHAPE, seeds, threads=1)
    assert masks.shape == (4, *SHAPE)
    assert masks.dtype == bool
    for mask, seed in zip(masks, seeds, strict=True):
        if seed is None:
            assert not mask.any()
        else:
            np.testing.assert_array_equal(mask, om.generate(family, SHAPE, 0.3, rng=seed))


@pytest.mark.parametrize("threads", [2, 3, None])
def test_masks_do_not_depend_on_the_threads(threads):
    maker = MaskMaker("perlin", (0.1, 0.7), temporal="static", params={"scale": 5.0})
    seeds = [None if i % 4 == 3 else 1000 + i for i in range(11)]
    calls = []
    one = maker.masks(SHAPE, seeds, threads=1)
    many = maker.masks(SHAPE, seeds, threads=threads, then=lambda m, a, b: calls.append((a, b)))
    np.testing.assert_array_equal(one, many)
    covered = sorted(calls)  # every sample handed to ``then`` once, in runs
    assert covered[0][0] == 0
    assert covered[-1][1] == 11
    assert all(a[1] == b[0] for a, b in itertools.pairwise(covered))


def test_a_coverage_range_is_the_seeds_first_draw_and_can_be_replaced():
    maker = MaskMaker("bernoulli", (0.2, 0.6))
    seeds = [1, 2, 3]
    drawn = maker.coverages(seeds)
    np.testing.assert_allclose(
        drawn, [0.2 + 0.4 * np.random.default_rng(s).random() for s in seeds], rtol=1e-15
    )
    masks = maker.masks(SHAPE, seeds, threads=1)
    for mask, c in zip(masks, drawn, strict=True):
        assert (mask.sum(axis=(1, 2)) == target_count(c, 24 * 24)).all()
    replaced = maker.masks(SHAPE, seeds, coverages=[0.5, None, 0.1], threads=1)
    assert (replaced[0].sum(axis=(1, 2)) == target_count(0.5, 24 * 24)).all()
    np.testing.assert_array_equal(replaced[1], masks[1])
    assert (replaced[2].sum(axis=(1, 2)) == target_count(0.1, 24 * 24)).all()


def test_regions_and_bad_arguments():
    region = np.zeros(SHAPE[1:], bool)
    region[:12] = True
    maker = MaskMaker("perlin", 0.5)
    masks = maker.masks(SHAPE, [4, 5], regions=[region, None], threads=1)
    assert (masks[0][:, region].sum(axis=1) == target_count(0.5, region.sum())).all()
    np.testing.assert_array_equal(masks[1], om.generate("perlin", SHAPE, 0.5, rng=5))
    with pytest.raises(ValueError, match="seed"):
        maker.masks(SHAPE, [-1])
    with pytest.raises(TypeError, match="seed"):
        maker.masks(SHAPE, [1.5])
    with pytest.raises(ValueError, match="regions must have one entry per seed"):
        maker.masks(SHAPE, [1, 2], regions=[region])
    with pytest.raises(ValueError, match="coverage"):
        maker.masks(SHAPE, [1], coverages=[1.5])
    with pytest.raises(ValueError, match="family"):
        MaskMaker("nope", 0.5)


def test_a_maker_pickles_by_family_name():
    maker = MaskMaker("triangles", 0.4, match="video", params={"size": 6.0})
    clone = pickle.loads(pickle.dumps(maker))
    np.testing.assert_array_equal(clone.masks(SHAPE, [8], threads=1), maker.masks(SHAPE, [8], threads=1))


def test_occlude_and_occluded_dataset_share_masks_at_one_and_two_threads():
    torch = pytest.importorskip("torch")
    from occmask.torch import Occlude, OccludedDataset

    batches = torch.ones(2, 6, 4, 1, 24, 24)  # items of (B, T, C, H, W): six samples each
    found = []
    for threads in (1, 2):
        t = Occlude("perlin", (0.2, 0.6), threads=threads, return_mask=True, scale=5.0)
        data = OccludedDataset(batches, t, seed=3)
        _, mask = data[1]
        seeds = data.seeds(1, n=6)
        _, direct = t.apply(batches[1], t.make_params(batches[1], seeds=seeds))
        engine = MaskMaker("perlin", (0.2, 0.6), params={"scale": 5.0}).masks(
            (4, 24, 24), seeds, threads=threads
        )
        for other in (direct.numpy(), data.mask(1), engine):
            np.testing.assert_array_equal(mask.numpy(), other)
        for b, seed in enumerate(seeds):
            np.testing.assert_array_equal(mask[b].numpy(), t.make_mask((4, 24, 24), seed))
        found.append(mask)
    assert torch.equal(found[0], found[1])


@pytest.mark.parametrize("threads", [1, 2])
def test_evaluate_masks_are_the_engines_for_the_same_seeds(threads):
    """occmask.robustness makes its masks with the batch engine: a report's masks are the engine's
    for the cell's seeds, at any thread count, and generate()'s for each seed."""
    from occmask.robustness import evaluate
    from occmask.robustness.cells import mask_seed

    x = np.random.default_rng(0).random((6, 1, 16, 16), dtype=np.float32)
    y = np.arange(6) % 2

    def model(batch):
        return np.stack([batch.mean((1, 2, 3)), 1 - batch.mean((1, 2, 3))], axis=1) * 10

    report = evaluate(model, (x, y), families=["perlin"], coverages=[0.4], n_boot=20, progress=False, seed=3)
    seeds = [mask_seed(3, "perlin", 0.4, "evolving", i) for i in range(6)]
    engine = MaskMaker("perlin", 0.4).masks((1, 16, 16), seeds, threads=threads)
    for i, seed in enumerate(seeds):
        mask = report.mask(i, family="perlin", coverage=0.4)
        np.testing.assert_array_equal(mask, engine[i, 0])
        np.testing.assert_array_equal(mask, om.generate("perlin", (16, 16), 0.4, rng=seed))
