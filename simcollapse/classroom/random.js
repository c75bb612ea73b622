/* Random numbers of the classroom pages' live chains: a counter-based generator, so generation t of chain c
   is drawn from its own stream (seed, c, t) and can be redrawn alone (the animation redraws the step it shows).
   Words are a Weyl sequence through a 32-bit integer hash; display quality, not simcollapse's own generator. */
const Random = (() => {
  const GOLDEN = 0x9e3779b9;

  function hash32(x) {
    x ^= x >>> 16; x = Math.imul(x, 0x21f0aaad);
    x ^= x >>> 15; x = Math.imul(x, 0x735a2d97);
    x ^= x >>> 15;
    return x >>> 0;
  }

  /** A stream keyed by integers: uniform() in [0, 1) with 53 bits, normal(), gamma(shape), chiSquare(k). */
  function stream(...words) {
    let key = 0x243f6a88;
    for (const w of words) key = hash32((key ^ w) + GOLDEN);
    let counter = 0, spare = null;
    const word = () => hash32((key + Math.imul(++counter, GOLDEN)) ^ (key >>> 7));
    const uniform = () => ((word() >>> 5) * 67108864 + (word() >>> 6)) / 9007199254740992;
    function normal() {  // Box–Muller, both values used
      if (spare !== null) { const z = spare; spare = null; return z; }
      const r = Math.sqrt(-2 * Math.log(1 - uniform())), angle = 2 * Math.PI * uniform();
      spare = r * Math.sin(angle);
      return r * Math.cos(angle);
    }
    function gamma(shape) {  // Marsaglia & Tsang (2000); shape < 1 through Γ(shape + 1)·U^{1/shape}
      if (shape < 1) return gamma(shape + 1) * Math.pow(1 - uniform(), 1 / shape);
      const d = shape - 1 / 3, c = 1 / Math.sqrt(9 * d);
      for (;;) {
        const x = normal(), v = (1 + c * x) ** 3;
        if (v <= 0) continue;
        if (Math.log(1 - uniform()) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
      }
    }
    return { uniform, normal, gamma, chiSquare: (k) => 2 * gamma(k / 2) };
  }

  return { stream };
})();
