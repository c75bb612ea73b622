"""Statistical assertions against the closed forms (numpy only); see :mod:`simcollapse.testing`."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

from ..config import schedule as _schedule
from ..theory.gaussian import expected_logvar, var_logvar

__all__ = ["assert_frequency_near", "assert_lost_mass_at_least", "assert_matches_theory", "assert_mean_near",
           "assert_variance_shrinks_no_faster_than", "mc_mean_se"]


def mc_mean_se(samples) -> tuple[float, float]:
    """Monte Carlo mean and its standard error s/√C over the C chains (axis 0 after flattening)."""
    x = np.asarray(samples, dtype=float).reshape(-1)
    if x.size < 2:
        raise ValueError("a standard error needs at least 2 chains")
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size))


def assert_mean_near(samples, expected: float, n_se: float = 4.0, what: str = "") -> None:
    """|X̄ − E| ≤ n_se · SE for the samples' mean X̄ and an exact expectation E, SE = s/√C from the samples."""
    mean, se = mc_mean_se(samples)
    assert abs(mean - expected) <= n_se * se + 1e-12, f"{what}: MC {mean:.6g} ± {se:.2g} vs theory {expected:.6g}"


def assert_frequency_near(hits, probability: float, n_se: float = 4.0) -> None:
    """The frequency of 0/1 `hits` within n_se binomial standard errors √(p(1−p)/C) of an exact probability p
    (the variance floored at 1/C, so that p = 0 or 1 tolerates no hit off)."""
    hits = np.asarray(hits, dtype=float)
    n = hits.size
    se = math.sqrt(max(probability * (1 - probability), 1.0 / n) / n)
    assert abs(hits.mean() - probability) <= n_se * se, (hits.mean(), probability, se)


def _rows(stats, metric: str | None):
    """(generation numbers, rows) of `stats`: a Trajectory, a mapping of statistics or one array."""
    generation = None
    if hasattr(stats, "stats") and hasattr(stats, "generation"):
        generation, stats = np.asarray(stats.generation), stats.stats
    if isinstance(stats, Mapping):
        if generation is None and "generation" in stats:
            generation = np.asarray(stats["generation"])
        if metric not in stats:
            raise KeyError(f"statistic {metric!r} not recorded; have {', '.join(k for k in stats if k != 'generation')}")
        stats = stats[metric]
    rows = np.asarray(stats, dtype=float)
    if generation is None:
        generation = np.arange(rows.shape[0])
    return generation, rows


def _row(generation, rows, t: int):
    hit = np.flatnonzero(generation == t)
    if hit.size == 0:
        raise ValueError(f"generation {t} was not recorded (recorded: {generation.tolist()})")
    return rows[hit[0]]


def _as_list(generations, generation) -> list[int]:
    if generations is None:
        return [int(t) for t in generation if t > 0]
    if isinstance(generations, (int, np.integer)):
        return [int(generations)]
    return [int(t) for t in generations]


def assert_matches_theory(stats, theory: Mapping, metric: str, generations: Iterable[int] | int | None = None,
                          n_se: float = 4.0) -> None:
    """Two-sided check: |X̄_t − E_t| ≤ n_se · SE_t at each generation t, with X̄_t the mean over chains of
    ``metric`` at generation t, SE_t = s_t/√C and E_t = ``theory["E_" + metric][t]``.

    `stats`: a Trajectory (``simulate(...)``), a dict of statistics (``run.stats`` or a loaded stats.npz;
    its ``generation`` entry maps rows to generations), or an array with row t = generation t.
    `generations`: an int, a list, or None for every recorded generation after the truth. Where SE is 0
    (e.g. a deterministic chain) the mean must equal E to 1e-9 relative. Each generation is tested at
    n_se on its own: with many generations, raise n_se (a Bonferroni bound: P(some |Z| > 4) ≤ G·6.3e-5).
    """
    generation, rows = _rows(stats, metric)
    key = "E_" + metric
    if key not in theory:
        raise KeyError(f"theory has no {key!r}; it has {', '.join(sorted(theory))}")
    expected = np.asarray(theory[key], dtype=float)
    failures = []
    for t in _as_list(generations, generation):
        mean, se = mc_mean_se(_row(generation, rows, t))
        e = float(expected[t])
        tolerance = max(n_se * se, 1e-9 * max(1.0, abs(e)))
        if not abs(mean - e) <= tolerance:
            z = (mean - e) / se if se > 0 else math.inf
            failures.append(f"  generation {t}: MC {mean:.6g} ± {se:.2g} vs theory {e:.6g} ({z:+.1f} SE)")
    if failures:
        raise AssertionError(f"{metric}: Monte Carlo mean off the theory by more than {n_se} SE\n" + "\n".join(failures))


