"""Deterministic, opaque identifiers and hashes.

Ids must be unique and identical between runs with the same seed, but should
not reveal generation order (injected events are created before background
ones). ``mix64`` is the SplitMix64 finaliser: a bijection on 64-bit integers,
so distinct counters always give distinct ids. Nothing here uses Python's
``hash()``, whose value for ``str`` changes with PYTHONHASHSEED.
"""
from __future__ import annotations

import hashlib

import numpy as np

_M = (1 << 64) - 1
_BLOCK = 4096


def mix64(x: int) -> int:
    """SplitMix64 finaliser of ``x`` (a 64-bit bijection)."""
    z = (x + 0x9E3779B97F4A7C15) & _M
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M
    return z ^ (z >> 31)


def mix64_array(x: np.ndarray) -> np.ndarray:
    """Vectorised :func:`mix64` over an integer array (uint64 wrap-around arithmetic)."""
    with np.errstate(over="ignore"):
        z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def hex_ids(prefix: str, values: np.ndarray, width: int = 16) -> list[str]:
    """``prefix`` + the low ``width`` (even) hex digits of each value of a uint64 array.

    Done with C-level bytes/str operations (hex with a separator, replace,
    split) because this runs for several ids per order.
    """
    if len(values) == 0:
        return []
    nb = width // 2
    raw = values.astype(">u8").view(np.uint8).reshape(-1, 8)[:, 8 - nb:].tobytes()
    return (prefix + raw.hex(",", nb).replace(",", "," + prefix)).split(",")


def salted(seed: int, stream: int) -> int:
    """A 56-bit salt for one id namespace of one run."""
    return mix64(((seed & _M) * 1_000_003 + stream) & _M) >> 8


class IdSource:
    """Hands out unique ids: ``prefix`` + 16 hex digits of a mixed counter.

    Ids are produced in blocks with numpy because one per event is on the hot
    path; the sequence is the same as calling :func:`mix64` one by one.
    """

    __slots__ = ("_prefix", "_salt", "_n", "_buf")

    def __init__(self, seed: int, stream: int = 0, prefix: str = "ev") -> None:
        self._prefix = prefix
        self._salt = np.uint64(salted(seed, stream))
        self._n = 0
        self._buf: list[str] = []

    def _refill(self, at_least: int) -> None:
        size = max(_BLOCK, at_least)
        block = np.arange(self._n + size, self._n, -1, dtype=np.uint64)
        self._n += size
        self._buf = hex_ids(self._prefix, mix64_array(block ^ self._salt)) + self._buf

    def next(self) -> str:
        """A new id, never returned before by this source."""
        if not self._buf:
            self._refill(1)
        return self._buf.pop()

    def take(self, n: int) -> list[str]:
        """``n`` new ids at once (the same ids as ``n`` calls of :meth:`next`)."""
        if len(self._buf) < n:
            self._refill(n - len(self._buf))
        out = self._buf[len(self._buf) - n:]
        del self._buf[len(self._buf) - n:]
        out.reverse()
        return out


def sub_seed(seed: int, name: str) -> int:
    """A 63-bit seed for the random stream ``name`` of run ``seed``.

    Each component (orders, live, complaints …) draws from its own stream, so
    adding an incident does not shift the background traffic of another part.
    Uses blake2b, not ``hash()``, so it is stable across processes.
    """
    digest = hashlib.blake2b(f"{seed}:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1
