"""Every numeric parameter of every built-in family, driven to both ends of its documented range.

Each end must give an exact mask in every match and temporal mode within a time limit (no
hang, no unbounded memory), and one step past it must be refused before any kernel runs.
The cases run in a child process, so that a hang fails the test instead of stalling the run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

import occmask as om
from occmask import _torus
from occmask.families import BUILTIN, bernoulli, cgol, fourier, patches, perlin, rectangles, triangles

#: family module -> parameter -> (lowest accepted, highest accepted, below the range, above the
#: range); ``None`` where nothing lies past that end. Where the range is open (``(0, 1]``), the
#: lowest value tried is a tiny positive one and the value past it the end itself.
_BY_MODULE: dict[object, dict[str, tuple]] = {
    bernoulli: {},
    perlin: {
        "scale": (perlin.MIN_SCALE, perlin.MAX_SCALE, perlin.MIN_SCALE / 2, perlin.MAX_SCALE * 2),
        "octaves": (1, 8, 0, 9),
        "persistence": (1e-9, 1.0, 0.0, 1.5),
        "time_scale": (
            perlin.MIN_SCALE,
            perlin.MAX_TIME_SCALE,
            perlin.MIN_SCALE / 2,
            perlin.MAX_TIME_SCALE * 2,
        ),
        "basis": ("perlin", "simplex", None, "value"),
        "periodic": (False, True, None, 1),
    },
    cgol: {
        "density": (2.0**-16, 1 - 2.0**-16, 2.0**-17, 1 - 2.0**-17),
        "burn_in": (0, cgol.MAX_BURN_IN, -1, cgol.MAX_BURN_IN + 1),
        "step": (1, cgol.MAX_STEP, 0, cgol.MAX_STEP + 1),
        "memory": (1, cgol.MAX_MEMORY, 0, cgol.MAX_MEMORY + 1),
        "decay": (0.0, cgol.MAX_DECAY, -1.0, cgol.MAX_DECAY * 2),
    },
    triangles: {
        "size": (1.0, triangles.MAX_SIZE, 0.5, triangles.MAX_SIZE * 2),
        "aspect": (1.0, 8.0, 0.5, 9.0),  # at most the smallest size: the check with size=8 below
        "speed": (0.0, _torus.MAX_SPEED, -1.0, _torus.MAX_SPEED * 2),
        "spin": (0.0, triangles.MAX_SPIN, -0.1, triangles.MAX_SPIN * 2),
    },
    rectangles: {
        "size": (1.0, 1e6, 0.5, 2e6),
        "aspect": (0.01, 100.0, 0.005, 200.0),
        "speed": (0.0, _torus.MAX_SPEED, -1.0, _torus.MAX_SPEED * 2),
    },
    fourier: {
        "decay": (0.0, 10.0, -0.5, 10.5),
        "time_scale": (1e-9, 1e6, 0.0, 2e6),
    },
    patches: {
        "patch": (1, patches._MAX_PATCH, 0, patches._MAX_PATCH + 1),
        "offset": ("random", "aligned", None, "centre"),
        "time_scale": (1e-9, 1e6, 0.0, 2e6),
    },
}

ENDS = {module.FAMILY.name: ends for module, ends in _BY_MODULE.items()}

#: Parameters a case sets beside the one at its end, where the family ties two together.
_WITH = {("triangles", "aspect"): {"size": 8.0}, ("triangles", "size"): {"aspect": 1.0}}

SHAPE = (3, 16, 16)
COVERAGE = 0.37
#: Seconds for all the cases in the child process (about 20 s on a 2-core machine).
LIMIT = 300


def test_every_parameter_of_every_builtin_family_is_covered() -> None:
    assert set(ENDS) == set(BUILTIN)
    for name in BUILTIN:
        assert set(ENDS[name]) == set(om.FAMILIES[name].defaults), name


def _cases() -> list[tuple[str, str, object, dict]]:
    return [
        (name, param, value, {**_WITH.get((name, param), {}), param: value})
        for name, params in ENDS.items()
        for param, ends in params.items()
        for value in ends[:2]
    ]


@pytest.mark.parametrize(
    ("name", "param", "value"),
    [
        (name, param, v)
        for name, params in ENDS.items()
        for param, e in params.items()
        for v in e[2:]
        if v is not None
    ],
)
def test_one_step_past_an_end_is_refused(name: str, param: str, value: object) -> None:
    given = {**_WITH.get((name, param), {}), param: value}
    with pytest.raises((ValueError, TypeError), match=param):
        om.generate(name, SHAPE, COVERAGE, rng=0, **given)


_CHILD = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    import occmask as om
    from occmask.calibrate import target_count

    shape, coverage = tuple(json.loads(sys.argv[1])), float(sys.argv[2])
    found = []
    for name, param, value, given in json.loads(sys.stdin.read()):
        if isinstance(given.get(param), list):
            given[param] = tuple(given[param])
        start = time.perf_counter()
        for temporal in ("evolving", "static", "independent"):
            for match in ("frame", "video", "expected"):
                m = om.generate(name, shape, coverage, rng=7, match=match, temporal=temporal, **given)
                t, h, w = shape
                if match == "frame":
                    ok = bool((m.sum(axis=(1, 2)) == target_count(coverage, h * w)).all())
                elif match == "video":
                    want = t * target_count(coverage, h * w) if temporal == "static" else target_count(
                        coverage, t * h * w)
                    ok = int(m.sum()) == want
                else:
                    ok = m.shape == shape and m.dtype == np.bool_
                if not ok:
                    found.append([name, param, value, temporal, match, "not exact"])
        found.append([name, param, value, "seconds", round(time.perf_counter() - start, 3), "ok"])
    print(json.dumps(found))
    """
)


@pytest.mark.slow
def test_every_end_gives_an_exact_mask_in_time() -> None:
    cases = _cases()
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, json.dumps(SHAPE), str(COVERAGE)],
            input=json.dumps(cases),
            capture_output=True,
            text=True,
            timeout=LIMIT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the {len(cases)} parameter ends did not finish within {LIMIT} s (a hang?)")
    assert done.returncode == 0, done.stderr[-3000:]
    rows = json.loads(done.stdout.strip().splitlines()[-1])
    assert [r for r in rows if r[-1] != "ok"] == []
    timed = {(r[0], r[1], json.dumps(r[2])) for r in rows}
    assert timed == {(name, param, json.dumps(value)) for name, param, value, _ in cases}
