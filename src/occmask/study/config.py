"""Settings of the study: presets, validation and seed streams."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from ..families import TEMPORAL
from ..robustness.metrics import RULES

__all__ = ["ARCHS", "PRESETS", "Stream", "StudyConfig", "make_config", "stream"]


class Stream(enum.IntEnum):
    """Names of the run's independent random streams (see :func:`stream`)."""

    SPLIT = 0
    TRAIN = 1
    VALIDATION = 2
    TEST = 3
    MASK = 4
    BOOTSTRAP = 5
    TORCH = 6


#: The classifiers (built by :func:`occmask.study.model.build_cnn`): name -> what it is.
ARCHS = {
    "globalpool": "3 conv + batch norm + pooling, global max pool, linear",
    "flatten": "3 conv + batch norm + pooling, max pool to 4x4, flatten, linear",
}

#: Canvas coverages per fill, chosen to span the reference family's (Bernoulli's) single-frame
#: accuracy from near the clean level to near chance (0.1 on ten balanced classes) for both
#: architectures. Fill 0 (the background) only deletes ink: Bernoulli frames fall from 0.83-0.93 at
#: 0.1 to 0.28-0.41 at 0.6, where the families' curves meet. Fill 1 (white) adds strokes: Bernoulli
#: falls from 0.73-0.95 at 0.0025 to 0.16 at 0.1 (flatten already at 0.29 by 0.01), and every
#: family is at chance from 0.2 on (measured; docs/study.md).
GRIDS: dict[str, dict[float, tuple[float, ...]]] = {
    "quick": {0.0: (0.0, 0.1, 0.2, 0.3, 0.4, 0.6), 1.0: (0.0, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1)},
    "full": {0.0: (0.0, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6), 1.0: (0.0, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1)},
}

#: Named settings; every field may be overridden on top of a preset. ``families=None``: every
#: family in ``occmask.FAMILIES`` when the config is made; ``videos=None``: every test digit. The
#: factors of the design are the training seeds, the architectures, the fills and the temporal
#: modes; every family and coverage of a fill's grid is crossed with all of them. The ink-matched
#: arm (``ink_shares``) crosses every family and share with the seeds and architectures, masks in
#: the first temporal mode, fill 0.
PRESETS: dict[str, dict[str, Any]] = {
    "quick": {
        "families": None,
        "coverages": GRIDS["quick"],
        "ink_shares": (0.25, 0.5, 0.75),
        "temporal": ("evolving",),
        "seeds": 3,
        "archs": tuple(ARCHS),
        "fills": (0.0, 1.0),
        "videos": 400,
        "frames": 5,
        "epochs": 5,
        "n_boot": 200,
    },
    "full": {
        "families": None,
        "coverages": GRIDS["full"],
        "ink_shares": (0.25, 0.5, 0.75),
        "temporal": ("evolving", "independent"),
        "seeds": 5,
        "archs": tuple(ARCHS),
        "fills": (0.0, 1.0),
        "videos": None,
        "frames": 4,
        "epochs": 8,
        "n_boot": 200,
    },
}


