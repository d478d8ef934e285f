"""The :class:`OccludedDataset` wrapper: masks fixed by ``(seed, epoch, index)`` alone."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .. import _validate
from .transform import Occlude

__all__ = ["OccludedDataset"]

#: The largest epoch :meth:`OccludedDataset.set_epoch` takes: it lives in an int64 tensor.
MAX_EPOCH = 2**63 - 1


# --------------------------------------------------------------------------- OccludedDataset


class OccludedDataset(torch.utils.data.Dataset):
    """A dataset whose samples are occluded with masks fixed by ``(seed, epoch, index)`` alone.

    :class:`Occlude` draws its seeds from torch's generator, so its masks change
    with the number of ``DataLoader`` workers; this wrapper derives each
    sample's seed from ``(seed, epoch, index)`` instead, so a run gives the same
    masks with 0, 1 or any number of workers, forked or spawned, on any machine,
    and different masks for every index and epoch. Call :meth:`set_epoch` before
    each epoch (the epoch lives in shared memory, so persistent workers see it);
    :meth:`mask` rebuilds the mask of any sample.

    Parameters
    ----------
    dataset : map-style dataset
        ``dataset[i]`` is anything :class:`Occlude` takes: a tensor, a tuple or
        list such as ``(image, label)``, a dict (labels and other items are
        passed through). Negative indices count from the end, as in Python.
    transform : Occlude
        The occluder: family, coverage, fill, ``p``, layout and ``return_mask``.
        Its ``generator`` is not used. With ``return_mask=True`` the mask comes
        last: ``(x, mask)``, ``(x, label, ..., mask)``, or ``(item, mask)`` for
        other structures. Only its public two steps are used
        (:meth:`Occlude.make_params` with the dataset's seeds, then
        :meth:`Occlude.apply`).
    seed : int, default 0
        Root seed (a non-negative integer).

    Examples
    --------
    >>> import torch
    >>> from occmask.torch import Occlude, OccludedDataset
    >>> clips = torch.utils.data.TensorDataset(torch.ones(6, 4, 1, 32, 32), torch.arange(6))
    >>> data = OccludedDataset(clips, Occlude("perlin", 0.4, layout="TCHW", return_mask=True), seed=0)
    >>> x, label, mask = data[2]
    >>> x.shape, int(label), mask.shape, int(mask[0].sum())
    (torch.Size([4, 1, 32, 32]), 2, torch.Size([4, 32, 32]), 410)
    >>> bool((torch.from_numpy(data.mask(2)) == mask).all())           # rebuilt from (seed, epoch, index)
    True
    >>> data.set_epoch(1)
    >>> bool((data[2][2] != mask).any())                               # a new epoch, new masks
    True
    """

    def __init__(self, dataset: Any, transform: Occlude, seed: int = 0) -> None:
        if not isinstance(transform, Occlude):
            raise TypeError(f"transform must be an occmask.torch.Occlude, got {type(transform).__name__}")
        if not hasattr(dataset, "__getitem__"):
            raise TypeError(
                f"dataset must be a map-style dataset (with __getitem__), got {type(dataset).__name__}"
            )
        self.dataset = dataset
        self.transform = transform
        self.seed = _validate.integer("seed", seed, low=0)
        self._epoch = torch.zeros((), dtype=torch.int64).share_memory_()

    @property
    def epoch(self) -> int:
        """The epoch whose masks the dataset serves (see :meth:`set_epoch`)."""
        return int(self._epoch)

    def set_epoch(self, epoch: int) -> None:
        """Serve the masks of ``epoch`` (an integer in [0, 2**63 - 1]) from now on, in every worker."""
        self._epoch.fill_(_validate.integer("epoch", epoch, low=0, high=MAX_EPOCH))

    def __len__(self) -> int:
        return len(self.dataset)

    def _index(self, index: Any) -> int:
        """``index`` as a non-negative position: a negative one counts from the end, as in Python."""
        index = _validate.integer("index", index)
        if index < 0 and hasattr(self.dataset, "__len__"):
            n = len(self.dataset)
            if index < -n:
                raise IndexError(f"index {index} is out of range for a dataset of {n} items")
            index += n
        if index < 0:
            raise IndexError(f"index must be >= 0 for a dataset without a length, got {index}")
        return index

    def seeds(self, index: int, epoch: int | None = None, n: int = 1) -> list[int | None]:
        """The seeds of sample ``index`` in ``epoch`` (default: the current one); ``n`` for a batched item.

        None marks a sample that the transform's ``p`` leaves alone. Each seed is
        what :meth:`Occlude.make_mask` rebuilds a mask from. A negative index
        counts from the end.
        """
        index = self._index(index)
        epoch = self.epoch if epoch is None else _validate.integer("epoch", epoch, low=0, high=MAX_EPOCH)
        words = np.random.SeedSequence([self.seed, epoch, index]).generate_state(2 * n, np.uint64)
        p = self.transform.p
        return [
            int(words[2 * i]) % _validate.SEED_BOUND if int(words[2 * i + 1]) < p * 2.0**64 else None
            for i in range(n)
        ]

    def _params(self, item: Any, index: int, epoch: int | None) -> dict[str, Any]:
        return self.transform.make_params(item, seeds=lambda n: self.seeds(index, epoch, n))

    def __getitem__(self, index: int) -> Any:
        index = self._index(index)
        item = self.dataset[index]
        out = self.transform.apply(item, self._params(item, index, None))
        if self.transform.return_mask and isinstance(item, (tuple, list)):
            y, mask = out
            return (*y, mask)
        return out

    def mask(self, index: int, epoch: int | None = None) -> np.ndarray:
        """The mask of sample ``index`` in ``epoch`` (default: the current one), rebuilt from its seed.

        Returns
        -------
        ndarray of bool
            The mask the dataset serves for that sample (all False where ``p``
            leaves it alone), of the sample's shape without the channel axis.
        """
        index = self._index(index)
        item = self.dataset[index]
        return self.transform.make_masks(item, self._params(item, index, epoch))
