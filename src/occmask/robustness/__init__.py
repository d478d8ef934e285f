"""Ask the occlusion-geometry question of any model: is it robust to structured occlusion,
or only to i.i.d. dropout, at the same coverage?

>>> from occmask.robustness import evaluate, compare   # doctest: +SKIP
>>> report = evaluate(model, (x, y), coverages=(0, .3, .6))  # doctest: +SKIP
>>> print(report.summary())                             # doctest: +SKIP

Modules: :mod:`~occmask.robustness.grid` (the grid), :mod:`~occmask.robustness.inputs` (data,
model outputs and arguments, checked), :mod:`~occmask.robustness.cells` (cells and masks),
:mod:`~occmask.robustness.metrics` (scores, frame pooling, ECE),
:mod:`~occmask.robustness.stats` (bootstrap estimates, paired tests, Holm, detectable differences),
:mod:`~occmask.robustness.verdicts` (a table's rows decided: tests, statuses, verdicts),
:mod:`~occmask.robustness.report` (the :class:`Report`, :func:`compare`),
:mod:`~occmask.robustness.shards` (partial reports of shards, :func:`merge`, ``torch.distributed``) and
:mod:`~occmask.robustness.plots` (figures). Torch is imported only when a model runs,
matplotlib only when a figure is drawn.
"""

from __future__ import annotations

from .grid import evaluate
from .report import Comparison, Report, compare
from .shards import PartialReport, merge

__all__ = ["Comparison", "PartialReport", "Report", "compare", "evaluate", "merge"]
