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

from ..families import generate

__all__ = ["Cell", "Setting", "make_mask", "mask_seed"]

_MASK_STREAM = 0  # spawn-key prefix of the mask seeds; the bootstrap uses 1


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
    key = (
        _MASK_STREAM,
        zlib.crc32(family.encode()),
        round(coverage * 1_000_000),
        zlib.crc32(temporal.encode()),
    )
    return np.random.SeedSequence(seed, spawn_key=(*key, index))


def make_mask(
    setting: Setting, family: str, coverage: float, temporal: str, index: int, sample: np.ndarray
) -> np.ndarray:
    """The mask ``(T, H, W)`` that sample ``index`` (an array ``(T, C, H, W)``) gets in a cell."""
    shape = (sample.shape[0], *sample.shape[-2:])
    if coverage == 0.0:
        return np.zeros(shape, dtype=bool)
    extra = dict(setting.params.get(family, {}))
    if setting.region is not None:
        extra["region"] = _region(setting.region, sample, shape)
    seed = mask_seed(setting.seed, family, coverage, temporal, index)
    return generate(family, shape, coverage, rng=seed, temporal=temporal, match=setting.match, **extra)


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
