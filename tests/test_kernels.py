"""Every family kernel against a slow, obvious reference."""

import math
import sys

import numpy as np
import opensimplex
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import occmask as om
from occmask import _noise, _opensimplex, _seeds, _torus
from occmask.calibrate import cut, target_count
from occmask.families import bernoulli, cgol, fourier, patches, rectangles, triangles

# --- Bernoulli ------------------------------------------------------------------------------

MASK64 = (1 << 64) - 1


def splitmix64_reference(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def shuffle_reference(key, steps, values, n_frames, n):
    """Fisher-Yates in Python integers: SplitMix64 per frame, 32-bit halves high first, Lemire's
    bounded draw with rejection."""
    golden = 0x9E3779B97F4A7C15
    out = np.full((n_frames, n), np.inf, np.float32)
    for t in range(n_frames):
        order = list(range(n))
        state = splitmix64_reference((key + t * golden) & MASK64)
        halves = []
        for r in range(steps):
            span = n - r
            while True:
                if not halves:
                    state = (state + golden) & MASK64
                    bits = splitmix64_reference(state)
                    halves = [bits >> 32, bits & 0xFFFFFFFF]
                product = halves.pop(0) * span
                if product % 2**32 >= (2**32 - span) % span:
                    break
            j = r + product // 2**32
            order[r], order[j] = order[j], order[r]
            out[t, order[r]] = values[0 if len(values) == 1 else t][r]
    return out


@settings(max_examples=60, deadline=None)
@given(
    n_frames=st.integers(1, 3),
    n=st.integers(1, 40),
    share=st.floats(0.0, 1.0),
    key=st.integers(0, 2**63 - 1),
    scratch=st.sampled_from([np.uint16, np.int32]),
)
def test_shuffle_equals_python_reference(n_frames, n, share, key, scratch):
    steps = round(share * n)
    out = np.zeros((n_frames, n), np.float32)  # every value is written
    with np.errstate(over="ignore"):  # wrapping arithmetic, as in bernoulli._field
        bernoulli._shuffle(np.uint64(key), steps, out, 0, np.empty(n, scratch))
    ranks = np.arange(steps, dtype=np.float32)[None]
    np.testing.assert_array_equal(out, shuffle_reference(key, steps, ranks, n_frames, n))


def test_shuffle_picks_every_subset_equally_often():
    """2 of 5 pixels over 20,000 frames: each of the 10 subsets about 2,000 times (chi-square)."""
    n_frames, n, k = 20_000, 5, 2
    out = np.empty((n_frames, n), np.float32)
    with np.errstate(over="ignore"):
        bernoulli._shuffle(np.uint64(12345), k, out, 0, np.empty(n, np.uint16))
    hidden = np.isfinite(out)
    assert (hidden.sum(axis=1) == k).all()
    codes = hidden @ (1 << np.arange(n))
    counts = np.unique(codes, return_counts=True)[1]
    assert counts.size == math.comb(n, k)
    chi2 = ((counts - n_frames / counts.size) ** 2 / (n_frames / counts.size)).sum()
    assert chi2 < 27.9, f"chi-square {chi2:.1f} with 9 degrees of freedom (p < 0.001 above 27.9)"


@settings(max_examples=40, deadline=None)
@given(
    n_frames=st.integers(1, 3), n=st.integers(1, 41), first=st.integers(0, 5), key=st.integers(0, 2**63 - 1)
)
def test_uniform_equals_python_reference(n_frames, n, first, key):
    """Frame t's SplitMix64 stream, two 24-bit values from each number, high bits first."""
    golden = 0x9E3779B97F4A7C15
    expected = np.empty((n_frames, n), np.float32)
    for t in range(n_frames):
        state = splitmix64_reference((key + (first + t) * golden) & MASK64)
        for i in range(n):
            bits = splitmix64_reference((state + (i // 2 + 1) * golden) & MASK64)
            expected[t, i] = (bits >> 40 if i % 2 == 0 else (bits >> 8) & 0xFFFFFF) / 2**24
    out = np.full((n_frames, n), np.nan, np.float32)
    with np.errstate(over="ignore"):
        bernoulli._uniform(np.uint64(key), out, first)
    np.testing.assert_array_equal(out, expected)


def test_bernoulli_large_frames_are_iid_noise_from_the_stream():
    """Above 2**16 pixels a frame is the stream's uniform noise (whatever the need), cut like any
    field: uniform (Kolmogorov-Smirnov) and the exact count."""
    shape = (2, 257, 256)
    assert shape[1] * shape[2] > bernoulli._SHUFFLE_PIXELS
    key = np.uint64(np.random.default_rng(4).integers(0, 2**63, dtype=np.int64))
    with np.errstate(over="ignore"):
        expected = bernoulli._uniform(key, np.empty((2, shape[1] * shape[2]), np.float32), 0)
    for need in (None, 1000):
        field = bernoulli._field(shape, np.random.default_rng(4), "evolving", need)
        np.testing.assert_array_equal(field.reshape(2, -1), expected)
    assert scipy.stats.kstest(expected.ravel(), "uniform").pvalue > 1e-3
    mask = om.generate("bernoulli", shape, 0.3, rng=4)
    np.testing.assert_array_equal(mask, om.cut(om.field("bernoulli", shape, rng=4), 0.3))
    assert (mask.sum(axis=(1, 2)) == round(0.3 * shape[1] * shape[2])).all()


def test_bernoulli_field_is_iid_uniform_and_free_of_ties():
    field = bernoulli._field((4, 64, 64), np.random.default_rng(3), "evolving", None)
    rows = field.reshape(4, -1)
    assert all(np.unique(row).size == row.size for row in rows)
    values = np.sort(rows.ravel())
    # Kolmogorov-Smirnov distance to the uniform distribution, 16,384 values: 1.95 / sqrt(n) is p = 0.001
    distance = np.abs(values - np.arange(1, values.size + 1) / values.size).max()
    assert distance < 1.95 / math.sqrt(values.size)
    ranks = bernoulli._field((4, 64, 64), np.random.default_rng(3), "evolving", 1000)
    for row, rank_row in zip(rows, ranks.reshape(4, -1), strict=True):
        hidden = np.isfinite(rank_row)
        assert hidden.sum() == 1000
        assert hidden[np.argsort(row)[:1000]].all()
        np.testing.assert_array_equal(np.argsort(row)[:1000], np.argsort(rank_row)[:1000])


# --- Game of Life ---------------------------------------------------------------------------


def life_step_reference(state):
    """B3/S23 on a torus with numpy rolls."""
    neighbours = sum(
        np.roll(np.roll(state, dy, axis=0), dx, axis=1)
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
        if (dy, dx) != (0, 0)
    )
    return ((neighbours == 3) | ((neighbours == 2) & (state == 1))).astype(np.uint8)


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        np.uint8,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=24),
        elements=st.integers(0, 1),
    )
)
def test_life_step_equals_numpy_rolls(state):
    nxt = np.empty_like(state)
    current = state.copy()
    expected = state.copy()
    memory = 3
    age = np.where(state == 1, 0, memory).astype(np.uint16)
    expected_age = age.copy()
    for _ in range(5):
        cgol._life_step(current, nxt, age, memory)
        current, nxt = nxt, current
        expected = life_step_reference(expected)
        expected_age = np.where(expected == 1, 0, np.minimum(expected_age + 1, memory))
        np.testing.assert_array_equal(current, expected)
        np.testing.assert_array_equal(age, expected_age)


def test_life_glider_travels_on_the_torus():
    state = np.zeros((8, 8), np.uint8)
    state[0, 1] = state[1, 2] = state[2, 0] = state[2, 1] = state[2, 2] = 1
    nxt = np.empty_like(state)
    current = state.copy()
    age = np.zeros(state.shape, np.uint16)
    for _ in range(32):  # a glider moves one cell diagonally every 4 generations
        cgol._life_step(current, nxt, age, 1)
        current, nxt = nxt, current
    np.testing.assert_array_equal(current, np.roll(state, (8, 8), axis=(0, 1)))


def distance_reference(age, memory, decay, cap):
    """Brute force: squared torus distance to every trail cell plus its squared age cost."""
    n_h, n_w = age.shape
    ii, jj = np.mgrid[:n_h, :n_w]
    out = np.full(age.shape, np.inf)
    for (y, x), a in np.ndenumerate(age):
        if a >= memory:
            continue
        dy = np.minimum(np.abs(ii - y), n_h - np.abs(ii - y))
        dx = np.minimum(np.abs(jj - x), n_w - np.abs(jj - x))
        out = np.minimum(out, dy**2 + dx**2 + (decay * a) ** 2)
    return np.minimum(cap, np.floor(out))


@settings(max_examples=60, deadline=None)
@given(
    age=hnp.arrays(
        np.uint16,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=20),
        elements=st.integers(0, 6),
    ),
    decay=st.sampled_from([0.0, 0.5, 1.0, 2.5]),
)
def test_distance_transform_equals_brute_force(age, decay):
    memory, cap = 6, 1e6
    out = np.empty(age.shape, np.float32)
    cgol._exact_distance(age, memory, decay, cap, np.empty(age.shape), out)
    np.testing.assert_allclose(out, distance_reference(age, memory, decay, cap), rtol=0, atol=1e-3)


