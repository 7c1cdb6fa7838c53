"""Pseudonymous identifiers that are cheap to make and stable for a seed.

An id is a seeded bijective scramble of an array index (so ids never collide and need no lookup table), printed
as a prefix and zero-padded digits with Arrow compute (no Python loop over rows).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

STREAM_IDS = 9_001


class IdScrambler:
    """A keyed permutation of ``[0, 2**bits)``: xor, odd multiply and xorshift steps are each invertible."""

    def __init__(self, seed: int, salt: int, bits: int, prefix: str) -> None:
        rng = np.random.default_rng([seed, STREAM_IDS, salt])
        self.bits = bits
        self.mask = np.uint64((1 << bits) - 1)
        self.keys = rng.integers(0, 1 << bits, size=3, dtype=np.uint64)
        self.multipliers = rng.integers(0, 1 << bits, size=2, dtype=np.uint64) | np.uint64(1)
        self.prefix = prefix
        self.width = len(str((1 << bits) - 1))

    def scramble(self, index: np.ndarray) -> np.ndarray:
        x = np.asarray(index, dtype=np.uint64) & self.mask
        x ^= self.keys[0]
        x = (x * self.multipliers[0]) & self.mask
        x ^= x >> np.uint64(self.bits // 2)
        x = (x * self.multipliers[1] + self.keys[1]) & self.mask
        x ^= x >> np.uint64(self.bits // 3 + 1)
        return x ^ self.keys[2]

    def ids(self, index: np.ndarray) -> pa.Array:
        """The id strings of ``index`` (an integer array), e.g. ``P04719933012``."""
        digits = pc.utf8_lpad(pc.cast(pa.array(self.scramble(index)), pa.string()), self.width, "0")
        return pc.binary_join_element_wise(self.prefix, digits, "")


def person_ids(seed: int) -> IdScrambler:
    return IdScrambler(seed, 1, 36, "P")


def employer_ids(seed: int) -> IdScrambler:
    return IdScrambler(seed, 2, 30, "E")


def aim_ids(seed: int) -> IdScrambler:
    return IdScrambler(seed, 3, 34, "A")