def assert_variance_shrinks_no_faster_than(stats_logvar, sizes, ddof: int, n_se: float = 4.0, *,
                                           var0: float = 1.0, generations: Iterable[int] | int | None = None) -> None:
    """One-sided check that an estimator loses log-variance no faster than the Gaussian chain's closed form:

        X̄_t ≥ E log σ_t² − n_se · SE_t,   E log σ_t² = log σ0² + Σ_{s<t} [ψ((M_s−1)/2) + log(2/(M_s−δ))]

    (Nature Thm 3.1; `simcollapse.theory.gaussian.expected_logvar`), X̄_t the mean over chains of the
    recorded log σ_t² and SE_t = s_t/√C. A fitter that is, e.g., more biased downward than the ddof=δ
    estimator, or that sees fewer points than `sizes` claims, fails; one that keeps more variance passes.

    `stats_logvar`: rows = generations 0 … n (or a Trajectory / dict holding ``logvar``), columns = chains.
    `sizes`: M_t as anything `simcollapse.config.schedule` accepts (int, list, linear/geometric dict).
    `generations`: which to test (default every t ≥ 1 recorded).
    """
    generation, rows = _rows(stats_logvar, "logvar")
    n = int(generation.max())
    m = _schedule(sizes, n) if not isinstance(sizes, np.ndarray) else np.asarray(sizes)
    if m.shape[0] < n:
        raise ValueError(f"sizes give {m.shape[0]} generations, the statistics {n}")
    expected = expected_logvar(m[:n], ddof, var0)
    spread = np.sqrt(var_logvar(m[:n]))
    failures = []
    for t in _as_list(generations, generation):
        mean, se = mc_mean_se(_row(generation, rows, t))
        if not mean >= expected[t] - n_se * se:
            failures.append(
                f"  generation {t}: MC E log σ² {mean:.6g} ± {se:.2g} < theory {expected[t]:.6g} − {n_se}·SE "
                f"({(mean - expected[t]) / se:+.1f} SE; theory sd of log σ² {spread[t]:.3g})"
            )
    if failures:
        raise AssertionError("log-variance shrinks faster than the closed form E log σ_n² allows\n" + "\n".join(failures))


def assert_lost_mass_at_least(stats, theory: Mapping, generations: Iterable[int] | int | None = None,
                              n_se: float = 4.0) -> None:
    """One-sided check for categorical tails: the mean truth mass on extinct types (``lost_mass``, the
    Σ p0_i over types with p̂_i = 0) is at least its exact expectation,

        X̄_t ≥ E lost_t − n_se · SE_t,   E lost_t = Σ_i p0_i P(type i extinct by t)   (``theory["E_lost_mass"]``),

    so a fitter (smoothing, top-k, temperature, …) is not claimed to keep tails it in fact keeps less of.
    Where SE = 0 (every chain lost the same mass) the mean must be ≥ E − 1e-9.
    """
    generation, rows = _rows(stats, "lost_mass")
    expected = np.asarray(theory["E_lost_mass"], dtype=float)
    failures = []
    for t in _as_list(generations, generation):
        mean, se = mc_mean_se(_row(generation, rows, t))
        if not mean >= expected[t] - max(n_se * se, 1e-9):
            failures.append(f"  generation {t}: MC lost mass {mean:.6g} ± {se:.2g} < theory {expected[t]:.6g}")
    if failures:
        raise AssertionError(f"lost tail mass below the exact expectation by more than {n_se} SE\n" + "\n".join(failures))
