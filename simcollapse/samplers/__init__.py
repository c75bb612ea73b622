"""Exact samplers on one random-number generator.

* `bits`: the counter-based Threefry-2x32 generator every draw comes from (keys, words, uniforms, Box–Muller
  normals);
* `vecmath`: float64 log, log1p and the cosine and sine of a turn as polynomials XLA vectorises;
* `gamma`: Marsaglia–Tsang gamma, χ² and Bartlett–Wishart factors, in log space;
* `binomial`, `multinomial`, `poisson`: exact count draws (inversion, Stadlober's ratio-of-uniforms), and
  `discrete`, the machinery they share (gathered redraws across the chain batch);
* `choice`: an index with probability ∝ mass, an ordered sample without replacement;
* `subset`: a uniform subset without replacement (Floyd's algorithm);
* `truncnorm`: normals truncated to a window, or passed by a noisy verifier, by inversion;
* `curation`: tokens kept by a K-way Bradley–Terry choice among the model's draws.
"""
