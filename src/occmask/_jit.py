"""Numba kernels compiled on first use, so that ``import occmask`` does not import Numba.

A kernel is written as a plain module-level function decorated with :func:`kernel`.
The first call of any kernel of a module imports Numba and replaces every kernel
of that module, in the module's globals, by ``numba.njit(cache=True, nogil=True)``
of its function (and every :func:`imported` placeholder by the object it names),
so kernels that call kernels resolve to real dispatchers when Numba compiles
them. Later calls from the module's own code go straight to the dispatchers.
"""

from __future__ import annotations

import functools
import importlib
import sys
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["compile_module", "imported", "kernel"]

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


class _Imported:
    """Stand-in for ``getattr(import_module(module), name)``, resolved when its user module is compiled."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def resolve(self) -> Any:
        value = getattr(importlib.import_module(self.module), self.name)
        if isinstance(value, _Kernel):  # another module's kernel: compile that module first
            value = compile_module(value.__module__)[value.__name__]
        return value


def kernel(fn: Callable) -> Callable:
    """Declare ``fn`` a Numba kernel (``njit(cache=True, nogil=True)``), compiled on first use."""
    return _Kernel(fn)


def imported(module: str, name: str) -> Any:
    """An object that kernels use (another package's Numba function, or a kernel of another occmask
    module), imported on first use."""
    return _Imported(module, name)


def compile_module(name: str) -> dict[str, Any]:
    """Replace the kernels and placeholders of module ``name`` by the real objects; return its globals."""
    namespace = vars(sys.modules[name])
    with _LOCK:
        pending = {
            key: value
            for key, value in namespace.items()
            if isinstance(value, _Imported) or (isinstance(value, _Kernel) and value.__module__ == name)
        }
        if pending:
            import numba

            # all at once (one dict update under the GIL): a thread that meets a dispatcher in the
            # module's code must find every kernel it calls replaced too
            namespace.update(
                {
                    key: value.resolve()
                    if isinstance(value, _Imported)
                    else numba.njit(cache=True, nogil=True)(value.py_func)
                    for key, value in pending.items()
                }
            )
    return namespace
