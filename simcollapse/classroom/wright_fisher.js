/* The exact two-type chain of the cats page: the count of blue cats among N is a Markov chain on 0 … N
   (docs/theory.md §C.2), the same chain as simcollapse.theory.markov and theory.categorical_config:

     synthetic cats: Bin(n_s, s(i/N)),   s = the sampling map (temperature §C.7, then min-p §C.8),
     real cats:      Bin(n_r, p0),       n_r = ⌊ρN + ½⌋ fresh from the truth (§C.6), n_s = N − n_r,

   so row i of the transition matrix is the law of their sum. The law at generation n is e_b Pⁿ, propagated
   one vector–matrix product per generation over each row's support. */
const WrightFisher = (() => {
  // Entries below this share of their row's largest are dropped: at most (N+1)·1e-18 of a row's mass is lost,
  // so 1000 generations move a probability by less than 1e-12.
  const ROW_TRIM = 1e-18;

  /** The model's blue probability → the probability a synthetic cat is blue (logit/T, then min-p). */
  function samplingMap(temperature, minP) {
    return (p) => {
      if (temperature !== 1) p = 1 / (1 + Math.exp(-Math.log(p / (1 - p)) / temperature));
      if (minP > 0) {
        const q = 1 - p, top = Math.max(p, q);
        p = p < minP * top ? 0 : q < minP * top ? 1 : p;
      }
      return p;
    };
  }

  /** n_r = ⌊ρN + ½⌋: ρN rounded to the nearest integer, halves up (simcollapse.config.real_count). */
  function realCount(rho, N) {
    return Math.floor(rho * N + 0.5);
  }

  /** Rows of the transition matrix, each stored on [lo, lo + values.length). */
  function transitionRows({ N, blue, temperature = 1, minP = 0, realFraction = 0 }) {
    const s = samplingMap(temperature, minP);
    const nReal = realCount(realFraction, N), nSynthetic = N - nReal;
    const logFact = Numeric.logFactorials(N);
    const real = Numeric.binomialPmf(nReal, blue / N, logFact);
    const rows = [];
    for (let i = 0; i <= N; i++) {
      const synthetic = Numeric.binomialPmf(nSynthetic, s(i / N), logFact);
      const full = nReal > 0 ? Numeric.convolve(synthetic, real) : synthetic;
      let top = 0;
      for (const v of full) top = Math.max(top, v);
      let lo = 0, hi = N;
      while (full[lo] < ROW_TRIM * top) lo++;
      while (full[hi] < ROW_TRIM * top) hi--;
      rows.push({ lo, values: full.slice(lo, hi + 1) });
    }
    return rows;
  }

  /** Everything the page shows, for generations 0 … G: the law of the blue count (a flat (G+1)·(N+1) array),
      P(no blue cat at n) (= P(blue lost by n) without real data, as 0 then absorbs), P(every cat blue at n),
      E share = E[count/N] and E heterozygosity = E[2p(1 − p)] = 1 − E Σ_i p_i² (docs/theory.md §C.1). */
  function curves(settings) {
    const { N, blue, generations: G } = settings;
    const start = performance.now();
    const rows = transitionRows(settings);
    const law = new Float64Array((G + 1) * (N + 1));
    law[blue] = 1;
    for (let n = 0; n < G; n++) {
      const from = n * (N + 1), to = from + N + 1;
      for (let i = 0; i <= N; i++) {
        const mass = law[from + i];
        if (mass === 0) continue;
        const { lo, values } = rows[i];
        for (let k = 0; k < values.length; k++) law[to + lo + k] += mass * values[k];
      }
    }
    const lost = new Float64Array(G + 1), fixed = new Float64Array(G + 1);
    const share = new Float64Array(G + 1), heterozygosity = new Float64Array(G + 1);
    for (let n = 0; n <= G; n++) {
      const base = n * (N + 1);
      let mean = 0, het = 0;
      for (let c = 0; c <= N; c++) {
        const mass = law[base + c], p = c / N;
        mean += mass * p;
        het += mass * 2 * p * (1 - p);
      }
      lost[n] = law[base];
      fixed[n] = law[base + N];
      share[n] = mean;
      heterozygosity[n] = het;
    }
    return { law, lost, fixed, share, heterozygosity, milliseconds: performance.now() - start };
  }

  return { samplingMap, realCount, transitionRows, curves };
})();
