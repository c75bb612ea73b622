/* Closed forms of the Gaussian page: the 1-D chain N(μ_n, σ_n²) refitted to M points of N(μ_{n−1}, σ²_{n−1})
   with ddof δ, from the truth N(0, 1) (σ0 = 1), as simcollapse.theory.gaussian computes them:

   replace (docs/theory.md §G.2, §G.4, §G.5), with k = M − 1:
     E σ_n² = (k/(M − δ))ⁿ,   E log σ_n² = n[ψ(k/2) + log(2/(M − δ))],
     E σ_n = cⁿ with log c = ½ log(2/(M − δ)) + log Γ(M/2) − log Γ(k/2),
     E(μ_n − μ0)² = Σ_{t<n} E σ_t²/M,   E W2² = E(μ_n − μ0)² + E σ_n² − 2 E σ_n + 1;
   a fresh real fraction (§P.2), n_r = ⌊ρM + ½⌋ real points, a = (M − n_r)/M, mix = (1 − a) + a E σ_t²:
     E σ²_{t+1} = (M − 1)/(M − δ)·mix + M a(1 − a)/(M − δ)·E(μ_t − μ0)²,  E(μ_{t+1} − μ0)² = a² E(μ_t − μ0)² + mix/M.
   With real data E σ_n and E log σ_n² have no closed form, so neither has E W2²: those curves are null. */
const GaussianTheory = (() => {
  function realCount(rho, M) {
    return Math.floor(rho * M + 0.5);
  }

  function curves({ M, ddof, realFraction = 0, generations: G }) {
    const nReal = realCount(realFraction, M);
    const variance = new Float64Array(G + 1), meanSqError = new Float64Array(G + 1);
    variance[0] = 1;
    if (nReal > 0) {
      const a = (M - nReal) / M;
      for (let t = 0; t < G; t++) {
        const mix = (1 - a) * 1 + a * variance[t];
        variance[t + 1] = (M - 1) / (M - ddof) * mix + M * a * (1 - a) / (M - ddof) * meanSqError[t];
        meanSqError[t + 1] = a * a * meanSqError[t] + mix / M;
      }
      return { nReal, variance, meanSqError, std: null, logVariance: null, w2sq: null };
    }
    const ratio = (M - 1) / (M - ddof);
    const logStepStd = 0.5 * Math.log(2 / (M - ddof)) + Numeric.lgamma(M / 2) - Numeric.lgamma((M - 1) / 2);
    const stepLogVar = Numeric.digamma((M - 1) / 2) + Math.log(2 / (M - ddof));
    const std = new Float64Array(G + 1), logVariance = new Float64Array(G + 1), w2sq = new Float64Array(G + 1);
    let logStd = 0, prod = 1;
    std[0] = 1;
    for (let t = 0; t < G; t++) {
      prod *= ratio;
      variance[t + 1] = prod;
      logStd += logStepStd;
      std[t + 1] = Math.exp(logStd);
      logVariance[t + 1] = logVariance[t] + stepLogVar;
      meanSqError[t + 1] = meanSqError[t] + variance[t] / M;
    }
    for (let t = 0; t <= G; t++) w2sq[t] = meanSqError[t] + variance[t] - 2 * std[t] + 1;
    return { nReal, variance, meanSqError, std, logVariance, w2sq };
  }

  return { realCount, curves };
})();
