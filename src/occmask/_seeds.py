"""``numpy.random.default_rng(seed)`` for many integer seeds at once.

``default_rng(seed)`` hashes the seed with a ``numpy.random.SeedSequence`` and
seeds a ``PCG64`` bit generator from four 64-bit words of it; both steps are
fixed by numpy's stream-compatibility policy (NEP 19), so the same seed gives the
same stream in every numpy version. Building a generator that way is mostly
Python time per seed, around the hashing; here the hashing runs in a kernel for a
whole batch of seeds, and each generator is one reused ``Generator`` whose
``PCG64`` state is set (without holding the GIL for the hashing: the torch
transform's batches). The constants and steps are those of numpy's
``SeedSequence`` (``numpy/random/bit_generator.pyx``, after O'Neill's
``seed_seq_fe``) and of the PCG64 seeding (``pcg64.c``, after O'Neill's PCG).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator, Sequence

import numpy as np

from ._jit import kernel

__all__ = ["borrow", "generators", "hand_back"]

_INIT_A, _MULT_A = 0x43B0D7E5, 0x931E8875
_INIT_B, _MULT_B = 0x8B51F9DD, 0x58F38DED
_MIX_MULT_L, _MIX_MULT_R = 0xCA01F9DD, 0x4973F715
_XSHIFT = 16
_POOL = 4  # words of a SeedSequence's pool
_PCG_MULT = 0x2360ED051FC65DA44385DF649FCCF645  # PCG's 128-bit LCG multiplier
_MASK128 = (1 << 128) - 1
_LOCAL = threading.local()  # each thread's spare generators (borrow)


@kernel
def _pcg64_words(seeds: np.ndarray, out: np.ndarray) -> None:
    """``SeedSequence(seed).generate_state(4, np.uint64)`` of each seed (uint64) into ``out`` (n, 4).

    uint32 arithmetic is carried in uint64 and masked to its low 32 bits (no step leaves uint64's
    range, so it also runs as plain Python without a wrap-around warning).
    """
    mask = np.uint64(0xFFFFFFFF)
    shift = np.uint64(_XSHIFT)
    pool = np.empty(_POOL, np.uint64)
    for n in range(seeds.size):
        const = np.uint64(_INIT_A)
        for i in range(_POOL):  # the seed's words, low first, then zeros
            value = (seeds[n] >> np.uint64(32 * i)) & mask if i < 2 else np.uint64(0)
            value ^= const
            const = (const * np.uint64(_MULT_A)) & mask
            value = (value * const) & mask
            pool[i] = value ^ (value >> shift)
        for src in range(_POOL):
            for dst in range(_POOL):
                if src != dst:
                    value = pool[src] ^ const
                    const = (const * np.uint64(_MULT_A)) & mask
                    value = (value * const) & mask
                    value ^= value >> shift
                    left = (np.uint64(_MIX_MULT_L) * pool[dst]) & mask
                    right = (np.uint64(_MIX_MULT_R) * value) & mask
                    mixed = (left + (mask + np.uint64(1)) - right) & mask  # never below 0
                    pool[dst] = mixed ^ (mixed >> shift)
        const = np.uint64(_INIT_B)
        for i in range(2 * _POOL):
            value = pool[i % _POOL] ^ const
            const = (const * np.uint64(_MULT_B)) & mask
            value = (value * const) & mask
            value ^= value >> shift
            if i % 2 == 0:
                out[n, i // 2] = value
            else:
                out[n, i // 2] |= value << np.uint64(32)


def generators(seeds: Sequence[int]) -> Iterator[np.random.Generator]:
    """Yield a generator in the state of ``numpy.random.default_rng(seed)`` for each seed in turn.

    The seeds are integers in ``[0, 2**64)``. It is the same ``Generator`` object
    every time (one of the thread's spares, see :func:`borrow`), reset for the next
    seed: use each one up before asking for the next.
    """
    rng = _spare()
    try:
        for row in _words(seeds):
            _seat(rng, row)
            yield rng
    finally:
        hand_back(rng)


def borrow(seed: int) -> np.random.Generator:
    """A generator in the state of ``numpy.random.default_rng(seed)`` (``seed`` an int in
    ``[0, 2**64)``), in about half the time: one of this thread's spare generators, or a new one.
    Hand it back with :func:`hand_back` once done with it, and keep no reference to it.

    Until Numba is loaded (by some kernel), the state is numpy's own: loading the hashing kernel
    first would add about 0.1 s to the first mask of a process."""
    rng = _spare()
    if "numba" not in sys.modules:
        rng.bit_generator.state = np.random.default_rng(seed).bit_generator.state
    else:
        _seat(rng, _words([seed])[0])
    return rng


def hand_back(rng: np.random.Generator) -> None:
    """Give back a generator of :func:`borrow`: a spare of the thread that hands it back."""
    _LOCAL.__dict__.setdefault("spares", []).append(rng)


def _spare() -> np.random.Generator:
    """One of this thread's spare generators (taken from them), or a new one."""
    spares = _LOCAL.__dict__.setdefault("spares", [])
    return spares.pop() if spares else np.random.Generator(np.random.PCG64(0))


def _words(seeds: Sequence[int]) -> list[list[int]]:
    """``SeedSequence(seed).generate_state(4, np.uint64)`` of each seed, as Python ints."""
    words = np.empty((len(seeds), 4), dtype=np.uint64)
    _pcg64_words(np.array(seeds, dtype=np.uint64), words)
    return words.tolist()


def _seat(rng: np.random.Generator, words: list[int]) -> None:
    """Set ``rng``'s PCG64 state as ``PCG64(SeedSequence)`` does from the sequence's four words."""
    w0, w1, w2, w3 = words
    inc = ((((w2 << 64) | w3) << 1) | 1) & _MASK128
    state = (inc + ((w0 << 64) | w1)) & _MASK128  # pcg64_srandom_r: one LCG step from 0, plus
    rng.bit_generator.state = {  # the seed, and another step
        "bit_generator": "PCG64",
        "state": {"state": (state * _PCG_MULT + inc) & _MASK128, "inc": inc},
        "has_uint32": 0,
        "uinteger": 0,
    }
