"""Every built-in family's priority field in torch ops, for a batch of samples on one device.

A device field is ``field(shape, gens, temporal, need, **params) -> tensor``: the float32
fields ``(n, T, H, W)`` of ``n`` samples (``T = 1`` when ``temporal="static"``), sample ``i``
drawn from the ``torch.Generator`` ``gens[i]`` alone (on the fields' device), so a sample's field
never depends on the batch it is made in. ``need`` (an int or None) says how many of each
frame's lowest values must be exact, as for a family's Numba field: the others may be ``+inf``.

Each field keeps its family's geometry (the family modules' docstrings) but not its numbers: the
random streams and the arithmetic are torch's. Fields are registered in :data:`DEVICE_FIELDS` under
the name of the family record they implement (``@device_field(module.FAMILY)``), so the registry
``occmask.FAMILIES`` stays the one list of families.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from ... import _validate
from ...families import bernoulli, cgol, fourier, patches, perlin, rectangles, triangles
from ...families._family import Family

__all__ = ["DEVICE_FIELDS", "device_field"]

Gens = Sequence[torch.Generator]

#: Device fields by family name: filled by :func:`device_field`.
DEVICE_FIELDS: dict[str, Callable[..., torch.Tensor]] = {}

#: Elements of the largest temporary a field makes at once (shapes by pixels, distance passes):
#: larger batches are made a slice at a time.
_CHUNK_ELEMENTS = 1 << 24

#: Shapes (triangles, rectangles) each sample draws at a time: a constant, so that a sample's shapes
#: are the same however many are needed.
_SHAPES_PER_DRAW = 64


def device_field(family: Family) -> Callable[[Callable[..., torch.Tensor]], Callable[..., torch.Tensor]]:
    """Register the decorated function as the device field of ``family`` (a family record)."""

    def register(function: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
        DEVICE_FIELDS[family.name] = function
        return function

    return register


def _device(gens: Gens) -> torch.device:
    return gens[0].device


def _rand(gens: Gens, shape: tuple[int, ...]) -> torch.Tensor:
    """Uniforms in [0, 1) of ``shape`` per sample, stacked: (n, *shape)."""
    return torch.stack([torch.rand(shape, generator=g, device=g.device) for g in gens])


def _randn(gens: Gens, shape: tuple[int, ...]) -> torch.Tensor:
    """Standard normals of ``shape`` per sample, stacked: (n, *shape)."""
    return torch.stack([torch.randn(shape, generator=g, device=g.device) for g in gens])


def _sets(temporal: str, frames: int) -> int:
    """Independent draws per sample: one per frame of an independent video, else one."""
    return frames if temporal == "independent" else 1


# -- bernoulli ---------------------------------------------------------------------------


@device_field(bernoulli.FAMILY)
def _bernoulli(shape: tuple[int, int, int], gens: Gens, temporal: str, need: int | None) -> torch.Tensor:
    """i.i.d. uniform noise, new in every frame."""
    return _rand(gens, shape)


# -- perlin --------------------------------------------------------------------------------


def _take(table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``table[b, index[b, ...]]`` for a table (B, 256) and indices (B, ...)."""
    flat = torch.gather(table, 1, index.reshape(index.shape[0], -1))
    return flat.reshape(index.shape)


