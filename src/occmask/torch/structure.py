"""What :class:`~occmask.torch.Occlude` does with each entry of a torchvision v2 structure.

torchvision's v2 transforms take one tensor, ``(image, label)``, dicts and nested
tuples and lists, flatten them (``torch.utils._pytree``), transform some entries
and put the structure back together. :func:`parse` does the same without
importing torchvision: ``tv_tensors`` are recognised by their class's name and
module. An ``Image`` (C, H, W) or (B, C, H, W) and a ``Video`` (T, C, H, W) or
(B, T, C, H, W) are occluded by their type; a plain tensor by v2's rule for
pure tensors (``Transform._needs_transform_list``): the first one, in the order
of the flattening, is an image only when the structure holds no ``Image`` or
``Video``. A segmentation ``Mask`` may get an ignore index where pixels are
hidden; everything else (labels, ``BoundingBoxes``, ``KeyPoints``, other
tensors) is passed through untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils import _pytree

__all__ = ["Parsed", "parse", "tv_kind"]

#: The layout of a tv_tensors ``Image`` and ``Video`` for each number of dimensions.
TV_LAYOUTS: Mapping[str, Mapping[int, str]] = {
    "Image": {3: "CHW", 4: "BCHW"},
    "Video": {4: "TCHW", 5: "BTCHW"},
}


def tv_kind(value: Any) -> str | None:
    """The tv_tensors class a tensor belongs to (``"Image"``, ``"Video"``, ``"Mask"``, ...), or None
    for a pure tensor (a tensor of no tv_tensors class), without importing torchvision."""
    for cls in type(value).__mro__:
        if cls.__module__.startswith("torchvision.tv_tensors"):
            return cls.__name__
    return None


def _is_pil(value: Any) -> bool:
    return any(cls.__module__.startswith("PIL.") and cls.__name__ == "Image" for cls in type(value).__mro__)


@dataclass
class Parsed:
    """A structure flattened: its entries, how to rebuild it, and the entries to occlude.

    ``targets`` holds ``(position, layout)`` of each image-like entry, ``masks``
    the positions of the segmentation masks; ``shape`` is one sample's mask shape
    and ``n`` the number of samples (the size of the ``B`` axis, else 1).
    """

    flat: list[Any]
    spec: Any
    targets: list[tuple[int, str]]
    masks: list[int]
    shape: tuple[int, ...]
    n: int

    def rebuild(self, flat: list[Any]) -> Any:
        return _pytree.tree_unflatten(flat, self.spec)


def _samples(x: torch.Tensor, layout: str) -> tuple[tuple[int, ...], int]:
    sizes = dict(zip(layout, x.shape, strict=True))
    shape = tuple(int(sizes[letter]) for letter in layout if letter not in "BC")
    if min(shape) < 1:
        raise ValueError(f"x of shape {tuple(x.shape)} (layout {layout!r}) has an empty frame or time axis")
    return shape, int(sizes.get("B", 1))


def parse(x: Any, layout_of: Callable[[torch.Tensor], str]) -> Parsed:
    """Flatten ``x`` and find its image-like entries; ``layout_of(tensor)`` gives a pure tensor's layout.

    Every image-like entry must have the same samples (``n`` and ``shape``): they
    get the same masks. Raises ``TypeError`` when there is none, or for a PIL image
    (convert it first, e.g. with torchvision's ``v2.ToImage()``).
    """
    flat, spec = _pytree.tree_flatten(x)
    kinds = [tv_kind(entry) if isinstance(entry, torch.Tensor) else None for entry in flat]
    if any(_is_pil(entry) for entry in flat):
        raise TypeError(
            "x holds a PIL image, which Occlude cannot occlude: convert it to a tensor first "
            "(torchvision's v2.ToImage() or v2.PILToTensor())"
        )
    pure_is_image = not any(kind in TV_LAYOUTS for kind in kinds)
    targets, masks = [], []
    for position, (entry, kind) in enumerate(zip(flat, kinds, strict=True)):
        if not isinstance(entry, torch.Tensor):
            continue
        if kind is not None and kind in TV_LAYOUTS:
            layouts = TV_LAYOUTS[kind]
            if entry.ndim not in layouts:
                raise ValueError(
                    f"a tv_tensors.{kind} must have {' or '.join(str(n) for n in layouts)} dimensions "
                    f"({' or '.join(layouts.values())}), got shape {tuple(entry.shape)}"
                )
            targets.append((position, layouts[entry.ndim]))
        elif kind == "Mask":
            masks.append(position)
        elif kind is None and pure_is_image:
            targets.append((position, layout_of(entry)))
            pure_is_image = False
    if not targets:
        raise TypeError(
            f"x must be a torch.Tensor or a structure (tuple, list, dict) holding one, got "
            f"{type(x).__name__} with nothing to occlude (no tv_tensors.Image or Video, no plain tensor)"
        )
    found = [(_samples(flat[position], layout), position) for position, layout in targets]
    (shape, n), _ = found[0]
    for (other_shape, other_n), position in found[1:]:
        if (other_shape, other_n) != (shape, n):
            raise ValueError(
                f"the image-like entries of x must share their samples, which get the same masks: one has "
                f"{n} sample(s) of shape {shape}, another (of shape {tuple(flat[position].shape)}) "
                f"{other_n} of shape {other_shape}"
            )
    return Parsed(flat, spec, targets, masks, shape, n)
