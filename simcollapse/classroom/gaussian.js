/* The Gaussian page: the truth N(0, 1); each generation a normal distribution is fitted (ddof δ) to M points,
   n_r = ⌊ρM + ½⌋ of them fresh from the truth and the rest drawn from the previous fit. Three live chains are
   drawn point by point; 500 more (from the fit's sufficient statistics: the same law, docs/theory.md §G.1) give
   the spread of σ² and W2²; the exact expectations come from gaussian_theory.js. Variances are carried as
   log σ², so 1000 generations at M = 2 (log σ² ≈ −1300) stay finite. */
(() => {
  const MAX_GENERATION = 1000, POPULATION = 500;
  const SPECS = [
    { name: "M", integer: true, min: 2, max: 1000, value: 20 },
    { name: "ddof", integer: true, min: 0, max: 1, value: 0 },
    { name: "real_fraction", min: 0, max: 1, value: 0 },
    { name: "generation", integer: true, min: 0, max: MAX_GENERATION, value: 0 },
    { name: "horizon", integer: true, min: 0, max: MAX_GENERATION, value: 0 },
    { name: "seed", integer: true, min: 0, max: 999999, value: 1 },
  ];
  const MODEL = ["M", "ddof", "real_fraction"];
  const { COLOURS, CHAIN_COLOURS, CHAIN_NAMES } = UI;
  const LN10 = Math.log(10);

  let exact = null, live = null, population = null, driver = null;
  const control = UI.controls(SPECS, (changed) => {
    if (changed.some((name) => MODEL.includes(name))) exact = null;
    if (changed.some((name) => MODEL.includes(name) || name === "seed")) { live = null; population = null; }
    driver.schedule();
  });
  const state = control.state;
  const settings = () => ({ M: state.M, ddof: state.ddof, realFraction: state.real_fraction, generations: MAX_GENERATION });
  const counts = () => {
    const nReal = GaussianTheory.realCount(state.real_fraction, state.M);
    return { nReal, nSynthetic: state.M - nReal };
  };

  // ------------------------------------------------------------------------------------------------
  // Chains. Live chain c, generation t: the points from stream (seed, 0, c, t), real ones first. Without real
  // data the fit is taken on the standardised points z (x = μ + σz), so log σ² never underflows.
  // ------------------------------------------------------------------------------------------------

  function livePoints(chain, t, mu, logVar) {
    const random = Random.stream(state.seed, 0, chain, t), { nReal, nSynthetic } = counts();
    const sigma = Math.exp(0.5 * logVar), M = state.M;
    const real = Array.from({ length: nReal }, () => random.normal());
    const z = Array.from({ length: nSynthetic }, () => random.normal());
    let fitMu, fitLogVar;
    if (nReal === 0) {
      const zBar = z.reduce((a, b) => a + b, 0) / M;
      const scatter = z.reduce((a, b) => a + (b - zBar) ** 2, 0);
      fitMu = mu + sigma * zBar;
      fitLogVar = logVar + Math.log(scatter / (M - state.ddof));
    } else {
      const x = [...real, ...z.map((v) => mu + sigma * v)];
      fitMu = x.reduce((a, b) => a + b, 0) / M;
      fitLogVar = Math.log(x.reduce((a, b) => a + (b - fitMu) ** 2, 0) / (M - state.ddof));
    }
    return { real, synthetic: z.map((v) => mu + sigma * v), mu: fitMu, logVar: fitLogVar };
  }

  function simulateLive() {
    return CHAIN_NAMES.map((_, chain) => {
      const mu = new Float64Array(MAX_GENERATION + 1), logVar = new Float64Array(MAX_GENERATION + 1);
      for (let t = 1; t <= MAX_GENERATION; t++) {
        const fit = livePoints(chain, t, mu[t - 1], logVar[t - 1]);
        mu[t] = fit.mu; logVar[t] = fit.logVar;
      }
      return { mu, logVar };
    });
  }

  /** POPULATION chains from sufficient statistics: group means and scatters, pooled (docs/theory.md §P.2). */
  function simulatePopulation() {
    const { nReal, nSynthetic } = counts(), M = state.M, ddof = state.ddof;
    const size = (MAX_GENERATION + 1) * POPULATION;
    const mu = new Float64Array(size), logVar = new Float64Array(size);
    for (let c = 0; c < POPULATION; c++) {
      for (let t = 1; t <= MAX_GENERATION; t++) {
        const random = Random.stream(state.seed, 1, c, t);
        const m = mu[(t - 1) * POPULATION + c], lv = logVar[(t - 1) * POPULATION + c];
        let nextMu, nextLogVar;
        if (nReal === 0) {
          nextMu = m + Math.exp(0.5 * lv) * random.normal() / Math.sqrt(M);
          nextLogVar = lv + Math.log(random.chiSquare(M - 1) / (M - ddof));
        } else {
          const realMean = random.normal() / Math.sqrt(nReal);
          let scatter = nReal > 1 ? random.chiSquare(nReal - 1) : 0;
          nextMu = realMean;
          if (nSynthetic > 0) {
            const v = Math.exp(lv), synthMean = m + Math.sqrt(v / nSynthetic) * random.normal();
            if (nSynthetic > 1) scatter += v * random.chiSquare(nSynthetic - 1);
            scatter += (nReal * nSynthetic / M) * (realMean - synthMean) ** 2;
            nextMu = (nReal * realMean + nSynthetic * synthMean) / M;
          }
          nextLogVar = Math.log(scatter / (M - ddof));
        }
        mu[t * POPULATION + c] = nextMu; logVar[t * POPULATION + c] = nextLogVar;
      }
    }
    return summarise(mu, logVar);
  }

  const w2 = (mu, logVar) => mu * mu + (Math.exp(0.5 * logVar) - 1) ** 2;

  /** Per generation: the 10/50/90 % quantiles of log10 σ², log10 of the mean σ², the mean W2². */
  function summarise(mu, logVar) {
    const G = MAX_GENERATION + 1;
    const q10 = new Float64Array(G), q50 = new Float64Array(G), q90 = new Float64Array(G);
    const meanVar = new Float64Array(G), meanW2 = new Float64Array(G);
    const row = new Float64Array(POPULATION);
    for (let t = 0; t < G; t++) {
      let sumVar = 0, sumW2 = 0;
      for (let c = 0; c < POPULATION; c++) {
        const lv = logVar[t * POPULATION + c];
        row[c] = lv / LN10;
        sumVar += Math.exp(lv);
        sumW2 += w2(mu[t * POPULATION + c], lv);
      }
      row.sort();
      q10[t] = row[Math.floor(0.1 * (POPULATION - 1))];
      q50[t] = 0.5 * (row[(POPULATION >> 1) - 1] + row[POPULATION >> 1]);
      q90[t] = row[Math.ceil(0.9 * (POPULATION - 1))];
      meanVar[t] = Math.log10(sumVar / POPULATION);
      meanW2[t] = sumW2 / POPULATION;
    }
    return { mu, logVar, q10, q50, q90, meanVar, meanW2 };
  }

  // ------------------------------------------------------------------------------------------------
  // Drawing
  // ------------------------------------------------------------------------------------------------

  const density = (x, mu, sigma) => Math.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * Math.sqrt(2 * Math.PI));

  function drawLive(progress) {
    const canvas = document.getElementById("live-canvas"), t = state.generation;
    const moving = progress !== null && progress > 0 && t < MAX_GENERATION;
    const ease = moving ? (progress < 0.5 ? 2 * progress * progress : 1 - 2 * (1 - progress) ** 2) : 0;
    const shownAt = moving ? t + 1 : t;
    const fits = live.map((chain) => {
      const mu = chain.mu[t] + (chain.mu[shownAt] - chain.mu[t]) * ease;
      const logVar = chain.logVar[t] + (chain.logVar[shownAt] - chain.logVar[t]) * ease;
      return { mu, sigma: Math.exp(0.5 * logVar), logVar };
    });
    const reach = Math.max(3.5, ...fits.map((f) => Math.min(Math.abs(f.mu) + 3 * f.sigma, 50)));
    const yMax = 1.6;
    const rugRows = 3, rugHeight = 16;
    const legend = fits.map((f, c) => ({
      label: `${CHAIN_NAMES[c]}: μ = ${f.mu.toFixed(2)}, σ² = ${UI.significant(Math.exp(f.logVar))}`,
      colour: CHAIN_COLOURS[c], width: 3,
    }));
    const axes = (yMin) => UI.lineChart(canvas, {
      title: `Generation ${shownAt}: three chains' fits over the truth N(0, 1), with the points each was fitted to`,
      xLabel: "x", xMin: -reach, xMax: reach, yMin, yMax, yTicks: [0, 0.4, 0.8, 1.2, 1.6],
      legend: [{ label: "truth", colour: COLOURS.ink, dash: [8, 6], width: 3 }, ...legend], series: [],
    });
    // below y = 0, room for the rugs: R pixels of a box H high need yMin = −R·yMax/(H − R)
    const rug = rugRows * rugHeight + 8, first = axes(-0.5).box, plotHeight = first.bottom - first.top;
    const { x, y, box } = axes((-rug * yMax) / Math.max(plotHeight - rug, 1));
    const ctx = canvas.getContext("2d");
    const curve = (mu, sigma, colour, dash, lineWidth) => {
      ctx.save();
      ctx.beginPath(); ctx.rect(box.left, box.top, box.right - box.left, box.bottom - box.top); ctx.clip();
      ctx.strokeStyle = colour; ctx.lineWidth = lineWidth; ctx.setLineDash(dash);
      ctx.beginPath();
      const steps = 600, narrow = sigma < (2 * reach) / steps;
      if (narrow) {  // narrower than a pixel: a spike at μ
        ctx.moveTo(x(mu), y(0)); ctx.lineTo(x(mu), y(yMax));
      } else {
        for (let k = 0; k <= steps; k++) {
          const v = -reach + (2 * reach * k) / steps;
          const d = Math.min(density(v, mu, sigma), yMax * 1.05);
          if (k === 0) ctx.moveTo(x(v), y(d)); else ctx.lineTo(x(v), y(d));
        }
      }
      ctx.stroke(); ctx.setLineDash([]); ctx.restore();
    };
    ctx.strokeStyle = COLOURS.muted; ctx.lineWidth = 1;
    ctx.beginPath(); ctx.moveTo(box.left, y(0)); ctx.lineTo(box.right, y(0)); ctx.stroke();
    curve(0, 1, COLOURS.ink, [8, 6], 3);
    fits.forEach((f, c) => curve(f.mu, f.sigma, CHAIN_COLOURS[c], [], 3.5));
    if (shownAt === 0) return;
    live.forEach((chain, c) => {  // the points that fitted generation shownAt: synthetic ones as ticks, real ones as dots
      const points = livePoints(c, shownAt, chain.mu[shownAt - 1], chain.logVar[shownAt - 1]);
      const base = y(0) + 6 + c * rugHeight;
      ctx.globalAlpha = moving ? ease : 1;
      ctx.strokeStyle = CHAIN_COLOURS[c]; ctx.lineWidth = 1.5;
      for (const v of points.synthetic) {
        if (Math.abs(v) > reach) continue;
        ctx.beginPath(); ctx.moveTo(x(v), base); ctx.lineTo(x(v), base + rugHeight - 5); ctx.stroke();
      }
      ctx.fillStyle = "#ffffff"; ctx.strokeStyle = CHAIN_COLOURS[c]; ctx.lineWidth = 2;
      for (const v of points.real) {
        if (Math.abs(v) > reach) continue;
        ctx.beginPath(); ctx.arc(x(v), base + (rugHeight - 5) / 2, 4, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
      }
      ctx.globalAlpha = 1;
    });
  }

  function drawCharts() {
    const t = state.generation, M = state.M;
    const xMax = UI.horizon(state.horizon || Math.min(5 * M, MAX_GENERATION), t);
    const theoryLog = (values) => values && Array.from(values, (v) => Math.log10(v));
    const typical = exact.logVariance && Array.from(exact.logVariance, (v) => v / LN10);
    const liveLog = live.map((chain, c) => ({
      values: Array.from(chain.logVar, (v) => v / LN10), colour: CHAIN_COLOURS[c], width: 1.5, upTo: t, alpha: 0.8,
    }));
    const shown = (values) => Array.from(values.subarray(0, xMax + 1));
    const low = Math.min(...shown(population.q10), ...(typical ? typical.slice(0, xMax + 1) : []));
    const high = Math.max(...shown(population.q90), ...shown(population.meanVar), 0);
    const yMin = Math.max(-300, Math.floor(low - 0.3)), yMax = Math.ceil(high + 0.3);
    UI.lineChart(document.getElementById("var-chart"), {
      title: "Fitted variance σ² (log scale)", xMax, yMin, yMax, yLog: true,
      legend: [
        { label: "E σ² exact", colour: COLOURS.blue, dash: [10, 6], width: 4 },
        ...(typical ? [{ label: "exp E log σ² exact", colour: COLOURS.vermillion, dash: [10, 6], width: 4 }] : []),
        { label: `median of ${POPULATION}`, colour: COLOURS.vermillion, width: 3 },
        { label: "10–90 %", colour: COLOURS.vermillion, box: true },
      ],
      series: [
        { band: [population.q10, population.q90], colour: COLOURS.vermillion, alpha: 0.18 },
        ...liveLog,
        { values: population.q50, colour: COLOURS.vermillion, width: 3 },
        { values: population.meanVar, colour: COLOURS.blue, width: 2 },
        { values: theoryLog(exact.variance), colour: COLOURS.blue, dash: [10, 6], width: 4, dot: true },
        ...(typical ? [{ values: typical, colour: COLOURS.vermillion, dash: [10, 6], width: 4, dot: true }] : []),
      ],
      marker: t,
    });
    const w2Max = Math.max(...shown(population.meanW2), ...(exact.w2sq ? shown(exact.w2sq) : []), 0.05) * 1.15;
    UI.lineChart(document.getElementById("w2-chart"), {
      title: "Distance to the truth W2²", xMax, yMin: 0, yMax: w2Max,
      legend: [
        ...(exact.w2sq ? [{ label: "E W2² exact", colour: COLOURS.green, dash: [10, 6], width: 4 }] : []),
        { label: `mean of ${POPULATION}`, colour: COLOURS.green, width: 3 },
        { label: "chains A B C", colour: COLOURS.muted, width: 2 },
      ],
      series: [
        ...live.map((chain, c) => ({
          values: Array.from(chain.mu, (m, n) => w2(m, chain.logVar[n])), colour: CHAIN_COLOURS[c], width: 1.5, upTo: t, alpha: 0.8,
        })),
        { values: population.meanW2, colour: COLOURS.green, width: 3 },
        ...(exact.w2sq ? [{ values: exact.w2sq, colour: COLOURS.green, dash: [10, 6], width: 4, dot: true }] : []),
      ],
      marker: t,
    });
    const row = Array.from(population.logVar.subarray(t * POPULATION, (t + 1) * POPULATION), (v) => v / LN10);
    const lines = [{ at: Math.log10(exact.variance[t]), colour: COLOURS.blue, dash: [10, 6] }];
    if (typical) lines.push({ at: typical[t], colour: COLOURS.vermillion, dash: [10, 6] });
    let lo = Math.min(...row, ...lines.map((l) => l.at)), hi = Math.max(...row, ...lines.map((l) => l.at));
    if (hi - lo < 0.5) { lo -= 0.25; hi += 0.25; }
    const bins = 40, width = (hi - lo) / bins, heights = new Float64Array(bins);
    for (const v of row) heights[Math.min(bins - 1, Math.floor((v - lo) / width))] += 1 / POPULATION;
    UI.barChart(document.getElementById("law-chart"), {
      title: `log₁₀ σ² of ${POPULATION} chains at generation ${t}`, xLabel: "log₁₀ σ²",
      xMin: lo - width, xMax: hi + width, yMin: 0, yMax: Math.max(...heights) * 1.15, colour: COLOURS.sky,
      edges: Array.from({ length: bins + 1 }, (_, k) => lo + k * width), heights, lines,
      legend: [{ label: "log₁₀ E σ²", colour: COLOURS.blue, dash: [10, 6], width: 4 },
        ...(typical ? [{ label: "E log₁₀ σ²", colour: COLOURS.vermillion, dash: [10, 6], width: 4 }] : [])],
    });
  }

  function writeNumbers() {
    const t = state.generation, { nReal } = counts();
    for (const element of document.querySelectorAll(".generation-now")) element.textContent = String(t);
    UI.readout("e-var", exact.variance[t], UI.significant(exact.variance[t]));
    UI.readout("typical-var", exact.logVariance && Math.exp(exact.logVariance[t]),
      exact.logVariance ? UI.significant(Math.exp(exact.logVariance[t])) : "no closed form");
    UI.readout("e-w2sq", exact.w2sq && exact.w2sq[t], exact.w2sq ? UI.significant(exact.w2sq[t]) : "no closed form");
    const median = 10 ** population.q50[t];
    UI.readout("sim-median", median, UI.significant(median));
    document.getElementById("real-count").textContent = nReal > 0
      ? `${nReal} of the ${state.M} points each generation are real (open dots), drawn fresh from the truth; the others (ticks) are drawn from the previous fit`
      : "every point is drawn from the previous fit";
    const sets = [`n_samples=${state.M}`, `ddof=${state.ddof}`, `generations=${Math.max(t, 1)}`];
    if (state.real_fraction > 0) sets.push("policy=fresh_real", `real_fraction=${state.real_fraction}`);
    document.getElementById("compute-time").title = `in ${exact.milliseconds.toFixed(1)} ms`;
    document.getElementById("command").textContent =
      `simcollapse run gaussian ${sets.map((s) => `--set ${s}`).join(" ")} --out gaussian --plot`;
    UI.publish({
      page: "gaussian", settings: { ...settings(), seed: state.seed }, generation: t, n_real: nReal,
      e_var: exact.variance[t], e_w2sq: exact.w2sq && exact.w2sq[t],
      variance: exact.variance, mean_sq_error: exact.meanSqError, std: exact.std, log_variance: exact.logVariance,
      w2sq: exact.w2sq, milliseconds: exact.milliseconds,
    });
  }

  function ensure() {  // what a settings change left to recompute, before anything is drawn (also mid-play)
    if (exact === null) {
      const start = performance.now();
      exact = GaussianTheory.curves(settings());
      exact.milliseconds = performance.now() - start;
    }
    if (live === null) live = simulateLive();
    if (population === null) population = simulatePopulation();
  }

  function render() {
    ensure();
    writeNumbers();
    drawCharts();
    drawLive(null);
  }

  const speed = document.getElementById("speed");
  driver = UI.driver({
    control, render, frame: (progress) => { ensure(); drawLive(progress); }, maxGeneration: MAX_GENERATION,
    duration: () => Number(speed.value),
  });
  render();
})();
