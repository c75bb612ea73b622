"""Hypothesis strategies for configs (need ``hypothesis``, installed with the ``test`` extra); see
:mod:`simcollapse.testing`."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..config import bounds, choices, gaussian, real_count
from ..config import schedule as _schedule

try:
    from hypothesis import strategies as st
except ImportError:  # the assertions work without hypothesis; the strategies do not
    st = None

__all__ = ["categorical_truths", "declared", "gaussian_configs", "invalid_gaussian_values",
           "mvgaussian_configs", "schedules", "valid_config_values"]



def _need_hypothesis():
    if st is None:
        raise ImportError("simcollapse.testing strategies need hypothesis: pip install 'simcollapse[test]'")
    return st


# --- strategies -----------------------------------------------------------------------------------------


def declared(config_class: type, name: str, low=None, high=None):
    """Values of field `name` of `config_class` from its schema: its declared choices, or a number within its
    declared bounds (``config.number`` / ``config.integer``) narrowed to [low, high] where given, a window in which
    a short run's statistics stay finite. A window reaching outside the declared bounds raises ValueError, so a
    strategy never draws what the schema refuses."""
    s = _need_hypothesis()
    field = config_class.__dataclass_fields__[name]
    if choices(field) is not None:
        return s.sampled_from(choices(field))
    b = bounds(field)
    if b is None:
        raise ValueError(f"{config_class.__name__}.{name} declares neither choices nor bounds")
    lo, hi = (b.low if low is None else low), (b.high if high is None else high)
    if (b.low is not None and lo < b.low) or (b.high is not None and hi > b.high):
        raise ValueError(f"window [{low}, {high}] reaches outside {config_class.__name__}.{name}: {b.describe()}")
    lo = (-10 if hi is None else hi - 10) if lo is None else lo  # an unbounded end: 10 beyond the other
    hi = lo + (16 if b.integer else 10) if hi is None else hi
    if b.integer:
        return s.integers(lo, hi)
    return s.floats(lo, hi, exclude_min=b.low_open and lo == b.low, exclude_max=b.high_open and hi == b.high,
                    allow_nan=False, allow_infinity=False)


def schedules(generations: int, min_size: int = 2, max_size: int = 32):
    """``n_samples`` specs for `generations` steps whose every M_t lies in [min_size, ~max_size·1.5^g]:

    an int M; a list of `generations` ints; ``{"linear": [M0, s]}`` (M_t = M0 + s·t, s ≥ 0);
    ``{"geometric": [M0, r]}`` (M_t = round(M0·r^t), 1 ≤ r ≤ 1.5). Non-decreasing, so M_t ≥ min_size.
    """
    s = _need_hypothesis()
    size = s.integers(min_size, max_size)
    return s.one_of(
        size,
        s.lists(size, min_size=generations, max_size=generations),
        s.builds(lambda m0, slope: {"linear": [m0, slope]}, size, s.integers(0, 4)),
        s.builds(lambda m0, ratio: {"geometric": [m0, ratio]}, size,
                 s.floats(1.0, 1.5, allow_nan=False, allow_infinity=False)),
    )


def _fix_groups(values: dict, sizes: np.ndarray, need: int) -> dict:
    """The sufficient sampler needs each non-empty real / synthetic group ≥ need points; else use exact."""
    if values.get("policy") in ("fresh_real", "real_pool") and values.get("sampler") == "sufficient":
        real = real_count(values["real_fraction"], sizes)
        synth = sizes - real
        if np.any((real > 0) & (real < need)) or np.any((synth > 0) & (synth < need)):
            values["sampler"] = "exact"
    return values


def _run_fields(draw, fixed: dict, max_generations: int, max_chains: int) -> dict:
    """generations (or the fixed one), chains, seed and record_every, small."""
    g = fixed.get("generations", draw(st.integers(1, max_generations)))
    return {"generations": g, "chains": draw(st.integers(1, max_chains)), "seed": draw(st.integers(0, 2**31 - 1)),
            "record_every": draw(st.integers(1, max(1, g)))}


def _subset(draw, names):
    """A non-empty list of distinct names (a ``metrics`` value)."""
    return draw(st.lists(st.sampled_from(names), min_size=1, max_size=len(names), unique=True))


def _gaussian_family(draw, family: str, fixed: dict, max_generations: int, max_chains: int):
    s = st
    cls = gaussian.MvGaussianConfig if family == "mvgaussian" else gaussian.GaussianConfig
    values = _run_fields(draw, fixed, max_generations, max_chains)
    g = values["generations"]
    if family == "mvgaussian":
        d = fixed.get("dim", draw(s.integers(1, 3)))
        values["dim"] = d
    else:
        d = 1
    values["policy"] = policy = fixed.get(
        "policy", draw(s.sampled_from(gaussian.POLICIES)))
    if policy == "accumulate_subsample":
        values["sampler"] = "exact"
        values["n_samples"] = draw(s.integers(d + 1, 16))
    else:
        values["sampler"] = draw(s.sampled_from([x for x in gaussian.SAMPLERS if x != "plain_points"]))
        values["n_samples"] = draw(schedules(g, min_size=d + 1, max_size=16))
    values["ddof"] = draw(s.sampled_from((0, 1)))
    # gradient steps maximise the likelihood, so they pair with ddof 0 only
    values["fitter"] = "exact" if fixed.get("ddof", 0) != 0 else draw(s.sampled_from(gaussian.FITTERS))
    if values["fitter"] == "sgd":
        values["ddof"] = 0
    values["sgd_steps"] = draw(declared(cls, "sgd_steps", high=10))
    values["lr"] = draw(declared(cls, "lr", 0.01, 0.2))
    values["real_fraction"] = draw(declared(cls, "real_fraction"))
    sizes = _schedule(fixed.get("n_samples", values["n_samples"]), g)
    real_max = int(real_count(values["real_fraction"], sizes).max())
    values["pool_size"] = draw(s.integers(max(1, real_max), max(1, real_max) + 200))
    finite = dict(allow_nan=False, allow_infinity=False)
    values["real_weight"] = draw(declared(cls, "real_weight"))
    values["synthetic_samples"] = draw(s.integers(d + 1, 16))
    if policy == "weighted_real":  # two closed-form fits averaged
        values["fitter"], values["ddof"] = "exact", draw(s.sampled_from((0, 1)))
    if draw(s.booleans()):  # a verifier of the synthetic draws: their points are drawn (or the population)
        values["verifier_width"] = draw(declared(cls, "verifier_width", 0.3, 4.0))
        values["false_accept"] = draw(s.sampled_from((0.0, 0.1)))
        if values["sampler"] == "sufficient":
            values["sampler"] = "exact"
    elif family == "gaussian" and policy == "replace" and draw(s.integers(0, 7)) == 0:
        # the official code's float64 arithmetic: one size, the closed-form fit
        values |= {"sampler": "plain_points", "fitter": "exact", "n_samples": draw(s.integers(2, 16))}
    if family == "mvgaussian":
        if draw(s.booleans()):
            values["mean0"] = draw(s.floats(-10, 10, **finite))
        else:
            values["mean0"] = draw(s.lists(s.floats(-10, 10, **finite), min_size=d, max_size=d))
        kind = draw(s.sampled_from(("identity", "scalar", "matrix")))
        if kind == "scalar":
            values["cov0"] = draw(s.floats(0.1, 10, **finite))
        elif kind == "matrix":  # A Aᵀ + I/2 is symmetric positive definite
            a = np.asarray(draw(s.lists(s.floats(-2, 2, **finite), min_size=d * d, max_size=d * d))).reshape(d, d)
            cov = a @ a.T + 0.5 * np.eye(d)
            values["cov0"] = (0.5 * (cov + cov.T)).tolist()
        metrics = gaussian.METRICS_ND
    else:
        values["mean0"] = draw(s.floats(-10, 10, **finite))
        values["var0"] = draw(declared(cls, "var0", 0.01, 100))
        metrics = gaussian.METRICS_1D
    values["metrics"] = _subset(draw, metrics)
    ecosystem = (policy == "replace" and values["sampler"] == "exact" and values["fitter"] == "exact"
                 and "verifier_width" not in values)
    if ecosystem and draw(s.booleans()):  # m models refitted to each other's mixtures
        from ..config.gaussian import ECOSYSTEM_METRICS

        values.update(models=draw(declared(cls, "models", 2, 3)), own_share=draw(declared(cls, "own_share")),
                      metrics=_subset(draw, ECOSYSTEM_METRICS))
    values.update(fixed)
    return _fix_groups(values, _schedule(values["n_samples"], values["generations"]), values.get("dim", 1) + 1)


def _builds(family: str, values: dict) -> bool:
    from ..api import make_config
    from ..config import ConfigError

    try:
        make_config(family, **values)
    except ConfigError:
        return False
    return True


def _configs(family: str, valid: bool, max_generations: int, max_chains: int, fixed: dict):
    s = _need_hypothesis()

    @s.composite
    def valid_values(draw):
        return _gaussian_family(draw, family, fixed, max_generations, max_chains)

    base = valid_values().filter(lambda v: _builds(family, v))
    if valid:
        return base
    if family == "mvgaussian":
        bad = s.sampled_from([("dim", 0), ("cov0", [[1.0, 2.0], [2.0, 1.0]]), ("cov0", -1.0), ("ddof", 3),
                              ("sampler", "nope"), ("metrics", ["var"]), ("mean0", [0.0] * 7)])
    else:
        bad = s.sampled_from([(f, v[f]) for f, v in _INVALID_GAUSSIAN if f in v])
    return s.builds(lambda v, fv: {**v, fv[0]: fv[1]}, base, bad).filter(lambda v: not _builds(family, v))


_FINITE = dict(allow_nan=False, allow_infinity=False)


def _gmm_fields(draw, values: dict) -> None:
    from ..families import gmm

    s, g, cls = st, values["generations"], gmm.GMMConfig
    k, d = draw(declared(cls, "components", 1, 3)), draw(declared(cls, "dim", 1, 2))
    fit_family = draw(declared(cls, "fit_family"))
    k_fit = 1 if fit_family == "gaussian" else draw(declared(cls, "fit_components", 1, 3))
    ddof = draw(s.sampled_from((0, 1))) if fit_family == "gaussian" else 0
    values.update(components=k, dim=d, fit_family=fit_family, fit_components=k_fit, ddof=ddof,
                  n_samples=draw(schedules(g, min_size=max(k_fit, ddof + 1, 2), max_size=16)),
                  sampler=draw(declared(cls, "sampler")), quadrature_points=draw(s.integers(2**d, 64)),
                  covariance_type=draw(declared(cls, "covariance_type")), em_iters=draw(declared(cls, "em_iters", 1, 20)),
                  tol=draw(s.sampled_from((1e-3, 1e-5))), reg_covar=draw(s.sampled_from((1e-6, 1e-3, 0.1))),
                  init=draw(declared(cls, "init")), warm_start=draw(s.booleans()),
                  metrics=_subset(draw, gmm.METRICS))
    if values["sampler"] == "exact":  # the policies draw their points
        values["policy"] = draw(declared(cls, "policy"))
        values["real_fraction"] = draw(declared(cls, "real_fraction"))
        real_max = int(real_count(values["real_fraction"], _schedule(values["n_samples"], g)).max())
        values["pool_size"] = draw(s.integers(max(1, real_max), max(1, real_max) + 50))
    if draw(s.booleans()):
        w = np.asarray(draw(s.lists(s.floats(0.1, 1.0, **_FINITE), min_size=k, max_size=k)))
        values["weights0"] = (w / w.sum()).tolist()
    if draw(s.booleans()):
        values["means0"] = draw(s.lists(s.lists(s.floats(-5, 5, **_FINITE), min_size=d, max_size=d),
                                        min_size=k, max_size=k))
    if draw(s.booleans()):  # one diagonal covariance for every component
        values["covs0"] = np.diag(draw(s.lists(s.floats(0.1, 4.0, **_FINITE), min_size=d, max_size=d))).tolist()


def _kde_fields(draw, values: dict) -> None:
    from ..families import kde

    s, cls = st, kde.KDEConfig
    values.update(dim=draw(declared(cls, "dim", 1, 2)), n_samples=draw(s.integers(2, 32)),
                  bandwidth=draw(s.one_of(s.sampled_from(kde.RULES), s.floats(0.05, 2.0, **_FINITE))),
                  mean0=draw(declared(cls, "mean0", -10, 10)), var0=draw(declared(cls, "var0", 0.01, 100)),
                  test_size=draw(declared(cls, "test_size", 1, 50)), metrics=_subset(draw, kde.METRICS))


def _linreg_fields(draw, values: dict) -> None:
    from ..families import linreg

    s, cls = st, linreg.LinRegConfig
    d = draw(declared(cls, "dim", 1, 4))
    fit_dim = draw(s.one_of(s.none(), declared(cls, "fit_dim", 1, d)))
    fitted = d if fit_dim is None else fit_dim
    values.update(dim=d, fit_dim=fit_dim, design_size=draw(s.integers(fitted + 2, fitted + 20)),
                  ridge=draw(s.sampled_from((0.0, 0.1, 1.0))), noise=draw(declared(cls, "noise", 0.0, 2.0)),
                  policy=draw(declared(cls, "policy")), sampler=draw(declared(cls, "sampler")),
                  fitter=draw(declared(cls, "fitter")), sgd_steps=draw(declared(cls, "sgd_steps", high=10)),
                  lr=draw(declared(cls, "lr", 0.01, 0.2)), warm_start=draw(s.booleans()),
                  w_star=draw(s.one_of(s.none(), s.floats(-2, 2, **_FINITE),
                                       s.lists(s.floats(-2, 2, **_FINITE), min_size=d, max_size=d))),
                  metrics=_subset(draw, linreg.METRICS))


def _categorical_fields(draw, values: dict) -> None:
    from ..config import categorical

    s, g, cls = st, values["generations"], categorical.CategoricalConfig
    truth = draw(s.sampled_from(categorical.TRUTHS))
    if truth == "probs":
        values["probs0"] = draw(categorical_truths(max_types=20))
        k = len(values["probs0"])
    elif truth == "cats":
        k = 2
    else:
        k = values["num_types"] = draw(s.integers(1, 20))
        if truth != "uniform":
            values["zipf_beta"] = draw(s.floats(0.0, 3.0, **_FINITE))
        if truth == "zipf_mandelbrot":
            values["zipf_q"] = draw(declared(cls, "zipf_q", -0.9, 5.0))
    values["truth"] = truth
    values.update(n_samples=draw(schedules(g, min_size=1, max_size=32)), alpha=draw(declared(cls, "alpha", 0.0, 1.0)),
                  temperature=draw(declared(cls, "temperature", 0.5, 2.0)),
                  top_k=draw(s.one_of(s.none(), declared(cls, "top_k", 1, k))),
                  min_p=draw(declared(cls, "min_p", 0.0, 0.5)), sampler=draw(declared(cls, "sampler")),
                  policy=draw(declared(cls, "policy")), real_fraction=draw(declared(cls, "real_fraction")),
                  minority=draw(s.one_of(s.none(), s.lists(s.integers(0, k - 1), min_size=1, max_size=k, unique=True))),
                  metrics=_subset(draw, categorical.METRICS))
    real_max = int(real_count(values["real_fraction"], _schedule(values["n_samples"], g)).max())
    values["pool_size"] = draw(s.integers(max(1, real_max), max(1, real_max) + 200))
    if draw(s.booleans()):  # curated resampling: K draws per kept token, chosen by reward
        values["rewards"] = draw(s.lists(s.floats(-3.0, 3.0, **_FINITE), min_size=k, max_size=k))
        values["curation_k"] = draw(declared(cls, "curation_k", 1, 5))
        values["metrics"] = [*values["metrics"], *draw(s.sampled_from(((), ("expected_reward",))))]
    if values["policy"] == "replace" and draw(s.booleans()):  # an ecosystem of models on each other's mixtures
        values.update(models=draw(declared(cls, "models", 2, 3)), own_share=draw(declared(cls, "own_share")),
                      metrics=_subset(draw, categorical.ECOSYSTEM_METRICS))


def _counts_fields(draw, values: dict, family: str) -> None:
    from ..config import counts

    if family == "poisson":
        cls, metrics = counts.PoissonConfig, counts.POISSON_METRICS
        values["rate0"] = draw(declared(cls, "rate0", 0.0, 5.0))
    else:
        cls, metrics = counts.BernoulliConfig, counts.BERNOULLI_METRICS
        values["p0"] = draw(declared(cls, "p0"))
    values.update(n_samples=draw(schedules(values["generations"], min_size=1, max_size=32)),
                  sampler=draw(declared(cls, "sampler")), policy=draw(declared(cls, "policy")),
                  metrics=_subset(draw, metrics))


def _schema_fields(draw, values: dict, family: str) -> None:
    """Any other family, from its config's declarations (:func:`declared`): a field with declared choices or
    bounds is drawn from them, ``metrics`` as a non-empty subset of its default, every other field keeps its
    default."""
    from .. import families

    cls = families.config_class(family)
    for field in dataclasses.fields(cls):
        if field.name in values:  # the run fields, drawn small
            continue
        if choices(field) is not None or bounds(field) is not None:
            values[field.name] = draw(declared(cls, field.name))
        elif field.name == "metrics":
            values["metrics"] = _subset(draw, field.default)


_FAMILY_FIELDS = {
    "gmm": _gmm_fields,
    "kde": _kde_fields,
    "linreg": _linreg_fields,
    "categorical": _categorical_fields,
    "poisson": lambda draw, values: _counts_fields(draw, values, "poisson"),
    "bernoulli": lambda draw, values: _counts_fields(draw, values, "bernoulli"),
}


def valid_config_values(family: str, *, max_generations: int = 4, max_chains: int = 4, **fixed):
    """Dicts for which ``make_config(family, **d)`` succeeds, for every family in ``families.names()``.

    The run fields are small (generations ≤ `max_generations`, chains ≤ `max_chains`, any seed and record_every)
    so that a run is fast. The family's fields are drawn from their documented choices and ranges, coupled
    fields together (gmm: fit_components 1 for fit_family gaussian, ddof only there, N ≥ K′, a truth of the drawn
    K × d shape; linreg: design_size > d′ + 1; categorical: top_k ≤ K, minority within the types, pool_size ≥
    the real tokens; …), with ``metrics`` a non-empty subset. ``gaussian`` and ``mvgaussian`` are
    :func:`gaussian_configs` / :func:`mvgaussian_configs`. Keyword arguments are fixed in every draw (e.g.
    ``sampler="infinite"``); draws they make invalid are filtered out. Values stay in ranges where a short run
    gives finite statistics (reg_covar ≥ 1e-6, learning rates ≤ 0.2, truths of moderate scale).
    """
    from .. import families

    s = _need_hypothesis()
    if family not in families.names():
        raise ValueError(f"unknown family {family!r}; have {', '.join(families.names())}")
    if family in ("gaussian", "mvgaussian"):
        return _configs(family, True, max_generations, max_chains, fixed)

    @s.composite
    def values(draw):
        drawn = _run_fields(draw, fixed, max_generations, max_chains)
        _FAMILY_FIELDS.get(family, lambda draw, values: _schema_fields(draw, values, family))(draw, drawn)
        return {**drawn, **fixed}

    return values().filter(lambda v: _builds(family, v))


def gaussian_configs(valid: bool = True, *, max_generations: int = 8, max_chains: int = 16, **fixed):
    """Dicts of `gaussian` config values: ``make_config("gaussian", **d)`` succeeds when valid, else raises
    ConfigError. `fixed` values are kept as given (e.g. ``policy="replace"``); a draw the fixed values make
    invalid is filtered out. generations ≤ `max_generations` and chains ≤ `max_chains` keep runs fast.
    """
    return _configs("gaussian", valid, max_generations, max_chains, fixed)


def mvgaussian_configs(valid: bool = True, *, max_generations: int = 8, max_chains: int = 16, **fixed):
    """As :func:`gaussian_configs` for `mvgaussian`: d ∈ {1, 2, 3}, M_t ≥ d+1, mean0 a number or d numbers,
    cov0 None, a positive number or an SPD matrix A Aᵀ + I/2 (as nested lists)."""
    return _configs("mvgaussian", valid, max_generations, max_chains, fixed)


def categorical_truths(max_types: int = 50):
    """Probability vectors p0 (lists of floats summing to 1) to pass as ``probs0``:

    cats (0.9, 0.1); uniform 1/K; Zipf p_i ∝ i^{−β}, β ∈ [0, 3]; random positive weights normalised;
    K ∈ [1, max_types] (cats has K = 2).
    """
    s = _need_hypothesis()
    k = s.integers(1, max(1, max_types))

    def zipf(k, beta):
        w = np.arange(1, k + 1, dtype=float) ** -beta
        return (w / w.sum()).tolist()

    def weights(w):
        w = np.asarray(w, dtype=float)
        return (w / w.sum()).tolist()

    cats = [[0.9, 0.1]] if max_types >= 2 else []
    return s.one_of(
        s.sampled_from(cats or [[1.0]]),
        k.map(lambda n: [1.0 / n] * n),
        s.builds(zipf, k, s.floats(0.0, 3.0, allow_nan=False)),
        s.lists(s.floats(0.01, 1.0, allow_nan=False), min_size=1, max_size=max(1, max_types)).map(weights),
    )


# (field, values): each must make make_config("gaussian", **values) raise ConfigError(field)
_INVALID_GAUSSIAN = [
    ("generations", {"generations": 0}),
    ("chains", {"chains": 0}),
    ("seed", {"seed": -1}),
    ("record_every", {"record_every": 0}),
    ("ddof", {"ddof": 2}),
    ("ddof", {"ddof": 0.5}),
    ("sampler", {"sampler": "bootstrap"}),
    ("policy", {"policy": "forget"}),
    ("real_fraction", {"real_fraction": 1.5}),
    ("real_fraction", {"real_fraction": -0.1}),
    ("pool_size", {"pool_size": 0}),
    ("pool_size", {"policy": "real_pool", "n_samples": 100, "real_fraction": 0.5, "pool_size": 10}),
    ("mean0", {"mean0": math.nan}),
    ("mean0", {"mean0": "zero"}),
    ("var0", {"var0": 0.0}),
    ("var0", {"var0": -1.0}),
    ("var0", {"var0": math.inf}),
    ("metrics", {"metrics": ["var", "entropy"]}),
    ("metrics", {"metrics": []}),
    ("metrics", {"metrics": "var"}),
    ("n_samples", {"n_samples": 1}),
    ("n_samples", {"n_samples": [10, 10], "generations": 3}),
    ("n_samples", {"n_samples": {"cubic": [10, 1]}}),
    ("n_samples", {"n_samples": {"geometric": [10, 1e6]}, "generations": 50}),
    ("n_samples", {"policy": "accumulate_subsample", "sampler": "exact", "n_samples": {"linear": [10, 1]},
                   "generations": 4}),
    ("sampler", {"policy": "accumulate_subsample", "sampler": "sufficient"}),
    ("real_fraction", {"policy": "fresh_real", "n_samples": 10, "real_fraction": 0.1}),
    ("real_weight", {"policy": "weighted_real", "real_weight": -0.5}),
    ("synthetic_samples", {"policy": "weighted_real", "synthetic_samples": 1}),
    ("fitter", {"policy": "weighted_real", "fitter": "sgd"}),
    ("verifier_width", {"sampler": "exact", "verifier_width": -1.0}),
    ("sampler", {"verifier_width": 1.5}),
    ("false_accept", {"false_accept": 0.2}),
    ("false_accept", {"sampler": "exact", "verifier_width": 1.0, "false_accept": 1.5}),
    ("bogus_key", {"bogus_key": 1}),
]


def invalid_gaussian_values():
    """``(field, values)`` pairs: ``make_config("gaussian", **values)`` raises ConfigError with ``.field == field``.

    Each pair breaks exactly one rule (type, range, choice, schedule shape, policy/sampler coupling,
    unknown key) on top of the defaults, with small generations and chains unless the pair sets them.
    """
    s = _need_hypothesis()
    small = {"generations": 4, "chains": 8}
    return s.sampled_from(_INVALID_GAUSSIAN).map(lambda fv: (fv[0], {**small, **fv[1]}))
