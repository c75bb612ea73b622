"""Config of the categorical chain (the cats of Shumailov et al., Nature 2024, and every discrete truth after
them); the chain is `simcollapse.families.categorical`. Validated here, without importing JAX."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from . import (
    ConfigError,
    Ecosystem,
    RealData,
    RunConfig,
    SampleSizes,
    _is_int,
    check_choice,
    check_int,
    check_metrics,
    check_number,
    choice,
    integer,
    number,
)

TRUTHS = ("cats", "uniform", "zipf", "zipf_mandelbrot", "probs")
SAMPLERS = ("exact", "infinite")
POLICIES = ("replace", "accumulate", "accumulate_subsample", "fresh_real", "real_pool")
METRICS = ("probs", "entropy", "gini_simpson", "surviving", "lost_mass", "tv", "kl", "p_min_group", "t_collapse")
SHARED_METRICS = ("surviving_fraction",)  # recorded on request only: the share of generation 1's types alive
REWARD_METRICS = ("expected_reward",)  # recorded on request only (they need rewards)
ECOSYSTEM_METRICS = ("gini_simpson_models", "gini_simpson_mixture", "between_model_sq_dist")  # models > 1
PROBS_TOL = 1e-6
MAX_TYPES = 10**7
MAX_POOL = 2**53


@dataclasses.dataclass(frozen=True)
class CategoricalConfig(SampleSizes, RealData, Ecosystem, RunConfig):
    """Categorical chain (docs/theory.md §C). Fields beyond the run fields:

    truth: cats | uniform | zipf | zipf_mandelbrot | probs. Left out it is inferred: ``probs`` when probs0 is
        given, ``zipf`` when zipf_beta is, ``uniform`` when num_types is, else ``cats`` = (0.9 yellow, 0.1 blue).
    probs0: the truth as a list of K probabilities (≥ 0, summing to 1 within 1e-6, then renormalised);
        giving it sets truth = "probs".
    num_types: K for uniform / zipf / zipf_mandelbrot (resolved to K for every truth).
    zipf_beta: β of p_i ∝ (i + zipf_q)^{−β}, i = 1..K.   zipf_q: the Mandelbrot offset (> −1).
    n_samples: N_t, an integer or a schedule (see `simcollapse.config.schedule`).
    alpha: additive smoothing α ≥ 0.
    temperature: T > 0.   top_k: None (off) or k ≥ 1.   min_p: in [0, 1), 0 = off.
    sampler: exact | infinite.
    policy: replace | accumulate | accumulate_subsample | fresh_real | real_pool.
    real_fraction: ρ for fresh_real / real_pool.   pool_size: P for real_pool.
    minority: type indices whose total mass is ``p_min_group`` (default: the last type).
    curation_k: K ≥ 1 draws per kept token for curated resampling (1: no curation): each training token is chosen
        among K draws of the sampling law by a Luce choice, P(pick draw j) ∝ exp(rewards[x_j]) (docs/theory.md §R).
    rewards: None or K_types finite numbers, the per-type rewards of curation (and of ``expected_reward``).
    models: m ≥ 1 models evolving together (an ecosystem, docs/theory.md §I): model i is fitted to N_t tokens drawn
        from the mixture Σ_j W_ij q_j of the models' sampling laws, W = s I + (1 − s)/(m − 1)(J − I); policy replace.
    own_share: s ∈ [0, 1], the weight of a model's own outputs (1: independent chains; 1/m: one shared mixture).
    shared_first_sample: Suresh et al.'s convention: generation 1 is one sample of N_1 tokens from the truth, drawn
        once from the seed and shared by every chain (policy replace, exact sampler), and ``surviving_fraction``
        is then the share of the types present in it still alive.
    metrics: recorded statistics, from ``METRICS``, and ``expected_reward`` Σ p_i r_i (needs rewards); with
        models > 1 from ``gini_simpson_models`` (1 − Σp², mean over models), ``gini_simpson_mixture`` (of the
        uniform mixture) and ``between_model_sq_dist`` (‖p_i − p_j‖², mean over pairs), the default then.
    probs_max_types: ``probs`` is recorded only when K is at most this.
    """

    family = "categorical"
    truth: Any = None
    probs0: Any = None
    num_types: Any = None
    zipf_beta: Any = None
    zipf_q: float = number(0.0, -1.0, low_open=True)
    n_samples: Any = 100
    alpha: float = number(0.0, 0.0)
    temperature: float = number(1.0, 0.0, low_open=True)
    top_k: int | None = integer(None, 1, optional=True)
    min_p: float = number(0.0, 0.0, 1.0, high_open=True)
    sampler: str = choice("exact", SAMPLERS)
    policy: str = choice("replace", POLICIES)
    minority: Any = None
    metrics: tuple = METRICS
    probs_max_types: int = integer(1000, 0)
    curation_k: int = integer(1, 1)
    rewards: Any = None
    shared_first_sample: bool = False
    ECOSYSTEM_METRICS = ECOSYSTEM_METRICS

    def normalise(self) -> dict[str, Any]:
        """The truth inferred when left out, probs0 as floats, K resolved for every truth, the minority types as
        a tuple (default: the last type), the rewards as a tuple of floats, an ecosystem's default metrics."""
        values = super().normalise()
        truth = self.truth
        if self.probs0 is not None:
            if truth not in (None, "cats", "probs"):
                raise ConfigError("truth", f"probs0 is given, so truth must be 'probs' (or left out); got {truth!r}")
            truth = "probs"
        elif truth is None:
            truth = "zipf" if self.zipf_beta is not None else "uniform" if self.num_types is not None else "cats"
        values["truth"] = check_choice("truth", truth, TRUTHS)
        if truth == "probs":
            p = _check_probs(self.probs0)
            values["probs0"] = [float(x) for x in p]
            if self.num_types is not None and self.num_types != p.size:
                raise ConfigError("num_types", f"must equal len(probs0) = {p.size}, got {self.num_types!r}")
            values["num_types"] = int(p.size)
        elif truth == "cats":
            if self.num_types not in (None, 2):
                raise ConfigError("num_types", f"truth 'cats' has 2 types, got {self.num_types!r}")
            values["num_types"] = 2
        else:
            if self.num_types is None:
                raise ConfigError("num_types", f"truth {truth!r} needs num_types (the number of types K)")
            values["num_types"] = check_int("num_types", self.num_types, 1)
            if values["num_types"] > MAX_TYPES:
                raise ConfigError("num_types", f"must be ≤ {MAX_TYPES}, got {self.num_types}")
            if truth in ("zipf", "zipf_mandelbrot"):
                if self.zipf_beta is None:
                    raise ConfigError("zipf_beta", f"truth {truth!r} needs zipf_beta (the exponent β ≥ 0)")
                values["zipf_beta"] = check_number("zipf_beta", self.zipf_beta, low=0.0)
        minority = [values["num_types"] - 1] if self.minority is None else self.minority
        if _is_int(minority):
            minority = [minority]
        if isinstance(minority, (list, tuple)) and all(_is_int(i) for i in minority):
            minority = tuple(int(i) for i in minority)
        values["minority"] = minority
        if self.rewards is not None:
            values["rewards"] = _check_rewards(self.rewards, values["num_types"])
        return values

    def validate(self) -> None:
        K = self.num_types

        sizes = self.sizes()
        if sizes.min() < 1:
            raise ConfigError("n_samples", f"must be ≥ 1 in every generation, got {sizes.min()}")
        self.check_real_pool(self.real_counts()[0])
        if self.policy in ("accumulate", "accumulate_subsample") and float(np.sum(sizes, dtype=float)) >= MAX_POOL:
            raise ConfigError("n_samples", "the pooled counts would exceed 2^53 tokens (float64 integers)")

        minority = self.minority
        if (
            not isinstance(minority, tuple)
            or not minority
            or not all(0 <= i < K for i in minority)
            or len(set(minority)) != len(minority)
        ):
            raise ConfigError("minority", f"must be a non-empty list of distinct type indices in [0, {K}), got {minority!r}")
        if self.rewards is None and self.curation_k > 1:
            raise ConfigError("rewards", f"curation_k = {self.curation_k} chooses by reward: give {K} rewards")
        if self.models > 1:
            if self.policy != "replace":
                raise ConfigError("policy", "an ecosystem (models > 1) trains every model on the mixture: policy 'replace'")
            check_metrics(self, ECOSYSTEM_METRICS)
        else:
            check_metrics(self, METRICS + REWARD_METRICS + SHARED_METRICS)
        if not isinstance(self.shared_first_sample, bool):
            raise ConfigError("shared_first_sample", f"must be true or false, got {self.shared_first_sample!r}")
        if self.shared_first_sample and (self.policy != "replace" or self.sampler != "exact" or self.models > 1):
            raise ConfigError("shared_first_sample", "one first sample for every chain needs policy 'replace', "
                                                     "sampler 'exact' and one model")
        if "expected_reward" in self.metrics and self.rewards is None:
            raise ConfigError("rewards", "metric expected_reward needs the per-type rewards")

    # --- derived ------------------------------------------------------------------------------------
    def probs(self) -> np.ndarray:
        """The truth p_0 as a float64 array of length K."""
        from ..theory import categorical as theory

        if self.truth == "probs":
            p = np.asarray(self.probs0, dtype=float)
            return p / p.sum()
        if self.truth == "cats":
            return theory.cats()
        if self.truth == "uniform":
            return theory.uniform(self.num_types)
        q = 0.0 if self.truth == "zipf" else self.zipf_q
        return theory.zipf_mandelbrot(self.zipf_beta, q, self.num_types)

    def records_probs(self) -> bool:
        """Whether ``probs`` is recorded (it is requested and K ≤ probs_max_types)."""
        return "probs" in self.metrics and self.num_types <= self.probs_max_types

    @property
    def neutral_sampler(self) -> bool:
        """No temperature, top-k, min-p or curation: the sampling law is the model itself."""
        return (
            self.temperature == 1.0
            and (self.top_k is None or self.top_k >= self.num_types)
            and self.min_p == 0.0
            and self.curation_k == 1
        )


