"""CGOL masks: clustered occluders grown from Conway's Game of Life.

A random soup of density ``density`` evolves under Life's rules (B3/S23) on a
torus for ``burn_in`` generations; successive frames are successive generations
(``step`` apart). A soup settles to a few percent of live cells, far below most
coverages, so the field is a distance in space-time: the squared Euclidean
distance from a pixel to the nearest cell that was alive ``a < memory``
generations ago, where each generation of age counts as ``decay`` pixels,

    f(x) = min over (y, a) of |x - y|^2 + (decay * a)^2.

Its sublevel sets are unions of discs around live cells, larger around cells
that are alive now: Life's clusters, grown until they hide the target fraction.
Pixels at the same integer level are ordered by a smooth Perlin field, one per
soup (never by i.i.d. pixels), so a partially filled level keeps the clustered look. The distance is
exact: where a cut needs only a frame's lowest values, as minima over a small
window that holds every distance below its radius (the others become ``+inf``),
else with the separable transform of Felzenszwalb & Huttenlocher (2012) on the
torus.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import _noise, _validate
from .._jit import kernel
from ._docs import shared_parameters
from ._engine import generate
from ._family import Family, signature_defaults, whole_field

__all__ = ["cgol"]

TIE_SCALE = 8.0  # feature size (pixels) of the smooth field that orders equal distances


@shared_parameters
def cgol(
    shape: tuple[int, ...],
    coverage: float,
    *,
    rng: Any = None,
    match: str = "frame",
    temporal: str = "evolving",
    region: np.ndarray | None = None,
    density: float = 0.35,
    burn_in: int = 24,
    step: int = 1,
    memory: int = 8,
    decay: float = 1.0,
) -> np.ndarray:
    """Game-of-Life occlusion mask at an exact coverage.

    Parameters
    ----------
    %(shape)s
    %(coverage)s
    %(rng)s
        It draws the soup and the tie-breaking field.
    %(match)s
    %(temporal)s
        ``"evolving"``: frame ``t`` is generation ``burn_in + t * step`` of one soup;
        ``"independent"``: every frame comes from its own soup.
    density : float, default 0.35
        Fraction of live cells in the initial soup, in [2**-16, 1 - 2**-16] (drawn in
        steps of 2**-16). Above about 0.8 the soup dies at once; a ``RuntimeWarning``
        says when frames have no life left.
    burn_in : int, default 24
        Generations run before the first frame, in [0, 10000].
    step : int, default 1
        Generations between successive frames, in [1, 1000].
    memory : int, default 8
        How many recent generations leave a trail, in [1, 10000]; 1 means only live cells.
    decay : float, default 1.0
        Pixels of distance that one generation of age costs, in [0, 1e4].
    %(region)s

    Returns
    -------
    ndarray of bool, shape ``shape``

    Examples
    --------
    >>> import occmask as om
    >>> m = om.cgol((8, 64, 64), coverage=0.3, rng=0)
    >>> m.shape, int(m[-1].sum())
    ((8, 64, 64), 1229)
    """
    return generate("cgol", **locals())


#: A cell of the soup is alive where a uniform 16-bit number is below ``density * _DENSITY_STEPS``
#: (rounded): four cells per 64-bit draw, twice as fast as comparing float64 uniforms.
_DENSITY_STEPS = 1 << 16

#: Largest ``decay`` (pixels per generation): far beyond any canvas, and ``(decay * memory)^2``
#: stays well inside float32.
MAX_DECAY = 1e4

#: Largest ``burn_in``, ``step`` and ``memory``. A random soup settles into still lifes and
#: oscillators within a few thousand generations; the bounds keep a mask's cost (generations
#: times pixels, and ``match="expected"``'s reference fields) finite on any canvas.
MAX_BURN_IN, MAX_STEP, MAX_MEMORY = 10_000, 1_000, 10_000


def _check(params: dict[str, Any]) -> dict[str, Any]:
    params["density"] = _validate.number(
        "density", params["density"], low=1.0 / _DENSITY_STEPS, high=1.0 - 1.0 / _DENSITY_STEPS
    )
    params["burn_in"] = _validate.integer("burn_in", params["burn_in"], low=0, high=MAX_BURN_IN)
    params["step"] = _validate.integer("step", params["step"], low=1, high=MAX_STEP)
    params["memory"] = _validate.integer("memory", params["memory"], low=1, high=MAX_MEMORY)
    # beyond about a canvas side per generation, age decides alone; the field stays finite
    params["decay"] = _validate.number("decay", params["decay"], low=0.0, high=MAX_DECAY)
    return params


@kernel
def _life_step(state: np.ndarray, nxt: np.ndarray, age: np.ndarray, memory: int) -> None:
    """One generation of B3/S23 on a torus, ``state`` -> ``nxt`` (uint8 0/1, H x W).

    ``age`` (generations since each cell was last alive, capped at ``memory``) is
    updated in the same pass. Each row sums a cell's neighbours from the column
    sums of three rows.
    """
    n_h, n_w = state.shape
    columns = np.empty(n_w + 2, np.uint8)  # column sums, padded with the wrapped ends
    cap = np.uint16(memory)  # uint16 arithmetic throughout: it vectorises
    for i in range(n_h):
        up, mid, down = state[(i - 1) % n_h], state[i], state[(i + 1) % n_h]
        for j in range(n_w):
            columns[j + 1] = up[j] + mid[j] + down[j]
        columns[0], columns[n_w + 1] = columns[n_w], columns[1]
        row_next, row_age = nxt[i], age[i]
        for j in range(n_w):
            neighbours = np.uint8(columns[j] + columns[j + 1] + columns[j + 2] - mid[j])
            alive = (neighbours | mid[j]) == 3  # 3 neighbours, or 2 and alive
            row_next[j] = alive
            a = row_age[j]
            row_age[j] = np.uint16(0) if alive else np.uint16(a + np.uint16(a < cap))


@kernel
def _row_cost(age_row: np.ndarray, memory: int, decay: float, cost: np.ndarray) -> None:
    """``cost = (decay * age)^2`` where a cell was alive ``age < memory`` generations ago, else ``+inf``."""
    for j in range(age_row.size):
        a = age_row[j]
        cost[j] = (decay * a) * (decay * a) if a < memory else np.inf


@kernel
def _envelope(
    line: np.ndarray,
    n: int,
    out: np.ndarray,
    ext: np.ndarray,
    base: np.ndarray,
    v: np.ndarray,
    z: np.ndarray,
    half_inverse: np.ndarray,
) -> None:
    """Squared-distance transform of one periodic line (Felzenszwalb & Huttenlocher 2012).

    ``out[i] = min_q line[q] + ((i - q) mod± n)^2`` for ``i < n``. The line is laid
    out over ``[-h, n + h)`` with ``h = n // 2 + 1`` so that the nearest copy of
    every sample is present; ``+inf`` samples are skipped. ``half_inverse[d]`` is
    ``1 / (2 d)``: a product instead of a division where parabolas intersect.
    """
    h = n // 2 + 1
    size = n + 2 * h
    for q in range(size):
        src = q - h
        while src < 0:  # no modulo in the loop: it is slow, and n < h only when n <= 2
            src += n
        while src >= n:
            src -= n
        base[q] = line[src]
    k = -1
    for q in range(size):  # lower envelope of the parabolas (x - q)^2 + base[q]
        fq = base[q]
        if fq == np.inf:
            continue
        fq += q * q
        ext[q] = fq
        if k < 0:
            k = 0
            v[0] = q
            z[0] = -np.inf
            z[1] = np.inf
            continue
        while True:
            p = v[k]
            s = (fq - ext[p]) * half_inverse[q - p]
            if s > z[k]:
                break
            k -= 1
        k += 1
        v[k] = q
        z[k] = s
        z[k + 1] = np.inf
    if k < 0:
        out[:n] = np.inf
        return
    k = 0
    for q in range(h, h + n):
        while z[k + 1] < q:
            k += 1
        p = v[k]
        out[q - h] = base[p] + (q - p) * (q - p)  # the same sum, in the same order, as _window_distance


@kernel
def _exact_distance(
    age: np.ndarray, memory: int, decay: float, cap: float, rows: np.ndarray, out: np.ndarray
) -> None:
    """``out[x] = min(cap, floor(min_y cost[y] + |x - y|^2))`` on the torus (costs from ``age``, see
    _row_cost), exactly: one envelope per row into ``rows``, then one per column."""
    n_h, n_w = age.shape
    size = max(n_h, n_w)
    line = np.empty(size)
    ext = np.empty(2 * size + 4)
    base = np.empty(2 * size + 4)
    v = np.empty(2 * size + 4, np.int64)
    z = np.empty(2 * size + 5)
    half_inverse = 0.5 / np.maximum(np.arange(2 * size + 4), 1)
    for i in range(n_h):
        _row_cost(age[i], memory, decay, line)
        _envelope(line, n_w, rows[i], ext, base, v, z, half_inverse)
    for j in range(n_w):
        for i in range(n_h):
            line[i] = rows[i, j]
        _envelope(line, n_h, line, ext, base, v, z, half_inverse)
        for i in range(n_h):
            out[i, j] = min(cap, np.floor(line[i]))


@kernel
def _window_distance(
    age: np.ndarray, memory: int, decay: float, cap: float, radius: int, out: np.ndarray
) -> int:
    """``out[x] = min(cap, floor(d))`` with ``d = min cost[y] + |x - y|^2`` over the ``y`` at most
    ``radius`` away along each axis (torus), where ``d < (radius + 1)^2``, else ``+inf``.

    ``d`` is exact there (a nearer minimum lies in the window). Each row's minima
    along the row are made just before the rows within ``radius`` need them, into a
    ring of ``2 * radius + 1`` rows that stays in the cache. Returns how many pixels
    are finite.
    """
    n_h, n_w = age.shape
    size = 2 * radius + 1
    ring = np.empty((size, n_w))
    cost = np.empty(n_w)
    line = np.empty(n_w + 2 * radius)
    for u in range(-radius, radius):  # the rows that row 0 needs, but row radius
        _window_row(age[u % n_h], memory, decay, radius, line, ring[u % size])
    bound = (radius + 1) * (radius + 1)
    found = 0
    for i in range(n_h):
        _window_row(age[(i + radius) % n_h], memory, decay, radius, line, ring[(i + radius) % size])
        cost[:] = ring[i % size]
        for o in range(1, radius + 1):
            above, below = ring[(i - o) % size], ring[(i + o) % size]
            for j in range(n_w):
                cost[j] = min(cost[j], min(above[j], below[j]) + o * o)
        row = out[i]
        for j in range(n_w):
            d = cost[j]
            found += d < bound
            row[j] = min(cap, np.floor(d)) if d < bound else np.inf
    return found


@kernel
def _window_row(
    age_row: np.ndarray, memory: int, decay: float, radius: int, line: np.ndarray, row: np.ndarray
) -> None:
    """``row[x] = min cost[y] + (x - y)^2`` over the ``y`` at most ``radius`` away (the row wraps), with
    ``line`` (``W + 2 * radius``) as scratch."""
    n_w = row.size
    _row_cost(age_row, memory, decay, line[radius : radius + n_w])
    src = (n_w - radius % n_w) % n_w  # the wrapped ends; by comparison, not modulo (slow)
    for m in range(radius):
        line[m] = line[radius + src]
        src = src + 1 if src + 1 < n_w else 0
    src = 0
    for m in range(radius + n_w, n_w + 2 * radius):
        line[m] = line[radius + src]
        src = src + 1 if src + 1 < n_w else 0
    for j in range(n_w):
        row[j] = line[radius + j]
    for o in range(1, radius + 1):
        left, right = line[radius - o : radius - o + n_w], line[radius + o : radius + o + n_w]
        for j in range(n_w):
            row[j] = min(row[j], min(left[j], right[j]) + o * o)


#: Window radii tried before the exact transform (see _distance_field).
_FIRST_RADIUS, _MAX_RADIUS = 2, 8


@kernel
def _distance_field(
    age: np.ndarray, memory: int, decay: float, need: int, cap: float, radius: int, out: np.ndarray
) -> int:
    """``out = min(cap, floor(min_y cost[y] + |x - y|^2))`` on a torus (costs from ``age``, see
    _row_cost), exact for at least the ``need`` lowest values; the others are exact or ``+inf``.

    A window of radius ``r`` is exact at every value below ``(r + 1)^2`` and makes
    the others ``+inf``; it is used when at least ``need`` values are finite. The
    radius starts at ``radius`` and doubles up to ``_MAX_RADIUS``, then the exact
    transform runs. Returns the radius that sufficed (0: the exact transform).
    """
    radius = max(radius, 1)
    while radius <= _MAX_RADIUS:
        if _window_distance(age, memory, decay, cap, radius, out) >= need:
            return radius
        radius *= 2
    _exact_distance(age, memory, decay, cap, np.empty(age.shape), out)  # (its rows only when needed)
    return 0


def _soup_state(n_h: int, n_w: int) -> tuple[np.ndarray, np.ndarray]:
    """Empty cells (uint8) and ages (uint16) of an H x W soup, each starting on a 64-byte boundary
    of one buffer: numpy aligns to 16 bytes only, and _life_step's vector loops run 5-8% slower
    there. (Not a kernel: each kernel called from Python adds its load from the cache to the first
    call; and one buffer: reading an array's address from Python has a cost per array.)"""
    area = n_h * n_w
    raw = np.empty(3 * area + 128, np.uint8)
    start = -raw.ctypes.data % 64
    ages = start + -(-area // 64) * 64
    return raw[start : start + area].reshape(n_h, n_w), raw[ages : ages + 2 * area].view(np.uint16).reshape(
        n_h, n_w
    )


@kernel
def _life_fields(
    cells: np.ndarray,
    independent: bool,
    first: int,
    burn_in: int,
    step: int,
    memory: int,
    decay: float,
    cap: float,
    need: int,
    radius: int,
    state: np.ndarray,
    age: np.ndarray,
    tie: np.ndarray,
    out: np.ndarray,
) -> tuple[int, int]:
    """Write frames ``first, first + 1, ...`` of a field into ``out`` (n, H, W): each frame's distance
    plus its tie-break.

    ``independent``: frame ``first + i`` comes from its own soup, ``cells[i]`` (uint8 0/1, H x W),
    under ``tie[i]``. Else one soup, under ``tie[0]``, runs on from frame to frame: it starts from
    ``cells[0]`` at frame 0, and each call leaves its last generation's cells and ages in ``state``
    and ``age`` (see _soup_state) for the next. When a soup starts, its tie-break, a smooth field,
    is squashed in place into [0, 0.999) (order kept); it orders pixels at the same integer
    distance. ``need`` values per frame must be exact, and ``radius`` is the window radius tried
    first (see _distance_field). Returns the radius for the next frame and how many frames had no
    cell alive in the last ``memory`` generations (their field is the tie-break alone).
    """
    n_t, n_h, n_w = out.shape
    nxt = np.empty((n_h, n_w), np.uint8)
    dead = 0
    half = np.float32(0.4995)
    current = state  # evolving: the generation that the previous call reached
    for f in range(n_t):
        s = f if independent else 0
        starts = independent or first + f == 0
        if starts:
            current = cells[s].copy()
            for i in range(n_h):
                for j in range(n_w):
                    age[i, j] = 0 if current[i, j] else memory
        for _ in range(burn_in if starts else step):
            _life_step(current, nxt, age, memory)
            current, nxt = nxt, current
        frame = out[f]
        radius = max(_FIRST_RADIUS, _distance_field(age, memory, decay, need, cap, radius, frame))
        for i in range(n_h):
            for j in range(n_w):  # in float32, operation by operation
                if starts:  # squash the soup's tie-break once, as its first frame takes it
                    t = tie[s, i, j]
                    tie[s, i, j] = half + half * t / (np.float32(1.0) + abs(t))
                frame[i, j] += tie[s, i, j]  # as the tie-break field
        dead += age.min() >= memory
    for i in range(n_h):
        for j in range(n_w):  # a loop: Numba's slice assignment is far slower
            state[i, j] = current[i, j]
    return radius, dead


def _blocks(
    shape: tuple[int, int, int],
    rng: np.random.Generator,
    temporal: str,
    need: int | None,
    frames: int,
    *,
    density: float,
    burn_in: int,
    step: int,
    memory: int,
    decay: float,
) -> Iterator[np.ndarray]:
    """The field, ``frames`` frames at a time (see ``Family.blocks``).

    Every soup is drawn before the tie-break field, ``frames`` soups at a time (the same stream as
    one draw); those of later blocks (an independent video has a soup per frame) are kept at one
    bit a cell until their block. The Life state runs on from block to block, and so does the
    window radius of the distance field.

    Parameters
    ----------
    shape : tuple of int
        ``(T, H, W)`` of the field.
    rng : numpy.random.Generator
        Source of the soups and the tie-break field.
    temporal : {"evolving", "static", "independent"}
        ``"independent"``: a soup per frame; else one soup, its generations frame by frame.
    need : int or None
        How many of the lowest values of each frame must be exact (None: all).
    frames : int
        Frames per block.
    density, burn_in, step, memory, decay
        The family's parameters, see :func:`cgol`.

    Yields
    ------
    ndarray of float32, shape (n, H, W)
        The next ``n`` frames, in one buffer that the next block overwrites.
    """
    n_t, n_h, n_w = shape
    independent = temporal == "independent"
    n_soups = n_t if independent else 1
    alive = round(density * _DENSITY_STEPS)
    # numpy makes two 16-bit numbers of each 32-bit draw, within one call: an even count per soup
    # (one number left over when H * W is odd) keeps the stream the same for any block size
    area = n_h * n_w
    drawn = area + area % 2
    draws = (
        rng.integers(0, _DENSITY_STEPS, (min(frames, n_soups - start), drawn), dtype=np.uint16)[
            :, :area
        ].reshape(-1, n_h, n_w)
        < alive
        for start in range(0, n_soups, frames)
    )
    cells = next(draws).view(np.uint8)  # the first block's soups
    later = iter([np.packbits(soups, axis=-1) for soups in draws])  # one bit a cell until their block
    cap = math.floor((n_h // 2 + 1) ** 2 + (n_w // 2 + 1) ** 2 + (decay * memory) ** 2) + 1.0
    ties = _noise.fractal_noise_blocks(
        (n_soups, n_h, n_w),
        rng,
        temporal,
        frames,
        scale=TIE_SCALE,
        octaves=1,
        persistence=1.0,
        time_scale=1.0,
        basis="perlin",
        periodic=True,
    )
    tie = next(ties)  # evolving: one tie-break frame for every block
    need = n_h * n_w if need is None else need
    state, age = _soup_state(n_h, n_w)
    out = np.empty((min(frames, n_t), n_h, n_w), np.float32)
    radius, dead = _FIRST_RADIUS, 0
    for first in range(0, n_t, frames):
        block = out[: min(frames, n_t - first)]
        if independent and first:
            cells, tie = np.unpackbits(next(later), axis=-1, count=n_w), next(ties)
        radius, died = _life_fields(
            cells, independent, first, burn_in, step, memory, decay, cap, need, radius, state, age, tie, block
        )
        dead += died
        yield block
    if dead:
        _validate.warn(
            f"cgol: the Life soup had died out in {dead} of {n_t} frame(s) (density={density}, "
            f"burn_in={burn_in}, "
            f"canvas {n_h}x{n_w}); those frames are ordered by the smooth tie-break field alone"
        )


_field = whole_field(_blocks)


FAMILY = Family(
    name="cgol",
    summary="Conway's Game of Life: clusters grown around live cells and their recent trails",
    defaults=signature_defaults(cgol),  # the public function's keyword defaults
    check=_check,
    field=_field,
    colour="#009E73",
    blocks=_blocks,
)
