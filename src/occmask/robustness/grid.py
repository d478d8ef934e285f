"""The evaluation grid: a model scored on every (temporal mode, family, coverage) of the same samples.

Every sample gets its mask from :func:`occmask.robustness.cells.make_masks`, a
function of ``(seed, family, coverage, temporal, index)`` only, so two models or
two runs see identical occlusions. Masks are made on the CPU by the batch engine
(:class:`occmask._batch.MaskMaker`, the one ``Occlude`` uses), a cell a thread,
a few cells ahead of the model.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..apply import occlude
from ..describe import describe
from .cells import Cell, Setting, make_mask, make_masks, occluded
from .inputs import (
    Source,
    as_numpy,
    check_labels,
    checked_setting,
    forward,
    log_probs,
    looks_like_probs,
    raw_outputs,
    source_of,
)

if TYPE_CHECKING:
    from concurrent.futures import Executor, Future

    from .report import Report
    from .shards import PartialReport

__all__ = ["evaluate"]


class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def set_postfix_str(self, text: str) -> None:
        return None

    def update(self) -> None:
        return None


def _bar(progress: bool, total: int) -> Any:
    """A tqdm progress bar over cells, or a silent stand-in when hidden or tqdm is not installed."""
    if progress:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return _NoBar()
        return tqdm(total=total, desc="evaluate", unit="cell", leave=False)
    return _NoBar()


def _workers() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(8, cores - 1))


def _masks(
    setting: Setting, key: tuple[str, str, float], start: int, x: np.ndarray
) -> tuple[np.ndarray, dict]:
    """The masks of one batch in one cell and their per-frame descriptors."""
    masks, regions = make_masks(setting, key, start, x)
    described = [describe(m) for m in masks]
    fields = {
        "realised": np.stack([d.coverage for d in described]),
        "n_components": np.stack([d.n_components for d in described]),
        "largest_fraction": np.stack([d.largest_fraction for d in described]),
    }
    if regions is not None:
        region = np.stack(regions)
        total = region.sum(axis=(-2, -1))
        with np.errstate(invalid="ignore", divide="ignore"):
            fields["region_hidden"] = (region & masks).sum(axis=(-2, -1)) / np.where(total > 0, total, np.nan)
    return masks, fields


_DRY_RUN = 16  # samples scored clean before the grid (and to recognise probabilities)


def _dry_run(model: Any, setting: Setting, source: Source) -> tuple[np.ndarray, Setting]:
    """Score the first samples clean and make sample 0's masks once per family and mode: every error
    before the grid. Returns the first samples' clean log-probabilities ``(n * T, K)`` and the setting
    with its ``output`` resolved."""
    _, x, y = next(source.batches(min(_DRY_RUN, source.n)))
    where = f"the clean samples 0..{len(y) - 1}"
    raw = raw_outputs(model, x, setting.device, where)
    output = setting.output or ("probs" if looks_like_probs(raw) else "logits")
    setting = replace(setting, output=output)
    probe = log_probs(raw, output, where)
    k = probe.shape[-1]
    if source.indexable:
        check_labels(as_numpy(source.data[1]).astype(np.int64), k, 0)
    else:
        check_labels(y, k, 0)
    coverage = next((c for c in setting.coverages if c > 0), None)
    x = x[:1]
    for temporal in setting.temporal:
        for family in setting.families:
            if coverage is not None:
                key = (temporal, family, coverage)
                occluded(setting, key, 0, x, make_mask(setting, family, coverage, temporal, 0, x[0])[None])
    if coverage is None:
        occlude(x[0], np.zeros((x.shape[1], *x.shape[-2:]), dtype=bool), setting.fill, layout="TCHW")
    return probe, setting


def evaluate(
    model: Any,
    data: Any,
    *,
    families: Sequence[str] | None = None,
    coverages: Sequence[float] = (0.0, 0.2, 0.4, 0.6),
    temporal: Sequence[str] = ("evolving",),
    fill: Any = 0.0,
    region: Callable[[np.ndarray], np.ndarray] | None = None,
    rules: Sequence[str] = ("mean_logprob",),
    match: str = "frame",
    params: Mapping[str, Mapping[str, Any]] | None = None,
    reference: str | None = None,
    n_boot: int = 1000,
    ece_bins: int = 15,
    seed: int = 0,
    batch_size: int = 256,
    device: str = "cpu",
    progress: bool = True,
    output: str | None = None,
    shard: tuple[int, int] | None = None,
) -> Report | PartialReport:
    """Score a classifier under every mask family and coverage, on identical masks.

    Parameters
    ----------
    model : callable
        An ``nn.Module`` or a function mapping a float32 batch ``(N, C, H, W)``
        to logits ``(N, K)`` (or probabilities, see ``output``), as a tensor or
        an array. It gets a torch tensor on ``device`` when torch is installed,
        else a NumPy array. A module is put in eval mode and moved to
        ``device`` (its training flag is restored afterwards).
    data : (x, y) or Dataset
        A pair of arrays or tensors, ``x`` images ``(N, C, H, W)`` or videos
        ``(N, T, C, H, W)`` and ``y`` integer labels ``(N,)``; or a torch-style
        Dataset (``len`` and ``[i]``) yielding ``(x, y)`` pairs, read batch by
        batch. Values are cast to float32 unchanged; occlusion sets hidden
        pixels to ``fill`` in those units.
    families : sequence of str, optional
        Mask families (names in ``occmask.FAMILIES``, user-registered ones
        included); default every registered family.
    coverages : sequence of float
        Coverages in [0, 1]; coverage 0 is the clean data, shared by all families.
    temporal : sequence of str
        Temporal modes of the masks: ``"evolving"``, ``"static"``, ``"independent"``.
    fill : scalar, sequence or ndarray
        Value of hidden pixels, as in :func:`occmask.occlude` (one number, one
        per channel, or an array broadcasting to a sample).
    region : callable, optional
        ``region(sample) -> bool mask`` for a sample ``(T, C, H, W)``, of shape
        ``(T, H, W)`` or ``(H, W)``: the coverage is then the share of the
        region hidden (passed to the families as ``region=``), and rows report
        the realised region share.
    rules : sequence of str
        How video predictions pool their frames' log-probabilities
        (``"sum_logprob"``, ``"mean_logprob"``, ``"mean_prob"``; see
        :data:`occmask.robustness.metrics.RULES`). Ignored for images.
    match : {"frame", "video", "expected"}
        Coverage matching, as in :func:`occmask.generate`.
    params : mapping, optional
        Family name -> parameters, e.g. ``{"perlin": {"scale": 8}}``.
    reference : str, optional
        The family every other is compared with; default ``"bernoulli"`` when
        it runs, else the first family.
    n_boot : int, default 1000
        Bootstrap resamples of the samples (shared by every condition, so
        comparisons are paired).
    ece_bins : int, default 15
        Equal-width confidence bins of the ECE.
    seed : int, default 0
        Root of the mask seeds and of the bootstrap resamples.
    batch_size : int, default 256
        Frames per forward pass (a batch holds ``batch_size // T`` videos, at least one).
    device : str, default "cpu"
        Where the model runs; batches are moved there one at a time. Any other
        device than ``"cpu"`` needs torch (``pip install 'occmask[torch]'``).
    progress : bool, default True
        Show a progress bar over cells (when tqdm is installed).
    output : {"logits", "probs", "logprobs"}, optional
        What the model returns. By default logits, unless the clean outputs of
        the first samples are rows of probabilities (in [0, 1], summing to 1),
        then probabilities. Non-finite outputs are refused with an error naming the cell.
    shard : (int, int), optional
        ``(index, count)``: evaluate only shard ``index`` of ``count``, a contiguous
        run of whole batches of the samples (see
        :func:`~occmask.robustness.shards.plan`), with the very masks, noise and
        batches those samples get in a single run, and return a
        :class:`~occmask.robustness.shards.PartialReport`;
        :func:`~occmask.robustness.merge` makes the report of every shard's part.
        By default, under an initialised ``torch.distributed`` process group,
        every rank evaluates shard ``(rank, world size)``
        (its model on its own ``device``), the parts are gathered and every rank
        returns the merged report; otherwise one process evaluates everything.

    Returns
    -------
    Report or PartialReport
        Rows of metrics with 95% intervals, paired comparisons and the masks'
        descriptors; with ``shard``, the partial report of that shard.

    Raises
    ------
    ValueError, TypeError
        Before any work, naming the argument: empty data or data of the wrong
        rank, labels outside the model's classes, a model output that is not
        a real ``(N, K)`` array or tensor or not finite, an unknown family,
        mode, rule, parameter or device, a bad fill, a shard that is not a pair
        ``(index, count)`` with ``0 <= index < count``.

    Examples
    --------
    >>> import numpy as np
    >>> from occmask.robustness import evaluate
    >>> x = np.random.default_rng(0).random((20, 1, 16, 16), dtype=np.float32)
    >>> y = (x[:, 0, :8].mean((1, 2)) > x[:, 0, 8:].mean((1, 2))).astype(int)
    >>> def model(batch):  # top half brighter than bottom half -> class 1
    ...     top, bottom = batch[:, 0, :8].mean((1, 2)), batch[:, 0, 8:].mean((1, 2))
    ...     return 20 * np.stack([bottom - top, top - bottom], axis=1)
    >>> r = evaluate(model, (x, y), families=["bernoulli", "perlin"], coverages=[0, 0.5],
    ...              n_boot=100, progress=False)
    >>> [(row["family"], row["coverage"], row["accuracy"]) for row in r.rows][:2]
    [('bernoulli', 0.0, 1.0), ('bernoulli', 0.5, 0.65)]
    """
    from .shards import check_shard, combine, gather, process_group

    started = time.perf_counter()
    given = {
        "families": families,
        "coverages": coverages,
        "temporal": temporal,
        "fill": fill,
        "region": region,
        "rules": rules,
        "match": match,
        "params": params,
        "reference": reference,
        "n_boot": n_boot,
        "ece_bins": ece_bins,
        "seed": seed,
        "batch_size": batch_size,
        "device": device,
        "progress": progress,
        "output": output,
    }
    if shard is not None:
        return _part(model, data, given, check_shard(shard))
    ranks = process_group()
    if ranks is None:
        part = _part(model, data, given, (0, 1))
        return combine([part], part.setting, started)
    given["progress"] = progress and ranks[0] == 0  # one bar, on rank 0
    parts = gather(lambda found: _part(model, data, given, found), ranks)
    return combine(parts, parts[0].setting, started)


def _part(model: Any, data: Any, given: dict[str, Any], shard: tuple[int, int]) -> PartialReport:
    """Check the arguments of :func:`evaluate` and run the grid on the samples of ``shard``."""
    from .shards import PartialReport, plan, signature

    started = time.perf_counter()
    timings = _Timings()
    setting = checked_setting(**given)
    source = source_of(data)
    with _evaluating(model, setting.device):
        probe, setting = _dry_run(model, setting, source)
        k = probe.shape[-1]
        t, _, h, w = source.shape
        grid = [(tm, f, c) for tm in setting.temporal for f in setting.families for c in setting.coverages]
        hidden = [key for key in grid if key[2] > 0]
        per_batch = max(1, setting.batch_size // t)
        first, last = plan(source.n, per_batch, shard)
        scores = _Scores(hidden, last - first, t, k)
        _score(model, setting, source, (first, last, per_batch), scores, timings)
    timings.seconds["grid"] = time.perf_counter() - started
    return PartialReport(
        setting, shard, source.n, first, last, scores.labels, scores.cells(grid, setting.region is not None),
        source.video, (t, h, w), k, signature(setting), probe,
        {key: round(value, 4) for key, value in timings.seconds.items()},
    )  # fmt: skip


class _Timings:
    """Seconds the grid spends per stage: ``"masks"`` (waiting for the pool, then applying the masks)
    and ``"model"`` (forward passes)."""

    def __init__(self) -> None:
        self.seconds = {"masks": 0.0, "model": 0.0}

    @contextlib.contextmanager
    def clock(self, stage: str) -> Iterator[None]:
        """Add the time the ``with`` block takes to ``stage``."""
        begin = time.perf_counter()
        yield
        self.seconds[stage] += time.perf_counter() - begin


@contextlib.contextmanager
def _evaluating(model: Any, device: str) -> Iterator[None]:
    """The model checked, and a module in eval mode on ``device``, its training flag restored after."""
    if not callable(model):
        raise TypeError(f"model must be callable (an nn.Module or a function), got {type(model).__name__}")
    training = getattr(model, "training", None)
    if hasattr(model, "eval") and hasattr(model, "to"):
        model.eval()
        model.to(device)
    try:
        yield
    finally:
        if training is not None and hasattr(model, "train"):
            model.train(training)


class _Scores:
    """What the grid records of a shard's ``n`` samples of ``t`` frames: labels, clean and occluded
    log-probabilities (``k`` classes), and the descriptors of every hidden cell's masks."""

    def __init__(self, hidden: Sequence[tuple], n: int, t: int, k: int) -> None:
        self.n, self.t = n, t
        self.labels = np.empty(n, np.int64)
        self.clean = np.empty((n, t, k), np.float32)
        self.logp = {key: np.empty((n, t, k), np.float32) for key in hidden}
        self.fields: dict[tuple, dict[str, np.ndarray]] = {key: {} for key in hidden}

    def record(self, key: tuple, rows: slice, logp: np.ndarray, found: Mapping[str, np.ndarray]) -> None:
        """The log-probabilities and mask descriptors of the samples ``rows`` in cell ``key``."""
        self.logp[key][rows] = logp
        for name, values in found.items():
            self.fields[key].setdefault(name, np.empty((self.n, self.t), values.dtype))[rows] = values

    def cells(self, grid: Sequence[tuple[str, str, float]], region: bool) -> list[Cell]:
        """A cell per key of ``grid``; coverage 0 (the clean predictions, no mask) or an empty shard
        gets descriptors of zeros (``region_hidden`` too where the grid has a region)."""
        cells = []
        for temporal, family, coverage in grid:
            found = self.fields[(temporal, family, coverage)] if coverage > 0 else {}
            if not found:
                zeros = np.zeros((self.n, self.t))
                found = {"realised": zeros, "n_components": zeros.astype(np.int64), "largest_fraction": zeros}
                if region:
                    found["region_hidden"] = zeros
            cells.append(
                Cell(
                    temporal,
                    family,
                    coverage,
                    logp=self.logp.get((temporal, family, coverage), self.clean),
                    realised=found["realised"],
                    n_components=found["n_components"],
                    largest_fraction=found["largest_fraction"],
                    region_hidden=found.get("region_hidden"),
                )
            )
        return cells


def _score(
    model: Any,
    setting: Setting,
    source: Source,
    span: tuple[int, int, int],
    scores: _Scores,
    timings: _Timings,
) -> None:
    """Score the samples ``first..last - 1`` of ``span = (first, last, per_batch)`` clean and in
    every hidden cell of ``scores``, a batch at a time, into ``scores``."""
    from concurrent.futures import ThreadPoolExecutor

    first, last, per_batch = span
    hidden = list(scores.logp)
    k = scores.clean.shape[-1]
    workers = _workers()
    total = len(hidden) * math.ceil((last - first) / per_batch)
    with ThreadPoolExecutor(max_workers=workers) as pool, _bar(setting.progress, total) as bar:
        for start, x, y in source.batches(per_batch, first, last):
            check_labels(y, k, start)
            stop = start + len(y)
            rows = slice(start - first, stop - first)
            scores.labels[rows] = y
            with timings.clock("model"):
                scores.clean[rows] = forward(model, x, setting, f"the clean samples {start}..{stop - 1}")
            for key, future in _ahead(pool, setting, hidden, start, x, workers):
                with timings.clock("masks"):  # waiting for the pool, then applying
                    masks, found = future.result()
                    seen = occluded(setting, key, start, x, masks)
                with timings.clock("model"):
                    where = "cell ({}, {}, coverage {:g}), samples {}..{}".format(*key, start, stop - 1)
                    logp = forward(model, seen, setting, where)
                scores.record(key, rows, logp, found)
                bar.set_postfix_str("{} {} {:g}".format(*key))
                bar.update()


def _ahead(
    pool: Executor,
    setting: Setting,
    keys: Sequence[tuple[str, str, float]],
    start: int,
    x: np.ndarray,
    depth: int,
) -> Iterator[tuple[tuple[str, str, float], Future]]:
    """The masks of one batch ``x`` in every cell of ``keys``, in order: each cell's future, made in
    ``pool`` while up to ``depth`` cells after it are made too."""
    todo = iter(keys)
    pending: deque = deque()
    for key in todo:
        pending.append((key, pool.submit(_masks, setting, key, start, x)))
        if len(pending) > depth:
            break
    while pending:
        key, future = pending.popleft()
        nxt = next(todo, None)
        if nxt is not None:
            pending.append((nxt, pool.submit(_masks, setting, nxt, start, x)))
        yield key, future
