"""Numba kernels compiled on first use, so that ``import occmask`` does not import Numba.

A kernel is written as a plain module-level function decorated with :func:`kernel`.
The first call of any kernel of a module imports Numba and replaces every kernel
of that module, in the module's globals, by ``numba.njit(cache=True, nogil=True)``
of its function, and every kernel of another occmask module, imported the usual
way (``from .._torus import span``), by that module's dispatcher (its module is
compiled first). So kernels that call kernels resolve to real dispatchers when Numba
compiles them, and later calls from the module's own code go straight to the
dispatchers.

Where Numba finds no writable cache folder (a read-only install, no usable HOME,
no ``NUMBA_CACHE_DIR``), kernels are compiled without the on-disk cache, with one
warning per process.
"""

from __future__ import annotations

import functools
import sys
import threading
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["compile_module", "kernel"]

_LOCK = threading.RLock()


class _Kernel:
    """Stand-in for a kernel until its module is compiled; calling it compiles the module."""

    __name__: str

    def __init__(self, fn: Callable) -> None:
        functools.update_wrapper(self, fn)
        self.py_func = fn

    def __call__(self, *args: Any) -> Any:
        return compile_module(self.__module__)[self.__name__](*args)

    def __repr__(self) -> str:
        return f"<occmask kernel {self.__module__}.{self.__name__} (not compiled yet)>"


def kernel(fn: Callable) -> Callable:
    """Declare ``fn`` a Numba kernel (``njit(cache=True, nogil=True)``), compiled on first use."""
    return _Kernel(fn)


_CACHE = {"usable": True, "warned": False}  # whether Numba can cache here; whether the user was told


def _no_cache_folder(error: RuntimeError) -> bool:
    return "no locator available" in str(error)  # Numba's words when no cache folder is writable


def _warn_no_cache() -> None:
    _CACHE["usable"] = False
    if not _CACHE["warned"]:
        _CACHE["warned"] = True
        warnings.warn(
            "occmask: Numba found no writable cache folder (the install folder is read-only and there "
            "is no user cache folder), so occmask's kernels are compiled in every process, without the "
            "on-disk cache; set NUMBA_CACHE_DIR to a writable folder to cache them",
            RuntimeWarning,
            stacklevel=2,
        )


def _compile(fn: Callable) -> Any:
    """``numba.njit(cache=True, nogil=True)(fn)``, or without the cache where it cannot be written."""
    import numba

    if _CACHE["usable"]:
        try:
            return numba.njit(cache=True, nogil=True)(fn)
        except RuntimeError as error:
            if not _no_cache_folder(error):
                raise
            _warn_no_cache()
    return numba.njit(nogil=True)(fn)


def compile_module(name: str) -> dict[str, Any]:
    """Replace the kernels and placeholders of module ``name`` by the real objects; return its globals."""
    namespace = vars(sys.modules[name])
    with _LOCK:
        pending = {key: value for key, value in namespace.items() if isinstance(value, _Kernel)}
        if pending:
            # all at once (one dict update under the GIL): a thread that meets a dispatcher in the
            # module's code must find every kernel it calls replaced too
            namespace.update({key: _resolve(value, name) for key, value in pending.items()})
    return namespace


def _resolve(value: _Kernel, module: str) -> Any:
    """The dispatcher of a kernel found in ``module``: its own kernel compiled, or another module's
    kernel from that module (compiled first; the import graph has no cycle)."""
    if value.__module__ == module:
        return _compile(value.py_func)
    return compile_module(value.__module__)[value.__name__]
