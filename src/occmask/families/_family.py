"""The family record and the registry.

A leaf module: it imports only the argument checks, and every family module imports
it (never the package), so no module ever sees a half-initialised package. The
generator that drives every family is :mod:`occmask.families._engine`.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from types import MappingProxyType
from typing import Any

import numpy as np

from .. import _validate

__all__ = [
    "FAMILIES",
    "TEMPORAL",
    "TRUSTED",
    "Family",
    "register_family",
    "signature_defaults",
    "trusted",
    "unregister_family",
    "whole_field",
]

#: How a mask behaves across frames.
TEMPORAL = ("evolving", "static", "independent")

#: Names :func:`generate` takes itself: no family parameter may use them.
RESERVED = ("family", "shape", "coverage", "rng", "match", "temporal", "region", "device")
#: Names a family's ``field`` and ``blocks`` take besides its parameters: no parameter may use them.
_FIELD_ARGUMENTS = ("need", "frames")

#: Families whose fields are not scanned for NaN or -inf for every mask: the built-in ones
#: (``occmask.families`` adds them), whose fields the tests check against references.
TRUSTED: list[Family] = []

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _no_check(params: dict[str, Any]) -> dict[str, Any]:
    return params


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: caches key on the record
class Family:
    """A mask family: its name, parameters, field recipe and how plots show it.

    Parameters
    ----------
    name : str
        Registry key, e.g. ``"perlin"``: lower-case letters, digits and ``_``,
        starting with a letter.
    summary : str
        One line describing the geometry.
    field : callable
        ``field(shape, rng, temporal, need, **params) -> ndarray``: the float32
        priority field of shape ``shape = (T, H, W)``, drawn from the
        ``numpy.random.Generator`` ``rng`` (never from global state). ``temporal``
        is one of ``"evolving"``, ``"static"`` (then ``T = 1``: the one frame is
        repeated) and ``"independent"``. With ``need=None`` the field is finite everywhere; with an integer
        ``need`` only the ``need`` lowest values of each frame must be exact and
        the others may be ``+inf`` (a family may stop early); the mask must not
        depend on ``need`` otherwise. Low values are hidden first; equal values
        are ordered by pixel index, so a field should be free of ties where a cut
        can fall.
    defaults : Mapping[str, Any], optional
        Every parameter with its default value; values must be hashable (the
        ``match="expected"`` calibration is cached per parameter set).
    check : callable, optional
        ``check(params) -> params``: validates a complete parameter dict and
        returns it normalised (raises ``ValueError``/``TypeError`` naming the
        parameter). Default: no check.
    colour : str, default "#555555"
        Display colour ``"#rrggbb"`` of the family in plots (the study, the
        gallery). Families are shown in registry order.
    blocks : callable, optional
        ``blocks(shape, rng, temporal, need, frames, **params) -> iterator``: the
        same field as ``field`` with the same arguments and generator state, a
        few frames at a time: float32 arrays of ``(n, H, W)``, consecutive, in
        order, of ``frames`` frames each where the field can be split (the last
        one shorter). A block may be overwritten by the next one: each is used
        before the next is asked for. Optional: with it, masks of large videos
        never hold the whole field, only the mask and a block (``match="video"``
        makes the blocks twice, the first time from a copy of the generator).
        :func:`whole_field` makes ``field`` from it.
    mask : callable, optional
        ``mask(shape, rng, temporal, need, **params) -> ndarray or None``: a
        shortcut for ``match="frame"`` masks without a region where the exact mask
        is cheap without the field (e.g. whole patches): the bool ``(T, H, W)`` mask
        that the field's cut at ``need`` pixels per frame gives, from the same
        generator state, or None, with ``rng`` untouched, where it does not apply.
        A user family's shortcut is checked against the field's cut on its first use.

    Examples
    --------
    >>> import numpy as np
    >>> import occmask as om
    >>> def stripes(shape, rng, temporal, need, *, period=8):
    ...     t, h, w = shape
    ...     phase = rng.random((t, 1, 1)) * period
    ...     x = (np.arange(w)[None, None, :] + phase) % period
    ...     return (x + rng.random(shape) * 1e-3).astype(np.float32)
    >>> family = om.Family("stripes", "vertical bars", stripes, defaults={"period": 8})
    >>> family.params({"period": 4})
    {'period': 4}
    """

    name: str
    summary: str
    field: Callable[..., np.ndarray] = dataclass_field(repr=False)
    defaults: Mapping[str, Any] = dataclass_field(default_factory=dict)
    check: Callable[[dict[str, Any]], dict[str, Any]] = dataclass_field(default=_no_check, repr=False)
    colour: str = "#555555"
    blocks: Callable[..., Iterator[np.ndarray]] | None = dataclass_field(default=None, repr=False)
    mask: Callable[..., np.ndarray | None] | None = dataclass_field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise ValueError(
                f"name must be lower-case letters, digits and '_', starting with a letter, got {self.name!r}"
            )
        if not isinstance(self.summary, str):
            raise TypeError(f"summary must be a str, got {type(self.summary).__name__}")
        for attr in ("field", "check", "blocks", "mask"):
            if attr in ("blocks", "mask") and getattr(self, attr) is None:
                continue
            if not callable(getattr(self, attr)):
                raise TypeError(
                    f"{attr} of family {self.name!r} must be callable, got {getattr(self, attr)!r}"
                )
        if not isinstance(self.defaults, Mapping):
            raise TypeError(f"defaults must be a mapping, got {type(self.defaults).__name__}")
        for key, value in self.defaults.items():
            if not isinstance(key, str) or not key.isidentifier() or key in RESERVED + _FIELD_ARGUMENTS:
                raise ValueError(
                    f"defaults of family {self.name!r}: parameter name {key!r} must be an identifier "
                    f"other than {list(RESERVED + _FIELD_ARGUMENTS)}"
                )
            try:
                hash(value)
            except TypeError:
                raise TypeError(
                    f"defaults of family {self.name!r}: parameter {key!r} has the unhashable value "
                    f"{value!r}; use a tuple instead of a list"
                ) from None
        if not isinstance(self.colour, str) or not _COLOUR.match(self.colour):
            raise ValueError(f"colour must be a '#rrggbb' string, got {self.colour!r}")
        object.__setattr__(self, "defaults", MappingProxyType(dict(self.defaults)))

    def params(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Merge ``given`` over the defaults, rejecting unknown names, and validate.

        A built-in family's checks are pure, so its checked parameters are remembered by the
        given values and their types (``1``, ``1.0`` and ``True`` stay apart): a mask made
        again with the same parameters skips the checks.
        """
        key = _memo_key(self, given)
        if key is not None and key in _CHECKED:
            return dict(_CHECKED[key])
        checked = self._check_params(given)
        if key is not None:
            if len(_CHECKED) >= _CHECKED_MAX:
                _CHECKED.clear()
            _CHECKED[key] = dict(checked)
        return checked

    def _check_params(self, given: Mapping[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(given) - set(self.defaults))
        if unknown:
            raise TypeError(
                f"unknown parameter(s) {unknown} for family {self.name!r}; allowed: {sorted(self.defaults)}"
            )
        checked = self.check({**self.defaults, **given})
        if not isinstance(checked, dict) or set(checked) != set(self.defaults):
            raise TypeError(
                f"the check of family {self.name!r} must return the dict of its parameters "
                f"{sorted(self.defaults)}, got {_validate.show(checked)}"
            )
        for key, value in checked.items():
            try:
                hash(value)
            except TypeError:
                raise TypeError(
                    f"parameter {key!r} of family {self.name!r} must be hashable, got {value!r}"
                ) from None
        return checked


#: Checked parameters of built-in families by :func:`_memo_key` (at most ``_CHECKED_MAX`` sets).
_CHECKED: dict[tuple, dict[str, Any]] = {}
_CHECKED_MAX = 1024


def _memo_key(fam: Family, given: Mapping[str, Any]) -> tuple | None:
    """``given`` as a key of :data:`_CHECKED` for a built-in family; None where it is not one
    (a user family, or a value that cannot be a key)."""
    if not trusted(fam):
        return None
    try:
        key = (fam, *sorted((name, _validate.typed(value)) for name, value in given.items()))
        hash(key)
    except TypeError:
        return None
    return key


def whole_field(blocks: Callable[..., Iterator[np.ndarray]]) -> Callable[..., np.ndarray]:
    """The ``field`` of a family given by its ``blocks``: every frame in one block.

    Examples
    --------
    >>> import numpy as np
    >>> import occmask as om
    >>> def noise_blocks(shape, rng, temporal, need, frames):
    ...     for start in range(0, shape[0], frames):  # one draw per block: the same stream
    ...         yield rng.random((min(frames, shape[0] - start), *shape[1:]), dtype=np.float32)
    >>> noise = om.Family("noise_doc", "i.i.d.", om.whole_field(noise_blocks), blocks=noise_blocks)
    >>> noise.field((3, 4, 4), np.random.default_rng(0), "evolving", None).shape
    (3, 4, 4)
    """

    def field(
        shape: tuple[int, int, int], rng: np.random.Generator, temporal: str, need: int | None, **params: Any
    ) -> np.ndarray:
        (values,) = blocks(shape, rng, temporal, need, shape[0], **params)
        return values

    field.__module__ = getattr(blocks, "__module__", field.__module__)  # where the family lives
    return field


_REGISTRY: dict[str, Family] = {}

#: Read-only view of the registry: name -> :class:`Family`, in display order.
FAMILIES: Mapping[str, Family] = MappingProxyType(_REGISTRY)


def register_family(family: Family, *, replace: bool = False) -> Family:
    """Make a family available to :func:`occmask.generate` and everything built on it.

    Parameters
    ----------
    family : Family
        The family record; its ``name`` becomes the key of ``occmask.FAMILIES``.
    replace : bool, default False
        Allow replacing a family of the same name. Without it, registering a
        name twice is an error.

    Returns
    -------
    Family
        ``family``, so a module can write ``FAMILY = register_family(Family(...))``.

    Raises
    ------
    ValueError
        If the name is taken and ``replace`` is False.

    Examples
    --------
    >>> import numpy as np
    >>> import occmask as om
    >>> def rows(shape, rng, temporal, need):
    ...     t, h, w = shape  # whole rows, in a random order per frame
    ...     order = rng.random((t, h, 1)) + np.arange(w) * 1e-6
    ...     return np.broadcast_to(order, shape).astype(np.float32)
    >>> _ = om.register_family(om.Family("rows_doc", "whole rows", rows), replace=True)
    >>> int(om.generate("rows_doc", (8, 10), 0.25, rng=0).all(axis=1).sum())
    2
    """
    if not isinstance(family, Family):
        raise TypeError(f"family must be an occmask.Family, got {type(family).__name__}")
    if not isinstance(replace, bool):
        raise TypeError(f"replace must be True or False, got {replace!r}")
    if family.name in _REGISTRY and not replace:
        raise ValueError(
            f"a family named {family.name!r} is already registered; pass replace=True to replace it"
        )
    _REGISTRY[family.name] = family
    return family


def unregister_family(name: str) -> Family:
    """Remove a family added with :func:`register_family` (a built-in family stays).

    Parameters
    ----------
    name : str
        The family's name, a key of ``occmask.FAMILIES``.

    Returns
    -------
    Family
        The family removed.

    Raises
    ------
    ValueError
        If no family of that name is registered, or it is a built-in family.

    Examples
    --------
    >>> import numpy as np
    >>> import occmask as om
    >>> def noise(shape, rng, temporal, need):
    ...     return rng.random(shape, dtype=np.float32)
    >>> _ = om.register_family(om.Family("noise_gone", "i.i.d.", noise))
    >>> om.unregister_family("noise_gone").name, "noise_gone" in om.FAMILIES
    ('noise_gone', False)
    """
    family = FAMILIES[_validate.choice("name", name, FAMILIES)]
    if trusted(family):
        raise ValueError(
            f"{name!r} is a built-in family; only families added with register_family can be removed"
        )
    del _REGISTRY[name]
    return family


def trusted(fam: Family) -> bool:
    """Whether ``fam`` is a built-in family, whose fields the tests check against references."""
    return fam in TRUSTED  # by identity (Family has no __eq__)


def signature_defaults(function: Callable) -> dict[str, Any]:
    """The keyword defaults of a family's public function other than :func:`generate`'s own
    arguments: a built-in family's ``defaults``, written once, in the function's signature."""
    return {
        name: p.default
        for name, p in inspect.signature(function).parameters.items()
        if p.kind is p.KEYWORD_ONLY and name not in RESERVED
    }
