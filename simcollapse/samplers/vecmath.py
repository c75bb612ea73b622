"""Float64 log and the sine and cosine of a turn, as plain arithmetic that XLA vectorises.

On CPU, XLA lowers float64 ``log`` and ``sin``/``cos`` to calls it does not vectorise (≈ 8 and ≈ 11 ns an
element here, against ≈ 2 for ``exp``); the samplers take several logs per draw, so these dominate them. The
functions here are polynomial evaluations after an exact reduction, tested against 50-digit arithmetic on the
arguments the samplers give them:

* :func:`log` of a positive normal float64 x = 2ᵉ m, m ∈ [√½, √2): with f = m − 1 and s = f/(2 + f),
  log m = 2 artanh s = 2s + s R(s²), R(z) = Σ_{k≥1} 2 zᵏ/(2k + 1), |s| ≤ 0.1716, and it is summed as
  log m = f − (f²/2 − s (f²/2 + R)) so that the large term f is exact; log x = e log 2 + log m with
  log 2 split in two (the high part has zero low bits, so e·(high part) is exact); within 1 ulp.
* :func:`log1p`: the same series on x itself near 0, the log of the rounded 1 + x elsewhere;
* :func:`cos_sin_turn` of u ∈ [0, 1): (cos 2πu, sin 2πu). 8u = k + r splits the turn into its octant k and
  the fraction r exactly (u has 52 bits); on an odd octant the angle is measured back from the octant's end
  (1 − r, exact), so both Taylor series run on θ ∈ [0, π/4] (terms to θ¹⁷ and θ¹⁶: the first omitted is
  below 10⁻¹⁸), and the octant's symmetry swaps and signs the pair; within 2 ulp (the rounding of θ).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

_EXPONENT_BIAS = 1023
_MANTISSA = np.uint64((1 << 52) - 1)
_SQRT2_MANTISSA = np.uint64(0x6A09E667F3BCD)  # the mantissa bits of √2: m above it is reduced to m/2
_ONE_BITS, _HALF_BITS = np.uint64(0x3FF0000000000000), np.uint64(0x3FE0000000000000)
_TWO52_BITS = np.uint64(0x4330000000000000)  # the bits of 2⁵²
_SQRT_HALF = math.sqrt(0.5)
_LOG2_HIGH = float.fromhex("0x1.62e42fee00000p-1")  # log 2 to 32 bits: e·_LOG2_HIGH is exact for |e| < 2²⁰
_LOG2_LOW = 1.9082149292705877e-10  # log 2 − _LOG2_HIGH, rounded
_ARTANH = tuple(2.0 / (2 * k + 1) for k in range(10, 0, -1))  # R's coefficients, highest first


def _log_near_one(f):
    """log(1 + f) for f ∈ [√½ − 1, √2 − 1]: f − (f²/2 − s (f²/2 + R(s²))), s = f/(2 + f)."""
    s = f * (1.0 / (2.0 + f))  # a division with one user: XLA fuses it rather than splitting the loop there
    z = s * s
    r = _ARTANH[0]
    for c in _ARTANH[1:]:
        r = r * z + c
    r = r * z
    half_f2 = 0.5 * f * f
    return f - (half_f2 - s * (half_f2 + r))


def log(x):
    """Natural log of positive normal float64 values, within 1 ulp; log 0 = −inf and a negative x gives NaN
    (subnormals, inf and NaN are not handled: the samplers' arguments are uniforms in (0, 1] and positive
    normal values)."""
    word = jax.lax.bitcast_convert_type(x, jnp.uint64)
    mantissa = word & _MANTISSA
    above = mantissa > _SQRT2_MANTISSA
    # the exponent field as a float64 by a bitcast: 2⁵² + field, exactly (an int64 → float64 conversion has no
    # AVX2 instruction and would make the whole fused loop scalar)
    biased = jax.lax.bitcast_convert_type((word >> np.uint64(52)) | _TWO52_BITS, jnp.float64)
    e = biased - (2.0**52 + _EXPONENT_BIAS) + jnp.where(above, 1.0, 0.0)
    m = jax.lax.bitcast_convert_type(mantissa | jnp.where(above, _HALF_BITS, _ONE_BITS), jnp.float64)
    value = e * _LOG2_HIGH + (_log_near_one(m - 1.0) + e * _LOG2_LOW)
    return jnp.where(x > 0, value, jnp.where(x == 0, -jnp.inf, jnp.nan))


def log1p(x):
    """log(1 + x) for x > −1 with 1 + x a normal float64, within 3 ulp: the series on x itself where
    1 + x ∈ [√½, √2), else :func:`log` of the rounded 1 + x (|log(1 + x)| > 0.34 there, so the rounding of
    1 + x moves it by under 2 ulp)."""
    near = (x >= _SQRT_HALF - 1.0) & (x < math.sqrt(2.0) - 1.0)
    return jnp.where(near, _log_near_one(jnp.where(near, x, 0.0)), log(jnp.where(near, 1.0, 1.0 + x)))


def _series(theta2, terms):
    """Σ_j (−θ²)ʲ / c_j by Horner, `terms` the c_j = (2j)! or (2j + 1)! from the highest j down."""
    total = 1.0 / terms[0]
    for c in terms[1:]:
        total = 1.0 / c - theta2 * total
    return total


_SIN_TERMS = tuple(float(math.factorial(2 * j + 1)) for j in range(8, -1, -1))  # θ … θ¹⁷
_COS_TERMS = tuple(float(math.factorial(2 * j)) for j in range(8, -1, -1))  # 1 … θ¹⁶


def cos_sin_turn(u):
    """(cos 2πu, sin 2πu) for float64 u ∈ [0, 1), within 2 ulp."""
    eighths = 8.0 * u  # exact
    octant = jnp.floor(eighths)
    r = eighths - octant  # exact
    odd = jnp.fmod(octant, 2.0) == 1.0
    theta = (math.pi / 4.0) * jnp.where(odd, 1.0 - r, r)
    theta2 = theta * theta
    c, s = _series(theta2, _COS_TERMS), theta * _series(theta2, _SIN_TERMS)
    # 2πu = q·π/2 ± θ with q = ⌈octant/2⌉ mod 4 (+ on even octants, − on odd): rotate (cos θ, ±sin θ) q quarters
    s = jnp.where(odd, -s, s)
    quarter = jnp.fmod(jnp.ceil(0.5 * octant), 4.0)
    swap = jnp.fmod(quarter, 2.0) == 1.0
    cos_part, sin_part = jnp.where(swap, -s, c), jnp.where(swap, c, s)
    flip = quarter >= 2.0
    return jnp.where(flip, -cos_part, cos_part), jnp.where(flip, -sin_part, sin_part)
