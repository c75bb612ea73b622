"""The gradient fitter shared by the families' ``fitter="sgd"``: plain optax SGD, w ← w − η ∇L(w).

It stands for the paper's functional-approximation error (Shumailov et al. 2024, "What is model collapse?"):
a learner that takes a fixed number of gradient steps instead of reaching the optimum.
"""

from __future__ import annotations

import jax


def sgd(gradient, start, steps: int, lr: float):
    """`steps` optax SGD steps of size `lr` from `start` (any pytree), for the gradient function ∇L."""
    import optax  # only the gradient fitters need it (0.3 s of import)

    optimizer = optax.sgd(lr)

    def step(_, carry):
        params, opt_state = carry
        updates, opt_state = optimizer.update(gradient(params), opt_state)
        return optax.apply_updates(params, updates), opt_state

    return jax.lax.fori_loop(0, steps, step, (start, optimizer.init(start)))[0]
