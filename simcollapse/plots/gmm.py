"""GMM figure (Nature 2024, SI §4.1, Figs 6 and 8): the L2 distance ∫(f_n − f_0)² ^{1/2} to the generation-0
mixture grows while the fitted components shrink to a point.

Component std = (tr Σ_k / d)^{1/2}, weighted over components by w_k: the typical spread of one fitted component
(the paper reports std ≈ 0.01 by generation ≈ 2000 at N = 1000).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import draw_metric, save, summary_title


def component_std(weights: np.ndarray, covs: np.ndarray) -> np.ndarray:
    """Σ_k w_k (tr Σ_k / d)^{1/2} for arrays of shape (..., K) and (..., K, d, d)."""
    d = covs.shape[-1]
    per_component = np.sqrt(np.trace(covs, axis1=-2, axis2=-1) / d)
    return np.sum(weights * per_component, axis=-1)


def figures(run: dict, out_dir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    stats, generation = run["stats"], run["generation"]
    panels = []
    if "l2_to_truth" in stats:
        panels.append((stats["l2_to_truth"], "L2 distance to the generation-0 mixture"))
    if "weights" in stats and "covs" in stats:
        panels.append((component_std(stats["weights"], stats["covs"]), "component std (weighted)"))
    if not panels:
        return []
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.4), squeeze=False)
    for ax, (values, label) in zip(axes.flat, panels):
        draw_metric(ax, generation, values, label=label)
        ax.set_yscale("log")
        ax.set_xlim(0, generation[-1])
        ax.set_title(label)
    axes.flat[0].legend(loc="best")
    fig.suptitle(summary_title(run["config"]) + f", K={run['config'].components}, K′={run['config'].fit_components}")
    fig.tight_layout()
    return save(fig, out_dir, "gmm_collapse")
