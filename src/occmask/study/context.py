"""The measured state of a run, shared by the figures, the reading and the report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .analysis import Estimate, InkCurve, Key
from .config import StudyConfig
from .evaluate import Cell, VideoSet

if TYPE_CHECKING:
    from .model import History

__all__ = ["Context"]


@dataclass
class Context:
    """Everything a run measured.

    Attributes
    ----------
    config : StudyConfig
    source : str
        Where the digits came from.
    sizes : dict
        Number of training and validation digits and of test videos.
    history : History
        Per-epoch training record.
    rows : list of dict
        Rows of ``results.csv``.
    estimates : dict
        ``(temporal, family, coverage, rule)`` -> metric -> :class:`Estimate`
        (rule ``""``: single frames).
    ink : dict
        Temporal mode -> family -> :class:`InkCurve`.
    cells : list of Cell
        Per-frame results of the grid.
    test : VideoSet
        Clean test videos.
    threads : int
        Torch threads used.
    timings : dict
        Seconds per stage.
    """

    config: StudyConfig
    source: str
    sizes: dict[str, int]
    history: History
    rows: list[dict]
    estimates: dict[Key, dict[str, Estimate]]
    ink: dict[str, dict[str, InkCurve]]
    cells: list[Cell]
    test: VideoSet
    threads: int
    timings: dict[str, float]

    def cell(self, temporal: str, family: str, coverage: float) -> Cell:
        """The grid cell of one (temporal mode, family, coverage)."""
        return next(
            c for c in self.cells if (c.temporal, c.family, c.coverage) == (temporal, family, coverage)
        )

    def est(
        self, temporal: str, family: str, coverage: float, metric: str, rule: str | None = None
    ) -> Estimate:
        """A metric's estimate; ``rule=None`` is the default rule, ``""`` single frames."""
        return self.estimates[(temporal, family, coverage, self.config.rule if rule is None else rule)][
            metric
        ]

    def versus_reference(
        self, temporal: str, family: str, coverage: float, metric: str, rule: str | None = None
    ) -> Estimate:
        """Paired difference ``family - reference`` of a metric on the same videos."""
        ref = self.config.reference
        return self.est(temporal, family, coverage, metric, rule) - self.est(
            temporal, ref, coverage, metric, rule
        )

    @property
    def others(self) -> tuple[str, ...]:
        """The families other than the reference."""
        return tuple(f for f in self.config.families if f != self.config.reference)

    @property
    def occluded(self) -> tuple[float, ...]:
        """The grid coverages above 0."""
        return tuple(c for c in self.config.coverages if c > 0)
