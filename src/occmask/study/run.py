"""The study pipeline: data -> Moving MNIST -> CNN -> occlusion grid -> tables, figures, report."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import Stream, StudyConfig, stream
from .data import Digits, load_digits, stratified_split
from .evaluate import VideoSet, evaluate_grid
from .moving import render, trajectories

__all__ = ["StudyResult", "make_videos", "run_study"]

VALIDATION_FRACTION = 0.1


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
    accuracy : str
        Markdown table of video accuracy by coverage and family (main setting).
    """

    out: Path
    rows: list[dict]
    timings: dict[str, float]
    accuracy: str


def make_videos(images: np.ndarray, frames: int, seed: np.random.SeedSequence) -> np.ndarray:
    """Moving MNIST videos ``(n, frames, 64, 64)`` of ``images``, one per image.

    Examples
    --------
    >>> import numpy as np
    >>> v = make_videos(np.full((2, 28, 28), 255, np.uint8), 5, np.random.SeedSequence(0))
    >>> v.shape, v.dtype, int(v[0, 0].sum()) == 255 * 784
    ((2, 5, 64, 64), dtype('uint8'), True)
    """
    rng = np.random.default_rng(seed)
    return render(images, trajectories(len(images), frames, rng))


def _one_frame_each(images: np.ndarray, frames: int, seed: np.random.SeedSequence) -> np.ndarray:
    """One frame per image, taken at a random time of its own Moving MNIST video."""
    rng = np.random.default_rng(seed)
    corners = trajectories(len(images), frames, rng)
    pick = rng.integers(0, frames, size=len(images))
    return render(images, corners[np.arange(len(images)), pick][:, None])[:, 0]


@contextlib.contextmanager
def _timer(timings: dict[str, float], stage: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    timings[stage] = round(time.perf_counter() - start, 2)


@contextlib.contextmanager
def _torch_threads() -> Iterator[int]:
    """Give torch all cores this process may use but one (1 to 8), restoring the setting after.

    The spare core prepares the next grid cell's masks while torch runs the
    current one; small convolutions gain little from more threads, and lose a
    lot when the machine is busy.
    """
    import torch

    before = torch.get_num_threads()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    wanted = max(1, min(8, cores - 1))
    torch.set_num_threads(wanted)
    try:
        yield wanted
    finally:
        torch.set_num_threads(before)


def _check_device(device: str) -> None:
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "device 'cuda' was requested but torch.cuda.is_available() is False; use device='cpu'"
        )


def _test_videos(digits: Digits, config: StudyConfig) -> VideoSet:
    available = len(digits.test_labels)
    if config.videos > available:
        raise ValueError(
            f"videos must be at most {available} (one distinct test digit each), got {config.videos}"
        )
    pick = np.random.default_rng(stream(config, Stream.TEST)).permutation(available)[: config.videos]
    frames = make_videos(digits.test_images[pick], config.frames, stream(config, Stream.TEST, 1))
    return VideoSet(frames, digits.test_labels[pick])


def _train_model(digits: Digits, config: StudyConfig):
    from .model import build_cnn, train

    split = np.random.default_rng(stream(config, Stream.SPLIT))
    fit, val = stratified_split(digits.train_labels, VALIDATION_FRACTION, split)
    images = digits.train_images[fit]
    val_frames = _one_frame_each(digits.train_images[val], config.frames, stream(config, Stream.VALIDATION))
    torch_seed = int(stream(config, Stream.TORCH).generate_state(1)[0])
    model = build_cnn(seed=torch_seed)
    history = train(
        model,
        lambda epoch: _one_frame_each(images, config.frames, stream(config, Stream.TRAIN, epoch)),
        digits.train_labels[fit],
        val_frames,
        digits.train_labels[val],
        epochs=config.epochs,
        seed=torch_seed,
        device=config.device,
        progress=config.progress,
    )
    return model, history, {"train": int(fit.size), "validation": int(val.size)}


def run_study(config: StudyConfig) -> StudyResult:
    """Run the whole study and write every output into ``config.out``.

    Parameters
    ----------
    config : StudyConfig
        From :func:`occmask.study.make_config`.

    Returns
    -------
    StudyResult
        The output folder, the rows of ``results.csv`` and stage timings.

    Raises
    ------
    ValueError
        For a missing or malformed ``mnist_dir``, more videos than test
        digits, or ``device="cuda"`` without a GPU.
    """
    from ..robustness.metrics import bootstrap_indices
    from .analysis import accuracy_by_hidden_ink, all_estimates, results_table
    from .context import Context
    from .plots import make_figures
    from .reading import accuracy_table
    from .report import write_outputs

    _check_device(config.device)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    with _torch_threads() as threads:
        with _timer(timings, "data"):
            digits = load_digits(config.mnist_dir, np.random.default_rng(stream(config, Stream.SPLIT, 1)))
            test = _test_videos(digits, config)
        with _timer(timings, "train"):
            model, history, sizes = _train_model(digits, config)
        with _timer(timings, "evaluate"):
            cells = evaluate_grid(model, test, config)
    with _timer(timings, "analyse"):
        boot = bootstrap_indices(
            config.videos, config.n_boot, np.random.default_rng(stream(config, Stream.BOOTSTRAP))
        )
        found = all_estimates(cells, test.labels, boot)
        rows = results_table(cells, test.labels, config, found)
        ink = {
            tm: accuracy_by_hidden_ink([c for c in cells if c.temporal == tm], test.labels)
            for tm in config.temporal
        }
    context = Context(
        config=config,
        source=digits.source,
        sizes=sizes | {"test_videos": config.videos},
        history=history,
        rows=rows,
        estimates=found,
        ink=ink,
        cells=cells,
        test=test,
        threads=threads,
        timings=timings,
    )
    config.out.mkdir(parents=True, exist_ok=True)
    with _timer(timings, "figures"):
        figures = make_figures(context)
    timings["total"] = round(time.perf_counter() - started, 2)
    write_outputs(context, figures)
    return StudyResult(config.out, rows, timings, accuracy_table(context))