@dataclass(frozen=True)
class StudyConfig:
    """Every setting of one study run (see :func:`make_config`).

    Attributes
    ----------
    preset : str
        Name of the preset the other fields started from.
    families : tuple of str
        Mask families to compare (keys of ``occmask.FAMILIES``; every registered family by default).
    coverages : dict
        Fill -> its canvas coverages in [0, 1], sorted (one grid per fill of :attr:`fills`:
        a white occluder reaches chance at far lower coverages than an invisible one).
    ink_shares : tuple of float
        Shares of the digit's ink to hide, in (0, 1], sorted: the ink-matched arm, where
        every family hides exactly this share of each frame's ink pixels (region
        coverage, ``region=`` :func:`~occmask.study.moving.ink`), masks in the first
        temporal mode, fill 0 (the background: the hidden ink is deleted; a white
        occluder on white ink would change nothing there). Empty: no such arm.
    temporal : tuple of str
        Temporal modes of the masks: ``"evolving"``, ``"static"``, ``"independent"``
        (independent masks are the fair video-level control: a fresh mask per frame).
    seeds : int
        Training seeds per architecture (weights, batch order, training positions).
    archs : tuple of str
        Classifiers, from :data:`ARCHS`: ``"globalpool"`` (convolutions, global max
        pool, linear) and ``"flatten"`` (the same convolutions, pooling to 4 x 4, flatten, linear).
    fills : tuple of float
        Values of hidden pixels in [0, 1]: 0 is the background (the occluder is
        invisible and only deletes ink), 1 is white (a visible occluder).
    videos : int or None
        Number of test videos (one distinct test digit each); None: every test digit.
    frames : int
        Frames per video.
    epochs : int
        Training epochs on clean frames.
    n_boot : int
        Bootstrap resamples for every interval.
    seed : int
        Root seed: data split, trajectories, masks, weights, bootstrap. Every
        model sees the same test videos; the models of one training seed see the
        same masks, and each training seed draws its own.
    device : str
        ``"cpu"`` or ``"cuda"``.
    mnist_dir : Path or None
        Folder of MNIST IDX files; None uses the embedded 5k subset.
    out : Path
        Output folder.
    rule : str
        Frame-pooling rule of the figures' video level (every rule is analysed; see
        ``occmask.robustness.metrics.RULES``).
    focus : float
        Coverage of the reliability diagrams, calibration table and gallery (nearest value of the
        first fill's grid; other fills at the same position of theirs, see :meth:`focus_coverage`).
    progress : bool
        Show progress bars.
    """

    preset: str
    families: tuple[str, ...]
    coverages: dict[float, tuple[float, ...]]
    ink_shares: tuple[float, ...]
    temporal: tuple[str, ...]
    seeds: int
    archs: tuple[str, ...]
    fills: tuple[float, ...]
    videos: int | None
    frames: int
    epochs: int
    n_boot: int
    seed: int = 0
    device: str = "cpu"
    mnist_dir: Path | None = None
    out: Path = Path("results")
    rule: str = "mean_logprob"
    focus: float = 0.4
    progress: bool = True
    reference: str = field(init=False)

    def __post_init__(self) -> None:
        first = "bernoulli" if "bernoulli" in self.families else self.families[0]
        object.__setattr__(self, "reference", first)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly copy of the settings (the grids keyed by the fill's text)."""
        out = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}
        out["coverages"] = {f"{fill:g}": list(grid) for fill, grid in self.coverages.items()}
        return out

    def focus_coverage(self, fill: float | None = None) -> float:
        """The coverage of the reliability diagrams, calibration table and gallery for ``fill``.

        For the first fill (the default): the grid coverage nearest to :attr:`focus`. For
        another fill: the coverage at the same position in that fill's grid, so that each
        fill is shown at a comparable point of its decline.
        """
        first = np.asarray(self.coverages[self.fills[0]])
        index = int(np.abs(first - self.focus).argmin())
        grid = self.coverages[self.fills[0] if fill is None else fill]
        return float(grid[min(index, len(grid) - 1)])


def _names(argument: str, values: Any, allowed: tuple[str, ...]) -> tuple[str, ...]:
    values = (values,) if isinstance(values, str) else tuple(values)
    if not values:
        raise ValueError(f"{argument} must name at least one of {list(allowed)}")
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise ValueError(f"{argument}: unknown value(s) {unknown}; choose from {list(allowed)}")
    return tuple(dict.fromkeys(values))


def _coverages(argument: str, values: Any, *, ink: bool = False) -> tuple[float, ...]:
    """Sorted distinct numbers in [0, 1] (at least one); ``ink``: in (0, 1], possibly none."""
    values = tuple(values)
    if not values and not ink:
        raise ValueError(f"{argument} must hold at least one value")
    low, span = (0.0, "(0, 1]") if ink else (-1.0, "[0, 1]")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (low < v <= 1.0 and v >= 0.0):
            raise ValueError(f"{argument} must be numbers in {span}, got {v!r}")
    return tuple(sorted({float(v) for v in values}))


