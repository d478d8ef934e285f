"""The docstring entries of the parameters every family function shares with :func:`occmask.generate`.

A built-in family's function documents ``shape``, ``coverage``, ``rng``, ``match``,
``temporal`` and ``region`` in its numpydoc "Parameters" section by a line
``%(name)s`` each, which :func:`shared_parameters` replaces by the entry of
:data:`ENTRIES` (scipy's and pandas' docstring substitution, in this form). Lines
indented below the placeholder add the family's own words to the entry's
description (``temporal``'s entry is its type line alone: what a mode does is the
family's). The API reference reads docstrings from the source and fills them in
with :func:`fill` too (``docs/griffe_shared.py``).
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["ENTRIES", "fill", "shared_parameters"]

#: The numpydoc entry of each shared parameter: its type line, then its description.
ENTRIES = {
    "shape": "shape : tuple of int\n    ``(H, W)`` or ``(T, H, W)``.",
    "coverage": "coverage : float\n    Fraction of hidden pixels, in [0, 1].",
    "rng": "rng : None, int, SeedSequence or Generator\n    Source of randomness (SPEC 7).",
    "match": 'match : {"frame", "video", "expected"}\n    Coverage matching, see :func:`occmask.generate`.',
    "temporal": 'temporal : {"evolving", "static", "independent"}',
    "region": (
        "region : ndarray of bool, optional\n"
        "    Hide ``coverage`` of this region ((H, W) or (T, H, W)) instead of the\n"
        "    canvas, see :func:`occmask.generate`."
    ),
}

_PLACEHOLDER = re.compile(r"^([ \t]*)%\((\w+)\)s[ \t]*$", re.MULTILINE)

_F = TypeVar("_F", bound=Callable[..., Any])


def fill(doc: str) -> str:
    """``doc`` with every placeholder line ``%(name)s`` replaced by ``ENTRIES[name]``, indented as
    the placeholder.

    Examples
    --------
    >>> print(fill("Parameters\\n----------\\n%(coverage)s\\n    Of the canvas."))
    Parameters
    ----------
    coverage : float
        Fraction of hidden pixels, in [0, 1].
        Of the canvas.
    """
    return _PLACEHOLDER.sub(lambda m: textwrap.indent(ENTRIES[m.group(2)], m.group(1)), doc)


def shared_parameters(function: _F) -> _F:
    """Fill in the shared parameters' entries of ``function``'s docstring (see :func:`fill`); the
    function itself is returned unchanged."""
    if function.__doc__:
        function.__doc__ = fill(function.__doc__)
    return function
