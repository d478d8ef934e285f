"""Evaluation in shards: partial reports of slices of the samples, merged into the whole report.

A sample's masks and noise depend only on ``(seed, family, coverage, temporal,
index)`` (:mod:`~occmask.robustness.cells`), so any slice of the samples can be
evaluated apart. :func:`plan` cuts the samples into contiguous runs of *whole
batches* of the single-process run, so every forward pass of a shard sees the
very batch it sees in one process and even a model whose numerics depend on the
batch gives the same outputs, bit for bit. :func:`merge` checks that the parts
fit, concatenates them and only then runs the bootstrap and the tests, on the
whole sample. Under an initialised ``torch.distributed`` process group,
:func:`~occmask.robustness.evaluate` does this by rank (:func:`gather`).
"""

from __future__ import annotations

import hashlib
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from .._occlude import Noise
from .._validate import integer
from .cells import Cell, Setting
from .report import Report
from .verdicts import warn_unresolvable

__all__ = [
    "LOCAL",
    "PROBE_TOLERANCE",
    "PartialReport",
    "gather",
    "merge",
    "plan",
    "process_group",
    "signature",
]

#: Settings that may differ between shards: where the model runs and whether a bar shows.
LOCAL = ("device", "progress")

#: How far apart two shards' clean probabilities of the first samples may be (devices round
#: apart by far less; different weights or data differ by far more).
PROBE_TOLERANCE = 1e-3


def plan(n: int, per_batch: int, shard: tuple[int, int]) -> tuple[int, int]:
    """The samples ``[start, stop)`` of shard ``(index, count)``: a contiguous run of whole batches.

    The ``ceil(n / per_batch)`` batches of the single-process run are dealt in
    ``count`` contiguous runs whose lengths differ by at most one batch (a shard
    may be empty when there are fewer batches than shards).

    Examples
    --------
    >>> [plan(10, 3, (i, 2)) for i in range(2)]   # batches 0-2 | 3-5 | 6-8 | 9
    [(0, 6), (6, 10)]
    >>> [plan(4, 4, (i, 2)) for i in range(2)]
    [(0, 0), (0, 4)]
    """
    index, count = shard
    batches = math.ceil(n / per_batch)
    first, last = index * batches // count, (index + 1) * batches // count
    return min(n, first * per_batch), min(n, last * per_batch)


def check_shard(shard: Any) -> tuple[int, int]:
    """``shard`` as a checked pair ``(index, count)`` with ``0 <= index < count``."""
    if isinstance(shard, (str, bytes)) or not hasattr(shard, "__len__") or len(shard) != 2:
        raise TypeError(f"shard must be a pair (index, count) of integers, got {shard!r}")
    count = integer("shard count", shard[1], low=1)
    return integer("shard index", shard[0], low=0, high=count - 1), count


def signature(setting: Setting) -> dict[str, Any]:
    """The settings that shards must share, as plain picklable values (see :data:`LOCAL`).

    ``fill`` is compared by value (an array by its shape, dtype and a SHA-256 of its
    bytes) and ``region`` by its qualified name.

    Examples
    --------
    >>> import numpy as np
    >>> from occmask.robustness import evaluate
    >>> x, y = np.zeros((4, 1, 8, 8), np.float32), np.array([0, 1, 0, 1])
    >>> part = evaluate(lambda b: np.ones((len(b), 2)), (x, y), families=["perlin"], coverages=[0.5],
    ...                 fill=np.float32(0.5), shard=(0, 2), progress=False)
    >>> found = signature(part.setting)
    >>> found["fill"], found["batch_size"], found["output"], "device" in found
    (0.5, 256, 'logits', False)
    """
    out = {f.name: getattr(setting, f.name) for f in fields(setting) if f.name not in LOCAL}
    fill = setting.fill
    if not isinstance(fill, (str, Noise)):
        array = np.asarray(fill)
        digest = hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()
        out["fill"] = array.item() if array.ndim == 0 else (array.shape, str(array.dtype), digest)
    region = setting.region
    if region is not None:
        named = region if hasattr(region, "__qualname__") else type(region)
        out["region"] = f"{named.__module__}.{named.__qualname__}"
    out["params"] = {family: dict(given) for family, given in setting.params.items()}
    return out