@settings(max_examples=100, deadline=None)
@given(
    age=hnp.arrays(
        np.uint16,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=24),
        elements=st.integers(0, 8),
    ),
    decay=st.sampled_from([0.0, 0.5, 1.0, 2.5]),
    share=st.floats(0.0, 1.0),
    radius=st.integers(1, 9),
)
def test_distance_field_is_exact_at_the_needed_values(age, decay, share, radius):
    """Windows and the exact transform alike: every value at or below the ``need``-th
    lowest level is exact (so ties at that level stay ordered by the tie-break),
    the others exact or +inf."""
    memory, cap = 6, 1e6
    need = round(share * age.size)
    expected = distance_reference(age, memory, decay, cap)
    out = np.empty(age.shape, np.float32)
    cgol._distance_field(age, memory, decay, need, cap, radius, out)
    finite = np.isfinite(out)
    np.testing.assert_array_equal(out[finite], expected[finite])
    if need:
        level = np.sort(expected.ravel())[need - 1]
        assert finite[expected <= level].all()


@pytest.mark.parametrize("radius", [1, 2, 5, 30])
def test_window_distance_is_exact_below_its_bound(radius):
    rng = np.random.default_rng(radius)
    age = rng.integers(0, 12, (19, 26)).astype(np.uint16)
    memory, decay, cap = 4, 1.5, 1e6
    expected = distance_reference(age, memory, decay, cap)
    out = np.empty(age.shape, np.float32)
    found = cgol._window_distance(age, memory, decay, cap, radius, out)
    inside = expected < (radius + 1) ** 2
    np.testing.assert_array_equal(out[inside], expected[inside])
    assert np.isinf(out[~inside]).all()
    assert found == inside.sum()