def _check_probs(values) -> np.ndarray:
    try:
        p = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ConfigError("probs0", f"must be a list of probabilities, got {values!r}") from None
    if p.ndim != 1 or p.size == 0:
        raise ConfigError("probs0", f"must be a non-empty flat list of probabilities, got {values!r}")
    if p.size > MAX_TYPES:
        raise ConfigError("probs0", f"must have at most {MAX_TYPES} entries, got {p.size}")
    if not np.all(np.isfinite(p)):
        raise ConfigError("probs0", "must hold finite numbers (no NaN or inf)")
    if np.any(p < 0):
        raise ConfigError("probs0", f"must be ≥ 0; entry {int(np.argmin(p))} is {p.min()}")
    total = float(p.sum())
    if abs(total - 1.0) > PROBS_TOL:
        raise ConfigError("probs0", f"must sum to 1 (within {PROBS_TOL}); sums to {total!r}")
    return p


def _check_rewards(values, types: int) -> tuple:
    from ..theory.curation import MAX_SPAN

    try:
        r = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ConfigError("rewards", f"must be a list of {types} numbers, got {values!r}") from None
    if r.shape != (types,) or not np.all(np.isfinite(r)):
        raise ConfigError("rewards", f"must be {types} finite numbers (one per type), got {values!r}")
    if r.max() - r.min() > MAX_SPAN:
        raise ConfigError("rewards", f"must span at most {MAX_SPAN} (max − min), got {r.max() - r.min()}")
    return tuple(float(x) for x in r)
