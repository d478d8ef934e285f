"""The study pipeline: data -> Moving MNIST -> CNN -> occlusion grid -> tables, figures, report."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from .config import Stream, StudyConfig, stream
from .context import Run, StudyResult, VideoSet
from .data import Digits, load_digits, stratified_split
from .moving import ink, render, trajectories

if TYPE_CHECKING:
    from ..robustness import Report

__all__ = ["make_videos", "run_study"]

VALIDATION_FRACTION = 0.1
#: Frames per forward pass when scoring. A batch's activations then stay small enough for the C
#: allocator to reuse its memory; at 256 or 512 frames each pass maps and faults them anew, and
#: the system time alone reached a third of the CPU time of scoring (measured on 2 cores).
EVAL_BATCH = 128


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
    wanted = available if config.videos is None else config.videos
    if wanted > available:
        raise ValueError(f"videos must be at most {available} (one distinct test digit each), got {wanted}")
    pick = np.random.default_rng(stream(config, Stream.TEST)).permutation(available)[:wanted]
    frames = make_videos(digits.test_images[pick], config.frames, stream(config, Stream.TEST, 1))
    return VideoSet(frames, digits.test_labels[pick])


def _train_model(
    digits: Digits, config: StudyConfig, arch: int, seed: int
) -> tuple[Any, Any, dict[str, int]]:
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


def _evaluate(
    model: Any, test: VideoSet, config: StudyConfig, fill: float, seed: int, *, ink_matched: bool = False
) -> Report:
    """Score ``model`` on the test videos: on ``fill``'s canvas grid, or on the ink shares (ink-matched).

    The masks are training seed ``seed``'s own: the models of one seed see the same masks, and
    each seed draws new ones, so that a comparison pooled over seeds averages over the masks'
    randomness as well as the training's (a paired comparison's variance is mostly the masks').
    """
    from ..robustness import Report, evaluate
    from ..robustness.metrics import RULES

    x = (test.frames[:, :, None] / np.float32(255)).astype(np.float32)  # (N, T, 1, H, W) in [0, 1]
    report = evaluate(
        model,
        (x, test.labels),
        families=config.families,
        coverages=config.ink_shares if ink_matched else config.coverages[fill],
        temporal=config.temporal[:1] if ink_matched else config.temporal,
        fill=fill,
        region=ink if ink_matched else None,
        rules=tuple(RULES),
        reference=config.reference,
        n_boot=config.n_boot,
        seed=int(stream(config, Stream.MASK, int(ink_matched), seed).generate_state(1)[0]),
        batch_size=EVAL_BATCH,
        device=config.device,
        progress=config.progress,
    )
    assert isinstance(report, Report)  # one process, no shard: the whole report
    return report


def split(report: Report, n_models: int, frame_shape: tuple[int, int, int]) -> list[Report]:
    """The reports of each member of a :class:`~occmask.study.model.Stacked` model, from the stack's report.

    Member ``m``'s log-probabilities are block ``m`` of the stack's, normalised again (the
    log-softmax of a block of a log-softmax is the log-softmax of that block's logits), so each
    member's report equals the one :func:`occmask.robustness.evaluate` gives for it alone, on the
    same masks.
    """
    from dataclasses import replace

    from ..robustness import Report

    def block(logp: np.ndarray, m: int) -> np.ndarray:
        k = logp.shape[-1] // n_models
        part = logp[..., m * k : (m + 1) * k].astype(np.float64)
        top = part.max(axis=-1, keepdims=True)
        return (part - top - np.log(np.exp(part - top).sum(axis=-1, keepdims=True))).astype(np.float32)

    out = []
    for m in range(n_models):
        cells = [replace(cell, logp=block(cell.logp, m)) for cell in report.cells]
        out.append(Report(report.setting, report.labels, cells, video=report.video, frame_shape=frame_shape))
    return out


def _geometry(run: Run) -> list:
    """The descriptor analysis of fill 0 (masks in the first temporal mode), per architecture."""
    from .geometry import explain, frame_table, measure

    c = run.config
    if 0.0 not in c.fills or len(c.families) < 2 or not any(v > 0 for v in c.coverages[0.0]):
        return []
    temporal = c.temporal[0]
    per_arch = {arch: [run.reports[(arch, s, 0.0)] for s in range(c.seeds)] for arch in c.archs}
    described = measure(per_arch[c.archs[0]], run.test.frames, temporal)  # a seed's models share its masks
    videos = next(iter(described.values()))["ink_hidden"].shape[0]
    return [
        explain(arch, described, frame_table(seeds, described, temporal, videos), c.reference, seed=c.seed)
        for arch, seeds in per_arch.items()
    ]


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
        The output folder, the rows of ``results.csv``, stage timings and the table of what holds.

    Raises
    ------
    ValueError
        For a missing or malformed ``mnist_dir``, more videos than test
        digits, or ``device="cuda"`` without a GPU.
    """
    from .analysis import decide
    from .plots import make_figures
    from .report import robust_table, write_outputs

    _check_device(config.device)
    from tqdm.auto import tqdm

    from .model import Stacked, layer_table

    timings: dict[str, float] = {}
    started, cpu = time.perf_counter(), time.process_time()
    histories: dict = {}
    reports: dict = {}
    ink_reports: dict = {}
    models: dict = {}
    with _torch_threads() as threads:
        with _timer(timings, "data"):
            digits = load_digits(config.mnist_dir, np.random.default_rng(stream(config, Stream.SPLIT, 1)))
            test = _test_videos(digits, config)
        with _timer(timings, "train"):
            for a, arch in enumerate(config.archs):
                for s in range(config.seeds):
                    models[(arch, s)], histories[(arch, s)], sizes = _train_model(digits, config, a, s)
        with _timer(timings, "evaluate"):  # each seed's models score its masks at once: masks made once
            shape = test.frames.shape[1:]
            grids = [(fill, False) for fill in config.fills]
            if config.ink_shares:  # fill 0 deletes the hidden ink; white on white ink changes nothing
                grids.append((0.0, True))
            bar = tqdm(total=config.seeds * len(grids), desc="grids", disable=not config.progress)
            for s in range(config.seeds):
                keys = [(arch, s) for arch in config.archs]
                stack = Stacked([models[key] for key in keys])
                for fill, ink_matched in grids:
                    found = split(
                        _evaluate(stack, test, config, fill, s, ink_matched=ink_matched), len(keys), shape
                    )
                    for (arch, _), report in zip(keys, found, strict=True):
                        (ink_reports if ink_matched else reports)[(arch, s, fill)] = report
                    bar.update()
            bar.close()
    layers = {arch: layer_table(models[(arch, 0)]) for arch in config.archs}
    run = Run(
        config=config,
        source=digits.source,
        sizes=sizes | {"test_videos": test.labels.size},
        test=test,
        histories=histories,
        reports=reports,
        ink_reports=ink_reports,
        threads=threads,
        timings=timings,
        layers=layers,
        models=models,
    )
    config.out.mkdir(parents=True, exist_ok=True)
    with _timer(timings, "geometry"):
        run.geometry = _geometry(run)
    with _timer(timings, "analyse"):
        focus = {fill: config.focus_coverage(fill) for fill in config.fills}
        decisions = decide(reports, focus, config.rule, ink_reports)
    with _timer(timings, "figures"):
        figures = make_figures(run, decisions)
    timings["total"] = time.perf_counter() - started
    timings["cpu"] = time.process_time() - cpu  # every thread of this process: the work, whatever else runs
    timings.update({k: round(v, 2) for k, v in timings.items()})
    rows = write_outputs(run, decisions, figures)
    return StudyResult(config.out, rows, timings, robust_table(decisions))
