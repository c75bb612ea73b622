"""simcollapse: simulations of model collapse with the closed-form theory beside them.

Each generation of a model is fitted on data sampled from the previous generation (Shumailov et al., "AI models
collapse when trained on recursively generated data", Nature 631, 2024).

Importing the package imports nothing heavy and changes no JAX setting: simcollapse's own entry points run
their computations in float64 (``jax.enable_x64``) and leave the process's defaults alone.
"""

__version__ = "0.5.0"
