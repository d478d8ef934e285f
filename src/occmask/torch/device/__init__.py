"""Masks made by torch ops on a device: every built-in family's field there, then an exact cut.

``occmask.generate(..., device=...)`` and :func:`masks` (the batch engine's samples on a device)
come here. A family's device field (:mod:`occmask.torch.device.fields`) keeps its geometry but
not its numbers: the same seed gives the same mask on the same kind of device, not the Numba
path's mask. The cut is the calibrator's, in torch: per frame or per video, the
``floor(coverage * N + 0.5)`` lowest values of each sample by a stable sort (equal values in
pixel order), with a region the same rank cut among its pixels; ``match="expected"`` cuts at the
quantile of the family's device fields, calibrated once per family, shape and parameter set. A
family without a device field (one a user registered) is made by the Numba path and moved.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ... import _validate
from ..._batch import MaskMaker, Seed, check_seed, rngs
from ..._cut import sorted_quantile_curve, target_count, threshold
from ...families import FAMILIES
from ...families._engine import CALIBRATION, generate_checked
from ...families._family import Family, trusted
from .fields import DEVICE_FIELDS

__all__ = ["DEVICE_FIELDS", "masks", "supported"]


def supported(family: str) -> bool:
    """Whether ``family`` has a device field (else its device masks are made on the CPU and moved).

    Examples
    --------
    >>> from occmask.torch.device import supported
    >>> supported("perlin")
    True
    """
    return _field_of(FAMILIES[_validate.choice("family", family, FAMILIES)]) is not None


def _field_of(fam: Family) -> Callable[..., torch.Tensor] | None:
    """The device field of a built-in family (None for a family registered by a user, also one that
    replaced a built-in family under its name)."""
    return DEVICE_FIELDS.get(fam.name) if trusted(fam) else None


def on_device(
    fam: Family,
    shape3: tuple[int, int, int],
    image: bool,
    coverage: float,
    match: str,
    temporal: str,
    params: Mapping[str, Any],
    region: Any,
    rng: np.random.Generator,
    device: Any,
) -> torch.Tensor:
    """:func:`occmask.generate` with ``device`` for arguments already checked (the region not yet):
    one sample of the batch engine on ``device``."""
    where = _device(device)
    if _field_of(fam) is None:  # a user's family: the Numba path, moved once
        if isinstance(region, torch.Tensor):
            region = region.cpu().numpy()
        if region is not None:
            region = _validate.region(region, shape3[1:] if image else shape3)
        mask = generate_checked(fam, shape3, image, coverage, match, temporal, params, region, rng)
        return torch.from_numpy(mask).to(where)
    regions = None if region is None else [_region(region, shape3, image, where)]
    out = _make(fam, shape3, [coverage], match, temporal, params, regions, [_seed(rng)], where)
    return out[0, 0] if image else out[0]


def masks(
    maker: MaskMaker,
    shape: tuple[int, ...],
    seeds: Sequence[Seed],
    *,
    device: Any,
    regions: Sequence[Any] | None = None,
    coverages: Sequence[float | None] | None = None,
) -> torch.Tensor:
    """The samples' masks ``(n, *shape)`` bool on ``device``, as :meth:`MaskMaker.masks` draws them:
    sample ``i``'s generator ``default_rng(seeds[i])`` draws its coverage (for a range), then its
    mask; all False where the seed is None.

    Parameters
    ----------
    maker : MaskMaker
        The family, coverage, ``match``, ``temporal`` and parameters.
    shape : tuple of int
        One sample's mask shape, ``(H, W)`` or ``(T, H, W)``.
    seeds : sequence of (int, SeedSequence or None)
        One per sample.
    device : str or torch.device
        Where the masks are made.
    regions : sequence of (bool array or tensor, or None), optional
        Each sample's region (see ``region=`` of :func:`occmask.generate`).
    coverages : sequence of (float or None), optional
        Coverages that replace the drawn ones (None keeps a sample's draw).

    Examples
    --------
    >>> from occmask._batch import MaskMaker
    >>> from occmask.torch.device import masks
    >>> m = masks(MaskMaker("perlin", 0.25), (4, 32, 32), [1, 2, None], device="cpu")
    >>> m.shape, m.sum(dim=(2, 3))[:, 0].tolist()
    (torch.Size([3, 4, 32, 32]), [256, 256, 0])
    """
    shape3, image = _validate.shape(shape)
    where = _device(device)
    checked = [check_seed(seed) for seed in seeds]
    n = len(checked)
    for name, given in (("regions", regions), ("coverages", coverages)):
        if given is not None and len(given) != n:
            raise ValueError(f"{name} must have one entry per seed ({n}), got {len(given)}")
    if coverages is not None:
        coverages = [
            None if c is None else _validate.number("coverage", c, low=0.0, high=1.0) for c in coverages
        ]
    if _field_of(maker.family) is None:  # a user's family: the Numba path, moved once
        on_cpu = None if regions is None else [_numpy(region) for region in regions]
        return torch.from_numpy(maker.masks(tuple(shape), checked, regions=on_cpu, coverages=coverages)).to(
            where
        )
    given_regions = [
        None if region is None or seed is None else _region(region, shape3, image, where)
        for seed, region in zip(checked, regions or [None] * n, strict=True)
    ]
    active: list[int] = []
    torch_seeds: list[int] = []
    drawn: list[float] = []
    kept: list[torch.Tensor | None] = []
    for index, rng in enumerate(rngs(checked)):
        if rng is None:
            continue
        coverage = maker.coverage_of(rng)
        replaced = None if coverages is None else coverages[index]
        active.append(index)
        drawn.append(coverage if replaced is None else replaced)
        torch_seeds.append(_seed(rng))  # now: integer seeds share one generator (see rngs)
        kept.append(given_regions[index])
    out = torch.zeros((n, *shape3), dtype=torch.bool, device=where)
    if active:
        made = _make(
            maker.family, shape3, drawn, maker.match, maker.temporal, maker.params,
            kept if any(r is not None for r in kept) else None, torch_seeds, where,
        )  # fmt: skip
        out.index_copy_(0, torch.tensor(active, device=where), made)
    return out[:, 0] if image else out


def _device(device: Any) -> torch.device:
    """``device`` as a torch device that this process can use."""
    try:
        where = torch.device(device)
    except (TypeError, RuntimeError):
        raise TypeError(f"device must be a torch device or its name (e.g. 'cuda'), got {device!r}") from None
    if where.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} is not available here: torch finds no CUDA device")
    return where


def _region(region: Any, shape3: tuple[int, int, int], image: bool, device: torch.device) -> torch.Tensor:
    """A region (bool ndarray or tensor) checked as :func:`occmask._validate.region` does, on ``device``."""
    area = shape3[1:] if image else shape3
    if isinstance(region, torch.Tensor):
        allowed = [area] if image else [area[1:], area]
        if region.dtype != torch.bool:
            raise TypeError(f"region must have dtype bool, got dtype {region.dtype}")
        if tuple(region.shape) not in allowed:
            raise ValueError(
                f"region must have shape {' or '.join(str(a) for a in allowed)} for masks of shape "
                f"{area}, got {tuple(region.shape)}"
            )
        return region.to(device)
    return torch.from_numpy(_validate.region(region, area)).to(device)


def _numpy(region: Any) -> Any:
    return region.cpu().numpy() if isinstance(region, torch.Tensor) else region


def _seed(rng: np.random.Generator) -> int:
    """The seed of a sample's torch generator: the next draw of its numpy generator."""
    return int(rng.integers(0, _validate.SEED_BOUND))


def _generators(seeds: Sequence[int], device: torch.device) -> list[torch.Generator]:
    """A torch generator on ``device`` per seed."""
    return [torch.Generator(device=device).manual_seed(seed) for seed in seeds]


def _make(
    fam: Family,
    shape3: tuple[int, int, int],
    coverages: Sequence[float],
    match: str,
    temporal: str,
    params: Mapping[str, Any],
    regions: Sequence[torch.Tensor | None] | None,
    seeds: Sequence[int],
    device: torch.device,
) -> torch.Tensor:
    """The masks (n, T, H, W) of samples of torch ``seeds`` at ``coverages`` (checked arguments,
    a family with a device field)."""
    n, (n_t, n_h, n_w) = len(seeds), shape3
    if temporal == "static" and match == "video":
        match = "frame"  # one field on every frame: the video's share is each frame's
    frames = 1 if temporal == "static" else n_t
    field_shape = (frames, n_h, n_w)
    early = match == "frame" and regions is None
    need = max(target_count(c, n_h * n_w) for c in coverages) if early else None
    field = DEVICE_FIELDS[fam.name](field_shape, _generators(seeds, device), temporal, need, **params)
    if match == "expected":
        curve_shape = field_shape if temporal == "evolving" else (1, n_h, n_w)
        curve = _curve(fam, curve_shape, temporal, tuple(sorted(params.items())), device.type)
        limits = torch.tensor([threshold(curve, c) for c in coverages], device=device)
        return (field < limits[:, None, None, None]).expand(n, n_t, n_h, n_w)
    per_frame = regions is not None and any(r is not None and r.ndim == 3 for r in regions)
    if frames != n_t and per_frame:  # a static field, a region per frame
        field, frames = field.expand(n, n_t, n_h, n_w), n_t
    inside = None
    if regions is not None:
        full = torch.ones((frames, n_h, n_w), dtype=torch.bool, device=device)
        inside = torch.stack([full if r is None else r.expand(frames, n_h, n_w) for r in regions])
    rows = 1 if match == "video" else frames
    mask = _cut(
        field.reshape(n, rows, -1),
        torch.tensor(coverages, dtype=torch.float64, device=device),
        None if inside is None else inside.reshape(n, rows, -1),
    )
    return mask.reshape(n, frames, n_h, n_w).expand(n, n_t, n_h, n_w)


def _cut(values: torch.Tensor, coverages: torch.Tensor, inside: torch.Tensor | None) -> torch.Tensor:
    """The rank cut of rows ``values`` (n, R, N): per row, the ``k = floor(coverage * |R| + 0.5)``
    lowest pixels of its region (every pixel without ``inside``), equal values in index order, and
    every pixel that sorts before the last of them."""
    n_pixels = values.shape[-1]
    order = torch.sort(values, dim=-1, stable=True).indices
    if inside is None:
        size = torch.full(values.shape[:-1], float(n_pixels), dtype=torch.float64, device=values.device)
        before = torch.arange(n_pixels, device=values.device).expand_as(order)
    else:
        flags = torch.gather(inside, -1, order)
        size = flags.sum(dim=-1).double()
        before = torch.cumsum(flags, dim=-1) - flags.long()  # region pixels sorted before each
    k = torch.minimum(torch.floor(coverages[:, None] * size + 0.5), size).long()
    hidden = before < k[..., None]
    return torch.empty_like(hidden).scatter_(-1, order, hidden)


@functools.lru_cache(maxsize=64)
def _curve(
    fam: Family, shape: tuple[int, int, int], temporal: str, params: tuple[tuple[str, Any], ...], kind: str
) -> np.ndarray:
    """Quantile curve of the family's device fields of ``shape`` on a device of ``kind``, from fixed
    seeds, as many as the Numba path's (:data:`occmask.families._engine.CALIBRATION`)."""
    seeds = [CALIBRATION.seed + i for i in range(CALIBRATION.fields(math.prod(shape)))]
    fields = DEVICE_FIELDS[fam.name](
        shape, _generators(seeds, torch.device(kind)), temporal, None, **dict(params)
    )
    values = torch.sort(fields.reshape(-1)).values
    stride = max(1, values.numel() // CALIBRATION.values)
    return sorted_quantile_curve(values[stride // 2 :: stride].cpu().numpy())
