"""The study's CNNs: shapes, both architectures, seeded initialisation, training record."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from occmask.study.model import build_cnn, log_probs, train  # noqa: E402


def test_log_probs_shape_and_normalisation():
    lp = log_probs(build_cnn(seed=0), np.zeros((2, 3, 64, 64), np.uint8))
    assert lp.shape == (2, 3, 10)
    assert lp.dtype == np.float32
    np.testing.assert_allclose(np.exp(lp).sum(-1), 1, atol=1e-5)


@pytest.mark.parametrize("arch", ["globalpool", "flatten"])
def test_both_architectures_map_frames_to_logits(arch):
    model = build_cnn(arch=arch, seed=0)
    assert model(torch.zeros(3, 1, 64, 64)).shape == (3, 10)
    with pytest.raises(ValueError, match="arch must be one of"):
        build_cnn(arch="resnet")


def test_seeded_weights_leave_global_state_alone():
    state = torch.get_rng_state()
    a, b = build_cnn(seed=7), build_cnn(seed=7)
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not all(
        torch.equal(p, q) for p, q in zip(a.parameters(), build_cnn(seed=8).parameters(), strict=True)
    )


def test_train_learns_a_trivial_task_and_records_history():
    frames = np.zeros((256, 64, 64), np.uint8)
    labels = np.arange(256) % 2
    frames[labels == 1, 20:40, 20:40] = 255  # class 1: a bright square
    history = train(
        build_cnn(seed=0), lambda epoch: frames, labels, frames, labels, epochs=4, seed=0, progress=False
    )
    assert len(history.train_loss) == len(history.val_acc) == 4
    assert history.val_acc[-1] == 1.0
    assert history.train_loss[-1] < history.train_loss[0]
