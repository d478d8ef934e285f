"""What a run measured and returned, shared by the pipeline, the figures and the report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .config import StudyConfig

__all__ = ["Run", "StudyResult", "VideoSet"]


@dataclass(frozen=True)
class StudyResult:
    """What a run produced.

    Attributes
    ----------
    out : Path
        Output folder.
    rows : list of dict
        The rows of ``results.csv``.
    timings : dict
        Seconds per stage and ``"total"``.
    claims : str
        Markdown table: per claim of the blog and fill, the coverages where it holds for every
        seed and architecture, then each architecture's verdicts (single frames).
    """

    out: Path
    rows: list[dict]
    timings: dict[str, float]
    claims: str


@dataclass(frozen=True)
class VideoSet:
    """Clean test videos and their labels.

    Attributes
    ----------
    frames : ndarray of uint8, shape (N, T, H, W)
    labels : ndarray of int64, shape (N,)
    """

    frames: np.ndarray
    labels: np.ndarray


@dataclass
class Run:
    """Everything a run measured, shared by the analysis, the figures and the report.

    Attributes
    ----------
    config : StudyConfig
    source : str
        Where the digits came from.
    sizes : dict
        Training, validation and test sizes.
    test : VideoSet
    histories : dict
        ``(arch, seed index)`` -> :class:`~occmask.study.model.History`.
    reports : dict
        ``(arch, seed index, fill)`` -> :class:`occmask.robustness.Report`, all on the
        same test videos and masks.
    ink_reports : dict
        ``(arch, seed index, 0.0)`` -> reports of the ink-matched arm (masks hiding an
        exact share of each frame's ink, first temporal mode, fill 0); empty without
        ``config.ink_shares``.
    threads : int
        Torch threads used.
    timings : dict
        Seconds per stage.
    layers : dict
        Architecture -> :func:`~occmask.study.model.layer_table` of its first seed's model.
    models : dict
        ``(arch, seed index)`` -> the trained model.
    geometry : list
        :class:`~occmask.study.geometry.Geometry` per architecture (empty without fill 0).
    """

    config: StudyConfig
    source: str
    sizes: dict[str, int]
    test: VideoSet
    histories: dict
    reports: dict
    ink_reports: dict
    threads: int
    timings: dict[str, float]
    layers: dict = field(default_factory=dict)
    models: dict = field(default_factory=dict)
    geometry: list = field(default_factory=list)
