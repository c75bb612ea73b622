/* Numerics of the classroom pages, in float64 JS numbers: log-gamma, digamma, binomial laws.
   The exact curves of the pages are built from these; the tests hold them to simcollapse.theory at 1e-6. */
const Numeric = (() => {
  const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);
  // Stirling series coefficients B_2k / (2k (2k − 1)), k = 1 … 7
  const STIRLING = [1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156];
  // Digamma asymptotic coefficients B_2k / (2k), k = 1 … 7
  const DIGAMMA = [1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132, -691 / 32760, 1 / 12];
  const SHIFT = 15; // both series are used for x ≥ 15, where the first omitted term is below 1e-17

  /** log Γ(x) for x > 0: the recurrence Γ(x) = Γ(x + k)/(x(x+1)…(x+k−1)) up to x + k ≥ 15, then Stirling. */
  function lgamma(x) {
    if (!(x > 0)) return NaN;
    let shift = 0;
    if (x < SHIFT) {
      let product = 1;
      while (x < SHIFT) { product *= x; x += 1; }
      shift = Math.log(product);
    }
    const inv = 1 / x, inv2 = inv * inv;
    let series = 0, power = inv;
    for (const c of STIRLING) { series += c * power; power *= inv2; }
    return (x - 0.5) * Math.log(x) - x + HALF_LOG_2PI + series - shift;
  }

  /** ψ(x) = d log Γ(x)/dx for x > 0: ψ(x) = ψ(x + 1) − 1/x up to x ≥ 15, then the asymptotic series. */
  function digamma(x) {
    if (!(x > 0)) return NaN;
    let result = 0;
    while (x < SHIFT) { result -= 1 / x; x += 1; }
    const inv2 = 1 / (x * x);
    let series = 0, power = inv2;
    for (const c of DIGAMMA) { series += c * power; power *= inv2; }
    return result + Math.log(x) - 0.5 / x - series;
  }

  /** log k! for k = 0 … n (a table, so each binomial law costs n + 1 exponentials). */
  function logFactorials(n) {
    const table = new Float64Array(n + 1);
    for (let k = 2; k <= n; k++) table[k] = lgamma(k + 1);
    return table;
  }

  /** Bin(j; n, p) for j = 0 … n, from log-factorials: exact at p = 0 and 1, no underflow before 1e-308. */
  function binomialPmf(n, p, logFact = logFactorials(n)) {
    const pmf = new Float64Array(n + 1);
    if (p <= 0) { pmf[0] = 1; return pmf; }
    if (p >= 1) { pmf[n] = 1; return pmf; }
    const logP = Math.log(p), logQ = Math.log1p(-p), top = logFact[n];
    for (let j = 0; j <= n; j++) pmf[j] = Math.exp(top - logFact[j] - logFact[n - j] + j * logP + (n - j) * logQ);
    return pmf;
  }

  /** The law of X + Y for independent X ~ a, Y ~ b on 0, 1, …: (a ∗ b)_j = Σ_m a_m b_{j−m}. */
  function convolve(a, b) {
    const out = new Float64Array(a.length + b.length - 1);
    for (let m = 0; m < a.length; m++) {
      if (a[m] === 0) continue;
      for (let r = 0; r < b.length; r++) out[m + r] += a[m] * b[r];
    }
    return out;
  }

  return { lgamma, digamma, logFactorials, binomialPmf, convolve };
})();
