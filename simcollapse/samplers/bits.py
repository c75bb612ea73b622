"""The one source of random bits: a counter-based Threefry-2x32 generator written in plain ``jax.numpy``.

Every random number of a run is a pure function of its address

    (seed, chain, generation, stream, counter)

so a chain's trajectory depends only on (seed, chain index, config): never on how many chains run beside it,
how they are chunked, or how many devices or processes share them.

A :class:`Key` is two uint32 words. The driver derives, with one hash each,

    key(seed) = (seed ≫ 32, seed mod 2³²),   chain key = fold(key(seed), chain),   generation key = fold(chain key, t)

and hands the generation key to the family's step (generation 0, the truth, gets ``fold(chain key, 0)``). A
step derives one sub-key per purpose with :func:`fold` (``fold(key, 0)`` for the synthetic sample, ``fold(key,
1)`` for the real one, …) and draws from it; under one key the word with counter (hi, lo) is the Threefry-2x32
hash (20 rounds; Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011) of that counter:

* :func:`words`: ``shape`` uint64 words, element i (row-major) has counter (round, i);
* :func:`uniform` on [0, 1) and :func:`open_uniform` on (0, 1]: 52 random bits each, every value equally likely;
* :func:`normal`: N(0, 1) by Box–Muller (1958) pairs, one word each: elements 2j and 2j + 1 are
  R cos 2πV and R sin 2πV with R = √(−2 log U), U and V the words with counters (round, 2j) and (round, 2j + 1),
  so element i depends on its own index only and the first n of a longer draw are the draw of n. The log, cos
  and sin are ``samplers.vecmath``'s, which XLA vectorises (its own float64 log, sin and cos are scalar calls on
  CPU, 3× the cost of the whole pair);
* :func:`fold`: a new key, the hash of the counter (2³² − 1, data); no draw uses that counter row.

Why not ``jax.random``: its Threefry lowers on CPU as a rolled loop of separate kernels (≈ 28 ns per 32-bit word
here, ≈ 25 ns per ``fold_in``), and typed keys cost conversions at every use. The same hash as uint32 ``jnp``
operations fuses into one vectorised loop (≈ 3.7 ns per word) and keeps compiled programs small. The
numbers differ from ``jax.random``'s (a different layout of counters); the laws are exact.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import vecmath

STREAM = 5  # 1: 0.1's jax.random keys; 2: two gamma candidates; 3: inverted normals; 4: the sufficient sampler's x̄
# drawn apart from its χ² (docs/reproducibility.md)
_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = np.uint32(0x1BD11BDA)
_FOLD_ROW = np.uint32(0xFFFFFFFF)  # counter row of key derivation; draws use rows 0 … 2³² − 2


class Key(NamedTuple):
    """A generator key: two uint32 words (scalars, or arrays of one shape: one key per element)."""

    hi: jax.Array
    lo: jax.Array


def _rotate_left(x, d: int):
    return (x << np.uint32(d)) | (x >> np.uint32(32 - d))


def threefry2x32(k1, k2, x1, x2):
    """The Threefry-2x32 hash (20 rounds) of the counter (x1, x2) under the key (k1, k2).

    uint32 arrays that broadcast together; returns the two output words. Written out round by round so that XLA
    fuses the whole hash into one elementwise loop. numpy words work too (on the host); additions wrap mod 2³²."""
    with np.errstate(over="ignore"):
        ks = (k1, k2, k1 ^ k2 ^ _PARITY)
        x1 = x1 + ks[0]
        x2 = x2 + ks[1]
        for i in range(5):
            for r in _ROTATIONS[i % 2]:
                x1 = x1 + x2
                x2 = _rotate_left(x2, r)
                x2 = x1 ^ x2
            x1 = x1 + ks[(i + 1) % 3]
            x2 = x2 + ks[(i + 2) % 3] + np.uint32(i + 1)
    return x1, x2


def seed_key(seed: int) -> Key:
    """The root key of a run: the two 32-bit halves of a seed in [0, 2⁶⁴)."""
    seed = int(seed)
    if not 0 <= seed < 2**64:
        raise ValueError(f"seed must be in [0, 2**64), got {seed}")
    return Key(np.uint32(seed >> 32), np.uint32(seed & 0xFFFFFFFF))


def _u32(x):
    """uint32 words of an integer or integer array; numpy stays numpy (the driver hashes chain keys on the host)."""
    return x.astype(np.uint32) if hasattr(x, "astype") else np.uint32(x)


def fold(key: Key, data) -> Key:
    """A key derived from `key` and integer `data` (a chain index, a generation, a purpose tag); `data` may be
    traced and broadcasts against the key's words."""
    return Key(*threefry2x32(key.hi, key.lo, _FOLD_ROW, _u32(data)))


