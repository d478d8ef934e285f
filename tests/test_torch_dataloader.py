"""Occlude inside a DataLoader: distinct masks per worker and sample, repeatable runs, spawn workers."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import occmask as om  # noqa: E402
from occmask.calibrate import target_count  # noqa: E402
from occmask.torch import Occlude  # noqa: E402

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
    transform = transform or Occlude("perlin", (0.2, 0.6), scale=6.0, return_mask=True)
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
    assert again_seeds == seeds and torch.equal(again, masks)
    _, _, other, other_seeds, _ = run(seed=8)
    assert not set(other_seeds) & set(seeds)


def test_main_process_loading_follows_manual_seed():
    first = run(seed=3, workers=0)
    second = run(seed=3, workers=0)
    assert first[3] == second[3] and torch.equal(first[2], second[2])
    check_masks(first[0], first[1], first[2], first[3])


def test_spawned_workers_repeat_the_forked_run(forked):
    """Spawned workers unpickle the transform; with the same manual seed they draw the very same masks.

    (Workers seed torch from the loader's base seed plus their id, whatever the start method.)
    """
    transform, hidden, masks, seeds, workers = run(seed=7, context="spawn")
    assert set(workers) == {0, 1}
    check_masks(transform, hidden, masks, seeds)
    assert seeds == forked[3] and torch.equal(masks, forked[2])