@dataclass(frozen=True)
class PartialReport:
    """What ``evaluate(..., shard=(index, count))`` returns: the results of one slice of the samples.

    Pass every shard's partial report to :func:`merge` for the :class:`Report`
    a single process would have made. A partial report pickles (with its
    setting: its ``region`` and an array ``fill`` travel with it), so shards
    may run in other processes or on other machines.

    Attributes
    ----------
    setting : Setting
        The validated arguments of the call that made it.
    shard : (int, int)
        ``(index, count)``: this is shard ``index`` of ``count``.
    n_samples : int
        Samples in the whole data.
    start, stop : int
        This shard's samples are ``start, ..., stop - 1`` (see :func:`plan`).
    labels : ndarray of int, shape (stop - start,)
    cells : list of Cell
        The grid's cells over this shard's samples, in grid order.
    video : bool
    frame_shape : (int, int, int)
        ``(T, H, W)`` of one sample.
    classes : int
        Outputs of the model.
    signature : dict
        The settings the shards must share (:func:`signature`).
    probe : ndarray of float32, shape (n * T, K)
        Clean log-probabilities of the first ``n = min(16, n_samples)`` samples,
        which every shard scores: parts whose probabilities there differ by more
        than :data:`PROBE_TOLERANCE` come from different models or data.
    timings : dict
        Seconds of this shard: ``"masks"``, ``"model"`` and ``"grid"`` as in :class:`Report`.
    """

    setting: Setting = field(repr=False)
    shard: tuple[int, int]
    n_samples: int
    start: int
    stop: int
    labels: np.ndarray = field(repr=False)
    cells: list[Cell] = field(repr=False)
    video: bool
    frame_shape: tuple[int, int, int]
    classes: int
    signature: dict[str, Any] = field(repr=False)
    probe: np.ndarray = field(repr=False)
    timings: dict[str, float] = field(repr=False, compare=False)


_SAME = ("n_samples", "video", "frame_shape", "classes")  # facts of the data every shard must share


def _check_parts(parts: Sequence[PartialReport]) -> list[PartialReport]:
    """The parts in shard order, or an error saying how they do not fit together."""
    if isinstance(parts, (PartialReport, Report)) or not isinstance(parts, Sequence) or not parts:
        raise TypeError(
            f"reports must be a non-empty sequence of partial reports (from evaluate(..., shard=...)), got "
            f"{type(parts).__name__}"
        )
    for i, part in enumerate(parts):
        if not isinstance(part, PartialReport):
            hint = " (an already merged report)" if isinstance(part, Report) else ""
            raise TypeError(
                f"reports[{i}] must be a PartialReport from evaluate(..., shard=(index, count)), got "
                f"{type(part).__name__}{hint}"
            )
    first = parts[0]
    for i, part in enumerate(parts[1:], 1):
        differ = [k for k in first.signature if first.signature[k] != part.signature[k]]
        differ += [k for k in _SAME if getattr(first, k) != getattr(part, k)]
        if part.shard[1] != first.shard[1]:
            differ.append("shard count")
        if differ:
            shown = "; ".join(f"{k}: {_value(first, k)!r} vs {_value(part, k)!r}" for k in differ)
            raise ValueError(
                f"reports[0] and reports[{i}] come from different evaluations and cannot be merged; they "
                f"differ in {shown}"
            )
        gap = float(np.abs(np.exp(first.probe) - np.exp(part.probe)).max())
        if gap > PROBE_TOLERANCE:
            raise ValueError(
                f"reports[0] and reports[{i}] come from different models or data: their clean probabilities "
                f"of the first {first.probe.shape[0] // first.frame_shape[0]} samples differ by up to "
                f"{gap:.3g} (more than {PROBE_TOLERANCE:g})"
            )
    count = first.shard[1]
    seen: dict[int, int] = {}
    for i, part in enumerate(parts):
        if part.shard[0] in seen:
            raise ValueError(
                f"shard {part.shard[0]} of {count} is given twice (reports[{seen[part.shard[0]]}] and "
                f"reports[{i}])"
            )
        seen[part.shard[0]] = i
    missing = sorted(set(range(count)) - set(seen))
    if missing:
        raise ValueError(f"shards {missing} of {count} are missing: merge needs every shard 0..{count - 1}")
    return sorted(parts, key=lambda part: part.shard[0])


def _value(part: PartialReport, key: str) -> Any:
    if key == "shard count":
        return part.shard[1]
    return part.signature[key] if key in part.signature else getattr(part, key)


def _joined(cells: Sequence[Cell]) -> Cell:
    cells = [c for c in cells if c.logp.shape[0]] or cells[:1]  # empty shards add nothing
    first = cells[0]
    arrays = {
        name: np.concatenate([getattr(c, name) for c in cells])
        for name in ("logp", "realised", "n_components", "largest_fraction")
    }
    hidden = None if first.region_hidden is None else np.concatenate([c.region_hidden for c in cells])
    return Cell(first.temporal, first.family, first.coverage, region_hidden=hidden, **arrays)


