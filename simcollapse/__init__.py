"""simcollapse: simulations of model collapse with the closed-form theory beside them.

Each generation of a model is fitted on data sampled from the previous generation
(Shumailov et al., "AI models collapse when trained on recursively generated data", Nature 631, 2024).
"""

import jax

# float64 by default: collapse is a story of small numbers.
jax.config.update("jax_enable_x64", True)

__version__ = "0.1.0"
