"""Occlude inside a DataLoader: distinct masks per worker and sample, repeatable runs, spawn workers."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import occmask as om  # noqa: E402
from occmask.calibrate import target_count  # noqa: E402
from occmask.torch import Occlude, OccludedDataset  # noqa: E402

SHAPE = (4, 16, 16)  # (T, H, W) of every video
N = 12


class OccludedVideos(torch.utils.data.Dataset):
    """Constant (T, 1, H, W) videos, occluded; each item carries its mask, seed and worker id."""

    def __init__(self, transform):
        self.transform = transform

    def __len__(self):
        return N

    def __getitem__(self, index):
        video = torch.ones(SHAPE[0], 1, *SHAPE[1:])
        hidden, mask = self.transform(video)
        info = torch.utils.data.get_worker_info()
        return hidden, mask, self.transform.last_seeds[0], -1 if info is None else info.id


def run(seed, context=None, workers=2, transform=None):
    transform = transform or Occlude("perlin", (0.2, 0.6), scale=6.0, layout="TCHW", return_mask=True)
    loader = torch.utils.data.DataLoader(
        OccludedVideos(transform), batch_size=3, num_workers=workers, multiprocessing_context=context
    )
    torch.manual_seed(seed)
    batches = list(loader)
    hidden, masks, seeds, workers = (torch.cat([b[i] for b in batches]) for i in range(4))
    return transform, hidden, masks, seeds.tolist(), workers.tolist()


def check_masks(transform, hidden, masks, seeds):
    assert len({bytes(m.numpy()) for m in masks}) == N, "two samples got the same mask"
    assert len(set(seeds)) == N
    assert torch.equal(hidden == 0, masks[:, :, None])
    for mask, seed in zip(masks, seeds, strict=True):  # every mask is rebuilt from its seed alone
        np.testing.assert_array_equal(mask.numpy(), transform.make_mask(SHAPE, seed))
        counts = mask.sum(dim=(1, 2))
        assert (counts == target_count(transform.sample_coverage(seed), SHAPE[1] * SHAPE[2])).all()


@pytest.fixture(scope="module")
def forked():
    om.warmup()  # compile once in the parent, before forking
    return run(seed=7)


def test_workers_draw_distinct_masks(forked):
    transform, hidden, masks, seeds, workers = forked
    assert set(workers) == {0, 1}
    check_masks(transform, hidden, masks, seeds)


def test_same_manual_seed_same_masks(forked):
    _, _, masks, seeds, _ = forked
    _, _, again, again_seeds, _ = run(seed=7)
    assert again_seeds == seeds
    assert torch.equal(again, masks)
    _, _, _other, other_seeds, _ = run(seed=8)
    assert not set(other_seeds) & set(seeds)


def test_main_process_loading_follows_manual_seed():
    first = run(seed=3, workers=0)
    second = run(seed=3, workers=0)
    assert first[3] == second[3]
    assert torch.equal(first[2], second[2])
    check_masks(first[0], first[1], first[2], first[3])


def test_spawned_workers_repeat_the_forked_run(forked):
    """Spawned workers unpickle the transform; with the same manual seed they draw the very same masks.

    (Workers seed torch from the loader's base seed plus their id, whatever the start method.)
    """
    transform, hidden, masks, seeds, workers = run(seed=7, context="spawn")
    assert set(workers) == {0, 1}
    check_masks(transform, hidden, masks, seeds)
    assert seeds == forked[3]
    assert torch.equal(masks, forked[2])


# ----------------------------------------------------------------------------- OccludedDataset


class Clips(torch.utils.data.Dataset):
    """(T, 1, H, W) clips with a label each: clip i is filled with i + 1 (no zeros before occlusion)."""

    def __len__(self):
        return 10

    def __getitem__(self, index):
        return torch.full((SHAPE[0], 1, *SHAPE[1:]), float(index + 1)), index


def occluded_dataset(p=1.0):
    transform = Occlude("perlin", (0.2, 0.6), scale=6.0, layout="TCHW", p=p, return_mask=True)
    return OccludedDataset(Clips(), transform, seed=11)


def epoch_masks(dataset, workers, context=None, epochs=(0,), persistent=False):
    """Every epoch's (index, label, mask, x) batches from a DataLoader, in sample order."""
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=3,
        num_workers=workers,
        multiprocessing_context=context if workers else None,
        persistent_workers=persistent and workers > 0,
    )
    out = []
    for epoch in epochs:
        dataset.set_epoch(epoch)
        batches = list(loader)
        out.append(tuple(torch.cat([b[i] for b in batches]) for i in range(3)))
    return out


@pytest.fixture(scope="module")
def main_process_epochs():
    om.warmup()
    return epoch_masks(occluded_dataset(), workers=0, epochs=(0, 1))


