"""The cells of an evaluation grid and the masks of their samples.

Sample ``i`` of a cell gets the mask drawn from the seed stream
``(seed, family, coverage, temporal, i)`` (:func:`mask_seed`) and nothing
else, so two models or two runs see identical occlusions.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._batch import MaskMaker
from .._occlude import Noise, special_fill
from ..apply import occlude

__all__ = ["OUTPUTS", "Cell", "Setting", "fill_seed", "make_mask", "mask_seed", "occluded"]

_MASK_STREAM = 0  # spawn-key prefix of the mask seeds; the bootstrap uses 1
_FILL_STREAM = 2  # spawn-key prefix of the seeds of random fills ("noise")

#: What a model's outputs are: ``"logits"`` (any real scores, softmax-normalised),
#: ``"probs"`` (probabilities, rows summing to 1) or ``"logprobs"`` (natural-log probabilities).
OUTPUTS = ("logits", "probs", "logprobs")


@dataclass(frozen=True)
class Setting:
    """The validated arguments of one :func:`evaluate` call (see there)."""

    families: tuple[str, ...]
    coverages: tuple[float, ...]
    temporal: tuple[str, ...]
    fill: Any
    region: Callable[[np.ndarray], np.ndarray] | None
    rules: tuple[str, ...]
    match: str
    output: str | None  # None until the first outputs are seen (then logits or probs)
    params: Mapping[str, Mapping[str, Any]]
    reference: str
    n_boot: int
    ece_bins: int
    seed: int
    batch_size: int
    device: str
    progress: bool

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain values (``region`` and an array ``fill`` by description)."""
        fill = self.fill if isinstance(self.fill, (int, float)) else f"<{type(self.fill).__name__}>"
        return {
            "families": list(self.families),
            "coverages": list(self.coverages),
            "temporal": list(self.temporal),
            "fill": fill,
            "region": None if self.region is None else getattr(self.region, "__name__", "callable"),
            "rules": list(self.rules),
            "match": self.match,
            "output": self.output,
            "params": {f: dict(p) for f, p in self.params.items()},
            "reference": self.reference,
            "n_boot": self.n_boot,
            "ece_bins": self.ece_bins,
            "seed": self.seed,
        }


@dataclass(frozen=True)
class Cell:
    """Per-frame results of one grid cell; arrays are indexed (sample, frame).

    Attributes
    ----------
    temporal, family : str
    coverage : float
    logp : ndarray of float32, shape (N, T, K)
        Class log-probabilities of every occluded frame (T = 1 for images).
    realised : ndarray of float, shape (N, T)
        Realised coverage of each frame.
    n_components : ndarray of int, shape (N, T)
        Connected hidden regions per frame (4-connectivity).
    largest_fraction : ndarray of float, shape (N, T)
        Largest hidden region as a fraction of the frame.
    region_hidden : ndarray of float, shape (N, T), or None
        Share of the region hidden (NaN for an empty region), when a region is given.
    """

    temporal: str
    family: str
    coverage: float
    logp: np.ndarray
    realised: np.ndarray
    n_components: np.ndarray
    largest_fraction: np.ndarray
    region_hidden: np.ndarray | None


def mask_seed(seed: int, family: str, coverage: float, temporal: str, index: int) -> np.random.SeedSequence:
    """The seed of sample ``index``'s mask in a cell: a function of these five values only.

    Examples
    --------
    >>> a = mask_seed(0, "perlin", 0.3, "evolving", 7).generate_state(2)
    >>> b = mask_seed(0, "perlin", 0.3, "evolving", 7).generate_state(2)
    >>> bool((a == b).all()), bool((a == mask_seed(0, "perlin", 0.3, "evolving", 8).generate_state(2)).all())
    (True, False)
    """
    return _seed(_MASK_STREAM, seed, family, coverage, temporal, index)


def fill_seed(seed: int, family: str, coverage: float, temporal: str, index: int) -> np.random.SeedSequence:
    """The seed of the random fill (``fill="noise"``) of sample ``index`` in a cell, beside its mask's.

    Examples
    --------
    >>> a = fill_seed(0, "perlin", 0.3, "evolving", 7).generate_state(1)
    >>> bool((a == fill_seed(0, "perlin", 0.3, "evolving", 7).generate_state(1)).all())
    True
    >>> bool((a == mask_seed(0, "perlin", 0.3, "evolving", 7).generate_state(1)).all())
    False
    """
    return _seed(_FILL_STREAM, seed, family, coverage, temporal, index)


def _seed(
    stream: int, seed: int, family: str, coverage: float, temporal: str, index: int
) -> np.random.SeedSequence:
    key = (
        stream,
        zlib.crc32(family.encode()),
        round(coverage * 1_000_000),
        zlib.crc32(temporal.encode()),
    )
    return np.random.SeedSequence(seed, spawn_key=(*key, index))


def make_masks(
    setting: Setting, key: tuple[str, str, float], start: int, x: np.ndarray
) -> tuple[np.ndarray, list[np.ndarray] | None]:
    """The masks ``(n, T, H, W)`` that samples ``x`` ``(n, T, C, H, W)`` (indices from ``start``) get
    in a cell, made by the batch engine from their seeds (:func:`mask_seed`), and the samples'
    regions (None without ``region``)."""
    temporal, family, coverage = key
    shape = (x.shape[1], *x.shape[-2:])
    regions = None if setting.region is None else [_region(setting.region, s, shape) for s in x]
    if coverage == 0.0:
        return np.zeros((len(x), *shape), dtype=bool), regions
    maker = MaskMaker(
        family, coverage, match=setting.match, temporal=temporal, params=setting.params.get(family, {})
    )
    seeds = [mask_seed(setting.seed, family, coverage, temporal, start + k) for k in range(len(x))]
    return maker.masks(shape, seeds, regions=regions, threads=1), regions  # cells run on their own threads


def make_mask(
    setting: Setting, family: str, coverage: float, temporal: str, index: int, sample: np.ndarray
) -> np.ndarray:
    """The mask ``(T, H, W)`` that sample ``index`` (an array ``(T, C, H, W)``) gets in a cell."""
    return make_masks(setting, (temporal, family, coverage), index, sample[None])[0][0]


def occluded(
    setting: Setting, key: tuple[str, str, float], start: int, x: np.ndarray, masks: np.ndarray
) -> np.ndarray:
    """Samples ``x`` ``(n, T, C, H, W)`` (indices from ``start``) with their masks applied in a cell.

    A random fill draws each sample's values from :func:`fill_seed`, so the
    occluded data, like the masks, depend on the seed and the sample only.
    """
    if not isinstance(special_fill(setting.fill), Noise):
        return occlude(x, masks, setting.fill, layout="BTCHW")
    temporal, family, coverage = key
    return np.stack(
        [
            occlude(
                s,
                m,
                setting.fill,
                layout="TCHW",
                rng=fill_seed(setting.seed, family, coverage, temporal, start + k),
            )
            for k, (s, m) in enumerate(zip(x, masks, strict=True))
        ]
    )


def _region(
    region: Callable[[np.ndarray], np.ndarray], sample: np.ndarray, shape: tuple[int, ...]
) -> np.ndarray:
    r = np.asarray(region(sample))
    if r.dtype != bool or r.shape not in (shape, shape[1:]):
        raise ValueError(
            f"region must return a bool array of shape {shape} or {shape[1:]} for a sample of shape "
            f"{sample.shape}, got {r.dtype} {r.shape}"
        )
    return np.broadcast_to(r, shape)