def combine(parts: Sequence[PartialReport], setting: Setting, started: float | None = None) -> Report:
    """The report of the checked ``parts`` (in any order), with ``setting``; warns as the caller's caller."""
    begin = time.perf_counter()
    parts = _check_parts(parts)
    labels = np.concatenate([p.labels for p in parts])
    cells = [_joined(column) for column in zip(*(p.cells for p in parts), strict=True)]
    report = Report(setting, labels, cells, video=parts[0].video, frame_shape=parts[0].frame_shape)
    stages = ("masks", "model", "grid")
    timings = {stage: max(p.timings[stage] for p in parts) for stage in stages}
    timings["statistics"] = time.perf_counter() - begin
    timings["total"] = (
        timings["grid"] + timings["statistics"] if started is None else time.perf_counter() - started
    )
    report.timings = {k: round(v, 4) for k, v in timings.items()}
    warn_unresolvable(report.rows + report.gaps, stacklevel=4)
    return report


def merge(reports: Sequence[PartialReport]) -> Report:
    """Merge the partial reports of every shard into the report one process would have made.

    The parts may come in any order; they must be every shard ``0..count - 1``
    of one evaluation, each once. The bootstrap intervals and the paired tests
    run after the merge, on the whole sample, so the rows equal those of
    ``evaluate`` without ``shard`` exactly.

    Parameters
    ----------
    reports : sequence of PartialReport
        What ``evaluate(..., shard=(index, count))`` returned for each index.

    Returns
    -------
    Report
        Its ``timings`` give the longest shard's ``"masks"``, ``"model"`` and
        ``"grid"`` seconds, the merge's ``"statistics"`` and their sum ``"total"``.

    Raises
    ------
    ValueError
        When the parts do not fit together: settings that differ (all but
        ``device`` and ``progress``; ``batch_size`` included, since it places the
        shards' boundaries), other data (number, shape of the samples, classes),
        a different number of shards, a shard given twice or missing, or
        another model (the clean probabilities of the first samples, which every
        shard scores, differ by more than :data:`PROBE_TOLERANCE`).
    TypeError
        When a part is not a :class:`PartialReport`.

    Examples
    --------
    >>> import numpy as np
    >>> from occmask.robustness import evaluate, merge
    >>> x = np.random.default_rng(0).random((20, 1, 16, 16), dtype=np.float32)
    >>> y = (x[:, 0, :8].mean((1, 2)) > x[:, 0, 8:].mean((1, 2))).astype(int)
    >>> def model(batch):
    ...     top, bottom = batch[:, 0, :8].mean((1, 2)), batch[:, 0, 8:].mean((1, 2))
    ...     return 20 * np.stack([bottom - top, top - bottom], axis=1)
    >>> grid = dict(families=["bernoulli", "perlin"], coverages=[0, 0.5], n_boot=100, batch_size=8,
    ...             progress=False)
    >>> parts = [evaluate(model, (x, y), shard=(i, 2), **grid) for i in (1, 0)]
    >>> [(p.shard, p.start, p.stop) for p in parts]
    [((1, 2), 8, 20), ((0, 2), 0, 8)]
    >>> merge(parts).rows == evaluate(model, (x, y), **grid).rows
    True
    """
    parts = _check_parts(reports)
    return combine(parts, parts[0].setting)


# --------------------------------------------------------------------------- torch.distributed


def process_group() -> tuple[int, int] | None:
    """``(rank, world size)`` of an initialised ``torch.distributed`` process group, else None.

    Reads torch only when it is already imported: without torch no group can exist.
    """
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    dist = torch.distributed
    if not (dist.is_available() and dist.is_initialized()):
        return None
    return dist.get_rank(), dist.get_world_size()


def gather(run: Callable[[tuple[int, int]], PartialReport], ranks: tuple[int, int]) -> list[PartialReport]:
    """Run this rank's shard ``run((rank, world))``; gather every rank's part (each with this rank's setting).

    Every rank takes part in the gather even when its shard failed, so an error
    on one rank is raised on every rank (there as a RuntimeError naming it) and no
    rank waits forever for the others.
    """
    import torch.distributed as dist

    rank, world = ranks
    mine = failure = None
    try:
        mine = run(ranks)
        sent: Any = {f.name: getattr(mine, f.name) for f in fields(mine) if f.name != "setting"}
    except Exception as error:  # raised below, after every rank has reported
        failure = error
        sent = f"{type(error).__name__}: {error}"
    received: list[Any] = [None] * world
    dist.all_gather_object(received, sent)
    if failure is not None:
        raise failure
    failed = [(r, text) for r, text in enumerate(received) if isinstance(text, str)]
    if failed:
        r, text = failed[0]
        raise RuntimeError(f"evaluate failed on rank {r} of {world} (this is rank {rank}): {text}")
    assert mine is not None
    return [PartialReport(setting=mine.setting, **found) for found in received]
