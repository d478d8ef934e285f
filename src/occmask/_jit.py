"""Numba kernels compiled on first use, so that ``import occmask`` does not import Numba.

A kernel is written as a plain module-level function decorated with :func:`kernel`.
The first call of any kernel of a module imports Numba and replaces every kernel
of that module, in the module's globals, by ``numba.njit(cache=True, nogil=True)``
of its function. A kernel of another occmask module, imported the usual way
(``from .._torus import span``), is replaced by that module's dispatcher (its module
is compiled first), and an :func:`imported` placeholder (another package's Numba
function) by the object it names. So kernels that call kernels resolve to real
dispatchers when Numba compiles them, and later calls from the module's own code go
straight to the dispatchers.

Where Numba finds no writable cache folder (a read-only install, no usable HOME,
no ``NUMBA_CACHE_DIR``), kernels, and the Numba functions of imported packages,
are compiled without the on-disk cache, with one warning per process.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
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
        try:
            module = importlib.import_module(self.module)
        except RuntimeError as error:  # its Numba functions ask for a cache that cannot be written
            if not _no_cache_folder(error):
                raise
            _warn_no_cache()
            with _without_disk_cache():
                module = importlib.import_module(self.module)
        value = getattr(module, self.name)
        if isinstance(value, _Kernel):  # another module's kernel: compile that module first
            value = compile_module(value.__module__)[value.__name__]
        return value


def kernel(fn: Callable) -> Callable:
    """Declare ``fn`` a Numba kernel (``njit(cache=True, nogil=True)``), compiled on first use."""
    return _Kernel(fn)


def imported(module: str, name: str) -> Any:
    """An object that kernels use from another package (e.g. its Numba function), imported on first
    use, so that importing occmask does not import that package. A kernel of another occmask
    module needs no placeholder: import it as usual."""
    return _Imported(module, name)


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


@contextlib.contextmanager
def _without_disk_cache() -> Iterator[None]:
    """Numba functions decorated meanwhile with ``cache=True`` (e.g. while a package is imported)
    compile without the on-disk cache, as with ``cache=False``."""
    from numba.core.dispatcher import Dispatcher

    enable = Dispatcher.enable_caching
    Dispatcher.enable_caching = lambda self: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        Dispatcher.enable_caching = enable  # type: ignore[method-assign]


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
        pending = {key: value for key, value in namespace.items() if isinstance(value, (_Imported, _Kernel))}
        if pending:
            # all at once (one dict update under the GIL): a thread that meets a dispatcher in the
            # module's code must find every kernel it calls replaced too
            namespace.update({key: _resolve(value, name) for key, value in pending.items()})
    return namespace


def _resolve(value: _Imported | _Kernel, module: str) -> Any:
    """The real object behind a placeholder found in ``module``: its own kernel compiled, another
    module's kernel from that module (compiled first; the import graph has no cycle), or an
    imported package's object."""
    if isinstance(value, _Imported):
        return value.resolve()
    if value.__module__ == module:
        return _compile(value.py_func)
    return compile_module(value.__module__)[value.__name__]
