"""The :class:`Occlude` transform: a torchvision v2 transform whose masks come from the batch engine."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import _validate
from .._batch import MaskMaker
from .._occlude import Noise, check_layout, fill_array, noise_values, special_fill
from .device import masks as device_masks
from .functional import SlicedFill, is_float, occlude
from .structure import Parsed, parse

__all__ = ["Occlude"]

#: The layout :class:`Occlude` assumes for a plain tensor of each number of dimensions when none is
#: given. 4-D input has none: it may be one video (T, C, H, W) or a batch of images (B, C, H, W).
DEFAULT_LAYOUTS: Mapping[int, str] = {2: "HW", 3: "CHW", 5: "BTCHW"}


class Occlude(nn.Module):
    """Occlude images, videos or batches with a freshly drawn mask of one family.

    A torchvision v2 transform (an ``nn.Module``; torchvision is not needed):
    put it in ``transforms.v2.Compose`` (or ``transforms.Compose``), or call it
    on a tensor. Like v2's transforms it takes one tensor, ``(image, label)``,
    dicts and nested tuples and lists, and returns the same structure: it
    occludes ``tv_tensors.Image`` (C, H, W) or (B, C, H, W) and
    ``tv_tensors.Video`` (T, C, H, W) or (B, T, C, H, W) entries by their type,
    and a plain tensor by v2's rule (the first one, only when there is no
    ``Image`` or ``Video``); labels, ``BoundingBoxes``, ``KeyPoints`` and
    ``Mask`` entries are passed through untouched (see ``ignore_index``), and
    tv_tensor types are kept. All image-like entries of one call share their
    masks. The two steps are public, as in torchvision v2 and kornia:
    ``params = t.make_params(x)`` draws everything random, ``t.apply(x, params)``
    is deterministic, and ``t(x)`` is the two.

    Every sample gets its own mask from a 63-bit seed drawn from torch's random
    generator (``generator``, or torch's default one), so
    ``torch.manual_seed`` makes a run repeatable and every ``DataLoader`` worker
    draws different masks. The seed alone rebuilds a sample's mask:
    :meth:`make_mask`, with the seeds of the last call in :attr:`last_seeds`.

    Parameters
    ----------
    family : str
        A name from ``occmask.FAMILIES``.
    coverage : float or (float, float)
        Fraction of hidden pixels in [0, 1], or a range ``(low, high)`` from which
        each sample draws its coverage uniformly.
    match : {"frame", "video", "expected"}, default "frame"
        Coverage matching, see :func:`occmask.generate`.
    temporal : {"evolving", "static", "independent"}, default "evolving"
        How a video's mask changes across frames, see :func:`occmask.generate`.
    fill : scalar, sequence, ndarray, torch.Tensor, "noise", "mean" or Noise, default 0.0
        Value of hidden pixels, as in :func:`occlude`. A tensor fill is a buffer
        of the module, so ``.to(device)`` moves it. ``"mean"`` is each sample's
        mean per channel; ``"noise"`` / :class:`~occmask.Noise` values are drawn
        from the sample's seed (its ``SeedSequence``'s first child), so they are
        as reproducible as the mask.
    p : float, default 1.0
        Probability that a sample is occluded at all (drawn per sample).
    layout : str, optional
        Axes of a plain tensor (tv_tensors carry their own), as letters ``B``,
        ``T``, ``C``, ``H``, ``W``. By default
        2-D inputs are ``"HW"``, 3-D ``"CHW"`` and 5-D ``"BTCHW"``. 4-D input has
        no default, because it is ambiguous: pass ``layout="TCHW"`` for one video
        (T, C, H, W) or ``layout="BCHW"`` for a batch of images (B, C, H, W).
        Pass e.g. ``"THW"`` or ``"THWC"`` for other layouts. A ``B`` axis holds
        independent samples, each with its own seed, coverage and mask.
    return_mask : bool, default False
        Return ``(x, mask)`` instead of ``x``: the bool mask on ``x``'s device, of
        shape (H, W), (T, H, W) or (B, T, H, W) (the input's axes without ``C``).
        Samples left alone (see ``p``) have an all-False mask. For a structure
        (``(image, label)``, a dict, ...) it is ``(structure, mask)``: the whole
        structure as without ``return_mask``, then the one mask of its
        image-like entries (laid out for the first of them).
    generator : torch.Generator, optional
        Where seeds come from; torch's default generator if None. A module with
        its own generator draws the same seeds in every ``DataLoader`` worker
        (each gets a copy), so leave it None there.
    threads : int, optional
        Threads that make a batch's masks and, on the CPU, fill its samples (the
        kernels release the GIL); each takes a run of consecutive samples. By
        default 1 inside a ``DataLoader`` worker (each worker is a process
        already) and otherwise one per usable core, at most one per sample and
        per 2**18 mask pixels (smaller batches stay on one thread); the batch
        also stays on one thread if its first mask took less than 150 us (such
        masks spend too much of their time holding the GIL for threads to gain).
        The threads are kept from call to call. The masks do not depend on it.
    region : callable, optional
        ``region(sample) -> bool mask`` of shape (H, W) or (T, H, W) (a tensor or
        an array), computed from each sample itself (one sample of a batch at a
        time): the mask then hides ``coverage`` of that region rather than of the
        canvas, as ``region=`` of :func:`occmask.generate`. E.g.
        ``region=lambda x: x.amax(dim=-3) > 0.5`` for the bright pixels of a
        ``(T, C, H, W)`` video. :meth:`make_mask` takes the region too.
    ignore_index : int, optional
        Set the hidden pixels of ``tv_tensors.Mask`` entries (segmentation
        labels, (H, W), (1, H, W), (T, H, W), ... with the image's trailing axes)
        to this value, e.g. 255 or -100, the index a segmentation loss ignores.
        None (the default) leaves masks untouched.
    feather : float, default 0.0
        Soft edges: the fill fades in over this many pixels inside each mask's
        edge, as ``feather`` of :func:`occlude` (0: a hard edge).
    on_device : bool, default False
        Make the masks with torch ops on the input's device (e.g. a CUDA batch's
        GPU; see :mod:`occmask.torch.device`) instead of the CPU kernels: the
        same seeds, coverages and exact counts, the family's geometry, but other
        masks than the CPU path's (other random streams), the same on the same
        kind of device. :meth:`make_masks` then returns a tensor there and
        :meth:`make_mask` takes the ``device``. A family without a device field
        is made on the CPU and moved.
    **family_params
        Parameters of the family, e.g. ``scale=12`` for ``"perlin"``.

    Attributes
    ----------
    last_seeds : tuple of (int or None)
        The seed of every sample of the last call (None where ``p`` skipped it).

    Examples
    --------
    >>> import torch
    >>> from occmask.torch import Occlude
    >>> t = Occlude("perlin", coverage=(0.2, 0.6), scale=8.0)
    >>> t
    Occlude('perlin', coverage=(0.2, 0.6), match='frame', temporal='evolving', fill=0.0, p=1.0, scale=8.0)
    >>> _ = torch.manual_seed(0)
    >>> video = torch.rand(20, 3, 64, 64)                             # (T, C, H, W)
    >>> hidden, mask = Occlude("cgol", 0.3, layout="TCHW", return_mask=True)(video)
    >>> mask.shape, mask.dtype, int(mask[0].sum())                    # round(0.3 * 64 * 64)
    (torch.Size([20, 64, 64]), torch.bool, 1229)

    The seed of a sample rebuilds its mask:

    >>> t = Occlude("triangles", 0.5, layout="TCHW", return_mask=True)
    >>> _, mask = t(video)
    >>> bool((t.make_mask((20, 64, 64), t.last_seeds[0]) == mask.numpy()).all())
    True

    A structure keeps its form; the two steps replay a call:

    >>> t = Occlude("perlin", 0.5, layout="BCHW")
    >>> images, labels = torch.ones(4, 3, 32, 32), torch.arange(4)
    >>> params = t.make_params((images, labels))
    >>> hidden, same = t.apply((images, labels), params)
    >>> bool(torch.equal(same, labels)), bool(torch.equal(hidden, t.apply(images, params)))
    (True, True)
    """

    def __init__(
        self,
        family: str,
        coverage: float | tuple[float, float],
        *,
        match: str = "frame",
        temporal: str = "evolving",
        fill: Any = 0.0,
        p: float = 1.0,
        layout: str | None = None,
        return_mask: bool = False,
        generator: torch.Generator | None = None,
        threads: int | None = None,
        region: Callable[[torch.Tensor], Any] | None = None,
        ignore_index: int | None = None,
        feather: float = 0.0,
        on_device: bool = False,
        **family_params: Any,
    ) -> None:
        super().__init__()
        self.maker = MaskMaker(family, coverage, match=match, temporal=temporal, params=family_params)
        self.family, self.coverage = self.maker.family.name, self.maker.coverage
        self.match, self.temporal = self.maker.match, self.maker.temporal
        self.family_params = {name: self.maker.params[name] for name in family_params}
        self.fill: Any
        if isinstance(fill, torch.Tensor):
            if fill.dtype.is_complex:
                raise TypeError(f"fill must be a real tensor, got dtype {fill.dtype}")
            self.register_buffer("fill", fill.detach().clone(), persistent=False)
        elif special_fill(fill) is not None:
            self.fill = fill
        else:
            fill_array(fill, np.dtype(np.float64))  # numeric (its shape is checked against x per call)
            if isinstance(fill, np.ndarray):
                self.fill = fill.copy()
            elif isinstance(fill, (list, tuple)):
                self.fill = tuple(fill) if np.ndim(fill) == 1 else np.asarray(fill)
            else:
                self.fill = fill
        self.p = _validate.number("p", p, low=0.0, high=1.0)
        if layout is not None:
            layout = check_layout(layout, len(layout) if isinstance(layout, str) else 0)
        self.layout = layout
        if not isinstance(return_mask, (bool, np.bool_)):
            raise TypeError(f"return_mask must be a bool, got {return_mask!r}")
        self.return_mask = bool(return_mask)
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be None or a torch.Generator, got {type(generator).__name__}")
        self.generator = generator
        self.threads = None if threads is None else _validate.integer("threads", threads, low=1)
        if region is not None and not callable(region):
            raise TypeError(
                f"region must be None or a callable sample -> bool mask, got {type(region).__name__}"
            )
        self.region = region
        self.ignore_index = None if ignore_index is None else _validate.integer("ignore_index", ignore_index)
        self.feather = _validate.number("feather", feather, low=0.0)
        if not isinstance(on_device, (bool, np.bool_)):
            raise TypeError(f"on_device must be a bool, got {on_device!r}")
        self.on_device = bool(on_device)
        self.last_seeds: tuple[int | None, ...] = ()

    # -- masks from seeds ---------------------------------------------------------

    def sample_coverage(self, seed: int) -> float:
        """The target coverage that the sample with this seed gets.

        The coverage itself if it is a number; for a range ``(low, high)``, a
        uniform draw from it made by the seed's generator (see :meth:`make_mask`).

        Examples
        --------
        >>> from occmask.torch import Occlude
        >>> Occlude("bernoulli", 0.25).sample_coverage(7)
        0.25
        >>> 0.2 <= Occlude("bernoulli", (0.2, 0.6)).sample_coverage(7) < 0.6
        True
        """
        (coverage,) = self.maker.coverages([_validate.integer("seed", seed, low=0)])
        assert coverage is not None
        return coverage

    def make_mask(self, shape: tuple[int, ...], seed: int, region: Any = None, device: Any = "cpu") -> Any:
        """The mask that the transform draws for one sample with ``seed``.

        ``numpy.random.default_rng(seed)`` first draws the coverage if it is a
        range, then generates the mask. With a fixed coverage the mask is
        therefore ``occmask.generate(family, shape, coverage, rng=seed, ...)``.

        Parameters
        ----------
        shape : tuple of int
            One sample's mask shape: ``(H, W)`` or ``(T, H, W)``.
        seed : int
            A seed from :attr:`last_seeds` (or any non-negative integer).
        region : ndarray or torch.Tensor of bool, optional
            The sample's region (what the module's ``region`` function returned
            for it), to rebuild a region-matched mask.
        device : str or torch.device, default "cpu"
            With ``on_device=True``: the device the mask is made on (its kind,
            e.g. ``"cuda"``, decides the mask). Ignored otherwise.

        Returns
        -------
        ndarray of bool, shape ``shape`` (a tensor on ``device`` with ``on_device``)

        Examples
        --------
        >>> import numpy as np
        >>> import occmask as om
        >>> from occmask.torch import Occlude
        >>> t = Occlude("perlin", 0.4, scale=10.0)
        >>> m = t.make_mask((4, 32, 32), seed=123)
        >>> bool(np.array_equal(m, om.generate("perlin", (4, 32, 32), 0.4, rng=123, scale=10.0)))
        True
        """
        seed = _validate.integer("seed", seed, low=0)
        if self.on_device:
            given = None if region is None else [region]
            return device_masks(self.maker, tuple(shape), [seed], device=device, regions=given)[0]
        regions = None if region is None else [_cpu(region)]
        return self.maker.masks(tuple(shape), [seed], regions=regions, threads=1)[0]

    # -- the two steps --------------------------------------------------------------

    def make_params(self, x: Any, *, seeds: Any = None) -> dict[str, Any]:
        """Draw everything random for one call on ``x``: each sample's seed, coverage and whether it is hit.

        Parameters
        ----------
        x : torch.Tensor or structure
            What the call gets (see the class): only the shape of its image-like
            entries is read.
        seeds : sequence or callable, optional
            The samples' seeds instead of draws from torch's generator (None for a
            sample leaves it alone, whatever ``p``), or a function of the number of
            samples that returns them (what :class:`OccludedDataset` passes).

        Returns
        -------
        dict
            ``"seeds"`` (a tuple, None where ``p`` leaves a sample alone),
            ``"coverages"`` (each sample's target coverage, None where left alone)
            and ``"shape"`` (one sample's mask shape), for :meth:`apply`.
        """
        parsed = self._parse(x)
        if seeds is None:
            seeds = self._draw(parsed.n)
        elif callable(seeds):
            seeds = seeds(parsed.n)
        seeds = tuple(
            None if s is None else _validate.integer("seed", s, low=0, high=2**64 - 1) for s in seeds
        )
        if len(seeds) != parsed.n:
            raise ValueError(f"seeds must have one entry per sample of x ({parsed.n}), got {len(seeds)}")
        return {"seeds": seeds, "coverages": tuple(self.maker.coverages(seeds)), "shape": parsed.shape}

    def make_masks(self, x: Any, params: Mapping[str, Any]) -> Any:
        """The masks :meth:`apply` hides with ``params``: bool, of the samples' shape, laid out as the
        mask of ``return_mask`` (the axes of the first image-like entry without ``C``); a numpy
        array, or with ``on_device`` a tensor on the device of ``x``'s first image-like entry."""
        parsed = self._parse(x)
        layout = self._check(parsed, params)
        if self.on_device:
            return self._device_masks(parsed, params, layout)
        return _on_batch_axis(self._masks(parsed, params, None), layout)

    def apply(self, x: Any, params: Mapping[str, Any] | None = None) -> Any:
        """Occlude ``x`` with the masks of ``params`` (from :meth:`make_params`): deterministic.

        Returns the structure of ``x`` with its image-like entries occluded (and the
        ``tv_tensors.Mask`` entries given ``ignore_index``), then the mask with
        ``return_mask``: ``(x, mask)``. Called with a function alone, it is
        ``nn.Module.apply`` (``model.apply(init)`` reaches every submodule).
        """
        if params is None and callable(x) and not isinstance(x, torch.Tensor):
            return super().apply(x)
        if params is None:
            raise TypeError("apply takes x and the params of make_params(x), got no params")
        parsed = self._parse(x)
        layout = self._check(parsed, params)
        seeds = params["seeds"]
        self.last_seeds = tuple(seeds)
        skip = all(seed is None for seed in seeds)
        position, _ = parsed.targets[0]
        first = parsed.flat[position]
        mask_shape = (len(seeds), *parsed.shape) if "B" in layout else parsed.shape
        fills = {p: None if skip else self._fill_for(parsed.flat[p], lay, seeds) for p, lay in parsed.targets}
        sliced = None
        if self.on_device:
            mask_t = self._device_masks(parsed, params, layout)
        else:
            if not skip and not self.feather and len(parsed.targets) == 1:
                sliced = SlicedFill.of(first, fills[position], layout, mask_shape)
            mask = _on_batch_axis(self._masks(parsed, params, sliced), layout)
            mask_t = torch.from_numpy(mask).to(first.device, non_blocking=True)
        flat = list(parsed.flat)
        if not skip:
            for p, lay in parsed.targets:
                if sliced is not None:
                    y = sliced.result
                    flat[p] = y if type(y) is type(first) else y.as_subclass(type(first))
                else:
                    flat[p] = occlude(flat[p], mask_t, fills[p], layout=lay, feather=self.feather)
            if self.ignore_index is not None:
                for p in parsed.masks:
                    flat[p] = occlude(flat[p], mask_t, self.ignore_index)
        y = parsed.rebuild(flat)
        return (y, mask_t) if self.return_mask else y

    def forward(self, *inputs: Any) -> Any:
        """Occlude the image-like entries of the input; return the same structure (see the class).

        Parameters
        ----------
        *inputs : torch.Tensor or structure
            One tensor, one structure, or several arguments (taken as a tuple), as
            torchvision v2 transforms take them.

        Returns
        -------
        The input's structure, occluded; with ``return_mask``, ``(structure, mask)``.

        Examples
        --------
        >>> import torch
        >>> from occmask.torch import Occlude
        >>> batch = torch.ones(4, 8, 1, 32, 32)                          # (B, T, C, H, W)
        >>> hidden, mask = Occlude("bernoulli", 0.5, return_mask=True)(batch)
        >>> mask.shape, bool((mask[0] != mask[1]).any())                 # one mask per sample
        (torch.Size([4, 8, 32, 32]), True)
        """
        if not inputs:
            raise TypeError("Occlude takes the data to occlude, got no argument")
        x = inputs if len(inputs) > 1 else inputs[0]
        return self.apply(x, self.make_params(x))

    # -- helpers --------------------------------------------------------------------

    def _parse(self, x: Any) -> Parsed:
        return parse(x, self._layout_for)

    def _layout_for(self, x: torch.Tensor) -> str:
        if self.layout is not None:
            return check_layout(self.layout, x.ndim)
        if x.ndim == 4:
            raise ValueError(
                f"x of shape {tuple(x.shape)} has 4 dimensions, which is ambiguous: pass "
                "layout='TCHW' for one video (T, C, H, W) or layout='BCHW' for a batch of images "
                "(B, C, H, W) to Occlude, or wrap it in a tv_tensors.Video or tv_tensors.Image"
            )
        if x.ndim not in DEFAULT_LAYOUTS:
            raise ValueError(
                f"x must have 2, 3 or 5 dimensions ((H, W), (C, H, W) or (B, T, C, H, W)), got shape "
                f"{tuple(x.shape)}; pass layout=... for other layouts"
            )
        return DEFAULT_LAYOUTS[x.ndim]

    def _check(self, parsed: Parsed, params: Mapping[str, Any]) -> str:
        """The first image-like entry's layout, once ``params`` is checked against ``parsed``."""
        if not isinstance(params, Mapping) or not {"seeds", "coverages", "shape"} <= set(params):
            raise TypeError(f"params must be the dict of make_params, got {type(params).__name__}")
        if tuple(params["shape"]) != parsed.shape or len(params["seeds"]) != parsed.n:
            raise ValueError(
                f"params were made for {len(params['seeds'])} sample(s) of shape {tuple(params['shape'])}, "
                f"but x has {parsed.n} of shape {parsed.shape}"
            )
        return parsed.targets[0][1]

    def _draw(self, n: int) -> list[int | None]:
        """Seeds for ``n`` samples, None where ``p`` leaves one alone, from torch's generator."""
        g = self.generator
        device = g.device if g is not None else None
        seeds = torch.randint(0, _validate.SEED_BOUND, (n,), generator=g, device=device).tolist()
        if self.p >= 1.0:
            return seeds
        if self.p <= 0.0:
            return [None] * n
        hit = (torch.rand(n, generator=g, device=device, dtype=torch.float64) < self.p).tolist()
        return [seed if a else None for seed, a in zip(seeds, hit, strict=True)]

    def _masks(self, parsed: Parsed, params: Mapping[str, Any], then: Any) -> np.ndarray:
        """The samples' masks ``(n, *shape)`` from the batch engine (``then`` fills each slice)."""
        seeds = params["seeds"]
        regions = None
        if self.region is not None:
            position, layout = parsed.targets[0]
            x = parsed.flat[position]
            regions = [
                None
                if seed is None
                else _cpu(self.region(x.select(layout.index("B"), b) if "B" in layout else x))
                for b, seed in enumerate(seeds)
            ]
        threads = self.threads
        if threads is None and torch.utils.data.get_worker_info() is not None:
            threads = 1  # a DataLoader worker is a process of its own
        return self.maker.masks(
            parsed.shape, seeds, regions=regions, coverages=params["coverages"], threads=threads, then=then
        )

    def _device_masks(self, parsed: Parsed, params: Mapping[str, Any], layout: str) -> torch.Tensor:
        """The samples' masks made on the device of the first image-like entry, laid out for it."""
        seeds = params["seeds"]
        position, _ = parsed.targets[0]
        x = parsed.flat[position]
        regions = None
        if self.region is not None:
            regions = [
                None if seed is None else self.region(x.select(layout.index("B"), b) if "B" in layout else x)
                for b, seed in enumerate(seeds)
            ]
        made = device_masks(
            self.maker, parsed.shape, seeds, device=x.device, regions=regions, coverages=params["coverages"]
        )
        spatial = layout.replace("C", "")
        return made.movedim(0, spatial.index("B")) if "B" in spatial else made[0]

    def _fill_for(self, x: torch.Tensor, layout: str, seeds: Sequence[int | None]) -> Any:
        """The fill to pass to :func:`occlude`: noise drawn from each sample's seed, else ``self.fill``."""
        special = None if isinstance(self.fill, torch.Tensor) else special_fill(self.fill)
        if not isinstance(special, Noise):
            return self.fill
        batch = layout.index("B") if "B" in layout else None
        shape = tuple(n for axis, n in enumerate(x.shape) if axis != batch)
        kind = "f" if is_float(x.dtype) else "i"
        noise = [
            np.zeros(shape) if seed is None else noise_values(special, shape, _noise_rng(seed), kind)
            for seed in seeds
        ]
        return noise[0] if batch is None else np.stack(noise, axis=batch)

    def extra_repr(self) -> str:
        parts = [
            repr(self.family),
            f"coverage={self.coverage!r}",
            f"match={self.match!r}",
            f"temporal={self.temporal!r}",
            f"fill={_show_fill(self.fill)}",
            f"p={self.p!r}",
        ]
        if self.layout is not None:
            parts.append(f"layout={self.layout!r}")
        if self.return_mask:
            parts.append("return_mask=True")
        if self.generator is not None:
            parts.append("generator=<torch.Generator>")
        if self.threads is not None:
            parts.append(f"threads={self.threads}")
        if self.region is not None:
            parts.append(f"region={getattr(self.region, '__name__', type(self.region).__name__)}")
        if self.ignore_index is not None:
            parts.append(f"ignore_index={self.ignore_index}")
        if self.feather:
            parts.append(f"feather={self.feather!r}")
        if self.on_device:
            parts.append("on_device=True")
        parts += [f"{name}={value!r}" for name, value in self.family_params.items()]
        return ", ".join(parts)


def _cpu(region: Any) -> Any:
    """A region as a numpy array (a tensor is copied to the CPU)."""
    return region.detach().cpu().numpy() if isinstance(region, torch.Tensor) else region


def _on_batch_axis(masks: np.ndarray, layout: str) -> np.ndarray:
    """The samples' masks ``(n, *sample_shape)`` as one mask for data in ``layout``: the first axis
    moved to its ``B`` axis, or the one sample's mask if it has none."""
    spatial = layout.replace("C", "")
    if "B" not in spatial:
        return masks[0]
    batch = spatial.index("B")
    return masks if batch == 0 else np.ascontiguousarray(np.moveaxis(masks, 0, batch))


def _noise_rng(seed: int) -> np.random.Generator:
    """The generator of a sample's noise fill: the first child of the seed's SeedSequence, so the
    mask's own stream (``default_rng(seed)``) is left as it is."""
    return np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])


def _show_fill(fill: Any) -> str:
    """``fill`` for a repr: numbers and short vectors in full, big arrays by shape."""
    if isinstance(fill, (torch.Tensor, np.ndarray)):
        if fill.ndim == 0 or (fill.ndim == 1 and fill.shape[0] <= 8):
            return repr(fill.tolist())
        return f"<{'tensor' if isinstance(fill, torch.Tensor) else 'array'} of shape {tuple(fill.shape)}>"
    return repr(fill)
