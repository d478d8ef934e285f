"""The timing harness of the benchmarks: measurement, rows, the DataLoader harness and the report.

:func:`compare` times functions in interleaved repetitions; :class:`Row` and
:class:`Target` hold one line of the table; :func:`loader_times` measures a
transform in one ``DataLoader`` worker; :func:`report` writes the Markdown table.
The rows themselves are in ``rows.py``, the peers' implementations in ``baselines.py``.
"""

from __future__ import annotations

import functools
import gc
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from occmask.calibrate import target_count

#: Thread pools limited to one thread; set before numba is first imported, which reads it once.
SINGLE_THREAD = dict.fromkeys(
    ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"), "1"
)
VIDEO = (20, 64, 64)
IMAGE = (256, 256)
#: Larger workloads, on which the family rows run again in a full run: how the time scales with size.
LARGE_VIDEO = (16, 256, 256)
LARGE_IMAGE = (1024, 1024)
COVERAGE = 0.5
SEED = 0
LOADER_BATCH = 16
#: Baseline modules and the distributions that provide them (the ``bench`` extra).
BENCH_MODULES = {
    "pyfastnoiselite": "pyfastnoiselite",
    "cc3d": "connected-components-3d",
    "skimage": "scikit-image",
    "kornia": "kornia",
    "albumentations": "albumentations",
}


# --------------------------------------------------------------------------- timing


@dataclass(frozen=True)
class Config:
    """How long to measure.

    ``repeat`` timed repetitions per row, each lasting at least ``min_time``
    seconds; ``cold_repeat`` fresh interpreters per cold-start row;
    ``loader_repeat`` DataLoader epochs of ``loader_samples`` clips each;
    ``large``: the family rows also run on ``LARGE_VIDEO`` and ``LARGE_IMAGE``, peak
    memory is measured on ``MEMORY_LARGE`` instead of ``MEMORY_SMALL``, and the
    cold-start rows cover every family (else the first one only).
    """

    repeat: int = 15
    min_time: float = 0.1
    cold_repeat: int = 7
    loader_repeat: int = 5
    loader_samples: int = 8 * LOADER_BATCH
    large: bool = True


FULL = Config()
QUICK = Config(
    repeat=5, min_time=0.01, cold_repeat=3, loader_repeat=2, loader_samples=4 * LOADER_BATCH, large=False
)


