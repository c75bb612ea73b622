"""Closed form for the kernel-density-estimate chain (docs/theory.md §K.1).

Model t has per-dimension variance V_t (the ddof-0 variance of its N centres plus h_t²). N points drawn from it
have E[ddof-0 variance] = (1 − 1/N) V_t and E[ddof-1 variance] = V_t, so

* a fixed bandwidth h: E V_{t+1} = (1 − 1/N) E V_t + h², rising to the fixed point N h²;
* a rule h = c σ̂ (σ̂² the ddof-1 variance averaged over the d axes, c Scott's N^{−1/(d+4)} or Silverman's
  (N(d+2)/4)^{−1/(d+4)}): E V_{t+1} = (1 − 1/N + c²) E V_t, geometric growth since c² > 1/N.
"""

from __future__ import annotations

import numpy as np

from .fields import IRRELEVANT, RUN_FIELDS, USED, declared

FIELDS = {**RUN_FIELDS, "n_samples": USED, "dim": USED, "bandwidth": USED, "var0": USED,
          "mean0": IRRELEVANT, "test_size": IRRELEVANT}


def expected_var(n: int, generations: int, var0: float, bandwidth: float) -> np.ndarray:
    """E V_t, t = 0 … generations, for a fixed bandwidth h: E V_{t+1} = (1 − 1/N) E V_t + h²."""
    out = [float(var0)]
    for _ in range(generations):
        out.append((1.0 - 1.0 / n) * out[-1] + bandwidth**2)
    return np.asarray(out)


@declared(FIELDS)
def for_config(config) -> dict[str, np.ndarray]:
    """``E_var`` for a fixed bandwidth or a rule."""
    from ..config import schedule
    from ..families.kde import rule_factor

    n, g = int(schedule(config.n_samples, config.generations)[0]), config.generations
    if isinstance(config.bandwidth, str):
        c2 = rule_factor(config.bandwidth, n, config.dim) ** 2
        return {"E_var": config.var0 * (1.0 - 1.0 / n + c2) ** np.arange(g + 1)}
    return {"E_var": expected_var(n, g, config.var0, float(config.bandwidth))}
