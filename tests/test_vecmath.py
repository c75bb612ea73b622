"""simcollapse.samplers.vecmath against 50-digit decimal arithmetic: log and log1p within 1 and 3 ulp over
the whole positive normal range, and the sine and cosine of a turn within 2 ulp."""

from decimal import Decimal, localcontext

import jax
import jax.numpy as jnp
import numpy as np

from simcollapse.samplers import vecmath

DIGITS = 50


def _ulps(got, exact):
    """|got − exact| in units of the last place of the float64 nearest `exact` (Decimals)."""
    got = np.asarray(got)
    out = []
    with localcontext() as ctx:
        ctx.prec = DIGITS
        for g, e in zip(got, exact):
            spacing = Decimal(float(np.spacing(abs(float(e))))) if e != 0 else Decimal(2.0**-1074)
            out.append(float(abs(Decimal(float(g)) - e) / spacing))
    return np.array(out)


def _pi():
    """π to DIGITS digits by Machin's formula, π = 16 atan(1/5) − 4 atan(1/239)."""
    def atan_inverse(n):
        total, term, k, n2 = Decimal(0), Decimal(1) / n, 0, n * n
        while term != 0:
            total += term / (2 * k + 1) * (-1) ** k
            term /= n2
            k += 1
        return total

    with localcontext() as ctx:
        ctx.prec = DIGITS + 5
        return 16 * atan_inverse(Decimal(5)) - 4 * atan_inverse(Decimal(239))


def _cos_sin_turn(u, pi):
    """Taylor series of cos and sin at the angle 2πu, u ∈ [0, 1)."""
    with localcontext() as ctx:
        ctx.prec = DIGITS + 5
        angle = 2 * pi * Decimal(float(u))
        cos, sin, term, k = Decimal(0), Decimal(0), Decimal(1), 0
        while abs(term) > Decimal(10) ** -(DIGITS + 3):
            if k % 2 == 0:
                cos += term * (-1) ** (k // 2)
            else:
                sin += term * (-1) ** (k // 2)
            k += 1
            term = term * angle / k
        return cos, sin


def _wide_positive(rng):
    """Positive normal floats: uniforms, every binade, near 1, near √2 and the ends of the range."""
    return np.concatenate([
        rng.uniform(0, 1, 300), np.exp(rng.uniform(-700, 700, 300)), 1 + rng.uniform(-1e-3, 1e-3, 200),
        rng.uniform(np.sqrt(0.5), np.sqrt(2), 200), 1 - np.arange(1, 50) * 2.0**-52,
        [2.0**-52, 2.0**-1022, 1.0, np.nextafter(1.0, 2), np.nextafter(1.0, 0), np.sqrt(2), np.nextafter(np.sqrt(2), 2),
         np.sqrt(0.5), 1.7976931348623157e308]])


def test_log_is_within_one_ulp():
    x = _wide_positive(np.random.default_rng(1))
    got = jax.jit(vecmath.log)(jnp.asarray(x))
    with localcontext() as ctx:
        ctx.prec = DIGITS
        exact = [Decimal(float(v)).ln() for v in x]
    assert _ulps(got, exact).max() <= 1.0
    assert np.asarray(jax.jit(vecmath.log)(jnp.array([0.0, -1.0]))).tolist()[0] == -np.inf
    assert np.isnan(np.asarray(jax.jit(vecmath.log)(jnp.array([-1.0])))[0])


def test_log1p_keeps_its_accuracy_near_zero():
    rng = np.random.default_rng(2)
    tiny = np.exp(rng.uniform(-700, -2, 300)) * rng.choice([-1, 1], 300)
    x = np.concatenate([tiny, rng.uniform(-0.999, 10, 300), np.exp(rng.uniform(0, 700, 100)), [0.0, -0.5]])
    got = jax.jit(vecmath.log1p)(jnp.asarray(x))
    with localcontext() as ctx:
        ctx.prec = 2 * DIGITS  # 1 + x keeps x's digits down to 10⁻¹⁰; below, the series x − x²/2 + x³/3 − x⁴/4
        exact = [(1 + Decimal(float(v))).ln() if abs(v) > 1e-10 else
                 sum(Decimal(float(v)) ** k * (-1) ** (k + 1) / k for k in range(1, 5)) for v in x]
    assert _ulps(got, exact).max() <= 3.0
    assert np.asarray(got)[-2] == 0.0


def test_cos_sin_turn_is_within_two_ulp():
    rng = np.random.default_rng(3)
    u = np.concatenate([rng.uniform(0, 1, 1000), np.arange(64) / 64, [2.0**-52, 0.125 - 2.0**-52, 0.125 + 2.0**-52,
                                                                      np.nextafter(1.0, 0)]])
    cos, sin = jax.jit(vecmath.cos_sin_turn)(jnp.asarray(u))
    pi = _pi()
    exact = [_cos_sin_turn(v, pi) for v in u]
    for got, ref in ((cos, [c for c, _ in exact]), (sin, [s for _, s in exact])):
        err = _ulps(got, ref)
        on_axis = np.array([abs(r) < Decimal(10) ** -40 for r in ref])  # an exact zero: the reference's own error
        assert err[~on_axis].max() <= 2.0
        assert np.all(np.asarray(got)[on_axis] == 0.0)


def test_an_error_of_two_ulps_would_be_seen():
    x = np.array([1e300, 3e-300, 0.75, 1.5])
    got = np.asarray(jax.jit(vecmath.log)(jnp.asarray(x)))
    off = got + 3 * np.spacing(np.abs(got))
    with localcontext() as ctx:
        ctx.prec = DIGITS
        exact = [Decimal(float(v)).ln() for v in x]
    assert _ulps(off, exact).min() >= 2.0