def _gradient(h: torch.Tensor, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Improved Perlin noise's gradient dot product (Perlin 2002): 12 edge directions by hash."""
    h = h & 15
    u = torch.where(h < 8, a, b)
    v = torch.where(h < 4, b, torch.where((h == 12) | (h == 14), a, c))
    return torch.where((h & 1) == 0, u, -u) + torch.where((h & 2) == 0, v, -v)


def _fade(t: torch.Tensor) -> torch.Tensor:
    return t * t * t * (t * (t * 6.0 - 15.0) + 10.0)


def _octave(
    perm: torch.Tensor,
    y: torch.Tensor,
    x: torch.Tensor,
    z: torch.Tensor,
    period_y: int,
    period_x: int,
) -> torch.Tensor:
    """3-D gradient noise of the sets' permutations ``perm`` (B, 256) at lattice coordinates ``y``
    (B, 1, H, 1), ``x`` (B, 1, 1, W) and ``z`` (B, F, 1, 1): (B, F, H, W). The lattice wraps every
    ``period_y`` and ``period_x`` cells (256 for noise that does not tile the canvas)."""
    y0, x0, z0 = torch.floor(y), torch.floor(x), torch.floor(z)
    fy, fx, fz = (y - y0).float(), (x - x0).float(), (z - z0).float()  # float64 coordinates: exact cells
    iy, ix, iz = y0.long() % period_y, x0.long() % period_x, z0.long() & 255
    iy1, ix1 = (iy + 1) % period_y, (ix + 1) % period_x
    result = None
    wy, wx, wz = _fade(fy), _fade(fx), _fade(fz)
    for cy, oy in ((iy, 0.0), (iy1, 1.0)):
        hy = _take(perm, cy & 255)
        for cx, ox in ((ix, 0.0), (ix1, 1.0)):
            hyx = _take(perm, (hy + cx) & 255)
            for cz, oz in ((iz, 0.0), (iz + 1, 1.0)):
                h = _take(perm, (hyx + (cz & 255)) & 255)
                g = _gradient(h, fy - oy, fx - ox, fz - oz)
                weight = (wy if oy else 1 - wy) * (wx if ox else 1 - wx) * (wz if oz else 1 - wz)
                result = g * weight if result is None else result + g * weight
    assert result is not None
    return result


def _fractal(
    shape: tuple[int, int, int],
    gens: Gens,
    temporal: str,
    *,
    scale: float,
    octaves: int,
    persistence: float,
    time_scale: float,
    periodic: bool,
) -> torch.Tensor:
    """Fractal gradient noise (n, T, H, W): octaves of doubling frequency, each at a random offset
    and with its own permutation; time is the third lattice axis (``1 / time_scale`` per frame) when
    evolving, a random offset otherwise; an independent video draws all of this per frame."""
    n_t, n_h, n_w = shape
    device, n = _device(gens), len(gens)
    n_sets = _sets(temporal, n_t)
    per_set = 1 if n_sets > 1 else n_t  # frames made from one set
    offsets = _rand(gens, (n_sets, octaves, 3)).double().reshape(n * n_sets, octaves, 3)
    perms = torch.argsort(_rand(gens, (n_sets, octaves, 256)), dim=-1).reshape(n * n_sets, octaves, 256)
    if periodic:  # whole lattice cells across the frame
        base_y, base_x = max(1, round(n_h / scale)), max(1, round(n_w / scale))
        step_y, step_x = base_y / n_h, base_x / n_w
    else:
        base_y = base_x = 256
        step_y = step_x = 1.0 / scale
    rows = torch.arange(n_h, device=device, dtype=torch.float64)[None, None, :, None]
    cols = torch.arange(n_w, device=device, dtype=torch.float64)[None, None, None, :]
    times = torch.arange(per_set, device=device, dtype=torch.float64)[None, :, None, None] / time_scale
    total = torch.zeros((n * n_sets, per_set, n_h, n_w), device=device)
    amplitude = 1.0
    for o in range(octaves):
        f = 2**o
        period_y, period_x = base_y * f if periodic else 256, base_x * f if periodic else 256
        off = offsets[:, o, :, None, None, None]  # (B, 3, 1, 1, 1)
        y = (rows * (step_y * f) + off[:, 0] * period_y) % period_y
        x = (cols * (step_x * f) + off[:, 1] * period_x) % period_x
        z = (times * f + off[:, 2] * 256) % 256
        total += amplitude * _octave(perms[:, o], y, x, z, period_y, period_x)
        amplitude *= persistence
    return total.reshape(n, n_t, n_h, n_w)


@device_field(perlin.FAMILY)
def _perlin(
    shape: tuple[int, int, int],
    gens: Gens,
    temporal: str,
    need: int | None,
    *,
    scale: float,
    octaves: int,
    persistence: float,
    time_scale: float,
    basis: str,
    periodic: bool,
) -> torch.Tensor:
    """Fractal improved Perlin noise (``basis="perlin"``; OpenSimplex has no device field)."""
    if basis != "perlin":
        raise NotImplementedError(
            f"the device path of 'perlin' supports basis='perlin' only, got basis={basis!r}; "
            "use device=None for the OpenSimplex basis"
        )
    return _fractal(
        shape,
        gens,
        temporal,
        scale=scale,
        octaves=octaves,
        persistence=persistence,
        time_scale=time_scale,
        periodic=periodic,
    )


# -- cgol ------------------------------------------------------------------------------------


_NEIGHBOURS = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 1.0]]).reshape(1, 1, 3, 3)


