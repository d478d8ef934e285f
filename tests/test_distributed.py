"""Two processes under torch.distributed (gloo, loopback only), started as torchrun would start them.

Each rank runs this file as a script: ``evaluate`` shards by rank and returns the merged
report, which must equal the single-process report exactly; an error on one rank is
raised on both; and ``OccludedDataset`` under a ``DistributedSampler`` gives every index,
on either rank and in every epoch, the mask it gets alone.
"""

import os
import pickle
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
if not torch.distributed.is_available():
    pytest.skip("this torch build has no torch.distributed", allow_module_level=True)

import occmask  # noqa: E402
from occmask.robustness import evaluate  # noqa: E402
from occmask.torch import Occlude, OccludedDataset  # noqa: E402

WORLD = 2
GRID = {"families": ("bernoulli", "perlin"), "coverages": (0.0, 0.3, 0.6), "n_boot": 40, "progress": False}
EPOCHS = 3


def _net():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(16, 3),
    )


def bright(sample):
    """The region: the bright pixels of each frame."""
    return sample[:, 0] > 0.4


def _cases():
    """Name -> (data, settings): images and videos, with a region and a noise fill."""
    rng = np.random.default_rng(0)
    images = rng.random((21, 1, 12, 12), dtype=np.float32), rng.integers(0, 3, 21)
    videos = rng.random((9, 3, 1, 12, 12), dtype=np.float32), rng.integers(0, 3, 9)
    video_grid = {"temporal": ("evolving", "static"), "rules": ("sum_logprob", "mean_prob"), "batch_size": 5}
    return {
        "images": (images, dict(GRID, region=bright, fill="noise", batch_size=4)),
        "videos": (videos, dict(GRID, region=bright, fill="noise", **video_grid)),
    }


def _content(report):
    """What must not change with the number of processes: rows, curves and per-sample arrays."""
    arrays = {
        name: [getattr(cell, name) for cell in report.cells]
        for name in ("logp", "realised", "n_components", "largest_fraction", "region_hidden")
    }
    return {"rows": report.rows, "gaps": report.gaps, "labels": report.labels, **arrays}


def _dataset():
    rng = np.random.default_rng(1)
    images = torch.from_numpy(rng.random((11, 1, 16, 16), dtype=np.float32))  # 11: the sampler pads
    items = torch.utils.data.TensorDataset(images, torch.arange(11))
    return OccludedDataset(items, Occlude("perlin", 0.4, return_mask=True), seed=3)


def _sampled():
    """(epoch, index, mask) of every item this rank loads through a DistributedSampler and a worker."""
    data = _dataset()
    sampler = torch.utils.data.DistributedSampler(data, shuffle=True, seed=5)
    loader = torch.utils.data.DataLoader(
        data, batch_size=3, sampler=sampler, num_workers=1, persistent_workers=True
    )
    found = []
    for epoch in range(EPOCHS):
        sampler.set_epoch(epoch)
        data.set_epoch(epoch)
        masks = torch.cat([mask for _, _, mask in loader])
        found += [(epoch, int(i), m.numpy()) for i, m in zip(list(sampler), masks, strict=True)]
    return found


class _Counted:
    """The network, counting the samples it scores (the dry run on the first 16 included)."""

    def __init__(self):
        self.net, self.scored = _net(), 0

    def __call__(self, batch):
        self.scored += len(batch)
        return self.net(batch)


def _fails_on_rank_1(batch):
    if torch.distributed.get_rank() == 1:
        raise ValueError("this model cannot run on rank 1")
    return torch.zeros(len(batch), 3)


def _rank(out: Path) -> None:
    """One process of the group (run as ``python test_distributed.py OUT`` with torchrun's variables)."""
    torch.distributed.init_process_group("gloo")
    rank = torch.distributed.get_rank()
    found = {name: _content(evaluate(_net(), data, **grid)) for name, (data, grid) in _cases().items()}
    data, grid = _cases()["images"]
    model = _Counted()
    evaluate(model, data, **grid)
    found["scored"] = model.scored
    try:
        evaluate(_fails_on_rank_1, _cases()["images"][0], **GRID)
    except Exception as error:
        found["error"] = f"{type(error).__name__}: {error}"
    found["masks"] = _sampled()
    torch.distributed.destroy_process_group()
    (out / f"rank{rank}.pkl").write_bytes(pickle.dumps(found))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    """What both ranks found, and the single-process reports (made first: the ranks reuse the kernels)."""
    single = {name: _content(evaluate(_net(), data, **grid)) for name, (data, grid) in _cases().items()}
    out = tmp_path_factory.mktemp("ranks")
    src = str(Path(occmask.__file__).resolve().parents[1])
    env = {
        **os.environ,
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(_free_port()),
        "WORLD_SIZE": str(WORLD),
        "GLOO_SOCKET_IFNAME": "lo0" if sys.platform == "darwin" else "lo",
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]),
    }
    started = [
        subprocess.Popen(
            [sys.executable, __file__, str(out)],
            env={**env, "RANK": str(rank), "LOCAL_RANK": str(rank)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for rank in range(WORLD)
    ]
    try:
        logs = [process.communicate(timeout=180)[0] for process in started]
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
    for rank, (process, log) in enumerate(zip(started, logs, strict=True)):
        assert process.returncode == 0, f"rank {rank} exited with {process.returncode}:\n{log}"
    return single, [pickle.loads((out / f"rank{rank}.pkl").read_bytes()) for rank in range(WORLD)]


def test_every_rank_returns_the_single_process_report(ranks):
    single, found = ranks
    for rank in found:
        for name, expected in single.items():
            assert rank[name]["labels"].size == expected["labels"].size
            np.testing.assert_equal(rank[name], expected)


def test_each_rank_scores_its_own_share(ranks):
    _, found = ranks
    data, grid = _cases()["images"]
    model = _Counted()
    evaluate(model, data, **grid)
    shares = [rank["scored"] for rank in found]
    assert sum(shares) == model.scored + 16
    assert abs(shares[0] - shares[1]) <= 4 * 5


def test_an_error_on_one_rank_is_raised_on_every_rank(ranks):
    _, found = ranks
    assert found[1]["error"] == "ValueError: this model cannot run on rank 1"
    assert found[0]["error"].startswith("RuntimeError: evaluate failed on rank 1 of 2 (this is rank 0)")
    assert found[0]["error"].endswith("this model cannot run on rank 1")


def test_a_distributed_sampler_gives_every_index_its_own_mask(ranks):
    _, found = ranks
    alone = _dataset()
    records = [record for rank in found for record in rank["masks"]]
    for epoch in range(EPOCHS):
        seen = [index for e, index, _ in records if e == epoch]
        assert sorted(set(seen)) == list(range(11))
        assert len(seen) == 12
    for epoch, index, mask in records:
        alone.set_epoch(epoch)
        np.testing.assert_array_equal(mask, alone[index][-1].numpy())
    first = {index: mask for e, index, mask in records if e == 0}
    later = {index: mask for e, index, mask in records if e == 1}
    assert all(not np.array_equal(first[i], later[i]) for i in range(11))


if __name__ == "__main__":
    _rank(Path(sys.argv[1]))