def _counters(shape, round_):
    size = math.prod(shape)
    if size >= 2**32:
        raise ValueError(f"a single draw holds at most 2**32 - 1 values, asked for {size}")
    return _u32(round_), jnp.arange(size, dtype=jnp.uint32).reshape(shape)


def _join(hi, lo):
    return (hi.astype(jnp.uint64) << np.uint64(32)) | lo.astype(jnp.uint64)


def words(key: Key, shape=(), round_=0):
    """uint64 words of `shape`; element i (row-major) is the hash of the counter (round_, i)."""
    return _join(*threefry2x32(key.hi, key.lo, *_counters(tuple(shape), round_)))


def below(w, bound):
    """Integers uniform on {0, …, bound − 1} from uint64 words (w mod bound: bias below bound·2⁻⁶⁴)."""
    return (w % jnp.asarray(bound).astype(jnp.uint64)).astype(jnp.asarray(bound).dtype)


def words_at(key: Key, index, round_=0):
    """The word with counter (round_, index) for each element of the integer array `index` (keys broadcast)."""
    return _join(*threefry2x32(key.hi, key.lo, _u32(round_), _u32(index)))


_ONE = np.uint64(0x3FF0000000000000)  # the bits of 1.0


def _one_to_two(w):
    """1 + (top 52 bits of w)·2⁻⁵² ∈ [1, 2), built in the mantissa: integer shifts and a bitcast, which XLA
    vectorises (a uint64 → float64 conversion has no AVX2 instruction and would make the whole fused loop scalar)."""
    return jax.lax.bitcast_convert_type((w >> np.uint64(12)) | _ONE, jnp.float64)


def to_unit(w):
    """U in [0, 1) from uint64 words: (top 52 bits)·2⁻⁵², every value equally likely."""
    return _one_to_two(w) - 1.0


def to_open_unit(w):
    """U in (0, 1] from uint64 words: 1 − (top 52 bits)·2⁻⁵² (exact), every value equally likely."""
    return 2.0 - _one_to_two(w)


def uniform(key: Key, shape=(), round_=0):
    """Float64 uniforms on [0, 1)."""
    return to_unit(words(key, shape, round_))


def open_uniform(key: Key, shape=(), round_=0):
    """Float64 uniforms on (0, 1] (safe under a log)."""
    return to_open_unit(words(key, shape, round_))


def _radius(radius_word):
    """R = √(−2 log U) of Box–Muller, U ∈ (0, 1] (so R ≤ √(2·52 log 2) = 8.5)."""
    return jnp.sqrt(-2.0 * vecmath.log(to_open_unit(radius_word)))


def to_normal_pair(radius_word, angle_word):
    """Two independent N(0, 1) from two uint64 words by Box–Muller: R cos 2πV and R sin 2πV, V ∈ [0, 1) from
    `angle_word`."""
    cos, sin = vecmath.cos_sin_turn(to_unit(angle_word))
    radius = _radius(radius_word)
    return radius * cos, radius * sin


def normal(key: Key, shape=(), round_=0):
    """N(0, 1) of `shape` from Box–Muller pairs: element i (row-major) is the cosine (even i) or the sine (odd i)
    of the pair from the words with counters (round_, 2⌊i/2⌋) and (round_, 2⌊i/2⌋ + 1).

    Each element computes its own pair's radius and angle: an elementwise loop that XLA vectorises, where
    interleaving the two halves of the pairs makes a concatenation it runs element by element (3× slower)."""
    shape = tuple(shape)
    size = math.prod(shape)
    if size + 1 >= 2**32:
        raise ValueError(f"a single draw holds at most 2**32 - 2 normals, asked for {size}")
    index = jnp.arange(size, dtype=jnp.uint32).reshape(shape)
    first = index & np.uint32(0xFFFFFFFE)
    cos, sin = vecmath.cos_sin_turn(to_unit(words_at(key, first + np.uint32(1), round_)))
    return _radius(words_at(key, first, round_)) * jnp.where(index == first, cos, sin)
