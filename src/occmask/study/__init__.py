"""The occlusion-geometry study: a CNN on Moving MNIST under matched-coverage masks.

Run it from the shell with ``occmask study`` or from Python::

    from occmask.study import make_config, run_study
    run_study(make_config("quick", out="results"))

The study is a client of :mod:`occmask.robustness`, which scores the models of each
training seed on that seed's masks. Modules: :mod:`~occmask.study.data` (MNIST loading),
:mod:`~occmask.study.moving` (Moving MNIST), :mod:`~occmask.study.model` (the CNNs),
:mod:`~occmask.study.analysis` (decisions: pooled over seeds, Holm-adjusted, the blog's
claims), :mod:`~occmask.study.context` (what a run measured),
:mod:`~occmask.study.tables` (the decisions phrased as tables and sentences),
:mod:`~occmask.study.sections` (what a run measured, phrased),
:mod:`~occmask.study.plots` and :mod:`~occmask.study.report` (the outputs: figures, the
page, the digest, the files), :mod:`~occmask.study.config` (presets, seeds) and
:mod:`~occmask.study.run` (the pipeline).
Torch, matplotlib and Pillow are imported only when a run starts.
"""

from __future__ import annotations

from typing import Any

from .config import PRESETS, StudyConfig, make_config

__all__ = ["PRESETS", "StudyConfig", "make_config", "run_study"]


def __getattr__(name: str) -> Any:
    if name == "run_study":
        from .run import run_study

        return run_study
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
