"""PyTorch adapter: :func:`occlude` for tensors, the :class:`Occlude` transform and :class:`OccludedDataset`.

This package imports torch; ``import occmask`` does not. Masks are made by the
batch engine (:mod:`occmask._batch`, numpy and Numba) and moved to the data's
device once; the data itself never leaves its device. With a device, masks are
made there by torch ops instead (:mod:`occmask.torch.device`:
``occmask.generate(..., device=...)`` and ``Occlude(..., on_device=True)``).

:class:`Occlude` draws a fresh seed from torch's random generator for every
sample, so ``torch.manual_seed`` governs it and every ``DataLoader`` worker
draws different masks, exactly as with torchvision's random transforms. The
seed is all it takes to rebuild a sample's mask (:meth:`Occlude.make_mask`).
It follows torchvision's v2 protocol without depending on torchvision: it takes
one tensor, ``(image, label)``, dicts and nested structures, and its two steps
``make_params`` and ``apply`` are public.

The parts: :mod:`occmask.torch.functional` (:func:`occlude` and the fills),
:mod:`occmask.torch.transform` (:class:`Occlude`), :mod:`occmask.torch.dataset`
(:class:`OccludedDataset`), :mod:`occmask.torch.structure` (what a v2
structure holds) and :mod:`occmask.torch.device` (masks made on a device).
"""

try:
    import torch  # noqa: F401
except ModuleNotFoundError as error:  # the optional dependency, named with the way to install it
    raise ModuleNotFoundError(
        "occmask.torch needs PyTorch, which is not installed: pip install 'occmask[torch]'", name="torch"
    ) from error

from .dataset import OccludedDataset
from .functional import occlude
from .transform import Occlude

__all__ = ["Occlude", "OccludedDataset", "occlude"]