def _clock(fn: Callable[[], object], loops: int) -> float:
    """Seconds taken by ``loops`` calls of ``fn``, with the garbage collector off."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        return time.perf_counter() - start
    finally:
        if enabled:
            gc.enable()


def compare(
    fns: Mapping[str, Callable[[], object]], cfg: Config, repeat: int | None = None
) -> dict[str, float]:
    """Median seconds per call of each function.

    Each function is called once to warm up (compilation, caches, page faults),
    then timed ``repeat`` times (default ``cfg.repeat``) over enough calls to last
    ``cfg.min_time``; the functions take turns within each repetition.
    """
    loops = {}
    for name, fn in fns.items():
        fn()
        once = _clock(fn, 1)
        loops[name] = max(1, math.ceil(cfg.min_time / max(once, 1e-7)))
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat or cfg.repeat):
        for name, fn in fns.items():
            samples[name].append(_clock(fn, loops[name]) / loops[name])
    return {name: statistics.median(values) for name, values in samples.items()}


def child(code: str, env: Mapping[str, str]) -> tuple[float, float]:
    """Run ``code`` in a fresh interpreter; it prints its total and import seconds."""
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    total, imported = done.stdout.split()
    return float(total), float(imported)


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class Target:
    """A row's goal: ``kind`` is "speedup" (baseline/occmask >= value),
    "seconds" (occmask <= value) or "rate" (occmask calls per second >= value)."""

    kind: str
    value: float
    text: str

    @classmethod
    def faster(cls, times: float) -> Target:
        return cls("speedup", times, f">= {times:g}x faster")

    @classmethod
    def within(cls, times: float) -> Target:
        return cls("speedup", 1.0 / times, f"<= {times:g}x its time")

    @classmethod
    def at_most(cls, seconds: float) -> Target:
        return cls("seconds", seconds, f"<= {duration(seconds)}")

    @classmethod
    def rate(cls, per_second: float) -> Target:
        return cls("rate", per_second, f">= {per_second:g} samples/s")


@dataclass
class Row:
    """One line of the table. Times are median seconds per call (per sample if ``rate``)."""

    task: str
    workload: str
    baseline: str
    occmask_s: float | None
    baseline_s: float | None
    target: Target | None
    rate: bool = False
    note: str = ""
    #: the two values are bytes, not seconds (peak memory against the mask's size)
    memory: bool = False

    @property
    def speedup(self) -> float | None:
        if self.occmask_s is None or self.baseline_s is None:
            return None
        return self.baseline_s / self.occmask_s

    @property
    def met(self) -> bool | None:
        if self.target is None or self.occmask_s is None:
            return None
        if self.target.kind == "speedup":
            return None if self.speedup is None else self.speedup >= self.target.value
        if self.target.kind == "seconds":
            return self.occmask_s <= self.target.value
        return 1.0 / self.occmask_s >= self.target.value

    def as_dict(self) -> dict:
        out = asdict(self)
        out.update(
            target=None if self.target is None else asdict(self.target), speedup=self.speedup, met=self.met
        )
        return out


def workload(shape: tuple[int, ...]) -> str:
    return ("V " if len(shape) == 3 else "image ") + "x".join(map(str, shape))


def frame_shape(shape: tuple[int, ...]) -> tuple[int, int, int]:
    return (1, *shape) if len(shape) == 2 else tuple(shape)


def pixels_k(shape: tuple[int, ...]) -> int:
    """Masked pixels per frame at the benchmark coverage."""
    return target_count(COVERAGE, shape[-2] * shape[-1])


def versus(
    task: str,
    shape: tuple[int, ...],
    occmask_fn: Callable[[], object],
    baselines: Sequence[tuple[str, Callable[[], object], Target | None]],
    cfg: Config,
) -> list[Row]:
    """Time occmask against each baseline in one interleaved run; one row per baseline."""
    fns = {"occmask": occmask_fn, **{name: fn for name, fn, _ in baselines}}
    times = compare(fns, cfg)
    return [
        Row(task, workload(shape), name, times["occmask"], times[name], target)
        for name, _, target in baselines
    ]


def check_exact(mask: np.ndarray, shape: tuple[int, ...], who: str) -> None:
    """Assert ``mask`` has the benchmark shape and exactly ``k`` masked pixels per frame."""
    n_t, n_h, n_w = frame_shape(shape)
    frames = np.asarray(mask).reshape(-1, n_h * n_w)
    counts = np.count_nonzero(frames, axis=1)
    wrong = f"{who}: expected {pixels_k(shape)} masked pixels in each of {n_t} frames, got {counts}"
    assert frames.shape[0] == n_t, wrong
    assert np.all(counts == pixels_k(shape)), wrong


# --------------------------------------------------------------------------- DataLoader


class OccludedClips:
    """A map-style dataset: the same clip, occluded afresh by ``transform`` on every access."""

    def __init__(self, clip: Any, transform: Callable[[Any], Any], length: int) -> None:
        self.clip, self.transform, self.length = clip, transform, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> Any:
        return self.transform(self.clip)


def _epoch(loader: Any) -> int:
    return sum(len(batch) for batch in loader)


def loader_times(
    transform: Callable[[Any], Any], clip: Any, cfg: Config, others: Mapping[str, Callable[[], object]]
) -> dict[str, float]:
    """Seconds per sample that one ``DataLoader`` worker takes to deliver ``transform(clip)``.

    A timed call is one epoch of ``cfg.loader_samples`` clips in batches of
    ``LOADER_BATCH`` from a persistent worker, ``cfg.loader_repeat`` times,
    interleaved with ``others`` (seconds per call) by :func:`compare`. Returns the
    worker's time per sample as ``"worker"`` and the others' under their names.
    """
    from torch.utils.data import DataLoader

    loader = DataLoader(
        OccludedClips(clip, transform, cfg.loader_samples),
        batch_size=LOADER_BATCH,
        num_workers=1,
        persistent_workers=True,
    )
    try:
        times = compare(
            {"worker": functools.partial(_epoch, loader), **others}, cfg, repeat=cfg.loader_repeat
        )
    finally:
        del loader
    times["worker"] /= cfg.loader_samples
    return times


# --------------------------------------------------------------------------- report


def duration(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def _value(seconds: float | None, rate: bool, memory: bool = False) -> str:
    if seconds is None:
        return "-"
    if memory:
        return f"{seconds / 2**20:,.1f} MiB"
    return f"{1.0 / seconds:,.0f} samples/s" if rate else duration(seconds)


def table(rows: Sequence[Row]) -> str:
    """The rows as a Markdown table."""
    head = ("task", "workload", "occmask", "baseline", "baseline time", "speed-up", "target", "met")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        met = {True: "yes", False: "**no**", None: "-"}[row.met]
        cells = (
            row.task,
            row.workload,
            row.note or _value(row.occmask_s, row.rate, row.memory),
            row.baseline,
            _value(row.baseline_s, row.rate, row.memory),
            "-" if row.speedup is None else _ratio(row),
            "-" if row.target is None else row.target.text,
            met,
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine() -> dict[str, object]:
    """CPU model, core counts, OS and Python of this machine."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            model = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": model,
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
        "threads_used": 1,
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def versions() -> dict[str, str]:
    """Versions of occmask and of every package timed."""
    out = {}
    for dist in ("occmask", "numpy", "numba", "scipy", "opensimplex", *BENCH_MODULES.values(), "torch"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def _ratio(row: Row) -> str:
    """The speed-up column: baseline / occmask, or for memory rows the peak as a multiple of the mask."""
    return f"peak {1.0 / row.speedup:.1f}x" if row.memory else f"{row.speedup:.2f}x"


def _achieved(row: Row) -> str:
    """What a row reached, in the terms of its target."""
    if row.memory and row.speedup:
        return f"{1.0 / row.speedup:.1f}x the mask's size"
    if row.target is not None and row.target.kind == "speedup":
        return f"{row.speedup:.2f}x"
    return _value(row.occmask_s, row.rate, row.memory)


BENCH_START, BENCH_END = "<!-- bench:start -->", "<!-- bench:end -->"


def put_in_page(results_md: str, page: Path) -> None:
    """Put a report written by :func:`report` into ``page`` between the bench markers (its title
    dropped: the page has its own)."""
    lines = results_md.strip().splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    text = "\n".join(lines).strip()
    head, rest = page.read_text().split(BENCH_START, 1)
    _, tail = rest.split(BENCH_END, 1)
    page.write_text(f"{head}{BENCH_START}\n\n{text}\n\n{BENCH_END}{tail}")


def report(rows: Sequence[Row], info: Mapping[str, object]) -> str:
    """The Markdown report: date, machine, versions, the table and the rows that miss."""
    m, v = info["machine"], info["versions"]
    lines = [
        f"# occmask benchmarks ({info['mode']})",
        "",
        f"{info['date']} - {m['cpu']}, {m['usable_cores']} usable of {m['logical_cores']} logical cores, "
        f"1 thread - {m['os']}, Python {m['python']}",
        "",
        "Versions: " + ", ".join(f"{name} {version}" for name, version in v.items()),
        "",
        f"Median of {info['config']['repeat']} repetitions after warm-up; speed-up = baseline time / occmask "
        "time (above 1: occmask is faster).",
        "",
        table(rows),
        "",
    ]
    missed = [row for row in rows if row.met is False]
    if missed:
        lines += ["Rows that miss their target:", ""]
        lines += [
            f"- {row.task} ({row.workload}) vs {row.baseline}: "
            + _achieved(row)
            + f", target {row.target.text}"
            for row in missed
        ]
    return "\n".join(lines) + "\n"