def _grids(values: Any, fills: tuple[float, ...]) -> dict[float, tuple[float, ...]]:
    """One coverage grid per fill: ``values`` is a mapping fill -> coverages, or one grid for every fill."""
    if not isinstance(values, Mapping):
        return {fill: _coverages("coverages", values) for fill in fills}
    grids = {}
    for key, grid in values.items():
        fill = _coverages("coverages (a fill)", [key])[0]
        grids[fill] = _coverages(f"coverages of fill {fill:g}", grid)
    missing = [f for f in fills if f not in grids]
    if missing:
        raise ValueError(
            f"coverages has no grid for fill(s) {missing}; give one per fill, e.g. "
            f"coverages={{{missing[0]:g}: [0, 0.1, 0.2]}} "
            f"(occmask study --coverages {missing[0]:g}:0,0.1,0.2)"
        )
    return {fill: grids[fill] for fill in fills}


def _positive(argument: str, value: Any, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{argument} must be an integer >= {low}, got {value!r}")
    return int(value)


def make_config(preset: str = "quick", **overrides: Any) -> StudyConfig:
    """Build a validated :class:`StudyConfig` from a preset plus overrides.

    Parameters
    ----------
    preset : {"quick", "full"}
        ``"quick"`` (the default, at most 5 minutes on two CPU cores) and ``"full"``
        (at most 40): see :data:`PRESETS` for their factors.
    **overrides
        Any :class:`StudyConfig` field; None leaves the preset's value.

    Returns
    -------
    StudyConfig

    Raises
    ------
    ValueError
        Naming the argument, for an unknown preset, family, temporal mode or
        rule, a coverage outside [0, 1], or a count below its minimum.

    Examples
    --------
    >>> c = make_config("quick", families=["perlin", "bernoulli"], videos=20)
    >>> c.families, c.videos, c.reference
    (('perlin', 'bernoulli'), 20, 'bernoulli')
    >>> make_config(coverages=[0.2, 1.5])
    Traceback (most recent call last):
    ...
    ValueError: coverages must be numbers in [0, 1], got 1.5
    """
    import occmask

    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {list(PRESETS)}, got {preset!r}")
    defaults = {f.name: f.default for f in fields(StudyConfig) if f.init and f.default is not MISSING}
    unknown = set(overrides) - set(defaults) - set(PRESETS[preset])
    if unknown:
        raise ValueError(f"unknown setting(s) {sorted(unknown)}")
    settings = {**defaults, **PRESETS[preset], **{k: v for k, v in overrides.items() if v is not None}}
    families = tuple(occmask.FAMILIES)
    chosen = families if settings["families"] is None else settings["families"]
    settings["families"] = _names("families", chosen, families)
    settings["temporal"] = _names("temporal", settings["temporal"], TEMPORAL)
    settings["fills"] = _coverages("fills", settings["fills"])
    settings["coverages"] = _grids(settings["coverages"], settings["fills"])
    settings["ink_shares"] = _coverages("ink_shares", settings["ink_shares"], ink=True)
    settings["focus"] = _coverages("focus", [settings["focus"]])[0]
    settings["archs"] = _names("archs", settings["archs"], tuple(ARCHS))
    for name, low in (("frames", 1), ("epochs", 1), ("n_boot", 10), ("seed", 0), ("seeds", 1)):
        settings[name] = _positive(name, settings[name], low)
    if settings["videos"] is not None:
        settings["videos"] = _positive("videos", settings["videos"], 2)
    settings["device"] = _names("device", settings["device"], ("cpu", "cuda"))[0]
    settings["rule"] = _names("rule", settings["rule"], tuple(RULES))[0]
    for name in ("out", "mnist_dir"):
        if settings.get(name) is not None:
            settings[name] = Path(settings[name])
    if settings["mnist_dir"] is not None and not settings["mnist_dir"].is_dir():
        raise ValueError(f"mnist_dir {str(settings['mnist_dir'])!r} is not a folder")
    return StudyConfig(preset=preset, **settings)


def stream(config: StudyConfig, name: Stream, *key: int) -> np.random.SeedSequence:
    """Independent seed stream of the run, named by a :class:`Stream` and integers.

    The same ``(config.seed, name, key)`` always gives the same stream, whatever
    the grid or the order of the families: masks keyed by coverage and video
    are therefore shared across families.

    Examples
    --------
    >>> c = make_config(videos=4)
    >>> a, b = stream(c, Stream.MASK, 300, 2), stream(c, Stream.MASK, 300, 2)
    >>> bool((a.generate_state(2) == b.generate_state(2)).all())
    True
    """
    return np.random.SeedSequence(config.seed, spawn_key=(int(name), *key))
