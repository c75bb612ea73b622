"""Threefry key functions bit-identical to ``jax.random`` (threefry2x32 keys, partitionable mode), but fast on CPU.

On CPU, JAX lowers the Threefry-2x32 hash as a rolled loop (5 iterations of 4 rounds, chosen to keep compile
time down). Each iteration is a few separate kernels plus copies of every operand, so hashing a small block, such as
the one key per chain that ``fold_in`` derives each generation, costs about 25 ns per 64-bit output on a 2-core
CPU. Written out round by round in ``jax.numpy`` the 20 rounds fuse into one elementwise loop and cost about 3 ns.
The functions below compute exactly what their ``jax.random`` namesakes compute (tests check every bit), so
switching a call site from ``jax.random.X`` to ``random.X`` changes its speed and nothing else:

* ``fold_in(key, data)``, ``split(key, num)``: new keys;
* ``bits(key, shape, dtype)``: uint32 or uint64 words; ``words(key, shape, n)``: the uint64 words of
  ``bits(key, shape + (n,))`` as n separate arrays (faster when n is small);
* ``uniform(key, shape)``: float64 on [0, 1);  ``normal(key, shape)``: float64 N(0, 1) by the inverse error function.

The unrolled hash reproduces JAX's for typed keys (``jax.random.key``) of the default threefry2x32 implementation
with ``jax_threefry_partitionable`` on (JAX's default since 0.5). For any other key (``rbg``, ``unsafe_rbg``, raw
uint32 key data) or mode each function calls its ``jax.random`` namesake, so a call site may switch unconditionally.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = 0x1BD11BDA


def _rotate_left(x, d: int):
    return (x << np.uint32(d)) | (x >> np.uint32(32 - d))


def threefry2x32(k1, k2, x1, x2):
    """The Threefry-2x32 hash (20 rounds) of the counter pair (x1, x2) under the key (k1, k2), unrolled.

    All arguments are uint32 arrays that broadcast together; returns the two output words."""
    ks = (k1, k2, k1 ^ k2 ^ np.uint32(_PARITY))
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


def unrolled(key) -> bool:
    """Whether the unrolled hash reproduces jax.random for `key`: a typed threefry2x32 key, partitionable mode."""
    return (
        jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
        and str(jax.random.key_impl(key)) == "threefry2x32"
        and bool(jax.config.jax_threefry_partitionable)
    )


def _halves(key):
    data = jax.random.key_data(key)
    return data[..., 0], data[..., 1]


def _wrap(o1, o2):
    return jax.random.wrap_key_data(jnp.stack([o1, o2], axis=-1), impl="threefry2x32")


def fold_in(key, data):
    """``jax.random.fold_in(key, data)`` for a scalar key and integer data."""
    if not unrolled(key):
        return jax.random.fold_in(key, data)
    k1, k2 = _halves(key)
    return _wrap(*threefry2x32(k1, k2, np.uint32(0), jnp.asarray(data).astype(jnp.uint32)))


def split(key, num: int = 2):
    """``jax.random.split(key, num)`` for a scalar key: key i is the hash of the counter (0, i)."""
    if not unrolled(key):
        return jax.random.split(key, num)
    k1, k2 = _halves(key)
    return _wrap(*threefry2x32(k1, k2, np.uint32(0), jnp.arange(num, dtype=jnp.uint32)))


def _counters(shape):
    """The flat index of every element as a (high, low) pair of uint32 words."""
    size = math.prod(shape)
    if size >= 2**32:
        index = jnp.arange(size, dtype=jnp.uint64).reshape(shape)
        return (index >> np.uint64(32)).astype(jnp.uint32), index.astype(jnp.uint32)
    return jnp.zeros(shape, jnp.uint32), jnp.arange(size, dtype=jnp.uint32).reshape(shape)


def bits(key, shape=(), dtype=jnp.uint32):
    """``jax.random.bits(key, shape, dtype)`` for a scalar key, dtype uint32 or uint64."""
    shape = tuple(shape)
    dtype = jnp.dtype(dtype)
    if not unrolled(key):
        return jax.random.bits(key, shape, dtype)
    k1, k2 = _halves(key)
    hi, lo = threefry2x32(k1, k2, *_counters(shape))
    if dtype == jnp.uint64:
        return (hi.astype(jnp.uint64) << np.uint64(32)) | lo.astype(jnp.uint64)
    if dtype == jnp.uint32:
        return hi ^ lo
    raise TypeError(f"bits: dtype must be uint32 or uint64, got {dtype}")


def words(key, shape, n: int):
    """``bits(key, shape + (n,), uint64)`` as a tuple of n arrays of `shape` (the last axis taken apart).

    The same numbers, but each word array is hashed on its own: with a short last axis (a few words per
    element, under ``vmap`` over many chains) XLA vectorises that axis badly, and n separate arrays of `shape`
    cost about half as much."""
    shape = tuple(shape)
    if not unrolled(key) or math.prod(shape) * n >= 2**32:
        whole = bits(key, shape + (n,), jnp.uint64)
        return tuple(whole[..., j] for j in range(n))
    k1, k2 = _halves(key)
    index = jnp.arange(math.prod(shape), dtype=jnp.uint32).reshape(shape) * np.uint32(n)
    out = []
    for j in range(n):
        hi, lo = threefry2x32(k1, k2, np.uint32(0), index + np.uint32(j))
        out.append((hi.astype(jnp.uint64) << np.uint64(32)) | lo.astype(jnp.uint64))
    return tuple(out)


def _unit_floats(words, low: float):
    """jax.random.uniform's map of uint64 words to float64 on [low, 1): 52 mantissa bits, then an affine map."""
    mantissa = (words >> np.uint64(12)) | np.uint64(0x3FF0000000000000)
    floats = jax.lax.bitcast_convert_type(mantissa, jnp.float64) - 1.0
    return jnp.maximum(low, floats * (1.0 - low) + low)


def uniform(key, shape=()):
    """``jax.random.uniform(key, shape, jnp.float64)`` (on [0, 1))."""
    if not unrolled(key):
        return jax.random.uniform(key, shape, jnp.float64)
    return _unit_floats(bits(key, shape, jnp.uint64), 0.0)


_NORMAL_LOW = float(np.nextafter(-1.0, 0.0))


def normal(key, shape=()):
    """``jax.random.normal(key, shape, jnp.float64)``: √2·erf⁻¹(U), U uniform on (−1, 1)."""
    if not unrolled(key):
        return jax.random.normal(key, shape, jnp.float64)
    u = _unit_floats(bits(key, shape, jnp.uint64), _NORMAL_LOW)
    return math.sqrt(2.0) * jax.lax.erf_inv(u)
