"""simcollapse: simulations of model collapse with the closed-form theory beside them.

Each generation of a model is fitted on data sampled from the previous generation
(Shumailov et al., "AI models collapse when trained on recursively generated data", Nature 631, 2024).
"""

import jax

# float64 by default: collapse is a story of small numbers.
jax.config.update("jax_enable_x64", True)
# Run CPU computations in the calling thread: the driver waits for every chunk anyway, and long test
# sessions on 2 cores were seen to stall forever in the asynchronous CPU dispatcher.
jax.config.update("jax_cpu_enable_async_dispatch", False)

__version__ = "0.1.0"