# --- Perlin ---------------------------------------------------------------------------------


def perlin_reference(x, y, z, p):
    """Ken Perlin's reference improved noise (2002), transcribed literally."""

    def fade(t):
        return t * t * t * (t * (t * 6 - 15) + 10)

    def lerp(t, a, b):
        return a + t * (b - a)

    def grad(h, x, y, z):
        h &= 15
        u = x if h < 8 else y
        v = y if h < 4 else (x if h in (12, 14) else z)
        return (u if h & 1 == 0 else -u) + (v if h & 2 == 0 else -v)

    X, Y, Z = math.floor(x) & 255, math.floor(y) & 255, math.floor(z) & 255
    x, y, z = x - math.floor(x), y - math.floor(y), z - math.floor(z)
    u, v, w = fade(x), fade(y), fade(z)
    A, B = p[X] + Y, p[X + 1] + Y
    AA, AB, BA, BB = p[A] + Z, p[A + 1] + Z, p[B] + Z, p[B + 1] + Z
    return lerp(
        w,
        lerp(
            v,
            lerp(u, grad(p[AA], x, y, z), grad(p[BA], x - 1, y, z)),
            lerp(u, grad(p[AB], x, y - 1, z), grad(p[BB], x - 1, y - 1, z)),
        ),
        lerp(
            v,
            lerp(u, grad(p[AA + 1], x, y, z - 1), grad(p[BA + 1], x - 1, y, z - 1)),
            lerp(u, grad(p[AB + 1], x, y - 1, z - 1), grad(p[BB + 1], x - 1, y - 1, z - 1)),
        ),
    )


