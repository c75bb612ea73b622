"""Closed form for the kernel-density-estimate chain (docs/theory.md §K.1).

Model t has per-dimension variance V_t (the ddof-0 variance of its N centres plus h_t²). N points drawn from it
have E[ddof-0 variance] = (1 − 1/N) V_t and E[ddof-1 variance] = V_t, so

* a fixed bandwidth h: E V_{t+1} = (1 − 1/N) E V_t + h², rising to the fixed point N h²;
* a rule h = c σ̂ (σ̂² the ddof-1 variance averaged over the d axes, c Scott's N^{−1/(d+4)} or Silverman's
  (N(d+2)/4)^{−1/(d+4)}): E V_{t+1} = (1 − 1/N + c²) E V_t, geometric growth since c² > 1/N;
* an unscaled rule (scikit-learn's): the fixed bandwidth h = c.

Only the truth's per-dimension variance V_0 enters (`simcollapse.truths.variance`), so the same curves hold for
every truth, the toy shapes included (docs/theory.md §K.2).
"""

from __future__ import annotations

import numpy as np

from .fields import IRRELEVANT, RUN_FIELDS, USED, declared

FIELDS = {**RUN_FIELDS, "n_samples": USED, "dim": USED, "bandwidth": USED, "var0": USED, "truth": USED,
          "truth_noise": USED, "mean0": IRRELEVANT, "test_size": IRRELEVANT}


def expected_var(n: int, generations: int, var0: float, bandwidth: float) -> np.ndarray:
    """E V_t, t = 0 … generations, for a fixed bandwidth h: E V_{t+1} = (1 − 1/N) E V_t + h²."""
    out = [float(var0)]
    for _ in range(generations):
        out.append((1.0 - 1.0 / n) * out[-1] + bandwidth**2)
    return np.asarray(out)


@declared(FIELDS)
def for_config(config) -> dict[str, np.ndarray]:
    """``E_var`` for a fixed bandwidth or a rule."""
    from .. import truths
    from ..config import schedule
    from ..config.kde import SCALED_RULES, UNSCALED_RULES
    from ..families.kde import rule_factor

    n, g, d = int(schedule(config.n_samples, config.generations)[0]), config.generations, config.d
    var0 = truths.variance(config.truth, d, config.truth_noise, config.var0)
    if config.bandwidth in SCALED_RULES:
        c2 = rule_factor(config.bandwidth, n, d) ** 2
        return {"E_var": var0 * (1.0 - 1.0 / n + c2) ** np.arange(g + 1)}
    h = rule_factor(config.bandwidth, n, d) if config.bandwidth in UNSCALED_RULES else float(config.bandwidth)
    return {"E_var": expected_var(n, g, var0, h)}
