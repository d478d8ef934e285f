"""The study pipeline: data -> Moving MNIST -> CNN -> occlusion grid -> tables, figures, report."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator

import numpy as np

from .config import Stream, StudyConfig, stream
from .context import Run, StudyResult, VideoSet
from .data import Digits, load_digits, stratified_split
from .moving import ink, render, trajectories

__all__ = ["make_videos", "run_study"]

VALIDATION_FRACTION = 0.1


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


def _train_model(digits: Digits, config: StudyConfig, arch: int, seed: int):
    """Train architecture number ``arch`` with training seed ``seed`` (weights, batches, positions)."""
    from .model import build_cnn, train

    split = np.random.default_rng(stream(config, Stream.SPLIT))
    fit, val = stratified_split(digits.train_labels, VALIDATION_FRACTION, split)
    images = digits.train_images[fit]
    val_frames = _one_frame_each(digits.train_images[val], config.frames, stream(config, Stream.VALIDATION))
    torch_seed = int(stream(config, Stream.TORCH, arch, seed).generate_state(1)[0])
    model = build_cnn(arch=config.archs[arch], seed=torch_seed)
    history = train(
        model,
        lambda epoch: _one_frame_each(images, config.frames, stream(config, Stream.TRAIN, seed, epoch)),
        digits.train_labels[fit],
        val_frames,
        digits.train_labels[val],
        epochs=config.epochs,
        seed=torch_seed,
        device=config.device,
        progress=config.progress,
    )
    return model, history, {"train": int(fit.size), "validation": int(val.size)}


def _evaluate(model, test: VideoSet, config: StudyConfig, fill: float, *, ink_matched: bool = False):
    """Score ``model`` on the test videos: on the canvas coverages, or on the ink shares (ink-matched)."""
    from ..robustness import evaluate
    from ..robustness.metrics import RULES

    x = (test.frames[:, :, None] / np.float32(255)).astype(np.float32)  # (N, T, 1, H, W) in [0, 1]
    return evaluate(
        model,
        (x, test.labels),
        families=config.families,
        coverages=config.ink_shares if ink_matched else config.coverages,
        temporal=config.temporal[:1] if ink_matched else config.temporal,
        fill=fill,
        region=ink if ink_matched else None,
        rules=tuple(RULES),
        reference=config.reference,
        n_boot=config.n_boot,
        seed=int(stream(config, Stream.MASK, *((1,) if ink_matched else ())).generate_state(1)[0]),
        batch_size=512,
        device=config.device,
        progress=config.progress,
    )


def run_study(config: StudyConfig) -> StudyResult:
    """Run the whole study and write every output into ``config.out``.

    Trains ``config.seeds`` models of each architecture on clean frames, scores
    each with :func:`occmask.robustness.evaluate` under every fill, on the canvas
    coverages and (with ``config.ink_shares``) on masks hiding an exact share of
    each frame's ink, then decides
    (:mod:`~occmask.study.analysis`) and writes tables, figures and the report.

    Parameters
    ----------
    config : StudyConfig
        From :func:`occmask.study.make_config`.

    Returns
    -------
    StudyResult
        The output folder, the rows of ``results.csv``, stage timings and the claims table.

    Raises
    ------
    ValueError
        For a missing or malformed ``mnist_dir``, more videos than test
        digits, or ``device="cuda"`` without a GPU.
    """
    from .analysis import decide
    from .plots import make_figures
    from .report import claims_table, write_outputs

    _check_device(config.device)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    histories: dict = {}
    reports: dict = {}
    ink_reports: dict = {}
    with _torch_threads() as threads:
        with _timer(timings, "data"):
            digits = load_digits(config.mnist_dir, np.random.default_rng(stream(config, Stream.SPLIT, 1)))
            test = _test_videos(digits, config)
        timings["train"] = timings["evaluate"] = 0.0
        for a, arch in enumerate(config.archs):
            for s in range(config.seeds):
                begin = time.perf_counter()
                model, histories[(arch, s)], sizes = _train_model(digits, config, a, s)
                middle = time.perf_counter()
                for fill in config.fills:
                    reports[(arch, s, fill)] = _evaluate(model, test, config, fill)
                if (
                    config.ink_shares
                ):  # fill 0 deletes the hidden ink; white on white ink would change nothing
                    ink_reports[(arch, s, 0.0)] = _evaluate(model, test, config, 0.0, ink_matched=True)
                timings["train"] += middle - begin
                timings["evaluate"] += time.perf_counter() - middle
    run = Run(
        config=config,
        source=digits.source,
        sizes=sizes | {"test_videos": config.videos},
        test=test,
        histories=histories,
        reports=reports,
        ink_reports=ink_reports,
        threads=threads,
        timings=timings,
    )
    config.out.mkdir(parents=True, exist_ok=True)
    with _timer(timings, "analyse"):
        decisions = decide(reports, config.focus_coverage(), config.rule, ink_reports)
    with _timer(timings, "figures"):
        figures = make_figures(run, decisions)
    timings["total"] = time.perf_counter() - started
    timings.update({k: round(v, 2) for k, v in timings.items()})
    rows = write_outputs(run, decisions, figures)
    return StudyResult(config.out, rows, timings, claims_table(decisions))
