"""Closed form for the kernel-density-estimate chain (docs/theory.md §K.1).

Model t has per-dimension variance V_t (the ddof-0 variance of its N centres plus h_t²). N points drawn from it
have E[ddof-0 variance] = (1 − 1/N) V_t and E[ddof-1 variance] = V_t, so

* a fixed bandwidth h: E V_{t+1} = (1 − 1/N) E V_t + h², rising to the fixed point N h²;
* a rule h = c σ̂ (σ̂² the ddof-1 variance averaged over the d axes, c Scott's N^{−1/(d+4)} or Silverman's
  (N(d+2)/4)^{−1/(d+4)}): E V_{t+1} = (1 − 1/N + c²) E V_t, geometric growth since c² > 1/N;
* an unscaled rule (scikit-learn's): the fixed bandwidth h = c.

Under ``accumulate`` (model t has the s_t = tN points drawn so far as centres) and ``accumulate_subsample`` (all
s_t points are kept and model t's centres are a uniform N-subset of them) the pooled variances follow exact
linear recursions too (:func:`expected_var_policy`, docs/theory.md §K.3).

Only the truth's per-dimension variance V_0 enters (`simcollapse.truths.variance`), so the same curves hold for
every truth, the toy shapes included (docs/theory.md §K.2).
"""

from __future__ import annotations

import numpy as np

from .fields import IRRELEVANT, RUN_FIELDS, USED, declared

FIELDS = {**RUN_FIELDS, "n_samples": USED, "dim": USED, "bandwidth": USED, "var0": USED, "truth": USED,
          "truth_noise": USED, "policy": USED, "mean0": IRRELEVANT, "test_size": IRRELEVANT}


def expected_var(n: int, generations: int, var0: float, bandwidth: float) -> np.ndarray:
    """E V_t, t = 0 … generations, for a fixed bandwidth h: E V_{t+1} = (1 − 1/N) E V_t + h²."""
    out = [float(var0)]
    for _ in range(generations):
        out.append((1.0 - 1.0 / n) * out[-1] + bandwidth**2)
    return np.asarray(out)


def expected_var_policy(policy: str, n: int, generations: int, var0: float, kernel) -> np.ndarray:
    """E V_t, t = 0 … generations, under `policy`; ``kernel(count, p)`` is E h² of a KDE on `count` centres of
    ddof-0 variance p (h² for a fixed h, c(count)² count/(count − 1) p for a scaled rule). docs/theory.md §K.3:

    * replace: P_{t+1} = (1 − 1/N) V_t;
    * accumulate (s_t = tN): P_{t+1} = [s_t P_t + (N − 1) V_t + s_t V_t/(s_t + N)]/(s_t + N);
    * accumulate_subsample, Q_t the store's ddof-0 variance: P_t = Q_t s_t(N − 1)/((s_t − 1)N) and
      Q_{t+1} = [s_t Q_t + (N − 1) V_t + s_t (V_t + Q_t (s_t − N)/(s_t − 1))/(s_t + N)]/(s_t + N);

    with V_t = P_t + kernel(count_t, P_t), count_t = s_t under accumulate and N otherwise.
    """
    out, p, q = [float(var0)], 0.0, 0.0
    for t in range(generations):
        s, v = t * n, out[-1]
        if policy == "replace":
            p, count = (1 - 1 / n) * v, n
        elif policy == "accumulate":
            p, count = (s * p + (n - 1) * v + s * v / (s + n)) / (s + n), s + n
        else:
            gap = q * (s - n) / (s - 1) if s > 1 else 0.0
            q = (s * q + (n - 1) * v + s * (v + gap) / (s + n)) / (s + n)
            stored = s + n
            p, count = q * stored * (n - 1) / ((stored - 1) * n), n
        out.append(p + kernel(count, p))
    return np.asarray(out)


@declared(FIELDS)
def for_config(config) -> dict[str, np.ndarray]:
    """``E_var`` for a fixed bandwidth or a rule."""
    from .. import truths
    from ..config import schedule
    from ..config.kde import SCALED_RULES, UNSCALED_RULES
    from ..families.kde import rule_factor

    n, g, d, bw = int(schedule(config.n_samples, config.generations)[0]), config.generations, config.d, \
        config.bandwidth
    var0 = truths.variance(config.truth, d, config.truth_noise, config.var0)
    if bw in SCALED_RULES:
        def kernel(count, p):
            return rule_factor(bw, count, d) ** 2 * count / (count - 1) * p
    elif bw in UNSCALED_RULES:
        def kernel(count, p):
            return rule_factor(bw, count, d) ** 2
    else:
        def kernel(count, p):
            return float(bw) ** 2
    return {"E_var": expected_var_policy(config.policy, n, g, var0, kernel)}