def _life(cells: torch.Tensor) -> torch.Tensor:
    """One generation of Life (B3/S23) on a torus: cells (B, 1, H, W) bool."""
    kernel = _NEIGHBOURS.to(cells.device)
    count = F.conv2d(F.pad(cells.float(), (1, 1, 1, 1), mode="circular"), kernel)
    return (count == 3) | (cells & (count == 2))


def _torus_squares(n: int, device: torch.device) -> torch.Tensor:
    """Squared distances (n, n) between the positions of a wrapping axis of ``n``."""
    i = torch.arange(n, device=device)
    d = (i[:, None] - i[None, :]).abs()
    return torch.minimum(d, n - d).float() ** 2


def _distance_pass(f: torch.Tensor) -> torch.Tensor:
    """``out[b, y, x] = min over y2 of f[b, y2, x] + torus_dy(y, y2)^2`` (B, H, W), a slice of frames
    at a time: one pass of the separable squared distance transform."""
    n_b, n_h, n_w = f.shape
    squares = _torus_squares(n_h, f.device)[None, :, :, None]  # (1, H, H2, 1)
    out = torch.empty_like(f)
    chunk = max(1, _CHUNK_ELEMENTS // (n_h * n_h * n_w))
    for start in range(0, n_b, chunk):
        part = f[start : start + chunk, None, :, :]  # (b, 1, H2, W)
        out[start : start + chunk] = (part + squares).amin(dim=2)
    return out


@device_field(cgol.FAMILY)
def _cgol(
    shape: tuple[int, int, int],
    gens: Gens,
    temporal: str,
    need: int | None,
    *,
    density: float,
    burn_in: int,
    step: int,
    memory: int,
    decay: float,
) -> torch.Tensor:
    """Life from a random soup on a torus (a ``conv2d`` per generation), each cell's age since it
    was last alive, then the exact squared distance in space-time to the trails (two brute-force
    separable passes on the torus), equal levels ordered by a smooth periodic noise field."""
    n_t, n_h, n_w = shape
    n = len(gens)
    n_soups = _sets(temporal, n_t)
    cells = (_rand(gens, (n_soups, n_h, n_w)) < density).reshape(n * n_soups, 1, n_h, n_w)
    ties = _fractal(
        (n_soups, n_h, n_w), gens, "independent" if n_soups > 1 else "static",
        scale=cgol.TIE_SCALE, octaves=1, persistence=1.0, time_scale=1.0, periodic=True,
    )  # fmt: skip
    ties = 0.4995 + 0.4995 * ties / (1.0 + ties.abs())  # in (0, 1): inside one integer level
    age = torch.where(cells, 0.0, float(memory))

    def advance(cells: torch.Tensor, age: torch.Tensor, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
        for _ in range(steps):
            cells = _life(cells)
            age = torch.where(cells, 0.0, torch.clamp(age + 1.0, max=float(memory)))
        return cells, age

    cells, age = advance(cells, age, burn_in)
    ages = [age]
    for _ in range(1, n_t if n_soups == 1 else 1):
        cells, age = advance(cells, age, step)
        ages.append(age)
    ages_t = torch.cat(ages, dim=1).reshape(n, n_t, n_h, n_w)  # evolving: generations; else soups
    cap = math.floor((n_h // 2 + 1) ** 2 + (n_w // 2 + 1) ** 2 + (decay * memory) ** 2) + 1.0
    f = torch.where(ages_t < memory, (decay * ages_t) ** 2, cap).reshape(-1, n_h, n_w)
    f = _distance_pass(f)
    f = _distance_pass(f.transpose(1, 2).contiguous()).transpose(1, 2)
    f = torch.clamp(f, max=cap).reshape(n, n_t, n_h, n_w)
    dead = int((ages_t.amin(dim=(2, 3)) >= memory).sum())
    if dead:
        _validate.warn(
            f"cgol: the Life soup had died out in {dead} of {n * n_t} frame(s) (density={density}, "
            f"burn_in={burn_in}, canvas {n_h}x{n_w}); those frames are ordered by the smooth "
            "tie-break field alone"
        )
    return f + ties.reshape(n, n_soups, n_h, n_w)


# -- triangles and rectangles: shapes in draw order ------------------------------------------------


def _wrapped(offset: torch.Tensor, side: int) -> torch.Tensor:
    """An offset along a wrapping axis of ``side`` taken to its nearest image, in [-side/2, side/2)."""
    return torch.remainder(offset + side / 2.0, side) - side / 2.0


def _dropped(
    shape: tuple[int, int, int],
    gens: Gens,
    temporal: str,
    need: int | None,
    uniforms: int,
    scales: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
) -> torch.Tensor:
    """Shapes dropped in order on a torus: priority = index of the first shape covering a pixel +
    the scale (in [0, 1]) at which it covers it; ``+inf`` where none has yet.

    Each sample draws ``_SHAPES_PER_DRAW`` shapes at a time (``uniforms`` numbers each, per set),
    until every frame has ``need`` pixels covered (every pixel with ``need=None``).
    ``scales(u, time, dy, dx)`` gives the covering scale of pixels at offsets ``dy`` (B, K, H, 1)
    and ``dx`` (B, K, 1, W) from the centres of shapes of uniforms ``u`` (B, K, uniforms) at
    ``time`` (B, 1) frames: (B, K, H, W), above 1 outside.
    """
    n_t, n_h, n_w = shape
    device, n = _device(gens), len(gens)
    n_sets = _sets(temporal, n_t)
    need = n_h * n_w if need is None else need
    field = torch.full((n * n_t, n_h, n_w), math.inf, device=device)
    frames = torch.arange(n_t, device=device, dtype=torch.float32)
    time = (frames if temporal == "evolving" else torch.zeros_like(frames)).repeat(n)[:, None]  # (B, 1)
    sets = (
        torch.arange(n_t, device=device) if n_sets > 1 else torch.zeros(n_t, dtype=torch.long, device=device)
    )
    which = (torch.arange(n, device=device)[:, None] * n_sets + sets[None, :]).reshape(-1)
    rows = torch.arange(n_h, device=device, dtype=torch.float32)[None, None, :, None]
    cols = torch.arange(n_w, device=device, dtype=torch.float32)[None, None, None, :]
    chunk = max(1, _CHUNK_ELEMENTS // (_SHAPES_PER_DRAW * n_h * n_w))
    first = 0
    while bool((torch.isfinite(field).sum(dim=(1, 2)) < need).any()):
        u = _rand(gens, (_SHAPES_PER_DRAW, n_sets, uniforms)).transpose(1, 2)  # shape-major
        u = u.reshape(n * n_sets, _SHAPES_PER_DRAW, uniforms)[which]  # (B, K, uniforms) per frame
        index = first + torch.arange(_SHAPES_PER_DRAW, device=device, dtype=torch.float32)
        for start in range(0, n * n_t, chunk):
            part, t = u[start : start + chunk], time[start : start + chunk]
            cy = part[..., 0:1, None] * n_h  # (b, K, 1, 1)
            cx = part[..., 1:2, None] * n_w
            s = scales(part, t, rows - cy, cols - cx)
            value = torch.where(s <= 1.0, index[None, :, None, None] + s.clamp(min=0.0), math.inf)
            field[start : start + chunk] = torch.minimum(field[start : start + chunk], value.amin(dim=1))
        first += _SHAPES_PER_DRAW
    return field.reshape(n, n_t, n_h, n_w)


@device_field(rectangles.FAMILY)
def _rectangles(
    shape: tuple[int, int, int],
    gens: Gens,
    temporal: str,
    need: int | None,
    *,
    size: tuple[float, float],
    aspect: tuple[float, float],
    speed: float,
) -> torch.Tensor:
    """Axis-aligned boxes in draw order: side and aspect ratio log-uniform, a uniform heading."""
    n_h, n_w = shape[1:]

    def scales(u: torch.Tensor, time: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor) -> torch.Tensor:
        side = size[0] * (size[1] / size[0]) ** u[..., 2]
        root = torch.sqrt(aspect[0] * (aspect[1] / aspect[0]) ** u[..., 3])
        heading, pace = 2.0 * math.pi * u[..., 4], speed * u[..., 5]
        vy, vx = pace * torch.sin(heading) * time, pace * torch.cos(heading) * time
        half_h, half_w = (0.5 * side * root)[..., None, None], (0.5 * side / root)[..., None, None]
        sy = _wrapped(dy - vy[..., None, None], n_h).abs() / half_h
        sx = _wrapped(dx - vx[..., None, None], n_w).abs() / half_w
        inside = torch.maximum(sy, sx)
        return torch.where(
            inside <= 1.0,
            (inside + rectangles.SIDE_TIE * torch.minimum(sy, sx)) * rectangles.SIDE_NORM,
            2.0,
        )

    return _dropped(shape, gens, temporal, need, 6, scales)


def _gauges(u: torch.Tensor, size: tuple[float, float], aspect: tuple[float, float]) -> torch.Tensor:
    """Gauge rows (..., 3, 2) of triangles from uniforms ``u`` (..., 12), as the Numba family makes
    them: vertices a third of a turn apart with jitter, stretched, rotated, scaled to the
    circumradius; row ``e`` is edge ``e``'s outward normal over its distance from the centroid."""
    radius = size[0] + (size[1] - size[0]) * u[..., 2]
    stretch = torch.sqrt(aspect[0] + (aspect[1] - aspect[0]) * u[..., 7])
    cos_axis, sin_axis = torch.cos(math.pi * u[..., 8]), torch.sin(math.pi * u[..., 8])
    e = torch.arange(3, device=u.device, dtype=u.dtype)
    angle = 2.0 * math.pi * u[..., 3:4] + 2.0 * math.pi / 3.0 * e + (u[..., 4:7] - 0.5)
    ux, uy = torch.cos(angle) * stretch[..., None], torch.sin(angle) / stretch[..., None]
    vy = uy * cos_axis[..., None] + ux * sin_axis[..., None]
    vx = ux * cos_axis[..., None] - uy * sin_axis[..., None]
    vy, vx = vy - vy.mean(-1, keepdim=True), vx - vx.mean(-1, keepdim=True)
    far = torch.sqrt(vy * vy + vx * vx).amax(-1, keepdim=True)
    vy, vx = vy * radius[..., None] / far, vx * radius[..., None] / far
    ny, nx = vx.roll(-1, -1) - vx, -(vy.roll(-1, -1) - vy)
    height = ny * vy + nx * vx
    return torch.stack((ny, nx), dim=-1) * (torch.sign(height) / height.abs())[..., None]


@device_field(triangles.FAMILY)
def _triangles(
    shape: tuple[int, int, int],
    gens: Gens,
    temporal: str,
    need: int | None,
    *,
    size: tuple[float, float],
    aspect: tuple[float, float],
    speed: float,
    spin: float,
) -> torch.Tensor:
    """Triangles in draw order, each translating and spinning about its centroid."""
    n_h, n_w = shape[1:]

    def scales(u: torch.Tensor, time: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor) -> torch.Tensor:
        g = _gauges(u, size, aspect)[..., None, None, :, :]  # (b, K, 1, 1, 3, 2)
        heading, pace = 2.0 * math.pi * u[..., 9], speed * u[..., 10]
        vy, vx = pace * torch.sin(heading) * time, pace * torch.cos(heading) * time
        angle = (spin * (2.0 * u[..., 11] - 1.0) * time)[..., None, None]
        oy = _wrapped(dy - vy[..., None, None], n_h)
        ox = _wrapped(dx - vx[..., None, None], n_w)
        cos_a, sin_a = torch.cos(angle), torch.sin(angle)
        py, px = cos_a * oy - sin_a * ox, sin_a * oy + cos_a * ox  # into the triangle's own frame
        return (g[..., 0] * py[..., None] + g[..., 1] * px[..., None]).amax(dim=-1)

    return _dropped(shape, gens, temporal, need, 12, scales)


# -- fourier ---------------------------------------------------------------------------------


@device_field(fourier.FAMILY)
def _fourier(
    shape: tuple[int, int, int],
    gens: Gens,
    temporal: str,
    need: int | None,
    *,
    decay: float,
    time_scale: float,
) -> torch.Tensor:
    """FMix's field: Gaussian spectrum scaled by ``1 / max(f, 1/n)^decay``, inverse real FFT; one
    3-D spectrum over (time, height, width) when evolving, a 2-D one per frame otherwise."""
    n_t, n_h, n_w = shape
    evolving = temporal == "evolving"
    spectrum_shape = (n_t, n_h, n_w) if evolving else (1, n_h, n_w)
    amplitude = torch.tensor(
        fourier.spectrum_amplitude(spectrum_shape, decay, time_scale), device=_device(gens)
    )
    parts = _randn(gens, (2, n_t, n_h, n_w // 2 + 1))
    spectrum = torch.complex(parts[:, 0], parts[:, 1]) * amplitude
    dims = (1, 2, 3) if evolving else (2, 3)
    return torch.fft.irfftn(spectrum, s=(n_t, n_h, n_w)[-len(dims) :], dim=dims).float()


# -- patches ---------------------------------------------------------------------------------


@device_field(patches.FAMILY)
def _patches(
    shape: tuple[int, int, int],
    gens: Gens,
    temporal: str,
    need: int | None,
    *,
    patch: tuple[int, int],
    offset: str,
    time_scale: float,
) -> torch.Tensor:
    """Per-patch random scores (drifting as AR(1) when evolving), ranked per frame and repeated
    to the patch's pixels, plus each pixel's place in a spiral from the patch's centre."""
    n_t, n_h, n_w = shape
    device, n = _device(gens), len(gens)
    ph, pw = patch
    n_sets = _sets(temporal, n_t)
    grid_h, grid_w = -(-(n_h + ph - 1) // ph), -(-(n_w + pw - 1) // pw)  # room for any offset
    if offset == "random":
        shift = (_rand(gens, (n_sets, 2)) * torch.tensor([ph, pw], device=device)).long()
    else:
        shift = torch.zeros((n, n_sets, 2), dtype=torch.long, device=device)
    scores = _randn(gens, (n_t, grid_h * grid_w))
    if temporal == "evolving":  # AR(1) scores with correlation exp(-lag / time_scale)
        rho = math.exp(-1.0 / time_scale)
        for t in range(1, n_t):
            scores[:, t] = rho * scores[:, t - 1] + math.sqrt(1.0 - rho * rho) * scores[:, t]
    rank = torch.argsort(torch.argsort(scores, dim=-1), dim=-1).float()  # (n, T, patches)
    frame_set = (
        torch.arange(n_t, device=device) if n_sets > 1 else torch.zeros(n_t, dtype=torch.long, device=device)
    )
    shift = shift[:, frame_set]  # (n, T, 2)
    y = torch.arange(n_h, device=device)[None, None, :, None] + shift[..., 0, None, None]
    x = torch.arange(n_w, device=device)[None, None, None, :] + shift[..., 1, None, None]
    index = (y // ph) * grid_w + x // pw  # (n, T, H, W)
    place = torch.tensor(patches.patch_spiral(ph, pw)[0], dtype=torch.float32, device=device)
    ranks = torch.gather(rank, 2, index.reshape(n, n_t, -1)).reshape(n, n_t, n_h, n_w)
    return ranks + place[y % ph, x % pw]
