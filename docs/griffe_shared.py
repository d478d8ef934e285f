"""Griffe extension: the family functions' shared parameter entries filled in, as at import.

mkdocstrings reads docstrings from the source, where a built-in family function's
"Parameters" section holds a placeholder line ``%(name)s`` for each parameter it shares
with :func:`occmask.generate` (:mod:`occmask.families._docs`). This extension fills
them in with the function that fills them in at import, so the API reference shows every
entry in full, as ``help()`` does.
"""

from __future__ import annotations

from typing import Any

import griffe

from occmask.families._docs import fill


class SharedParameters(griffe.Extension):
    """Fill in the shared parameters' entries of every function's docstring."""

    def on_function_instance(self, *, func: griffe.Function, **kwargs: Any) -> None:
        if func.docstring is not None:
            func.docstring.value = fill(func.docstring.value)
