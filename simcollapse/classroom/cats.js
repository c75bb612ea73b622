/* The cats page: N cats, `blue` of them blue; each generation the next N cats are drawn from the colours of
   the last ones (a fitted two-type model, sampled at a temperature, min-p truncated, mixed with fresh real cats
   from the truth). Three live chains are simulated and drawn; the exact law of the blue count and its curves
   come from the Wright–Fisher chain solved in the page (wright_fisher.js). */
(() => {
  const MAX_GENERATION = 1000;
  const SPECS = [
    { name: "N", integer: true, min: 2, max: 500, value: 100 },
    { name: "blue", integer: true, min: 1, max: (s) => s.N - 1, value: 10 },
    { name: "temperature", min: 0.5, max: 2, value: 1 },
    { name: "min_p", min: 0, max: 0.5, value: 0 },
    { name: "real_fraction", min: 0, max: 1, value: 0 },
    { name: "generation", integer: true, min: 0, max: MAX_GENERATION, value: 0 },
    { name: "horizon", integer: true, min: 0, max: MAX_GENERATION, value: 0 },
    { name: "seed", integer: true, min: 0, max: 999999, value: 1 },
  ];
  const MODEL = ["N", "blue", "temperature", "min_p", "real_fraction"];
  const { COLOURS, CHAIN_COLOURS, CHAIN_NAMES } = UI;
  const CAT = { yellow: COLOURS.yellow, blue: COLOURS.blue };

  let exact = null, live = null, driver = null;
  const control = UI.controls(SPECS, (changed) => {
    if (changed.some((name) => MODEL.includes(name))) exact = null;
    if (changed.some((name) => MODEL.includes(name) || name === "seed")) live = null;
    driver.schedule();
  });
  const state = control.state;

  function settings() {
    return { N: state.N, blue: state.blue, temperature: state.temperature, minP: state.min_p,
      realFraction: state.real_fraction, generations: MAX_GENERATION };
  }

  // ------------------------------------------------------------------------------------------------
  // Live chains: generation t of chain c is drawn from the stream (seed, c, t): first the real cats (blue with
  // the truth's probability b/N), then the synthetic ones (blue with s(count/N)), then, for the animation,
  // each synthetic cat's parent: a cat of its own colour in the previous generation.
  // ------------------------------------------------------------------------------------------------

  function drawGeneration(model, chain, t, previous, withParents) {
    const random = Random.stream(state.seed, chain, t);
    const { N, nReal, s, p0 } = model;
    const real = [], synthetic = [];
    for (let k = 0; k < nReal; k++) real.push(random.uniform() < p0);
    const q = s(previous / N);
    for (let k = nReal; k < N; k++) synthetic.push(random.uniform() < q);
    const realBlue = real.filter(Boolean).length;
    const out = { real, synthetic, realBlue, count: realBlue + synthetic.filter(Boolean).length };
    if (withParents) out.parents = synthetic.map((blue) => Math.floor(random.uniform() * (blue ? previous : N - previous)));
    return out;
  }

  function model() {
    const { N, blue, temperature, min_p: minP, real_fraction: rho } = state;
    return { N, p0: blue / N, nReal: WrightFisher.realCount(rho, N), s: WrightFisher.samplingMap(temperature, minP) };
  }

  function simulate() {
    const m = model();
    return CHAIN_NAMES.map((_, chain) => {
      const count = new Int16Array(MAX_GENERATION + 1), realBlue = new Int16Array(MAX_GENERATION + 1);
      count[0] = state.blue;
      for (let t = 1; t <= MAX_GENERATION; t++) {
        const d = drawGeneration(m, chain, t, count[t - 1], false);
        count[t] = d.count; realBlue[t] = d.realBlue;
      }
      return { count, realBlue };
    });
  }

  // ------------------------------------------------------------------------------------------------
  // The cats: one panel per chain, blue cats first. Slots in order: real blue, synthetic blue, synthetic
  // yellow, real yellow (real cats have a thick outline); generation 0 is the truth, no cat real.
  // ------------------------------------------------------------------------------------------------

  function layout(width, height, N) {
    const gap = 24, top = 36, panelWidth = (width - gap * (CHAIN_NAMES.length - 1)) / CHAIN_NAMES.length;
    const panelHeight = height - top - 4;
    const cols = Math.max(1, Math.round(Math.sqrt((N * panelWidth) / panelHeight)));
    const rows = Math.ceil(N / cols);
    const cell = Math.min(panelWidth / cols, panelHeight / rows);
    const slot = (panel, k) => ({
      x: panel * (panelWidth + gap) + (panelWidth - cols * cell) / 2 + ((k % cols) + 0.5) * cell,
      y: top + Math.floor(k / cols) * cell + 0.5 * cell,
    });
    return { slot, cell, panelWidth, gap };
  }

  function catPath(ctx, x, y, size) {
    const r = size * 0.33;
    ctx.beginPath();
    ctx.moveTo(x - r * 0.95, y - r * 0.2);
    ctx.lineTo(x - r * 0.8, y - r * 1.25);
    ctx.lineTo(x - r * 0.2, y - r * 0.85);
    ctx.lineTo(x + r * 0.2, y - r * 0.85);
    ctx.lineTo(x + r * 0.8, y - r * 1.25);
    ctx.lineTo(x + r * 0.95, y - r * 0.2);
    ctx.arc(x, y + r * 0.05, r, -0.2, Math.PI + 0.2, false);
    ctx.closePath();
  }

  function drawCat(ctx, x, y, size, blue, real, alpha = 1) {
    ctx.globalAlpha = alpha;
    catPath(ctx, x, y + size * 0.06, size);
    ctx.fillStyle = blue ? CAT.blue : CAT.yellow;
    ctx.fill();
    ctx.strokeStyle = COLOURS.ink;
    ctx.lineWidth = real ? Math.max(2.5, size * 0.1) : Math.max(0.75, size * 0.03);
    ctx.stroke();
    if (size >= 22) {  // eyes
      ctx.fillStyle = blue ? "#ffffff" : COLOURS.ink;
      for (const side of [-1, 1]) {
        ctx.beginPath(); ctx.arc(x + side * size * 0.12, y + size * 0.04, size * 0.035, 0, 2 * Math.PI); ctx.fill();
      }
    }
    ctx.globalAlpha = 1;
  }

  /** Slots of generation t's cats: [{ blue, real }] in slot order. */
  function cats(chain, t) {
    const N = state.N, count = live[chain].count[t], realBlue = live[chain].realBlue[t];
    const nReal = t === 0 ? 0 : WrightFisher.realCount(state.real_fraction, N);
    return Array.from({ length: N }, (_, k) => ({
      blue: k < count,
      real: k < realBlue || k >= N - (nReal - realBlue),
    }));
  }

  function drawPanels(ctx, width, header) {
    const { panelWidth, gap } = layout(width, 1, state.N);
    ctx.textAlign = "left"; ctx.textBaseline = "alphabetic"; ctx.font = UI.font(20, "700");
    CHAIN_NAMES.forEach((name, chain) => {
      ctx.fillStyle = CHAIN_COLOURS[chain];
      ctx.fillText(header(name, chain), chain * (panelWidth + gap), 24);
    });
  }

  function drawCats(progress) {
    const canvas = document.getElementById("cats-canvas");
    const { ctx, width, height } = UI.surface(canvas);
    const t = state.generation, N = state.N;
    const { slot, cell } = layout(width, height, N);
    const moving = progress !== null && progress > 0 && t < MAX_GENERATION;
    drawPanels(ctx, width, (name, chain) => `Chain ${name}: ${live[chain].count[t]} blue`);
    CHAIN_NAMES.forEach((_, chain) => {
      if (!moving) {
        cats(chain, t).forEach((c, k) => { const p = slot(chain, k); drawCat(ctx, p.x, p.y, cell, c.blue, c.real); });
        return;
      }
      // the step t → t+1: each synthetic cat flies from its parent, real cats fade in where they land
      const d = drawGeneration(model(), chain, t + 1, live[chain].count[t], true);
      const before = live[chain].count[t], after = d.count, nReal = d.real.length;
      const ease = progress < 0.5 ? 2 * progress * progress : 1 - 2 * (1 - progress) ** 2;
      let blueReal = 0, blueSynthetic = d.realBlue, yellowSynthetic = after, yellowReal = N - (nReal - d.realBlue);
      d.real.forEach((blue) => {
        const p = slot(chain, blue ? blueReal++ : yellowReal++);
        drawCat(ctx, p.x, p.y, cell, blue, true, ease);
      });
      d.synthetic.forEach((blue, k) => {
        const from = slot(chain, blue ? d.parents[k] : before + d.parents[k]);
        const to = slot(chain, blue ? blueSynthetic++ : yellowSynthetic++);
        drawCat(ctx, from.x + (to.x - from.x) * ease, from.y + (to.y - from.y) * ease, cell, blue, false);
      });
    });
  }

  // ------------------------------------------------------------------------------------------------
  // Charts and read-outs
  // ------------------------------------------------------------------------------------------------

  function drawCharts() {
    const t = state.generation, N = state.N;
    const xMax = UI.horizon(state.horizon || Math.min(2 * N, MAX_GENERATION), t);
    const real = WrightFisher.realCount(state.real_fraction, N) > 0;
    const liveSeries = (f) => live.map((chain, c) => ({
      values: Array.from(chain.count, (k) => f(k / N)), colour: CHAIN_COLOURS[c], width: 2, upTo: t,
    }));
    UI.lineChart(document.getElementById("lost-chart"), {
      title: real ? "P(no blue cat at generation n)" : "P(blue lost by generation n)", xMax, yMin: 0, yMax: 1,
      legend: [{ label: "no blue cat", colour: COLOURS.vermillion, width: 4 },
        { label: "every cat blue", colour: COLOURS.blue, dash: [10, 6] }],
      series: [{ values: exact.lost, colour: COLOURS.vermillion, width: 4, dot: true },
        { values: exact.fixed, colour: COLOURS.blue, dash: [10, 6], dot: true }],
      marker: t,
    });
    UI.lineChart(document.getElementById("share-chart"), {
      title: "Share of blue cats", xMax, yMin: 0, yMax: 1,
      legend: [{ label: "expected (exact)", colour: COLOURS.blue, width: 4 }, { label: "chains A B C", colour: COLOURS.muted, width: 2 }],
      series: [...liveSeries((p) => p), { values: exact.share, colour: COLOURS.blue, width: 4, dot: true }],
      marker: t,
    });
    UI.lineChart(document.getElementById("het-chart"), {
      title: "Heterozygosity 2p(1 − p)", xMax, yMin: 0, yMax: 0.5,
      legend: [{ label: "expected (exact)", colour: COLOURS.green, width: 4 }, { label: "chains A B C", colour: COLOURS.muted, width: 2 }],
      series: [...liveSeries((p) => 2 * p * (1 - p)), { values: exact.heterozygosity, colour: COLOURS.green, width: 4, dot: true }],
      marker: t,
    });
    const law = exact.law.subarray(t * (N + 1), (t + 1) * (N + 1));
    let scale = 0;
    for (let c = 1; c < N; c++) scale = Math.max(scale, law[c]);
    scale = scale > 0 ? Math.min(1, scale * 1.25) : 1;
    UI.barChart(document.getElementById("law-chart"), {
      title: `Blue cats at generation ${t}: exact law`, xLabel: "blue cats",
      xMin: -0.5, xMax: N + 0.5, yMin: 0, yMax: scale, colour: COLOURS.blue, gap: N > 150 ? 0 : 1,
      edges: Array.from({ length: N + 2 }, (_, c) => c - 0.5), heights: law,
      cutLabel: (c, h) => `P(${c}) = ${h.toFixed(3)}`,
      marks: live.map((chain, c) => ({ at: chain.count[t], label: CHAIN_NAMES[c], colour: CHAIN_COLOURS[c] })),
    });
  }

  function writeNumbers() {
    const t = state.generation, N = state.N, real = WrightFisher.realCount(state.real_fraction, N);
    for (const element of document.querySelectorAll(".generation-now")) element.textContent = String(t);
    document.getElementById("p-lost-label").textContent = real > 0 ? "P(no blue cat at generation" : "P(blue lost by generation";
    UI.readout("p-lost", exact.lost[t]);
    UI.readout("p-fixed", exact.fixed[t]);
    UI.readout("e-share", exact.share[t]);
    UI.readout("heterozygosity", exact.heterozygosity[t]);
    document.getElementById("title").textContent = `${N - state.blue} yellow cats, ${state.blue} blue cats`;
    document.getElementById("real-count").textContent = real > 0
      ? `${real} of the ${N} cats each generation are real (thick outline), drawn fresh from the truth`
      : "every cat is drawn from the model fitted to the previous generation";
    const yellow = 1 - state.blue / N;
    const sets = [`probs0=[${yellow},${state.blue / N}]`, `n_samples=${N}`, `generations=${Math.max(t, 1)}`];
    if (state.temperature !== 1) sets.push(`temperature=${state.temperature}`);
    if (state.min_p > 0) sets.push(`min_p=${state.min_p}`);
    if (state.real_fraction > 0) sets.push("policy=fresh_real", `real_fraction=${state.real_fraction}`);
    document.getElementById("command").textContent =
      `simcollapse run categorical ${sets.map((s) => `--set ${s}`).join(" ")} --out cats`;
    document.getElementById("compute-time").title = `in ${exact.milliseconds.toFixed(0)} ms`;
    UI.publish({
      page: "cats", settings: { ...settings(), seed: state.seed }, generation: t,
      p_lost: exact.lost[t], lost: exact.lost, fixed: exact.fixed, share: exact.share,
      heterozygosity: exact.heterozygosity, milliseconds: exact.milliseconds,
      live: live.map((chain) => chain.count[t]),
    });
  }

  function ensure() {  // what a settings change left to recompute, before anything is drawn (also mid-play)
    if (exact === null) exact = WrightFisher.curves(settings());
    if (live === null) live = simulate();
  }

  function render() {
    ensure();
    writeNumbers();
    drawCharts();
    drawCats(null);
  }

  const speed = document.getElementById("speed");
  driver = UI.driver({
    control, render, frame: (progress) => { ensure(); drawCats(progress); }, maxGeneration: MAX_GENERATION,
    duration: () => Number(speed.value) / (state.N > 200 ? 1.5 : 1),
  });
  render();
})();
