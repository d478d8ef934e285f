"""Checks an install of occmask without extras (no torch, no tqdm), run by the test command in a
fresh virtual environment: every family makes exact masks, and the documented example of
``occmask.robustness.evaluate`` runs with a NumPy model.

Run it with that environment's Python from outside a source tree: ``python tests/base_install.py``.
"""

from __future__ import annotations

import doctest
import importlib.util

import numpy as np

import occmask as om
from occmask.calibrate import target_count
from occmask.robustness import evaluate


def main() -> None:
    for extra in ("torch", "tqdm"):
        if importlib.util.find_spec(extra) is not None:
            raise SystemExit(f"{extra} is installed here: this is no base install")
    for family in om.FAMILIES:
        mask = om.generate(family, (3, 16, 16), 0.3, rng=0)
        if not (mask.sum(axis=(1, 2)) == target_count(0.3, 256)).all():
            raise SystemExit(f"{family}: not exact on the base install")
    hidden = om.occlude(np.ones((3, 1, 16, 16), np.float32), mask)
    if float(hidden.mean()) != 1.0 - float(mask.mean()):
        raise SystemExit("om.occlude hid the wrong pixels on the base install")
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in doctest.DocTestFinder().find(evaluate, "occmask.robustness.evaluate"):
        runner.run(test)
    failed, attempted = runner.summarize(verbose=False)
    if failed or not attempted:
        raise SystemExit(
            f"the example of occmask.robustness.evaluate failed on the base install ({failed} of {attempted})"
        )
    families = len(om.FAMILIES)
    print(f"base install checked: {families} families exact, the evaluate example ran ({attempted} lines)")


if __name__ == "__main__":
    main()