@pytest.mark.parametrize(("workers", "context"), [(1, "fork"), (3, "fork"), (1, "spawn"), (3, "spawn")])
# torch warns when there are more workers than cores (3 on a 2-core machine)
@pytest.mark.filterwarnings("ignore:This DataLoader will create:UserWarning")
def test_dataset_masks_do_not_depend_on_workers(main_process_epochs, workers, context):
    """0, 1 or 3 workers, forked or spawned: the same masks, as the seed, epoch and index fix them."""
    got = epoch_masks(occluded_dataset(), workers, context, epochs=(0, 1))
    for (x, labels, masks), (x0, labels0, masks0) in zip(got, main_process_epochs, strict=True):
        assert torch.equal(labels, labels0)
        assert torch.equal(masks, masks0)
        assert torch.equal(x, x0)


def test_dataset_masks_follow_seed_epoch_and_index(main_process_epochs):
    dataset = occluded_dataset()
    (x0, labels, masks0), (_, _, masks1) = main_process_epochs
    assert labels.tolist() == list(range(10))  # labels pass through
    assert len({bytes(m.numpy()) for m in masks0}) == 10  # every index its own mask
    assert all(not torch.equal(a, b) for a, b in zip(masks0, masks1, strict=True))  # every epoch anew
    for index in range(10):  # rebuilt from (seed, epoch, index) alone, in any order
        for epoch, masks in ((1, masks1), (0, masks0)):
            np.testing.assert_array_equal(dataset.mask(index, epoch), masks[index].numpy())
            (seed,) = dataset.seeds(index, epoch)
            np.testing.assert_array_equal(dataset.transform.make_mask(SHAPE, seed), masks[index].numpy())
    expected = torch.arange(1, 11, dtype=torch.float32)[:, None, None, None, None].expand_as(x0)
    assert torch.equal(x0, torch.where(masks0[:, :, None], 0.0, expected))
    other = OccludedDataset(Clips(), dataset.transform, seed=12)
    assert not np.array_equal(other.mask(0, 0), dataset.mask(0, 0))


def test_persistent_workers_see_set_epoch(main_process_epochs):
    got = epoch_masks(occluded_dataset(), workers=2, epochs=(0, 1), persistent=True)
    for (_, _, masks), (_, _, masks0) in zip(got, main_process_epochs, strict=True):
        assert torch.equal(masks, masks0)


def test_dataset_p_leaves_whole_samples_alone():
    dataset = occluded_dataset(p=0.5)
    seeds = [dataset.seeds(i, 0)[0] for i in range(10)]
    assert 0 < sum(s is None for s in seeds) < 10
    for index, seed in enumerate(seeds):
        x, label, mask = dataset[index]
        assert label == index
        assert bool(mask.any()) == (seed is not None)
        assert bool((x == 0).any()) == (seed is not None)


def test_dataset_items_without_labels_and_bad_arguments():
    clips = torch.ones(4, 2, 1, 8, 8)
    dataset = OccludedDataset(clips, Occlude("bernoulli", 0.5, layout="TCHW"))
    assert dataset[1].shape == (2, 1, 8, 8)
    assert (dataset[1] == 0).sum() == 2 * 32
    with pytest.raises(TypeError, match=r"transform must be an occmask.torch.Occlude"):
        OccludedDataset(clips, lambda x: x)
    with pytest.raises(ValueError, match="seed"):
        OccludedDataset(clips, Occlude("bernoulli", 0.5), seed=-1)
    with pytest.raises(ValueError, match="epoch"):
        dataset.set_epoch(-2)
    with pytest.raises(TypeError, match="epoch"):
        dataset.set_epoch(1.5)
    with pytest.raises(TypeError, match="index"):
        dataset.seeds(1.0)


def test_dataset_takes_negative_indices_and_epochs_up_to_int64():
    clips = torch.utils.data.TensorDataset(torch.ones(4, 2, 1, 8, 8), torch.arange(4))
    dataset = OccludedDataset(clips, Occlude("perlin", 0.5, layout="TCHW", return_mask=True), seed=3)
    last, first = dataset[-1], dataset[-4]
    for got, want in ((last, dataset[3]), (first, dataset[0])):  # Python's negative indices
        assert all(torch.equal(a, b) for a, b in zip(got, want, strict=True))
    assert dataset.seeds(-1) == dataset.seeds(3)
    np.testing.assert_array_equal(dataset.mask(-1), last[2].numpy())
    with pytest.raises(IndexError, match="-5"):
        dataset[-5]
    dataset.set_epoch(2**63 - 1)  # the largest epoch the shared int64 holds
    assert dataset.epoch == 2**63 - 1
    assert dataset[0][2].any()
    with pytest.raises(ValueError, match=r"epoch must be an integer in \[0, 9223372036854775807\]"):
        dataset.set_epoch(2**63)
    with pytest.raises(ValueError, match="epoch"):
        dataset.seeds(0, epoch=2**63)


def test_dataset_items_may_be_dicts():
    class Dicts(torch.utils.data.Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, index):
            return {"video": torch.ones(2, 1, 8, 8), "label": index}

    dataset = OccludedDataset(Dicts(), Occlude("bernoulli", 0.5, layout="TCHW", return_mask=True), seed=1)
    item, mask = dataset[2]
    assert item["label"] == 2
    assert torch.equal(item["video"][:, 0] == 0, mask)
    np.testing.assert_array_equal(dataset.mask(2), mask.numpy())