def noise_on_grid(xs, ys, zs, perm, simplex=False, amps=(1.0,)):
    """Call the field kernel on explicit lattice coordinates (one pattern set)."""
    octaves = len(amps)
    out = np.empty((len(zs), len(ys), len(xs)), np.float32)
    perms = np.concatenate([perm, perm])[None].astype(np.int64)
    return _noise._noise_field(
        out,
        np.tile(xs, (1, octaves, 1)),
        np.tile(ys, (1, octaves, 1)),
        np.tile(zs, (octaves, 1)),
        perms,
        np.array(amps),
        np.zeros((octaves, 2), np.int64),
        simplex,
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_perlin_equals_reference_implementation(seed):
    rng = np.random.default_rng(seed)
    perm = rng.permutation(256)
    xs, ys, zs = rng.uniform(0, 300, 7), rng.uniform(-40, 40, 5), rng.uniform(0, 260, 3)
    out = noise_on_grid(xs, ys, zs, perm)
    p = list(perm) * 2
    expected = np.array([[[perlin_reference(x, y, z, p) for x in xs] for y in ys] for z in zs])
    np.testing.assert_allclose(out, expected, atol=1e-6)


OPENSIMPLEX_GRADIENTS = [(-11, 4, 4), (-4, 11, 4), (-4, 4, 11), (11, 4, 4), (4, 11, 4), (4, 4, 11)]
OPENSIMPLEX_GRADIENTS += [(gx, -gy, gz) for gx, gy, gz in OPENSIMPLEX_GRADIENTS]
OPENSIMPLEX_GRADIENTS += [(gx, gy, -gz) for gx, gy, gz in OPENSIMPLEX_GRADIENTS]


def opensimplex_reference(x, y, z, perm):
    """OpenSimplex noise by its definition: every lattice vertex of a wide neighbourhood, mapped
    back to space, adds (2 - d**2)**4 (gradient . d) where d**2 < 2."""
    point = np.array([x, y, z])
    base = np.floor(point + point.sum() * (-1.0 / 6.0)).astype(np.int64)
    value = 0.0
    for offset in np.ndindex(6, 6, 6):
        vertex = base + np.array(offset) - 2
        d = point - vertex - vertex.sum() / 3.0
        attenuation = 2.0 - d @ d
        if attenuation > 0:
            h = perm[(perm[(perm[vertex[0] & 255] + vertex[1]) & 255] + vertex[2]) & 255]
            value += attenuation**4 * (np.array(OPENSIMPLEX_GRADIENTS[h % 24]) @ d)
    return value / 103.0


def opensimplex_permutation(seed):
    """The permutation that ``opensimplex.seed(seed)`` sets (its 64-bit LCG shuffle, in Python integers)."""

    def step(state):
        state = (state * 6364136223846793005 + 1442695040888963407) & MASK64
        return state - (1 << 64) if state >> 63 else state  # a signed 64-bit integer

    state = step(step(step(seed)))
    source, perm = list(range(256)), [0] * 256
    for i in range(255, -1, -1):
        state = step(state)
        r = (state + 31) % (i + 1)
        perm[i], source[r] = source[r], source[i]
    return np.array(perm)


@settings(max_examples=60, deadline=None)  # the first example compiles the kernel
@given(
    point=st.tuples(*[st.floats(-300, 300, allow_nan=False)] * 3) | st.tuples(*[st.integers(-9, 9)] * 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_simplex_kernel_equals_the_definition(point, seed):
    """Hypothesis-drawn points, points of a 1/3 grid included (there vertices sit on cell faces and
    exactly at the edge of reach)."""
    perm = np.random.default_rng(seed).permutation(256)
    x, y, z = (float(c) / 3.0 for c in point)
    value = noise_on_grid(np.array([x]), np.array([y]), np.array([z]), perm, simplex=True)[0, 0, 0]
    np.testing.assert_allclose(value, opensimplex_reference(x, y, z, list(perm)), atol=1e-6)


def test_simplex_vertex_table_holds_every_vertex_in_reach():
    f = np.random.default_rng(0).random((20000, 3))
    f[:64] = np.array(list(np.ndindex(4, 4, 4))) / 3.0 * (1 - 1e-12)  # corners, edges and faces
    table = {tuple(o) for o in _opensimplex._OFFSETS.tolist()}
    for offset in np.ndindex(6, 6, 6):
        u = f - (np.array(offset) - 2)
        in_reach = (u**2).sum(axis=1) + u.sum(axis=1) ** 2 < 2.0
        if not in_reach.any():
            continue
        assert tuple(np.array(offset) - 2) in table
        inside = f[in_reach].sum(axis=1)
        assert (np.abs(inside - (np.array(offset) - 2).sum()) < _opensimplex._SUM_REACH).all()


@pytest.mark.parametrize("seed", [0, 7, 12345])
def test_simplex_basis_matches_opensimplex(seed):
    """The opensimplex package's noise (public API) leaves out some vertices in reach near the
    simplices' faces: it agrees up to that, and exactly elsewhere."""
    rng = np.random.default_rng(seed)
    xs, ys, zs = rng.uniform(-50, 50, 40), rng.uniform(-50, 50, 30), rng.uniform(-5, 5, 3)
    out = noise_on_grid(xs, ys, zs, opensimplex_permutation(seed), simplex=True)
    opensimplex.seed(seed)
    expected = opensimplex.noise3array(xs, ys, zs)
    np.testing.assert_allclose(out, expected, atol=2e-4)
    assert np.mean(np.abs(out - expected) < 1e-6) > 0.8


def test_perlin_fractal_sums_octaves():
    perm = np.random.default_rng(3).permutation(256)
    xs, ys, zs = np.linspace(0.1, 5, 6), np.linspace(0.2, 3, 4), np.array([0.7])
    both = noise_on_grid(xs, ys, zs, perm, amps=(1.0, 0.5))
    single = noise_on_grid(xs, ys, zs, perm)
    np.testing.assert_allclose(both, 1.5 * single, atol=1e-6)  # same coordinates: amplitudes add


def test_periodic_perlin_tiles_the_canvas():
    def seam_ratio(periodic):
        field = om.field("perlin", (48, 40), rng=0, scale=10.0, octaves=2, periodic=periodic)
        inside = np.abs(np.diff(field, axis=1)).mean()
        return np.abs(field[:, 0] - field[:, -1]).mean() / inside

    assert seam_ratio(True) < 1.5 < 3.0 < seam_ratio(False)


# --- Triangles ------------------------------------------------------------------------------


def triangle_field_reference(shape, centers, gauges, reach, velocity, spin):
    """Pixel by pixel: the first triangle (in draw order) whose scaled copy covers the pixel."""
    _n_t, n_h, n_w = shape
    out = np.full(shape, np.inf)
    for t, i, j in np.ndindex(*shape):
        for k in range(centers.shape[1]):
            cy = (centers[0, k, 0] + velocity[0, k, 0] * t) % n_h
            cx = (centers[0, k, 1] + velocity[0, k, 1] * t) % n_w
            dy = (i - cy + n_h / 2) % n_h - n_h / 2
            dx = (j - cx + n_w / 2) % n_w - n_w / 2
            a = spin[0, k] * t
            py, px = math.cos(a) * dy - math.sin(a) * dx, math.sin(a) * dy + math.cos(a) * dx
            scale = max(g[0] * py + g[1] * px for g in gauges[0, k])
            if scale <= 1.0:
                out[t, i, j] = k + max(scale, 0.0)
                break
    return out


def triangle_geometry_reference(u, n_h, n_w, size, aspect, speed, spin):
    """The triangles of uniforms ``u`` (sets, n, 12), with numpy's array operations."""
    radius = size[0] + (size[1] - size[0]) * u[..., 2]
    angles = 2.0 * np.pi * u[..., 3, None] + 2.0 * np.pi / 3.0 * np.arange(3) + (u[..., 4:7] - 0.5)
    stretch = np.sqrt(aspect[0] + (aspect[1] - aspect[0]) * u[..., 7])[..., None]
    axis = np.pi * u[..., 8, None]
    ux, uy = np.cos(angles) * stretch, np.sin(angles) / stretch
    verts = np.stack([uy * np.cos(axis) + ux * np.sin(axis), ux * np.cos(axis) - uy * np.sin(axis)], axis=-1)
    verts -= verts.mean(axis=-2, keepdims=True)
    verts *= (radius / np.linalg.norm(verts, axis=-1).max(axis=-1))[..., None, None]
    edges = verts[..., [1, 2, 0], :] - verts
    normals = np.stack([edges[..., 1], -edges[..., 0]], axis=-1)
    height = np.sum(normals * verts, axis=-1, keepdims=True)
    gauges = np.where(height < 0, -normals, normals) / np.abs(height)
    heading = 2.0 * np.pi * u[..., 9]
    velocity = (speed * u[..., 10])[..., None] * np.stack([np.sin(heading), np.cos(heading)], axis=-1)
    centers = u[..., 0:2] * np.array([n_h, n_w])
    return centers, gauges, radius, velocity, spin * (2.0 * u[..., 11] - 1.0)


@settings(max_examples=60, deadline=None)  # the first example compiles the kernel
@given(
    u=hnp.arrays(np.float64, (2, 7, 12), elements=st.floats(0.0, 1.0, exclude_max=True)),
    size=st.tuples(st.floats(1.0, 50.0), st.floats(0.0, 50.0)).map(lambda p: (p[0], p[0] + p[1])),
    aspect=st.tuples(st.floats(1.0, 4.0), st.floats(0.0, 4.0)).map(lambda p: (p[0], p[0] + p[1])),
)
def test_triangle_geometry_equals_numpy_reference(u, size, aspect):
    got = triangles._geometry(u, 30, 50, size, aspect, 1.5, 0.2)
    for value, expected in zip(
        got, triangle_geometry_reference(u, 30, 50, size, aspect, 1.5, 0.2), strict=True
    ):
        np.testing.assert_allclose(value, expected, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(
    ("shape", "size"),
    [
        ((3, 17, 23), (3.0, 9.0)),
        ((2, 9, 7), (4.0, 12.0)),
        ((1, 5, 40), (1.0, 3.0)),
        ((2, 38, 45), (5.0, 16.0)),
    ],
)
def test_triangle_kernel_equals_pixel_reference(shape, size):
    rng = np.random.default_rng(sum(shape))
    n = 25
    centers, gauges, reach, _, _ = triangles._geometry(
        rng.random((1, n, triangles._UNIFORMS)), shape[1], shape[2], size, (1.0, 3.0), 0.0, 0.0
    )
    velocity = rng.normal(0, 1.5, (1, n, 2))
    spin = rng.normal(0, 0.2, (1, n))
    out = np.full(shape, np.inf, np.float32)
    triangles._draw(out, centers, gauges, reach, velocity, spin, 0.0, True, 0)
    expected = triangle_field_reference(shape, centers, gauges, reach, velocity, spin)
    np.testing.assert_allclose(out, expected, atol=1e-4)


def test_triangle_shapes_are_triangles_of_the_requested_size():
    rng = np.random.default_rng(0)
    _, gauges, reach, _, _ = triangles._geometry(
        rng.random((1, 200, triangles._UNIFORMS)), 64, 64, (5.0, 10.0), (1.0, 1.0), 1.0, 0.0
    )
    assert reach.min() >= 5.0
    assert reach.max() <= 10.0
    # the centroid is inside (every gauge row is a finite outward normal) and the three
    # edges bound a triangle whose farthest vertex is at distance `reach`
    for g, r in zip(gauges[0], reach[0], strict=True):
        vertices = [np.linalg.solve(np.stack([g[a], g[b]]), np.ones(2)) for a, b in ((2, 0), (0, 1), (1, 2))]
        assert max(np.hypot(*v) for v in vertices) == pytest.approx(r)


# --- Rectangles -------------------------------------------------------------------------------


def box_field_reference(shape, centers, halves, velocity):
    """Pixel by pixel: the first box (in draw order) whose scaled copy covers the pixel."""
    _n_t, n_h, n_w = shape
    out = np.full(shape, np.inf)
    for t, i, j in np.ndindex(*shape):
        for k in range(centers.shape[1]):
            cy = (centers[0, k, 0] + velocity[0, k, 0] * t) % n_h
            cx = (centers[0, k, 1] + velocity[0, k, 1] * t) % n_w
            dy = (i - cy + n_h / 2) % n_h - n_h / 2  # nearest copy on the torus
            dx = (j - cx + n_w / 2) % n_w - n_w / 2
            sy, sx = abs(dy) / halves[0, k, 0], abs(dx) / halves[0, k, 1]
            if max(sy, sx) <= 1.0:
                out[t, i, j] = k + (max(sy, sx) + 1e-3 * min(sy, sx)) / (1 + 1e-3)
                break
    return out


def boxes_reference(u, n_h, n_w, size, aspect, speed):
    """The boxes of uniforms ``u`` (sets, n, 6), with numpy's array operations."""
    side = size[0] * (size[1] / size[0]) ** u[..., 2]
    ratio = aspect[0] * (aspect[1] / aspect[0]) ** u[..., 3]
    halves = 0.5 * side[..., None] * np.stack([np.sqrt(ratio), 1.0 / np.sqrt(ratio)], axis=-1)
    heading = 2.0 * np.pi * u[..., 4]
    velocity = (speed * u[..., 5])[..., None] * np.stack([np.sin(heading), np.cos(heading)], axis=-1)
    return u[..., 0:2] * np.array([n_h, n_w]), halves, velocity


@settings(max_examples=60, deadline=None)  # the first example compiles the kernel
@given(
    u=hnp.arrays(np.float64, (2, 7, 6), elements=st.floats(0.0, 1.0, exclude_max=True)),
    size=st.tuples(st.floats(1.0, 50.0), st.floats(0.0, 50.0)).map(lambda p: (p[0], p[0] + p[1])),
    aspect=st.tuples(st.floats(0.01, 100.0), st.floats(0.01, 100.0)).map(sorted),
)
def test_boxes_equal_numpy_reference(u, size, aspect):
    got = rectangles._boxes(u, 30, 50, size, tuple(aspect), 1.5)
    for value, expected in zip(got, boxes_reference(u, 30, 50, size, aspect, 1.5), strict=True):
        np.testing.assert_allclose(value, expected, rtol=1e-9, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 3), st.integers(1, 21), st.integers(1, 21)),
    size=st.tuples(st.floats(1.0, 30.0), st.floats(1.0, 30.0)).map(sorted),
    aspect=st.tuples(st.floats(0.1, 10.0), st.floats(0.1, 10.0)).map(sorted),
    seed=st.integers(0, 2**32 - 1),
)
def test_box_kernel_equals_pixel_reference(shape, size, aspect, seed):
    rng = np.random.default_rng(seed)
    u = rng.random((1, 12, rectangles._UNIFORMS))
    centers, halves, velocity = rectangles._boxes(u, shape[1], shape[2], tuple(size), tuple(aspect), 2.5)
    out = np.full(shape, np.inf, np.float32)
    left, _ = rectangles._draw(out, centers, halves, velocity, 0.0, True, 0)
    expected = box_field_reference(shape, centers, halves, velocity)
    np.testing.assert_allclose(out, expected, atol=1e-5)
    np.testing.assert_array_equal(left, np.isinf(expected).sum(axis=(1, 2)))


def test_boxes_have_the_requested_side_and_aspect():
    u = np.random.default_rng(0).random((1, 5000, rectangles._UNIFORMS))
    _, halves, velocity = rectangles._boxes(u, 64, 64, (4.0, 16.0), (0.5, 2.0), 3.0)
    side = 2.0 * np.sqrt(halves[..., 0] * halves[..., 1])
    ratio = halves[..., 0] / halves[..., 1]
    assert side.min() >= 4.0
    assert side.max() <= 16.0
    assert ratio.min() >= 0.5
    assert ratio.max() <= 2.0
    # log-uniform: the median is the geometric mean of the range
    assert abs(np.median(side) - 8.0) < 0.3
    assert abs(np.median(ratio) - 1.0) < 0.05
    assert np.hypot(*velocity[0].T).max() <= 3.0


@settings(max_examples=200, deadline=None)
@given(keys=st.lists(st.integers(-(2**62), 2**62), unique=True, max_size=80), data=st.data())
def test_lowest_first_puts_the_k_lowest_keys_first(keys, data):
    k = data.draw(st.integers(0, len(keys) + 1))
    got = np.array(keys, np.int64)
    _torus.lowest_first(got, k)
    assert sorted(got.tolist()) == sorted(keys)  # a permutation
    if 0 < k < len(keys):
        assert sorted(got[:k].tolist()) == sorted(keys)[:k]


def keep_lowest_reference(frame, need):
    """The ``need`` lowest values of a frame (equal values in index order); ``+inf`` elsewhere."""
    kept = np.full(frame.shape, np.inf, np.float32)
    chosen = np.argsort(frame, kind="stable")[:need]
    kept[chosen] = frame[chosen]
    return kept


@settings(max_examples=100, deadline=None)
@given(
    n=st.integers(1, 200),
    shapes=st.integers(1, 12),
    scales=st.lists(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0, 0.99999994]), min_size=1, max_size=6),
    first=st.sampled_from([0.0, 3.0, 4096.0, 2.0**21]),
    data=st.data(),
)
def test_trim_keeps_the_lowest_values_of_dropped_shapes(n, shapes, scales, first, data):
    """Frames built as drop builds them: shape ``k`` covers pixels at ``first + k + scale`` (ties
    within a shape, across shapes at whole numbers, and from float32 rounding), the last one
    while fewer than ``need`` were covered."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    owner = rng.integers(-1, shapes, n)  # -1: uncovered
    values = first + owner + rng.choice(scales, n)
    frame = np.where(owner >= 0, values, np.inf).astype(np.float32)
    covered = int((owner >= 0).sum())
    if covered == 0:
        return
    last = int(owner.max())
    before = int(((owner >= 0) & (owner < last)).sum())  # covered before the last shape
    need = data.draw(st.integers(before + 1, covered))
    width = data.draw(st.sampled_from([w for w in range(1, n + 1) if n % w == 0]))  # rows without candidates
    out = frame.reshape(1, n // width, width).copy()
    _torus._trim(out, need, np.array([covered]), np.array([first + last]))
    np.testing.assert_array_equal(out.reshape(-1), keep_lowest_reference(frame, need))


# --- Fourier ----------------------------------------------------------------------------------


def frequency(index, n):
    """Cycles per sample of DFT bin ``index`` of ``n`` (numpy's fftfreq order)."""
    return (index if index < (n + 1) // 2 else index - n) / n


def fourier_field_reference(shape, parts, decay, time_scale, evolving):
    """FMix's field written out: amplitude per bin, then the inverse DFT as a sum over bins.

    The half spectrum along x stands for the full Hermitian one: bin ``kx`` and its mirror
    ``n_w - kx`` are both present, except ``kx = 0`` and (for even ``n_w``) ``n_w / 2``,
    whose imaginary part drops out of a real signal.
    """
    n_t, n_h, n_w = shape
    out = np.zeros(shape)
    half = n_w // 2 + 1
    for t in range(n_t):
        frames = range(n_t) if evolving else [t]
        for i, j in np.ndindex(n_h, n_w):
            total = 0.0
            for kt in frames:
                for ky in range(n_h):
                    for kx in range(half):
                        ft = frequency(kt, n_t) * time_scale if evolving else 0.0
                        f = math.sqrt(ft**2 + frequency(ky, n_h) ** 2 + (kx / n_w) ** 2)
                        amp = 1.0 / max(f, 1.0 / max(n_h, n_w)) ** decay
                        c = amp * complex(parts[0, kt, ky, kx], parts[1, kt, ky, kx])
                        phase = (
                            2 * math.pi * ((kt * t / n_t if evolving else 0.0) + ky * i / n_h + kx * j / n_w)
                        )
                        term = (c * complex(math.cos(phase), math.sin(phase))).real
                        mirrored = kx > 0 and not (n_w % 2 == 0 and kx == n_w // 2)
                        total += 2.0 * term if mirrored else term
            out[t, i, j] = total / ((n_t if evolving else 1) * n_h * n_w)
    return out


def box_muller_parts(seed, n_t, n_h, n_bins):
    """The spectrum's Gaussian real and imaginary parts (2, T, H, bins), in float64 from the same
    float32 uniforms: per frame, the radii's uniforms, then the angles' (Box & Muller 1958)."""
    uniforms = np.random.default_rng(seed).random((n_t, 2, n_h, n_bins), dtype=np.float32)
    radius = np.sqrt(-2.0 * np.log(1.0 - uniforms[:, 0].astype(np.float64)))
    angle = 2.0 * np.pi * uniforms[:, 1].astype(np.float64)
    return np.stack([radius * np.cos(angle), radius * np.sin(angle)])


@settings(max_examples=20, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 3), st.integers(1, 5), st.integers(1, 6)),
    decay=st.floats(0.0, 4.0),
    time_scale=st.floats(0.05, 3.0),
    temporal=st.sampled_from(["evolving", "independent"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_fourier_field_equals_the_inverse_dft(shape, decay, time_scale, temporal, seed):
    field = fourier._field(
        shape, np.random.default_rng(seed), temporal, None, decay=decay, time_scale=time_scale
    )
    n_t, n_h, n_w = shape
    expected = fourier_field_reference(
        shape, box_muller_parts(seed, n_t, n_h, n_w // 2 + 1), decay, time_scale, temporal == "evolving"
    )
    assert field.dtype == np.float32
    assert field.shape == shape
    np.testing.assert_allclose(field, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


def test_fourier_field_does_not_depend_on_the_chunk_size(monkeypatch):
    """The spectrum is drawn and inverted a few frames at a time; any chunking gives the same field."""

    def field():
        rng = np.random.default_rng(3)
        return fourier._field((5, 12, 10), rng, "evolving", None, decay=2.0, time_scale=1)

    whole = field()
    monkeypatch.setattr(fourier, "_CHUNK_PIXELS", 2 * 12 * 10)
    np.testing.assert_array_equal(field(), whole)


def test_fourier_spectrum_parts_are_standard_normal():
    """Box and Muller's parts are standard normal (Kolmogorov-Smirnov) and real and imaginary parts
    uncorrelated."""
    parts = box_muller_parts(0, 50, 64, 33).reshape(2, -1)  # 105,600 bins
    assert min(scipy.stats.kstest(part, "norm").pvalue for part in parts) > 1e-3
    assert abs(np.corrcoef(parts)[0, 1]) < 5 / math.sqrt(parts.shape[1])


def test_fourier_decay_sets_the_spectrum():
    """Averaged over many fields, the power of each bin is the amplitude squared times 2."""
    rng = np.random.default_rng(0)
    fields = fourier._field((400, 16, 16), rng, "independent", None, decay=2.0, time_scale=1.0)
    power = (np.abs(np.fft.rfft2(fields)) ** 2).mean(axis=0)
    amplitude = fourier.spectrum_amplitude((1, 16, 16), 2.0, 1.0)[0].astype(np.float64)
    inner = power[1:8, 1:8] / (2.0 * amplitude[1:8, 1:8] ** 2)  # bins that are not their own mirror
    assert abs(inner.mean() - 1.0) < 0.05
    assert inner.std() < 0.2


# --- Patches ----------------------------------------------------------------------------------


def patch_field_reference(shape, seed, patch, offset, time_scale, temporal):
    """The patch field from the same draws, pixel by pixel in plain Python."""
    rng = np.random.default_rng(seed)
    n_t, n_h, n_w = shape
    ph, pw = patch
    n_sets = n_t if temporal == "independent" else 1
    grid_h, grid_w = math.ceil((n_h + ph - 1) / ph), math.ceil((n_w + pw - 1) / pw)
    if offset == "random":
        oys, oxs = rng.integers(0, ph, n_sets), rng.integers(0, pw, n_sets)
    else:
        oys, oxs = [0] * n_sets, [0] * n_sets
    scores = rng.standard_normal((n_t, grid_h * grid_w))
    rho = math.exp(-1.0 / time_scale)
    for t in range(1, n_t if temporal == "evolving" else 1):
        scores[t] = rho * scores[t - 1] + math.sqrt(1 - rho * rho) * scores[t]
    cells = [(py, px) for py in range(ph) for px in range(pw)]

    def growth(cell):  # how far the patch must grow about its centre, then the angle
        dy, dx = cell[0] + 0.5 - ph / 2, cell[1] + 0.5 - pw / 2
        return (max(abs(dy) / ph, abs(dx) / pw), math.atan2(dy, dx))

    place = {cell: n / (ph * pw) for n, cell in enumerate(sorted(cells, key=growth))}
    out = np.empty(shape)
    for t, i, j in np.ndindex(*shape):
        s = t if n_sets > 1 else 0
        y, x = i + oys[s], j + oxs[s]
        patch_index = (y // ph) * grid_w + x // pw
        rank = sorted(scores[t]).index(scores[t, patch_index])
        out[t, i, j] = rank + place[(y % ph, x % pw)]
    return out


@settings(max_examples=30, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 3), st.integers(1, 13), st.integers(1, 13)),
    patch=st.tuples(st.integers(1, 6), st.integers(1, 6)),
    offset=st.sampled_from(["random", "aligned"]),
    temporal=st.sampled_from(["evolving", "independent"]),
    time_scale=st.floats(0.1, 20.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_patch_field_equals_pixel_reference(shape, patch, offset, temporal, time_scale, seed):
    field = patches._field(
        shape, np.random.default_rng(seed), temporal, None, patch=patch, offset=offset, time_scale=time_scale
    )
    expected = patch_field_reference(shape, seed, patch, offset, time_scale, temporal)
    np.testing.assert_allclose(field, expected, rtol=0, atol=1e-3 / (patch[0] * patch[1]))
    assert len(np.unique(field[0])) == field[0].size  # free of ties: the cut never falls on one


@settings(max_examples=8, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 2), st.integers(60, 90), st.integers(1, 7)),
    patch=st.tuples(st.integers(patches._PLACE_ROWS + 1, 100), st.integers(1, 4)),
    offset=st.sampled_from(["random", "aligned"]),
    coverage=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_patch_field_of_tall_patches_equals_pixel_reference(shape, patch, offset, coverage, seed):
    """Patches taller than the kernel keeps rows of places for: each canvas row's places are made
    on the way; the field with ``need`` set keeps the cut of the whole field."""
    args = {"patch": patch, "offset": offset, "time_scale": 3.0}
    field = patches._field(shape, np.random.default_rng(seed), "independent", None, **args)
    expected = patch_field_reference(shape, seed, patch, offset, 3.0, "independent")
    np.testing.assert_allclose(field, expected, rtol=0, atol=1e-3 / (patch[0] * patch[1]))
    need = target_count(coverage, shape[1] * shape[2])
    needed = patches._field(shape, np.random.default_rng(seed), "independent", need, **args)
    assert np.array_equal(cut(needed, coverage), cut(field, coverage))


# --- seeds ------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.integers(0, 2**32 + 1), st.integers(0, 2**64 - 1)), max_size=6))
def test_seeded_generators_equal_default_rng(seeds):
    """The batched seeding (hashing kernel + PCG64 state) gives numpy's own ``default_rng(seed)``."""
    made = 0
    for seed, rng in zip(seeds, _seeds.generators(seeds), strict=True):
        assert rng.bit_generator.state == np.random.default_rng(seed).bit_generator.state
        assert np.array_equal(rng.random(3), np.random.default_rng(seed).random(3))
        made += 1
    assert made == len(seeds)


@settings(max_examples=40, deadline=None)
@given(st.one_of(st.integers(0, 2**32 + 1), st.integers(0, 2**64 - 1)))
def test_a_borrowed_generator_equals_default_rng(seed):
    """By the hashing kernel, and by numpy's own seeding before Numba is loaded."""
    for numba_loaded in (True, False):
        with pytest.MonkeyPatch.context() as patch:
            if not numba_loaded:
                patch.delitem(sys.modules, "numba")
            rng = _seeds.borrow(seed)
        try:
            assert rng.bit_generator.state == np.random.default_rng(seed).bit_generator.state
            assert np.array_equal(rng.random(3), np.random.default_rng(seed).random(3))
        finally:
            _seeds.hand_back(rng)
